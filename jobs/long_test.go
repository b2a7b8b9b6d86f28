package jobs

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/internal/tabletest"
)

// writeLongParts writes seqs in the long layout as k files under a new
// folder: each sequence cut into up to 3 runs of steps at random, the runs
// dealt to the files at random and shuffled in each file.
func writeLongParts(t *testing.T, seqs []synth.Seq, k int, seed uint64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("long-%d", k))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, uint64(k)))
	parts := make([][]synth.Seq, k)
	for _, s := range seqs {
		cuts := []int{0, rng.IntN(len(s.Steps) + 1), rng.IntN(len(s.Steps) + 1), len(s.Steps)}
		slices.Sort(cuts)
		for i := range 3 {
			if cuts[i] == cuts[i+1] {
				continue
			}
			run := s
			run.Start = s.Start.Add(time.Duration(cuts[i]) * time.Second)
			run.Steps = s.Steps[cuts[i]:cuts[i+1]]
			p := rng.IntN(k)
			parts[p] = append(parts[p], run)
		}
	}
	for i, p := range parts {
		rng.Shuffle(len(p), func(a, b int) { p[a], p[b] = p[b], p[a] })
		var buf bytes.Buffer
		if err := synth.WriteLong(&buf, p, 37); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%d.parquet", i)), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// readTable reads every part of a table's partition, in part order.
func readTable[T any](t *testing.T, dir string) []T {
	parts, _ := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	var rows []T
	for _, p := range parts {
		rows = append(rows, tabletest.ReadFile[T](t, p)...)
	}
	return rows
}

// TestLongSplitRun checks, through whole runs, that a long table cut into
// files any way trains the same model (so its sequences reach training in
// the same order) and encodes the same latents and step losses, in the
// same order, as the table in one file; and that two shards of an encode,
// with duplicates kept, write each sequence once, whole.
func TestLongSplitRun(t *testing.T) {
	t.Parallel()
	seqs := synth.Sensors(synth.Options{N: 150, MinLen: 4, MaxLen: 16, Dim: 3, Anomalies: 2, Noise: 0.05, Seed: 11})
	run := func(in string, sets ...string) (*Result, []tabletest.Latent, []tabletest.StepLoss) {
		cfg := smallJob(t, in, append([]string{"input.layout=long"}, sets...)...)
		res := mustRun(t, cfg, Options{Date: day1})
		return res, readTable[tabletest.Latent](t, filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1)),
			readTable[tabletest.StepLoss](t, filepath.Join(cfg.Output.Dir, TableStepLosses, "dt="+day1))
	}
	oneRes, oneLat, oneLoss := run(writeLongParts(t, seqs, 1, 1))
	if len(oneLat) != len(seqs) {
		t.Fatalf("one file: %d latents rows, want %d", len(oneLat), len(seqs))
	}
	for _, k := range []int{2, 5} {
		res, lat, loss := run(writeLongParts(t, seqs, k, 2))
		if res.ModelID != oneRes.ModelID || !reflect.DeepEqual(lat, oneLat) || !reflect.DeepEqual(loss, oneLoss) {
			t.Errorf("%d files: model %s, %d latents rows, %d step losses; the one file gave model %s, %d, %d (or the rows differ)",
				k, res.ModelID, len(lat), len(loss), oneRes.ModelID, len(oneLat), len(oneLoss))
		}
	}

	in := writeLongParts(t, seqs, 3, 3)
	cfg := smallJob(t, in, "input.layout=long", "input.duplicates=keep", "run=encode", "model.path="+oneRes.ModelPath)
	for i := range 2 {
		mustRun(t, cfg, Options{Date: day1, Shard: Shard{i, 2}})
	}
	lat := readTable[tabletest.Latent](t, filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1))
	slices.SortFunc(lat, func(a, b tabletest.Latent) int { return strings.Compare(a.ID, b.ID) })
	want := slices.Clone(oneLat)
	slices.SortFunc(want, func(a, b tabletest.Latent) int { return strings.Compare(a.ID, b.ID) })
	if !reflect.DeepEqual(lat, want) {
		t.Errorf("two shards with duplicates kept: %d latents rows, want the %d of the one-file run, each id once, whole", len(lat), len(oneLat))
	}
}
