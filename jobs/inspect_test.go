package jobs

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

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
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

// Inspecting the example data describes both layouts as the golden files
// show: layout, counts as a run would make them, length histogram, rows;
// and the long layout's folder of three files read together.
func TestInspectInputTables(t *testing.T) {
	for _, c := range []struct{ file, golden string }{
		{"../examples/data/nested/sensors.parquet", "inspect-nested.txt"},
		{"../examples/data/long/sensors-2.parquet", "inspect-long.txt"},
		{"../examples/data/long", "inspect-long-folder.txt"},
	} {
		var out bytes.Buffer
		if err := Inspect(context.Background(), storage.Local{}, c.file, &out, InspectOptions{Rows: 2}); err != nil {
			t.Fatal(err)
		}
		golden(t, c.golden, out.Bytes())
	}
}

func TestInspectOutputs(t *testing.T) {
	in, _ := smallData(t)
	cfg := smallJob(t, in)
	res := mustRun(t, cfg, Options{Date: day1})
	latents := filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1)
	cases := []struct {
		path string
		want []string
	}{
		{res.ModelPath, []string{"model id " + res.ModelID, "sizes input 3, latent 4, decoder hidden 4, head linear",
			"parameters 287", "encoder.weight_ih [16 3]", "head.bias [3]", "normaliser std [", "seqae.run_id " + res.RunID, "job config: name: seqae"}},
		{filepath.Join(latents, "part-00000-of-00001.parquet"), []string{"rows 240", "latent list<FLOAT>",
			"seqae.model_id " + res.ModelID, "seqae.phase encode", "first rows: id="}},
		{latents, []string{"complete (_SUCCESS) true", "counts 240 sequences in, 240 out, 0 quarantined", "part-00000-of-00001.parquet"}},
	}
	for _, c := range cases {
		var out bytes.Buffer
		if err := Inspect(context.Background(), storage.Local{}, c.path, &out, InspectOptions{}); err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		text := strings.Join(strings.Fields(out.String()), " ")
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("inspect %s:\n%s\nwant it to contain %q", c.path, out.String(), w)
			}
		}
	}
	var out bytes.Buffer
	err := Inspect(context.Background(), storage.Local{}, "config.go", &out, InspectOptions{})
	if err == nil || !strings.Contains(err.Error(), "config.go: neither a Parquet file nor a .safetensors model") {
		t.Errorf("inspecting a Go file: got %v, want an error naming it", err)
	}
	err = Inspect(context.Background(), storage.Local{}, "../examples/data/long/sensors-0.parquet", &out, InspectOptions{Spec: schemas.Spec{Layout: schemas.Nested}})
	if err != nil || !strings.Contains(out.String(), "not a seqae input as it stands: input.layout is nested but ../examples/data/long/sensors-0.parquet looks like the long layout") {
		t.Errorf("a long file read as nested: got %v and\n%s\nwant the mismatch reported", err, out.String())
	}
}

// Inspect shows at most the rows there are, however many are asked for,
// and reports a damaged manifest rather than skipping it.
func TestInspectLimits(t *testing.T) {
	in, ids := smallData(t)
	badManifest := t.TempDir()
	if err := os.WriteFile(filepath.Join(badManifest, ManifestFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	noManifest := t.TempDir()
	cases := []struct {
		name string
		path string
		rows int
		want string // in the output, or the error when wantErr
		err  bool
	}{
		{"every row", filepath.Join(in, "part-0.parquet"), math.MaxInt, fmt.Sprintf("%d rows shown", len(ids)), false},
		{"a few rows", filepath.Join(in, "part-0.parquet"), 5, "5 rows shown", false},
		{"a damaged manifest", badManifest, 0, filepath.Join(badManifest, ManifestFile) + ": invalid character", true},
		{"no manifest", noManifest, 0, "folder " + noManifest, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Inspect(context.Background(), storage.Local{}, c.path, &out, InspectOptions{Rows: c.rows})
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

func TestReasonList(t *testing.T) {
	cases := []struct {
		reasons map[schemas.Reason]int64
		want    string
	}{
		{nil, ""},
		{map[schemas.Reason]int64{"non_finite": 1}, " (non_finite 1)"},
		{map[schemas.Reason]int64{"non_finite": 1, "duplicate_id": 2, "empty_sequence": 3}, " (duplicate_id 2, empty_sequence 3, non_finite 1)"},
	}
	for _, c := range cases {
		if got := ReasonList(c.reasons); got != c.want {
			t.Errorf("ReasonList(%v) = %q, want %q", c.reasons, got, c.want)
		}
	}
}
