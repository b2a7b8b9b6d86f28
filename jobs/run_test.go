package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/internal/tabletest"
	"github.com/seqae/seqae/storage"
)

const day1, day2 = "2026-11-24", "2026-11-25"

// smallData writes 240 short sensor traces as a nested file in 8 row
// groups and returns its folder and the ids.
func smallData(t *testing.T) (string, []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "in")
	seqs := synth.Sensors(synth.Options{N: 240, MinLen: 4, MaxLen: 16, Dim: 3, Anomalies: 2, Noise: 0.05, Seed: 9})
	var buf bytes.Buffer
	if err := synth.WriteNested(&buf, seqs, 30); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "part-0.parquet"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(seqs))
	for i, s := range seqs {
		ids[i] = s.ID
	}
	return dir, ids
}

// smallJob is a quick job over in, writing to a new folder.
func smallJob(t *testing.T, in string, sets ...string) *Config {
	t.Helper()
	base := []string{"inputs=" + in, "output.dir=" + filepath.Join(t.TempDir(), "out"), "input.pass=machine",
		"model.latent=4", "model.hidden=4", "training.epochs=2", "training.lr=0.01", "batching.batch_size=16"}
	cfg, err := Load("", nil, append(base, sets...), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func mustRun(t *testing.T, cfg *Config, opt Options) *Result {
	t.Helper()
	res, err := Run(context.Background(), cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// readIDs reads the ids of every latents part in a partition.
func readIDs(t *testing.T, dir string) []string {
	t.Helper()
	parts, _ := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	var ids []string
	for _, p := range parts {
		for _, r := range tabletest.ReadFile[tabletest.Latent](t, p) {
			ids = append(ids, r.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// footer reads a Parquet file's seqae metadata.
func footer(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range pf.Metadata().KeyValueMetadata {
		out[kv.Key] = kv.Value
	}
	return out
}

func readManifest(t *testing.T, dir string) *Manifest {
	t.Helper()
	m, err := ReadManifest(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// visible lists what a Spark- or DuckDB-style reader sees under out:
// files and folders whose names do not start with "_" or ".", except the
// markers.
func visible(t *testing.T, out string) []string {
	t.Helper()
	var seen []string
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if p != out && (strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(out, p)
		seen = append(seen, rel)
		return nil
	})
	return seen
}

// Rerunning a date replaces each partition whole: no duplicate rows, the
// new run's manifest, nothing left in staging.
func TestRerunReplacesTheDate(t *testing.T) {
	t.Parallel()
	in, ids := smallData(t)
	cfg := smallJob(t, in)
	first := mustRun(t, cfg, Options{Date: day1})
	second := mustRun(t, cfg, Options{Date: day1})
	for _, table := range []string{TableModels, TableMetrics, TableQuarantine, TableStepLosses, TableLatents} {
		dir := filepath.Join(cfg.Output.Dir, table, "dt="+day1)
		if m := readManifest(t, dir); m.RunID != second.RunID {
			t.Errorf("%s: manifest of run %s, want the rerun's %s (first %s)", table, m.RunID, second.RunID, first.RunID)
		}
		if !exists(filepath.Join(dir, SuccessFile)) {
			t.Errorf("%s: no _SUCCESS", table)
		}
	}
	got := readIDs(t, filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1))
	want := slices.Sorted(slices.Values(ids))
	if !slices.Equal(got, want) {
		t.Errorf("latents after a rerun: %d rows, want each of the %d ids once", len(got), len(want))
	}
	if entries, _ := os.ReadDir(filepath.Join(cfg.Output.Dir, stagingDir)); len(entries) != 0 {
		t.Errorf("staging holds %d entries after the runs, want none", len(entries))
	}
	m := readManifest(t, filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1))
	c := m.Counts
	if c.Sequences != int64(len(ids)) || c.Encoded+c.Quarantined != c.Sequences {
		t.Errorf("manifest counts %+v: want %d in = out + quarantined", c, len(ids))
	}
	if len(m.Inputs) != 1 || m.Inputs[0].Bytes == 0 || len(m.Files) != 1 || m.Files[0].Rows != int64(len(ids)) {
		t.Errorf("manifest inputs %+v, files %+v: want the input with its size and one part of %d rows", m.Inputs, m.Files, len(ids))
	}
	meta := footer(t, filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1, m.Files[0].Name))
	if meta["seqae.model_id"] != second.ModelID || meta["seqae.run_id"] != second.RunID || !strings.Contains(meta["seqae.config"], "latent: 4") {
		t.Errorf("latents metadata %v: want model %s, run %s and the job config", meta, second.ModelID, second.RunID)
	}
}

// Encoding batches in input order whatever batching.mode says: the latents
// keep the input's row order, in ceil(240/16) batches, though the 240
// traces have 13 lengths.
func TestEncodeKeepsInputOrder(t *testing.T) {
	t.Parallel()
	in, ids := smallData(t)
	for _, mode := range []string{"exact", "padded"} {
		cfg := smallJob(t, in, "batching.mode="+mode)
		mustRun(t, cfg, Options{Date: day1})
		dir := filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1)
		m := readManifest(t, dir)
		var got []string
		for _, r := range tabletest.ReadFile[tabletest.Latent](t, filepath.Join(dir, m.Files[0].Name)) {
			got = append(got, r.ID)
		}
		if !slices.Equal(got, ids) {
			t.Errorf("%s: latents ids not in the input's order", mode)
		}
		if m.Counts.Batches != 15 || m.Counts.Encoded != 240 {
			t.Errorf("%s: %d batches for %d sequences, want 15 for 240", mode, m.Counts.Batches, m.Counts.Encoded)
		}
	}
}

// A run cancelled mid-way commits nothing: the previous date stays as it
// was, and a new date does not appear at all.
func TestCancelledRunLeavesPreviousState(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	cfg := smallJob(t, in)
	first := mustRun(t, cfg, Options{Date: day1})
	before := visible(t, cfg.Output.Dir)
	for _, date := range []string{day1, day2} {
		for _, phase := range []string{"train", "encode"} {
			ctx, cancel := context.WithCancel(context.Background())
			_, err := Run(ctx, cfg, Options{Date: date, ProgressEvery: 1, Progress: func(e Event) {
				if e.Phase == phase {
					cancel()
				}
			}})
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s, cancelled in %s: got %v, want context.Canceled", date, phase, err)
			}
			if after := visible(t, cfg.Output.Dir); !slices.Equal(after, before) {
				t.Errorf("%s, cancelled in %s: readers see %v, want what they saw before: %v", date, phase, after, before)
			}
			m := readManifest(t, filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1))
			if m.RunID != first.RunID {
				t.Errorf("latents manifest is run %s's, want the first run's %s", m.RunID, first.RunID)
			}
		}
	}
	if got := readIDs(t, filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1)); len(got) != 240 {
		t.Errorf("previous latents: %d rows readable, want 240", len(got))
	}
}

// Two shards together encode every id exactly once; _SUCCESS appears with
// the last; rerunning a shard replaces only its own part.
func TestShards(t *testing.T) {
	t.Parallel()
	in, ids := smallData(t)
	cfg := smallJob(t, in, "run=train")
	mustRun(t, cfg, Options{Date: day1})
	enc := *cfg
	enc.Run = RunEncode
	live := filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1)
	part0 := filepath.Join(live, "part-00000-of-00002.parquet")
	part1 := filepath.Join(live, "part-00001-of-00002.parquet")

	mustRun(t, &enc, Options{Date: day1, Shard: Shard{0, 2}})
	if exists(filepath.Join(live, SuccessFile)) || exists(filepath.Join(live, ManifestFile)) {
		t.Errorf("after shard 0 of 2: _SUCCESS or manifest.json present, want neither")
	}
	n0 := len(readIDs(t, live))
	if n0 == 0 || n0 == len(ids) {
		t.Errorf("shard 0 of 2 encoded %d of %d ids, want a strict share", n0, len(ids))
	}
	r1 := mustRun(t, &enc, Options{Date: day1, Shard: Shard{1, 2}})
	if !exists(filepath.Join(live, SuccessFile)) {
		t.Fatalf("after both shards: no _SUCCESS")
	}
	if got, want := readIDs(t, live), slices.Sorted(slices.Values(ids)); !slices.Equal(got, want) {
		t.Errorf("two shards wrote %d ids, want each of the %d once", len(got), len(want))
	}
	m := readManifest(t, live)
	if m.ShardCount != 2 || len(m.Shards) != 2 || m.Counts.Sequences != int64(len(ids)) || !m.Counts.Balanced() || len(m.Files) != 2 {
		t.Errorf("merged manifest: %d shards (%d listed), counts %+v, files %v; want 2 shards summing to %d balanced",
			m.ShardCount, len(m.Shards), m.Counts, m.Files, len(ids))
	}
	for _, table := range []string{TableQuarantine, TableStepLosses} {
		if !exists(filepath.Join(cfg.Output.Dir, table, "dt="+day1, SuccessFile)) {
			t.Errorf("%s: no _SUCCESS after both shards", table)
		}
	}

	before, _ := os.ReadFile(part0)
	st0, _ := os.Stat(part0)
	r1b := mustRun(t, &enc, Options{Date: day1, Shard: Shard{1, 2}})
	after, _ := os.ReadFile(part0)
	st0b, _ := os.Stat(part0)
	if !bytes.Equal(before, after) || !os.SameFile(st0, st0b) {
		t.Errorf("rerunning shard 1 touched shard 0's part")
	}
	if got := footer(t, part1)["seqae.run_id"]; got != r1b.RunID {
		t.Errorf("shard 1's part is from run %s, want the rerun's %s (was %s)", got, r1b.RunID, r1.RunID)
	}
	if !exists(filepath.Join(live, SuccessFile)) || len(readIDs(t, live)) != len(ids) {
		t.Errorf("after rerunning shard 1: _SUCCESS %v, %d ids; want complete with %d", exists(filepath.Join(live, SuccessFile)), len(readIDs(t, live)), len(ids))
	}

	// An unsharded run replaces the sharded date whole.
	mustRun(t, &enc, Options{Date: day1})
	entries, _ := os.ReadDir(live)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{SuccessFile, ManifestFile, "part-00000-of-00001.parquet"}; !slices.Equal(names, want) {
		t.Errorf("after an unsharded rerun the partition holds %v, want %v", names, want)
	}

	// Shards of another count start the date over: the unsharded part and
	// the markers go, so the date is not complete until all 3 land.
	mustRun(t, &enc, Options{Date: day1, Shard: Shard{2, 3}})
	if exists(filepath.Join(live, SuccessFile)) || exists(filepath.Join(live, "part-00000-of-00001.parquet")) {
		t.Errorf("after shard 2 of 3 over an unsharded date: _SUCCESS or the old part remains")
	}
}

// Run checks its config and options itself, as a Go caller may not have
// used Load: each mistake is a ConfigError naming the key or flag.
func TestRunValidates(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	csv := smallJob(t, in)
	csv.Output.Format = "csv"
	cases := []struct {
		name string
		cfg  *Config
		opt  Options
		want string
	}{
		{"an empty config", &Config{}, Options{}, `default: run: must be one of train, encode, train-then-encode, got ""`},
		{"a format set in Go", csv, Options{}, `default: output.format: must be one of parquet, arrow, got "csv"`},
		{"a bad date", smallJob(t, in), Options{Date: "2026-11-31"}, `--date: want a date YYYY-MM-DD, got "2026-11-31"`},
		{"a shard past the count", smallJob(t, in, "run=encode"), Options{Shard: Shard{5, 3}}, "--shard: want I/N with 0 <= I < N <= 99999, got 5/3"},
		{"too many shards", smallJob(t, in, "run=encode"), Options{Shard: Shard{0, 100000}}, "--shard: want I/N with 0 <= I < N <= 99999, got 0/100000"},
		{"sharded training", smallJob(t, in), Options{Date: day1, Shard: Shard{1, 4}}, "--shard 1/4: run is \"train-then-encode\", but training reads every input and cannot be sharded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(context.Background(), c.cfg, c.opt)
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want a ConfigError saying %q", err, c.want)
			}
		})
	}
}

// An output folder that cannot be written fails the run at once, before it
// reads or trains anything.
func TestUnwritableOutputFailsFirst(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(file, "out")
	events := 0
	_, err := Run(context.Background(), smallJob(t, in, "output.dir="+out), Options{Date: day1, ProgressEvery: 1, Progress: func(Event) { events++ }})
	if err == nil || !strings.HasPrefix(err.Error(), "output folder "+out+": ") || events != 0 {
		t.Errorf("got %v after %d progress events, want an error naming the output folder before any progress", err, events)
	}
}

// Warm start begins from the newest model committed before the date.
func TestWarmStart(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	cfg := smallJob(t, in, "run=train", "training.warm_start=true")
	first := mustRun(t, cfg, Options{Date: day1})
	if first.Train.Training.WarmStartFrom != "" {
		t.Errorf("first date warm-started from %s, want from scratch", first.Train.Training.WarmStartFrom)
	}
	second := mustRun(t, cfg, Options{Date: day2})
	if got := second.Train.Training.WarmStartFrom; got != first.ModelID {
		t.Errorf("second date warm-started from %q, want the first date's model %s", got, first.ModelID)
	}
	again := mustRun(t, cfg, Options{Date: day1})
	if got := again.Train.Training.WarmStartFrom; got != "" {
		t.Errorf("rerun of the first date warm-started from %q, want from scratch (no earlier date)", got)
	}
	mf, err := ReadModel(context.Background(), storage.Local{}, second.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	if mf.Meta[MetaWarmStart] != first.ModelID || mf.Meta[MetaModelID] != second.ModelID || mf.Model.ID() != second.ModelID {
		t.Errorf("model metadata %v: want warm start from %s and id %s", mf.Meta, first.ModelID, second.ModelID)
	}
}

func TestEncodeNeedsAModel(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	_, err := Run(context.Background(), smallJob(t, in, "run=encode"), Options{Date: day1})
	if err == nil || !strings.Contains(err.Error(), "no model to encode with") {
		t.Errorf("got %v, want an error saying there is no model", err)
	}
}

func TestMissingInputNamesThePath(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nowhere", "*.parquet")
	_, err := Run(context.Background(), smallJob(t, missing), Options{Date: day1})
	var ce *ConfigError
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), missing) {
		t.Errorf("got %v, want a run error (not a config error) naming %s", err, missing)
	}
}

// {date} in inputs is the run's date; Arrow output gets .arrow parts.
func TestDatedInputsAndArrow(t *testing.T) {
	t.Parallel()
	in, ids := smallData(t)
	dated := filepath.Join(filepath.Dir(in), "dt="+day2)
	if err := os.Rename(in, dated); err != nil {
		t.Fatal(err)
	}
	cfg := smallJob(t, filepath.Join(filepath.Dir(in), "dt={date}"), "output.format=arrow", "output.step_losses=false")
	res := mustRun(t, cfg, Options{Date: day2})
	if res.Encode.Counts.Sequences != int64(len(ids)) {
		t.Errorf("read %d sequences from dt={date}, want %d", res.Encode.Counts.Sequences, len(ids))
	}
	if !exists(filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day2, "part-00000-of-00001.arrow")) {
		t.Errorf("no Arrow latents part")
	}
	if exists(filepath.Join(cfg.Output.Dir, TableStepLosses)) {
		t.Errorf("step_losses written with output.step_losses false")
	}
}

// With a Store, inputs and an explicit model.path are read from it, while
// the models committed under the (local) output folder are read locally.
func TestModelStore(t *testing.T) {
	t.Parallel()
	in, ids := smallData(t)
	cfg := smallJob(t, in, "run=train")
	trained := mustRun(t, cfg, Options{Date: day1})
	model, err := os.ReadFile(trained.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(in, "part-0.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	store := storage.NewMem()
	for name, b := range map[string][]byte{"in/part-0.parquet": data, "models/m.safetensors": model} {
		w, err := store.Create(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name      string
		modelPath string
		want      string // the model path the run reports
	}{
		{"the committed model, read locally", "", trained.ModelPath},
		{"model.path, read from the store", "models/m.safetensors", "models/m.safetensors"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enc := smallJob(t, "in", "run=encode", "output.dir="+cfg.Output.Dir, "model.path="+c.modelPath)
			res, err := Run(context.Background(), enc, Options{Date: day1, Store: store})
			if err != nil {
				t.Fatal(err)
			}
			if res.ModelPath != c.want || res.ModelID != trained.ModelID || res.Encode.Counts.Sequences != int64(len(ids)) {
				t.Errorf("encoded %d sequences with %s (%s), want %d with %s (%s)", res.Encode.Counts.Sequences, res.ModelPath, res.ModelID, len(ids), c.want, trained.ModelID)
			}
		})
	}
}

// An input.* key that names what the data does not have is reported at the
// job file's line of that key.
func TestSpecErrorNamesTheJobLine(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	dir := t.TempDir()
	job := filepath.Join(dir, "job.yaml")
	for _, c := range []struct {
		input, want string
	}{
		{"  layout: nested\n  id: sid\n", job + `:7: input.id "sid" not found in `},
		{"  layout: long\n", job + ":6: input.layout is long but "},
	} {
		text := fmt.Sprintf("name: spec\nrun: train-then-encode\ninputs:\n  - %s\ninput:\n%soutput:\n  dir: %s\n", in, c.input, filepath.Join(dir, "out"))
		if err := os.WriteFile(job, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(job, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Run(context.Background(), cfg, Options{Date: day1})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("got %v, want an error starting %q", err, c.want)
		}
	}
}
