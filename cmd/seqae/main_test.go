package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/bench"
	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/internal/tabletest"
	"github.com/seqae/seqae/jobs"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// cli runs seqae in-process and returns its exit status and output.
func cli(t *testing.T, ctx context.Context, env []string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := execute(ctx, args, env, &stdout, &stderr, false)
	return code, stdout.String(), stderr.String()
}

// The README's first command, run through the CLI entry point on the
// shipped example data: exit 0, every partition committed with balanced
// counts, step losses for every real step, the planted anomalies at the
// top of the scores and flagged by the calibration, and few normal traces
// flagged.
func TestExampleJobEndToEnd(t *testing.T) {
	out := t.TempDir()
	t.Chdir("../..")
	start := time.Now()
	code, stdout, stderr := cli(t, context.Background(), nil, "run", "jobs/example.yaml", "--date", "2026-11-25", "--out", out, "--progress", "log")
	t.Logf("example job: %v\n%s", time.Since(start).Round(time.Millisecond), stdout)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"3003 sequences in", "3000 out, 3 quarantined (duplicate_id 1, empty_sequence 1, non_finite 1)", "committed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary does not say %q:\n%s", want, stdout)
		}
	}
	for _, want := range []string{"msg=epoch", "msg=progress phase=encode", "msg=committed table=latents"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	part := func(table string) string { return filepath.Join(out, table, "dt=2026-11-25") }
	for _, table := range []string{jobs.TableModels, jobs.TableMetrics, jobs.TableQuarantine, jobs.TableStepLosses, jobs.TableLatents} {
		if _, err := os.Stat(filepath.Join(part(table), jobs.SuccessFile)); err != nil {
			t.Errorf("%s: %v", table, err)
		}
		m, err := jobs.ReadManifest(filepath.Join(part(table), jobs.ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		c := m.Counts
		if c.Sequences != 3003 || c.Sequences != c.Encoded+c.Quarantined || c.Quarantined != 3 {
			t.Errorf("%s manifest counts: %d in, %d out, %d quarantined; want 3003 = 3000 + 3", table, c.Sequences, c.Encoded, c.Quarantined)
		}
		if len(m.Inputs) != 1 || m.Inputs[0].Name != "examples/data/nested/sensors.parquet" || m.Inputs[0].Bytes == 0 || m.ModelID == "" {
			t.Errorf("%s manifest: inputs %+v, model %q; want the example file with its size and a model id", table, m.Inputs, m.ModelID)
		}
	}
	latents := tabletest.ReadFile[tabletest.Latent](t, filepath.Join(part(jobs.TableLatents), "part-00000-of-00001.parquet"))
	steps := tabletest.ReadFile[tabletest.StepLoss](t, filepath.Join(part(jobs.TableStepLosses), "part-00000-of-00001.parquet"))
	var realSteps int
	for _, l := range latents {
		realSteps += int(l.Length)
		if len(l.Latent) != 32 || l.Machine == nil {
			t.Fatalf("latent row %+v: want 32 values and the machine passed through", l)
		}
	}
	if len(latents) != 3000 || len(steps) != realSteps {
		t.Errorf("latents %d rows (want 3000), step_losses %d rows (want the %d real steps)", len(latents), len(steps), realSteps)
	}

	var planted []struct{ ID, Kind string }
	b, err := os.ReadFile("examples/data/anomalies.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &planted); err != nil {
		t.Fatal(err)
	}
	// Calibration: every row has a percentile and the flag from 99; the
	// planted faults are flagged, and at most 2% of the normal traces.
	faults := map[string]bool{}
	for _, p := range planted {
		faults[p.ID] = true
	}
	var flagged, normal, normalFlagged int
	for _, r := range latents {
		if r.Percentile == nil || r.Anomaly == nil {
			t.Fatalf("%s: percentile %v, anomaly %v: want both set", r.ID, r.Percentile, r.Anomaly)
		}
		if p := *r.Percentile; p < 0 || p > 100 || *r.Anomaly != (p >= 99) {
			t.Errorf("%s: percentile %v, anomaly %v: want 0..100, anomaly from 99", r.ID, p, *r.Anomaly)
		}
		switch {
		case faults[r.ID] && *r.Anomaly:
			flagged++
		case faults[r.ID]:
			t.Errorf("planted fault %s: anomaly false (score %v, percentile %v)", r.ID, r.Score, *r.Percentile)
		default:
			normal++
			if *r.Anomaly {
				normalFlagged++
			}
		}
	}
	t.Logf("planted faults flagged: %d of %d; normal traces flagged: %d of %d", flagged, len(faults), normalFlagged, normal)
	if flagged != len(faults) || normalFlagged*50 > normal {
		t.Errorf("got %d of %d planted faults and %d of %d normal traces flagged, want all and at most 2%%", flagged, len(faults), normalFlagged, normal)
	}
	sort.Slice(latents, func(i, j int) bool { return latents[i].Score > latents[j].Score })
	var top, want []string
	for i, p := range planted {
		top = append(top, latents[i].ID)
		want = append(want, p.ID)
	}
	slices.Sort(top)
	if !slices.Equal(top, want) {
		t.Errorf("top %d scores: %v, want the planted anomalies %v", len(want), top, want)
	}
	lowest, median := latents[len(planted)-1].Score, latents[len(latents)/2].Score
	t.Logf("lowest planted score %.3f, highest normal %.3f, median %.4f", lowest, latents[len(planted)].Score, median)
	if lowest < 10*median {
		t.Errorf("lowest planted score %.3f is not far above the median %.4f", lowest, median)
	}
}

// writeJob writes a job file over a small copy of the example data.
func writeJob(t *testing.T, body string) (job, out string) {
	t.Helper()
	dir := t.TempDir()
	out = filepath.Join(dir, "out")
	job = filepath.Join(dir, "job.yaml")
	text := "inputs: [" + exampleInput(t) + "]\noutput:\n  dir: " + out + "\n" + body
	if err := os.WriteFile(job, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return job, out
}

func exampleInput(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("../../examples/data/nested/sensors.parquet")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

const quick = "model:\n  latent: 4\n  hidden: 4\ntraining:\n  epochs: 1\n"

// Every way of getting the command line or the job wrong exits 2 and says
// what; a failing run exits 1 and names what failed.
func TestExitStatus(t *testing.T) {
	badLatent, _ := writeJob(t, "model:\n  latent: 0\n")
	unknownKey, _ := writeJob(t, "trainig:\n  epochs: 1\n")
	good, _ := writeJob(t, quick)
	missing := filepath.Join(t.TempDir(), "no-such-folder")
	threeFeatures := threeFeatureModel(t)
	cases := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"bad value", nil, []string{"run", badLatent}, 2, "job.yaml:5: model.latent: must be >= 1, got 0"},
		{"unknown key", nil, []string{"run", unknownKey}, 2, "job.yaml:4: trainig: unknown key"},
		{"missing job file", nil, []string{"run", "nope.yaml"}, 2, "nope.yaml: cannot read the job file"},
		{"no job file", nil, []string{"run"}, 2, "accepts 1 arg(s), received 0"},
		{"unknown flag", nil, []string{"run", good, "--epoch", "3"}, 2, "unknown flag: --epoch"},
		{"a training flag on encode", nil, []string{"encode", good, "--epochs", "3"}, 2, "unknown flag: --epochs"},
		{"--warm-start on encode", nil, []string{"encode", good, "--warm-start"}, 2, "unknown flag: --warm-start"},
		{"--model on train", nil, []string{"train", good, "--model", "m.safetensors"}, 2, "unknown flag: --model"},
		{"--shard on train", nil, []string{"train", good, "--shard", "0/2"}, 2, "unknown flag: --shard"},
		{"bad flag value", nil, []string{"run", good, "--epochs", "many"}, 2, `invalid argument "many" for "--epochs"`},
		{"unknown command", nil, []string{"fit"}, 2, `unknown command "fit"`},
		{"no command", nil, nil, 2, "no command given"},
		{"bad date", nil, []string{"run", good, "--date", "2026-13-01"}, 2, `--date: want a date YYYY-MM-DD, got "2026-13-01"`},
		{"empty date", nil, []string{"run", good, "--date", ""}, 2, `--date: want a date YYYY-MM-DD, got an empty one`},
		{"bad date variable", []string{"SEQAE_DATE=yesterday"}, []string{"run", good}, 2, `--date: want a date YYYY-MM-DD, got "yesterday"`},
		{"bad shard", nil, []string{"encode", good, "--shard", "4/4"}, 2, `--shard: want I/N with 0 <= I < N`},
		{"too many shards", nil, []string{"encode", good, "--shard", "0/100000"}, 2, `--shard: want I/N with 0 <= I < N <= 99999, e.g. 3/8, got "0/100000"`},
		{"bad shard with --print-config", nil, []string{"encode", good, "--print-config", "--shard", "9/2"}, 2, `--shard: want I/N`},
		{"bad date with --print-config", nil, []string{"run", good, "--print-config", "--date", "2026-13-01"}, 2, `--date: want a date YYYY-MM-DD, got "2026-13-01"`},
		{"sharded training with --print-config", nil, []string{"run", good, "--print-config", "--shard", "1/2"}, 2, "--shard 1/2: run is \"train-then-encode\""},
		{"sharded training", nil, []string{"run", good, "--shard", "1/2"}, 2, "--shard 1/2: run is \"train-then-encode\", but training reads every input and cannot be sharded"},
		{"unknown variable", []string{"SEQAE_EPOCHS=3"}, []string{"run", good}, 2, "SEQAE_EPOCHS: no such setting"},
		{"bad variable", []string{"SEQAE_BATCHING_MODE=bucketed"}, []string{"run", good}, 2, `SEQAE_BATCHING_MODE: batching.mode: must be one of exact, padded, got "bucketed"`},
		{"bad --set", nil, []string{"run", good, "--set", "model.head=mlp"}, 2, `--set model.head=mlp: model.head: must be one of linear, none`},
		{"bad --format", nil, []string{"run", good, "--format", "csv"}, 2, `invalid argument "csv" for "--format" flag: must be one of parquet, arrow, got "csv"`},
		{"bad inspect --layout", nil, []string{"inspect", good, "--layout", "wide"}, 2, `invalid argument "wide" for "--layout" flag: must be one of nested, columns, long, got "wide"`},
		{"bad log format", nil, []string{"version", "--log-format", "xml"}, 2, `--log-format: want text or json, got "xml"`},
		{"train without inputs", nil, []string{"train"}, 2, "name a job file or the inputs"},
		{"missing input", nil, []string{"run", good, "--input", missing}, 1, missing},
		{"encode without a model", nil, []string{"encode", good, "--out", t.TempDir()}, 1, "no model to encode with"},
		{"not a model", nil, []string{"encode", good, "--model", good}, 1, "job.yaml: nn: load: not a valid seqae checkpoint"},
		{"inspect a missing file", nil, []string{"inspect", missing}, 1, missing},
		{"every row quarantined", nil, []string{"run", good, "--set", "input.max_len=1"}, 1,
			"training: every input sequence was quarantined (3003 rows read, 3003 sequences, 3003 quarantined: empty_sequence 1, non_finite 1, too_long 3001)"},
		{"every row quarantined in encoding", nil, []string{"encode", good, "--model", threeFeatures, "--set", "input.dim=3"}, 1,
			"set input.allow_all_quarantined: true"},
		{"a model for other features", nil, []string{"encode", good, "--model", threeFeatures}, 1, "the model takes 3 features per step, the inputs have 4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := cli(t, context.Background(), c.env, c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, c.code, c.want)
			}
		})
	}
}

// threeFeatureModel trains a model on a small 3-feature nested file and
// returns its path.
func threeFeatureModel(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := synth.WriteNested(&buf, synth.Sensors(synth.Options{N: 40, MinLen: 4, MaxLen: 12, Dim: 3, Seed: 1}), 40); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "three.parquet")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, _, stderr := cli(t, context.Background(), nil, "train", "--input", in, "--out", out, "--date", "2026-11-25", "--epochs", "1",
		"--set", "model.latent=4", "--set", "model.hidden=4")
	if code != 0 {
		t.Fatalf("training the 3-feature model: exit %d: %s", code, stderr)
	}
	return filepath.Join(out, jobs.TableModels, "dt=2026-11-25", jobs.ModelFileName)
}

// Head none outputs the decoder's hidden state, so hidden must equal the
// input's features: a mismatch found once the data is open is still a
// configuration error.
func TestHeadNoneNeedsMatchingHidden(t *testing.T) {
	job, _ := writeJob(t, quick)
	code, _, stderr := cli(t, context.Background(), nil, "run", job, "--set", "model.head=none", "--set", "model.hidden=5")
	if code != 2 || !strings.Contains(stderr, "hidden must equal the input's 4 features, got 5") {
		t.Errorf("exit %d, stderr %s; want 2 and the hidden size named", code, stderr)
	}
}

// An interrupted run exits 130 and leaves the previous outputs as they
// were.
func TestInterruptedRun(t *testing.T) {
	job, out := writeJob(t, quick)
	if code, _, stderr := cli(t, context.Background(), nil, "run", job, "--date", "2026-11-25"); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	manifest := filepath.Join(out, "latents", "dt=2026-11-25", jobs.ManifestFile)
	before, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	// As main does on SIGINT or SIGTERM: cancel the run's context.
	ctx, cancel := context.WithCancel(context.Background())
	defer time.AfterFunc(300*time.Millisecond, cancel).Stop()
	code, _, stderr := cli(t, ctx, nil, "run", job, "--date", "2026-11-25", "--epochs", "100000", "--set", "training.patience=0")
	if code != 130 || !strings.Contains(stderr, "seqae: interrupted; nothing of this run was committed") {
		t.Fatalf("interrupted run: exit %d, want 130 and a message saying so; stderr:\n%s", code, stderr)
	}
	after, err := os.ReadFile(manifest)
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("the interrupted run changed the committed latents manifest (err %v)", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(out, "_staging")); len(entries) != 0 {
		t.Errorf("the interrupted run left %d staging folders", len(entries))
	}
}

// Flags beat SEQAE_* variables, which beat the job file; a variable
// reaches the run.
func TestOverrides(t *testing.T) {
	job, _ := writeJob(t, "training:\n  epochs: 7\n  seed: 3\n")
	cases := []struct {
		name       string
		env        []string
		args       []string
		epochs     int
		seed       int
		outputDir  string
		batchSize  int
		passThru   []string
		inputsFrom string
	}{
		{"file", nil, nil, 7, 3, "", 64, nil, ""},
		{"env", []string{"SEQAE_TRAINING_EPOCHS=5", "SEQAE_BATCHING_BATCH_SIZE=8", "SEQAE_INPUT_PASS=machine,start"}, nil, 5, 3, "", 8, []string{"machine", "start"}, ""},
		{"flag over env", []string{"SEQAE_TRAINING_EPOCHS=5", "SEQAE_TRAINING_SEED=4"}, []string{"--epochs", "2", "--set", "batching.batch_size=4"}, 2, 4, "", 4, nil, ""},
		{"dedicated flag over --set", nil, []string{"--set", "output.dir=/a", "--out", "/b"}, 7, 3, "/b", 64, nil, ""},
		{"--input", nil, []string{"--input", "x/*.parquet", "--input", "y"}, 7, 3, "", 64, nil, "x/*.parquet,y"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, context.Background(), c.env, append([]string{"run", job, "--print-config"}, c.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			cfg, err := jobs.Parse("printed", []byte(stdout))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Training.Epochs != c.epochs || cfg.Training.Seed != uint64(c.seed) || cfg.Batching.BatchSize != c.batchSize {
				t.Errorf("epochs %d, seed %d, batch size %d; want %d, %d, %d", cfg.Training.Epochs, cfg.Training.Seed, cfg.Batching.BatchSize, c.epochs, c.seed, c.batchSize)
			}
			if c.outputDir != "" && cfg.Output.Dir != c.outputDir {
				t.Errorf("output dir %s, want %s", cfg.Output.Dir, c.outputDir)
			}
			if c.passThru != nil && !slices.Equal(cfg.Input.Pass, c.passThru) {
				t.Errorf("pass %v, want %v", cfg.Input.Pass, c.passThru)
			}
			if c.inputsFrom != "" && strings.Join(cfg.Inputs, ",") != c.inputsFrom {
				t.Errorf("inputs %v, want %s", cfg.Inputs, c.inputsFrom)
			}
		})
	}

	// A variable reaches the run: SEQAE_OUTPUT_DIR moves the outputs and
	// SEQAE_DATE names the partition; --log-format json prints the summary
	// as JSON.
	elsewhere := t.TempDir()
	env := []string{"SEQAE_OUTPUT_DIR=" + elsewhere, "SEQAE_DATE=2026-11-20", "SEQAE_LOG_FORMAT=json"}
	code, stdout, stderr := cli(t, context.Background(), env, "train", job, "--epochs", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum struct {
		Run        string
		Date       string
		Partitions []string
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	if sum.Run != "train" || sum.Date != "2026-11-20" || len(sum.Partitions) != 4 || !strings.HasPrefix(sum.Partitions[0], elsewhere) {
		t.Errorf("summary %+v: want a train run for 2026-11-20 committing 4 partitions (models, metrics, quarantine, reports) under %s", sum, elsewhere)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(stderr, "\n", 2)[0]), &line); err != nil || line["msg"] != "run started" {
		t.Errorf("first log line %q: want JSON saying the run started (%v)", strings.SplitN(stderr, "\n", 2)[0], err)
	}
	metrics, err := parquet.ReadFile[struct {
		Epoch int32 `parquet:"epoch"`
	}](filepath.Join(elsewhere, "metrics", "dt=2026-11-20", "part-00000-of-00001.parquet"))
	if err != nil || len(metrics) != 1 {
		t.Errorf("metrics: %d rows (%v), want the 1 epoch --epochs asked for over the file's 7", len(metrics), err)
	}
}

// A rerun that no longer writes a table removes the date's partition of it
// and says so in the summary, as text and as JSON.
func TestSummaryListsRemovedTables(t *testing.T) {
	job, out := writeJob(t, quick)
	if code, _, stderr := cli(t, context.Background(), nil, "run", job, "--date", "2026-11-25"); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	steps := filepath.Join(out, "step_losses", "dt=2026-11-25")
	cases := []struct {
		args []string
		want string
	}{
		{nil, "  removed    " + steps + "\n"},
		{[]string{"--log-format", "json"}, `"removed":["` + steps + `"]`},
	}
	for _, c := range cases {
		// Each case writes step_losses again first, then turns it off.
		if code, _, stderr := cli(t, context.Background(), nil, "run", job, "--date", "2026-11-25"); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		args := append([]string{"run", job, "--date", "2026-11-25", "--set", "output.step_losses=false"}, c.args...)
		code, stdout, stderr := cli(t, context.Background(), nil, args...)
		if code != 0 || !strings.Contains(stdout, c.want) {
			t.Errorf("%v: exit %d, stdout:\n%s\nwant %q (stderr %s)", c.args, code, stdout, c.want, stderr)
		}
		if _, err := os.Stat(steps); !os.IsNotExist(err) {
			t.Errorf("%v: step_losses partition: %v, want it gone", c.args, err)
		}
	}
}

// A shard's summary says its partitions landed and how many of the date's
// shards are in, _SUCCESS only once all are; never that it committed.
func TestShardSummary(t *testing.T) {
	job, out := writeJob(t, quick)
	if code, _, stderr := cli(t, context.Background(), nil, "train", job, "--date", "2026-11-25"); code != 0 {
		t.Fatalf("training: exit %d: %s", code, stderr)
	}
	latents := filepath.Join(out, "latents", "dt=2026-11-25")
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--shard", "1/2"}, []string{"  landed     " + filepath.Join(out, "quarantine", "dt=2026-11-25") + " (shard 1/2; 1 of 2 shards in, _SUCCESS once all 2 are)\n",
			latents + " (shard 1/2; 1 of 2 shards in, _SUCCESS once all 2 are)\n"}},
		{[]string{"--shard", "0/2"}, []string{latents + " (shard 0/2; 2 of 2 shards in, complete: _SUCCESS written)\n"}},
		{[]string{"--shard", "0/2", "--log-format", "json"}, []string{`"shard":"0/2","shards_in":[2,2,2,2,2]`}},
	}
	for _, c := range cases {
		code, stdout, stderr := cli(t, context.Background(), nil, append([]string{"encode", job, "--date", "2026-11-25"}, c.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stdout, w) || strings.Contains(stdout, "committed") {
				t.Errorf("%v: stdout:\n%s\nwant %q and no \"committed\"", c.args, stdout, w)
			}
		}
	}
}

// bench prints one JSON line with torch_peer.py's fields.
func TestBenchJSON(t *testing.T) {
	code, stdout, stderr := cli(t, context.Background(), nil, "bench", "--n", "64", "--min-len", "3", "--max-len", "20", "--latent", "8", "--hidden", "8", "--threads", "1", "--mode", "padded", "--peak-n", "64")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Count(stdout, "\n") != 1 {
		t.Errorf("bench printed %q, want one line", stdout)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	// torch_peer.py's fields, and the GFLOP/s and fractions of peak seqae adds.
	want := []string{"peer", "mode", "threads", "n", "batches", "real_steps", "train_seq_per_s", "encode_seq_per_s", "train_s", "encode_s",
		"train_gflop_per_s", "encode_gflop_per_s", "peak_gflop_per_s", "train_fraction_of_peak", "encode_fraction_of_peak"}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("fields %v, want %v", keys, want)
	}
	steps := 0
	for i := range 64 {
		steps += 3 + (i*7919)%18
	}
	if got["n"] != 64.0 || got["mode"] != "padded" || got["threads"] != 1.0 || got["real_steps"] != float64(steps) || got["batches"] != 1.0 {
		t.Errorf("got %v: want n 64, mode padded, threads 1, real_steps %d, 1 batch", got, steps)
	}
	if !strings.HasPrefix(got["peer"].(string), "seqae ") || !(got["train_seq_per_s"].(float64) > 0) {
		t.Errorf("peer %v, train_seq_per_s %v: want seqae and a rate", got["peer"], got["train_seq_per_s"])
	}
	// The fraction is of the unrounded rates: allow for the rounding of the
	// printed ones (0.05 GFLOP/s, 0.0005).
	peak, frac, train := got["peak_gflop_per_s"].(float64), got["train_fraction_of_peak"].(float64), got["train_gflop_per_s"].(float64)
	if lo, hi := (train-0.05)/(peak+0.05)-0.0005, (train+0.05)/(peak-0.05)+0.0005; !(peak > 0) || frac < lo || frac > hi {
		t.Errorf("peak %v, train fraction %v: want a peak and train_gflop_per_s/peak, in %v..%v", peak, frac, lo, hi)
	}
	if code, _, stderr := cli(t, context.Background(), nil, "bench", "--mode", "bucket"); code != 2 || !strings.Contains(stderr, "--mode: want bucketed or padded") {
		t.Errorf("bad mode: exit %d, %s; want 2", code, stderr)
	}
}

// bench --cpuprofile writes a profile pprof reads, with the model's
// kernels in it; a profile it cannot create is an error that names it.
func TestBenchCPUProfile(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.out")
	args := []string{"bench", "--n", "256", "--latent", "32", "--hidden", "32", "--epochs", "2", "--threads", "1", "--peak-n", "0", "--cpuprofile"}
	if code, _, stderr := cli(t, context.Background(), nil, append(args, prof)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// A pprof profile is a gzipped protocol buffer whose string table holds
	// the sampled functions' names.
	f, err := os.Open(prof)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("the profile is not gzipped: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("github.com/seqae/seqae/nn.")) {
		t.Errorf("profile of %d bytes names no function of package nn", len(raw))
	}
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "cpu.out")
	if code, _, stderr := cli(t, context.Background(), nil, append(args, bad)...); code == 0 || !strings.Contains(stderr, "--cpuprofile") || !strings.Contains(stderr, "no such file") {
		t.Errorf("unwritable profile: exit %d, %s; want an error naming --cpuprofile", code, stderr)
	}
}

// bench --peer runs torch_peer.py under --python with the same flags, the
// script on stdin, prints its line and seqae's rates over its rates.
func TestBenchPeer(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "python")
	// A stand-in for Python: it records its arguments and the script it
	// was given, and answers like torch_peer.py.
	script := "#!/bin/sh\necho \"$@\" > " + filepath.Join(dir, "args") + "\ncat > " + filepath.Join(dir, "script") +
		"\necho '{\"peer\": \"pytorch fake\", \"train_seq_per_s\": 0.5, \"encode_seq_per_s\": 0.25}'\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, context.Background(), nil, "bench", "--n", "16", "--max-len", "12", "--latent", "8", "--hidden", "8",
		"--threads", "1", "--peak-n", "0", "--peer", "--python", fake)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "pytorch fake") {
		t.Fatalf("printed %q, want seqae's line, the peer's and the ratios", stdout)
	}
	var ours, ratios map[string]float64
	_ = json.Unmarshal([]byte(strings.Replace(lines[0], `"peer":"seqae dev",`, "", 1)), &ours)
	if err := json.Unmarshal([]byte(lines[2]), &ratios); err != nil {
		t.Fatal(err)
	}
	if want := math.Round(ours["train_seq_per_s"]/0.5*100) / 100; ratios["train_ratio"] != want {
		t.Errorf("train_ratio %v, want %v", ratios["train_ratio"], want)
	}
	if want := math.Round(ours["encode_seq_per_s"]/0.25*100) / 100; ratios["encode_ratio"] != want {
		t.Errorf("encode_ratio %v, want %v", ratios["encode_ratio"], want)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if want := "- --n 16 --min-len 10 --max-len 12 --input-dim 8 --latent 8 --hidden 8 --batch 64 --epochs 1 --mode bucketed --threads 1\n"; string(args) != want {
		t.Errorf("the peer got arguments %q, want %q", args, want)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "script"))
	if !bytes.Equal(got, bench.TorchPeer) {
		t.Errorf("the peer got %d bytes on stdin, want torch_peer.py's %d", len(got), len(bench.TorchPeer))
	}
	if code, _, stderr := cli(t, context.Background(), nil, "bench", "--n", "16", "--max-len", "12", "--peak-n", "0", "--peer", "--python", filepath.Join(dir, "missing")); code == 0 || !strings.Contains(stderr, "torch_peer.py") {
		t.Errorf("missing python: exit %d, %s; want an error naming the peer", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := cli(t, context.Background(), nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "seqae "+jobs.Version()+" (go") {
		t.Errorf("exit %d, %q; want seqae VERSION (goX ...)", code, stdout)
	}
}

// Every command's --help matches its golden file and gives an example of
// every flag.
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"", "run", "train", "encode", "inspect", "report", "bench", "version"} {
		name := cmd
		if name == "" {
			name = "root"
		}
		t.Run(name, func(t *testing.T) {
			args := []string{"--help"}
			if cmd != "" {
				args = []string{cmd, "--help"}
			}
			code, stdout, _ := cli(t, context.Background(), nil, args...)
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			for flag, usage := range flagUsages(stdout) {
				if !strings.Contains(usage, "e.g. "+flag) && flag != "--help" {
					t.Errorf("flag %s has no example: %q", flag, usage)
				}
			}
			golden(t, filepath.Join("help", name+".txt"), []byte(stdout))
		})
	}
}

// flagUsages maps each flag in a help text to its description, which may
// run over several lines.
func flagUsages(help string) map[string]string {
	out := map[string]string{}
	cur := ""
	for _, line := range strings.Split(help, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || !strings.HasPrefix(line, " "):
			cur = ""
		case strings.HasPrefix(f[0], "--"):
			cur = f[0]
			out[cur] = line
		case strings.HasPrefix(f[0], "-") && len(f) > 1:
			cur = f[1]
			out[cur] = line
		case cur != "":
			out[cur] += " " + strings.TrimSpace(line)
		}
	}
	return out
}

// The README documents every job key, so a new or renamed key cannot
// leave it stale.
func TestReadmeDocumentsEveryKey(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range jobs.Keys() {
		if !strings.Contains(string(readme), "`"+k+"`") {
			t.Errorf("README.md does not document the key %s", k)
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// seqae report writes one page over the committed dates; a bad range is a
// usage error.
func TestReportCommand(t *testing.T) {
	out := t.TempDir()
	t.Chdir("../..")
	for _, date := range []string{"2026-11-24", "2026-11-25"} {
		code, stdout, stderr := cli(t, context.Background(), nil, "run", "jobs/example.yaml", "--date", date, "--out", out, "--progress", "none",
			"--set", "training.epochs=1", "--set", "model.latent=4", "--set", "model.hidden=4")
		if code != 0 {
			t.Fatalf("run %s: exit %d; stderr:\n%s", date, code, stderr)
		}
		if !strings.Contains(stdout, "  drift      score PSI ") {
			t.Errorf("run %s: the summary has no drift line:\n%s", date, stdout)
		}
	}
	file := filepath.Join(t.TempDir(), "r.html")
	code, stdout, stderr := cli(t, context.Background(), nil, "report", out, "--from", "2026-11-24", "--output", file)
	if code != 0 || strings.TrimSpace(stdout) != file {
		t.Fatalf("report: exit %d, stdout %q; stderr:\n%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Six charts and a small multiple for each of the 12 top anomalies.
	if n := strings.Count(string(data), "<svg"); n != 18 || !strings.Contains(string(data), `data-key="sequences">6000<`) {
		t.Errorf("the report has %d charts, want 18, and should count 6000 sequences over two dates", n)
	}
	if code, _, _ := cli(t, context.Background(), nil, "report", out, "--from", "2026-11-26", "--to", "2026-11-25"); code != 2 {
		t.Errorf("report --from after --to: exit %d, want 2", code)
	}
}
