package jobs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqae/seqae/internal/synth"
)

// nestedData writes n short traces of dim features as one nested file in a
// new folder and returns the folder.
func nestedData(t *testing.T, n, dim int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "in")
	var buf bytes.Buffer
	if err := synth.WriteNested(&buf, synth.Sensors(synth.Options{N: n, MinLen: 4, MaxLen: 16, Dim: dim, Noise: 0.05, Seed: 3}), 30); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "part-0.parquet"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Encoding a nested input with a model of another number of features is an
// error naming both, and the date's live partitions stay as they were.
func TestEncodeWithAModelOfOtherFeatures(t *testing.T) {
	t.Parallel()
	four := smallJob(t, nestedData(t, 40, 4), "run=train")
	mustRun(t, four, Options{Date: day1})
	model := filepath.Join(four.Output.Dir, TableModels, "dt="+day1, ModelFileName)

	in, _ := smallData(t)
	cfg := smallJob(t, in, "run=train-then-encode")
	mustRun(t, cfg, Options{Date: day1})
	live := filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1)
	before := readIDs(t, live)

	enc := smallJob(t, in, "run=encode", "output.dir="+cfg.Output.Dir, "model.path="+model)
	_, err := Run(context.Background(), enc, Options{Date: day1})
	const want = "the model takes 4 features per step, the inputs have 3"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("encode error %v, want %q", err, want)
	}
	if after := readIDs(t, live); len(after) != len(before) || len(before) != 240 {
		t.Errorf("latents after the failed encode: %d ids, before %d; want the 240 unchanged", len(after), len(before))
	}
}

// A pass that reads rows and quarantines every one fails before anything
// is committed, with the counts by reason and the first rows; encoding
// commits such a date only with input.allow_all_quarantined.
func TestAllQuarantined(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	long := longData(t, 2)
	longIn := filepath.Dir(long[0])
	cases := []struct {
		name  string
		sets  []string
		want  []string // in the error; nil when the run must succeed
		train bool     // the error comes from training
	}{
		{"encode nested", []string{"run=encode", "input.max_len=3"},
			[]string{"encoding: every input sequence was quarantined (240 rows read, 240 sequences, 240 quarantined: too_long 240); nothing committed",
				"the first 5:", "part-0.parquet row 0: too_long: column \"values\": ", "steps, max_len is 3",
				"set input.allow_all_quarantined: true"}, false},
		{"encode nested, allowed", []string{"run=encode", "input.max_len=3", "input.allow_all_quarantined=true"}, nil, false},
		{"encode long", []string{"run=encode", "inputs=" + longIn, "input.layout=long", "input.order=ts", "input.max_len=3"},
			[]string{"encoding: every input sequence was quarantined (", "80 sequences, 80 quarantined: too_long 80)", "part-0.parquet", "max_len is 3"}, false},
		{"train nested", []string{"run=train-then-encode", "input.max_len=3"},
			[]string{"training: every input sequence was quarantined (240 rows read, 240 sequences, 240 quarantined: too_long 240); nothing committed",
				"the first 5:", "part-0.parquet row 0: too_long"}, true},
		{"train nested, allowed", []string{"run=train-then-encode", "input.max_len=3", "input.allow_all_quarantined=true"},
			[]string{"training: every input sequence was quarantined (240 rows read"}, true},
		{"train long", []string{"run=train", "inputs=" + longIn, "input.layout=long", "input.order=ts", "input.max_len=3"},
			[]string{"training: every input sequence was quarantined (", "80 sequences, 80 quarantined: too_long 80)", "the first 5:"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			mustRun(t, smallJob(t, in, "run=train", "output.dir="+out), Options{Date: day1})
			models := filepath.Join(out, TableModels, "dt="+day1)
			if !c.train {
				c.sets = append(c.sets, "model.path="+filepath.Join(models, ModelFileName))
			}
			before := readManifest(t, models).RunID
			cfg := smallJob(t, in, append([]string{"output.dir=" + out}, c.sets...)...)
			res, err := Run(context.Background(), cfg, Options{Date: day1})
			latents := filepath.Join(out, TableLatents, "dt="+day1)
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if m := readManifest(t, latents); m.Counts.Encoded != 0 || m.Counts.Quarantined != 240 || res.Encode == nil {
					t.Errorf("latents manifest counts %+v, want 0 out and 240 quarantined", m.Counts)
				}
				return
			}
			if err == nil {
				t.Fatalf("run succeeded, want an error with %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain %q", err, w)
				}
			}
			if exists(latents) {
				t.Errorf("%s exists after the failed run", latents)
			}
			if after := readManifest(t, models).RunID; after != before {
				t.Errorf("models partition by run %s after the failed run, want %s's unchanged", after, before)
			}
		})
	}
}
