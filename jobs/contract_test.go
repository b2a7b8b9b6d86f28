package jobs

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/internal/tabletest"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/stages"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// parquetRows is the number of rows in a Parquet file's footer.
func parquetRows(t *testing.T, name string) int64 {
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
	return pf.NumRows()
}

// Rows lost inside a real run (a row group never read, quarantine rows
// not written, a table's rows miscounted by its writer) fail the counts
// check after stages.Encode has closed its tables: the run commits nothing.
func TestLostRowsFailTheRun(t *testing.T) {
	in, _ := smallData(t)
	encode := func(lose func(*stages.EncodeJob), miscount func(*stages.Written)) func(context.Context, stages.EncodeJob) (stages.EncodeResult, error) {
		return func(ctx context.Context, j stages.EncodeJob) (stages.EncodeResult, error) {
			if lose != nil {
				lose(&j)
			}
			res, err := stages.Encode(ctx, j)
			if miscount != nil {
				miscount(&res.Written)
			}
			return res, err
		}
	}
	cases := []struct {
		name   string
		encode func(context.Context, stages.EncodeJob) (stages.EncodeResult, error)
		want   string
	}{
		{"a row group not read", encode(func(j *stages.EncodeJob) { j.Units = j.Units[1:] }, nil),
			"encoding: read 210 rows, but the inputs' metadata says 240; nothing committed"},
		{"quarantine not written", encode(func(j *stages.EncodeJob) { j.Outputs.Quarantine = "" }, nil),
			"encoding: the quarantine table holds 0 rows, but 78 rows quarantined were counted; nothing committed"},
		{"a latents row not written", encode(nil, func(w *stages.Written) { w.Latents-- }),
			"encoding: the latents table holds 161 rows, but 162 sequences out were counted; nothing committed"},
		{"step losses not written", encode(nil, func(w *stages.Written) { w.StepLosses = 0 }),
			"encoding: the step_losses table holds 0 rows, but "},
	}
	cfg := smallJob(t, in, "input.max_len=12")
	first := mustRun(t, cfg, Options{Date: day1})
	enc := *cfg
	enc.Run = RunEncode
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			encodeStage = c.encode
			defer func() { encodeStage = stages.Encode }()
			_, err := Run(context.Background(), &enc, Options{Date: day1})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got error %v, want %q", err, c.want)
			}
			for _, table := range []string{TableQuarantine, TableStepLosses, TableLatents} {
				if m := readManifest(t, filepath.Join(cfg.Output.Dir, table, "dt="+day1)); m.RunID != first.RunID {
					t.Errorf("%s: committed by run %s after the failed run, want the first run's %s", table, m.RunID, first.RunID)
				}
			}
		})
	}
}

// Every table's manifest lists its files with the rows each holds, for a
// whole run and for the merged manifest of a sharded date.
func TestManifestFilesCountRows(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	cfg := smallJob(t, in, "input.max_len=12")
	mustRun(t, cfg, Options{Date: day1})
	enc := *cfg
	enc.Run = RunEncode
	for i := range 2 {
		mustRun(t, &enc, Options{Date: day2, Shard: Shard{i, 2}})
	}
	check := func(date string, tables []string, wantFiles int) {
		for _, table := range tables {
			dir := filepath.Join(cfg.Output.Dir, table, "dt="+date)
			m := readManifest(t, dir)
			if len(m.Files) != wantFiles {
				t.Errorf("%s %s: %d files in the manifest, want %d", table, date, len(m.Files), wantFiles)
			}
			var sum int64
			for _, f := range m.Files {
				name := filepath.Join(dir, f.Name)
				st, err := os.Stat(name)
				if err != nil {
					t.Fatal(err)
				}
				want := int64(0) // the model file and the report are no tables
				if table != TableModels && table != TableReports {
					want = parquetRows(t, name)
				}
				if f.Rows != want || f.Bytes != st.Size() {
					t.Errorf("%s %s: %+v in the manifest, the file holds %d rows in %d bytes", table, date, f, want, st.Size())
				}
				sum += f.Rows
			}
			counted := map[string]int64{TableModels: 0, TableMetrics: int64(m.Training.epochs()), TableQuarantine: m.Counts.Quarantined,
				TableStepLosses: m.Counts.StepRows, TableLatents: m.Counts.Encoded, TableDrift: 1, TableReports: 0}[table]
			if sum != counted || (table != TableModels && table != TableReports && sum == 0) {
				t.Errorf("%s %s: the files hold %d rows, the counts say %d", table, date, sum, counted)
			}
		}
	}
	check(day1, tables, 1)
	check(day2, []string{TableQuarantine, TableStepLosses, TableLatents}, 2)
}

func (ti *TrainingInfo) epochs() int {
	if ti == nil {
		return 0
	}
	return ti.Epochs
}

// Encoding normalises as training did: over the validation sequences, the
// scores (each sequence's mean step loss) weighted by length are the
// validation loss training measured with the same weights, both when the
// run encodes with the model it trained and when it reads the model back.
func TestEncodedScoreIsValidationLoss(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	const fraction = 0.3
	cfg := smallJob(t, in, "training.val_fraction=0.3", "training.epochs=1")
	res := mustRun(t, cfg, Options{Date: day1})
	enc := *cfg
	enc.Run, enc.Model.Path = RunEncode, res.ModelPath
	mustRun(t, &enc, Options{Date: day2})
	split := stages.Split{Fraction: fraction, IDKind: schemas.String}
	want := res.Train.Training.BestValLoss
	for _, date := range []string{day1, day2} {
		var sum, steps float64
		var n int
		for _, l := range tabletest.ReadFile[tabletest.Latent](t, filepath.Join(cfg.Output.Dir, TableLatents, "dt="+date, "part-00000-of-00001.parquet")) {
			if split.Validation(schemas.Value{Str: l.ID}) {
				sum += float64(l.Score) * float64(l.Length)
				steps += float64(l.Length)
				n++
			}
		}
		got := sum / steps
		t.Logf("%s: %d validation sequences, weighted mean score %.7f, validation loss %.7f", date, n, got, want)
		if int64(n) != res.Train.Training.ValSeqs || math.Abs(got-want) > 1e-5*want {
			t.Errorf("%s: %d validation sequences with weighted mean score %.7f; want %d and the validation loss %.7f",
				date, n, got, res.Train.Training.ValSeqs, want)
		}
	}
}

// idRow is a long-layout input row with an id of type T.
type idRow[T any] struct {
	ID T       `parquet:"id"`
	TS int64   `parquet:"ts"`
	F0 float32 `parquet:"f0"`
	F1 float32 `parquet:"f1"`
}

// outID is an output row's id, of type T.
type outID[T any] struct {
	ID T `parquet:"id"`
}

// roundTripIDs trains and encodes a long input whose ids are ids and
// checks that the latents and step_losses tables hold them with the
// input's type (kind) and values.
func roundTripIDs[T int32 | int64 | string](t *testing.T, ids []T, kind parquet.Kind) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "in")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var rows []idRow[T]
	for i, id := range ids {
		for s := range 5 {
			rows = append(rows, idRow[T]{ID: id, TS: int64(s), F0: float32(i + s), F1: float32(i * s)})
		}
	}
	if err := parquet.WriteFile(filepath.Join(dir, "part-0.parquet"), rows); err != nil {
		t.Fatal(err)
	}
	cfg := smallJob(t, dir, "input.layout=long", "input.order=ts", "input.pass=", "training.val_fraction=0", "training.epochs=1")
	mustRun(t, cfg, Options{Date: day1})
	for _, table := range []string{TableLatents, TableStepLosses} {
		name := filepath.Join(cfg.Output.Dir, table, "dt="+day1, "part-00000-of-00001.parquet")
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		col, _ := pf.Schema().Lookup("id")
		typ := col.Node.Type()
		isString := typ.LogicalType() != nil && typ.LogicalType().String() == "STRING"
		f.Close()
		if typ.Kind() != kind || (kind == parquet.ByteArray) != isString {
			t.Errorf("%s: id column of type %s, want kind %s", table, typ, kind)
		}
		var got []T
		for _, r := range tabletest.ReadFile[outID[T]](t, name) {
			if len(got) == 0 || got[len(got)-1] != r.ID {
				got = append(got, r.ID)
			}
		}
		if want := slices.Sorted(slices.Values(ids)); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
			t.Errorf("%s: ids %v, want %v", table, got, want)
		}
	}
}

// Integer and string ids come out with their types and values.
func TestIDTypesRoundTrip(t *testing.T) {
	t.Parallel()
	t.Run("int32", func(t *testing.T) { roundTripIDs(t, []int32{-7, 0, 3, math.MaxInt32, math.MinInt32}, parquet.Int32) })
	t.Run("int64", func(t *testing.T) { roundTripIDs(t, []int64{-1 << 40, 0, 3, math.MaxInt64, 1 << 62}, parquet.Int64) })
	t.Run("string", func(t *testing.T) { roundTripIDs(t, []string{"a", "b-2", "ü", "0", "z z"}, parquet.ByteArray) })
}

// The model file's metadata keys are a contract with every reader of old
// models: the golden file pins their names (and the values that do not
// change from run to run) for a padded, warm-started training.
func TestCheckpointMetadataGolden(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	cfg := smallJob(t, in, "run=train", "batching.mode=padded", "batching.boundaries=[1,8]", "training.warm_start=true")
	mustRun(t, cfg, Options{Date: day1})
	res := mustRun(t, cfg, Options{Date: day2})
	b, err := os.ReadFile(res.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	var header struct {
		Meta map[string]string `json:"__metadata__"`
	}
	if err := json.Unmarshal(b[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	pinned := map[string]bool{"seqae.config": true, "seqae.format": true, MetaBoundaries: true, MetaDate: true}
	var got strings.Builder
	for _, k := range slices.Sorted(maps.Keys(header.Meta)) {
		v := header.Meta[k]
		switch {
		case pinned[k]:
		case k == MetaNormalizer:
			var norm map[string]any
			if err := json.Unmarshal([]byte(v), &norm); err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			v = "JSON with " + strings.Join(slices.Sorted(maps.Keys(norm)), ", ")
		default:
			v = "(varies)"
		}
		fmt.Fprintf(&got, "%s: %s\n", k, v)
	}
	golden := filepath.Join("testdata", "checkpoint-metadata.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("model metadata:\n%s\nwant (%s, -update rewrites it):\n%s", got.String(), golden, want)
	}
}

// Every manifest reports the run's peak resident memory (on Unix).
func TestManifestPeakRSS(t *testing.T) {
	t.Parallel()
	if peakRSS() == 0 {
		t.Skip("no getrusage here")
	}
	in, _ := smallData(t)
	cfg := smallJob(t, in)
	mustRun(t, cfg, Options{Date: day1})
	for _, table := range tables {
		m := readManifest(t, filepath.Join(cfg.Output.Dir, table, "dt="+day1))
		if m.PeakRSS < 1<<20 || m.PeakRSS > peakRSS() {
			t.Errorf("%s: peak RSS %d bytes, want at least 1 MiB and at most the process's %d now", table, m.PeakRSS, peakRSS())
		}
	}
}
