package inspect

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/internal/tabletest"
	"github.com/seqae/seqae/jobs"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
	"github.com/seqae/seqae/storage/cloud"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

const day = "2026-11-25"

// nestedData writes n short 3-feature traces as one nested file in a new
// folder and returns the file.
func nestedData(t *testing.T, n int) string {
	t.Helper()
	var buf bytes.Buffer
	seqs := synth.Sensors(synth.Options{N: n, MinLen: 4, MaxLen: 16, Dim: 3, Noise: 0.05, Seed: 9})
	if err := synth.WriteNested(&buf, seqs, 30); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "part-0.parquet")
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// run runs a small job over in with the settings sets.
func run(t *testing.T, store storage.Store, in string, sets ...string) *jobs.Result {
	t.Helper()
	base := []string{"inputs=" + in, "input.pass=machine", "model.latent=4", "model.hidden=4", "training.epochs=1", "batching.batch_size=16"}
	cfg, err := jobs.Load("", nil, append(base, sets...), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Run(context.Background(), cfg, jobs.Options{Date: day, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func describe(t *testing.T, store storage.Store, path string, opt Options) string {
	t.Helper()
	var out bytes.Buffer
	if err := Describe(context.Background(), store, path, &out, opt); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out.String()
}

// Describing the example data shows both layouts as the golden files
// show: layout, counts as a run would make them, length histogram, rows;
// and the long layout's folder of three files read together.
func TestInputTables(t *testing.T) {
	for _, c := range []struct{ file, golden string }{
		{"../../examples/data/nested/sensors.parquet", "inspect-nested.txt"},
		{"../../examples/data/long/sensors-2.parquet", "inspect-long.txt"},
		{"../../examples/data/long", "inspect-long-folder.txt"},
	} {
		golden(t, c.golden, []byte(describe(t, storage.Local{}, c.file, Options{Rows: 2})))
	}
}

// seqae's outputs: a model, a Parquet and an Arrow IPC latents file (the
// same rows, so the same first rows), a local partition and one on an
// object store.
func TestOutputs(t *testing.T) {
	in := nestedData(t, 60)
	out := filepath.Join(t.TempDir(), "out")
	res := run(t, nil, in, "output.dir="+out)
	arrowOut := filepath.Join(t.TempDir(), "arrow")
	arrowRes := run(t, nil, in, "output.dir="+arrowOut, "run=encode", "output.format=arrow", "model.path="+res.ModelPath)
	mem := cloud.NewResolver()
	defer mem.Close()
	blobRes := run(t, mem, in, "output.dir=mem://lake/out", "run=encode", "model.path="+res.ModelPath)
	// The same input read from the object store: its manifest counts the
	// requests, and inspect shows them.
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	tabletest.Put(t, mem, "mem://lake/in/part-0.parquet", data)
	run(t, mem, "mem://lake/in", "output.dir=mem://lake/out-from-mem", "run=encode", "model.path="+res.ModelPath)

	latents := filepath.Join(out, jobs.TableLatents, "dt="+day)
	parquetFile := filepath.Join(latents, "part-00000-of-00001.parquet")
	arrowFile := filepath.Join(arrowOut, jobs.TableLatents, "dt="+day, "part-00000-of-00001.arrow")
	cases := []struct {
		store storage.Store
		path  string
		want  []string
	}{
		{storage.Local{}, res.ModelPath, []string{"model id " + res.ModelID, "sizes input 3, latent 4, decoder hidden 4, head linear",
			"parameters 287", "encoder.weight_ih [16 3]", "head.bias [3]", "normaliser std [", "seqae.run_id " + res.RunID, "job config: name: seqae"}},
		{storage.Local{}, parquetFile, []string{"rows 60", "row groups 1 (rows: 60)", "latent list<FLOAT>",
			"seqae.model_id " + res.ModelID, "seqae.phase encode", "first rows: id="}},
		{storage.Local{}, arrowFile, []string{"format Arrow IPC file", "rows 60", "record batches 1 (rows: 60)", "id utf8", "latent list<float32>",
			"percentile optional float32", "seqae.model_id " + res.ModelID, "seqae.run_id " + arrowRes.RunID, "seqae.phase encode", "first rows: id="}},
		{storage.Local{}, latents, []string{"complete (_SUCCESS) true", "counts 60 sequences in, 60 out, 0 quarantined", "part-00000-of-00001.parquet"}},
		{mem, "mem://lake/out/latents/dt=" + day, []string{"complete (_SUCCESS) true", "latents, date " + day, "run " + blobRes.RunID,
			"files (from the manifest) part-00000-of-00001-" + blobRes.RunID + ".parquet", "bytes, 60 rows"}},
		{mem, "mem://lake/out-from-mem/latents/dt=" + day, []string{"complete (_SUCCESS) true", "inputs 1 files, " + fmt.Sprint(len(data)) + " bytes, ", " requests"}},
	}
	for _, c := range cases {
		got := describe(t, c.store, c.path, Options{})
		text := strings.Join(strings.Fields(got), " ")
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("describe %s:\n%s\nwant it to contain %q", c.path, got, w)
			}
		}
	}
	if got := describe(t, storage.Local{}, latents, Options{}); strings.Contains(got, "requests") {
		t.Errorf("describe %s (inputs read locally):\n%s\nwant no request count", latents, got)
	}
	firstRows := func(text string) string {
		_, rows, _ := strings.Cut(text, "first rows:\n")
		return rows
	}
	pq, arrow := firstRows(describe(t, storage.Local{}, parquetFile, Options{Rows: 4})), firstRows(describe(t, storage.Local{}, arrowFile, Options{Rows: 4}))
	if strings.Count(arrow, "  id=") != 4 || arrow != pq {
		t.Errorf("the Arrow file's first rows:\n%s\nwant 4, the Parquet file's:\n%s", arrow, pq)
	}
}

// Files that are none of those, or damaged, are errors naming them.
func TestNotATable(t *testing.T) {
	dir := t.TempDir()
	truncated := filepath.Join(dir, "cut.arrow")
	if err := os.WriteFile(truncated, []byte(arrowMagic+"\x00\x00 and no more"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("PA"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{text, text + ": neither a Parquet file, an Arrow IPC file nor a .safetensors model"},
		{truncated, truncated + ": not a readable Arrow IPC file"},
	} {
		var out bytes.Buffer
		if err := Describe(context.Background(), storage.Local{}, c.path, &out, Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("describe %s: got %v, want an error with %q", c.path, err, c.want)
		}
	}
	var out bytes.Buffer
	err := Describe(context.Background(), storage.Local{}, "../../examples/data/long/sensors-0.parquet", &out, Options{Spec: schemas.Spec{Layout: schemas.Nested}})
	if err != nil || !strings.Contains(out.String(), "not a seqae input as it stands: input.layout is nested but ../../examples/data/long/sensors-0.parquet looks like the long layout") {
		t.Errorf("a long file read as nested: got %v and\n%s\nwant the mismatch reported", err, out.String())
	}
}

// Describe shows at most the rows there are, however many are asked for,
// and reports a damaged manifest rather than skipping it.
func TestLimits(t *testing.T) {
	in := nestedData(t, 40)
	badManifest := t.TempDir()
	if err := os.WriteFile(filepath.Join(badManifest, jobs.ManifestFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	noManifest := t.TempDir()
	cases := []struct {
		name string
		path string
		rows int
		want string // in the output, or the error when err
		err  bool
	}{
		{"every row", in, math.MaxInt, "40 rows shown", false},
		{"a few rows", in, 5, "5 rows shown", false},
		{"a damaged manifest", badManifest, 0, filepath.Join(badManifest, jobs.ManifestFile) + ": invalid character", true},
		{"no manifest", noManifest, 0, "folder " + noManifest, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Describe(context.Background(), storage.Local{}, c.path, &out, Options{Rows: c.rows})
			got := strings.Join(strings.Fields(out.String()), " ")
			if rows := strings.Count(out.String(), "\n  id="); rows > 0 {
				got = fmt.Sprintf("%s %d rows shown", got, rows)
			}
			if c.err {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("got error %v, want one saying %q", err, c.want)
				}
				return
			}
			if err != nil || !strings.Contains(got, c.want) {
				t.Errorf("got %v and\n%s\nwant %q", err, out.String(), c.want)
			}
		})
	}
}
