package jobs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Bad job files are ConfigErrors that name the file, line and key.
func TestParseRejectsBadJobFiles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml, want string
	}{
		{"latent zero", "inputs: [a]\nmodel:\n  latent: 0\n", "x.yaml:3: model.latent: must be >= 1, got 0"},
		{"unknown top key", "inputs: [a]\nepochs: 3\n", "x.yaml:2: epochs: unknown key"},
		{"unknown nested key", "inputs: [a]\ntraining:\n  epocs: 3\n", "x.yaml:3: training.epocs: unknown key (known here: epochs, lr,"},
		{"not an integer", "inputs: [a]\ntraining:\n  epochs: ten\n", `x.yaml:3: training.epochs: must be an integer, got "ten"`},
		{"not a number", "inputs: [a]\ntraining:\n  lr: fast\n", `x.yaml:3: training.lr: must be a number, got "fast"`},
		{"not a bool", "inputs: [a]\ntraining:\n  warm_start: maybe\n", `training.warm_start: must be true or false, got "maybe"`},
		{"bad enum", "inputs: [a]\nbatching:\n  mode: bucketed\n", `x.yaml:3: batching.mode: must be one of exact, padded, got "bucketed"`},
		{"bad run", "inputs: [a]\nrun: score\n", `x.yaml:2: run: must be one of train, encode, train-then-encode, got "score"`},
		{"bad format", "inputs: [a]\noutput:\n  format: csv\n", `output.format: must be one of parquet, arrow, got "csv"`},
		{"no inputs", "run: train\n", "default: inputs: must name at least one file, folder or glob"},
		{"list for a value", "inputs: [a]\nmodel:\n  head: [linear]\n", "x.yaml:3: model.head: must be a single value, got a list"},
		{"value for a section", "inputs: [a]\nmodel: big\n", "x.yaml:2: model: must be a mapping of keys"},
		{"val fraction one", "inputs: [a]\ntraining:\n  val_fraction: 1\n", "training.val_fraction: must be in [0, 1), got 1"},
		{"negative seed", "inputs: [a]\ntraining:\n  seed: -1\n", `training.seed: must be an integer >= 0, got "-1"`},
		{"bad size", "inputs: [a]\ntraining:\n  memory_budget: lots\n", `training.memory_budget: must be a size such as 512MiB`},
		{"boundaries in exact mode", "inputs: [a]\nbatching:\n  boundaries: [10, 20]\n", `batching.boundaries: only padded mode uses boundaries`},
		{"boundaries not ascending", "inputs: [a]\nbatching:\n  mode: padded\n  boundaries: [20, 10]\n", `batching.boundaries: must be ascending lengths >= 1, got [20 10]`},
		{"bad layout", "inputs: [a]\ninput:\n  layout: wide\n", `x.yaml:3: input.layout: must be one of nested, columns, long, got "wide"`},
		{"bad duplicates", "inputs: [a]\ninput:\n  duplicates: drop\n", `input.duplicates: must be one of quarantine, keep, got "drop"`},
		{"tiny group budget", "inputs: [a]\ninput:\n  memory_budget: 64KiB\n", `x.yaml:3: input.memory_budget: must be 0 (from the memory limit) or at least 1MiB, got 65536`},
		{"not yaml", "inputs: [a\n", "x.yaml:1: not YAML: did not find expected ',' or ']'"},
		{"a tab", "inputs: [a]\nmodel:\n\tlatent: 3\n", "x.yaml:3: not YAML: found character that cannot start any token"},
		{"repeated key", "inputs: [a]\ntraining:\n  epochs: 5\n  lr: 0.1\n  epochs: 7\n", "x.yaml:5: training.epochs: repeated (first at line 3): give each key once"},
		{"repeated section", "inputs: [a]\ntraining:\n  epochs: 5\nmodel:\n  latent: 3\ntraining:\n  lr: 0.1\n", "x.yaml:6: training: repeated (first at line 2)"},
		{"repeated top key", "inputs: [a]\nrun: train\nrun: encode\n", "x.yaml:3: run: repeated (first at line 2)"},
		{"not a mapping", "- a\n- b\n", "x.yaml:1: a job file must be a mapping of keys"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(c.yaml))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("got error %v (%T), want a *ConfigError", err, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %q, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestParseAcceptsGoodValues(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("x.yaml", []byte(`
inputs: data/one.parquet
input:
  pass: machine
  memory_budget: 64MiB
  spill_dir: /scratch
training:
  memory_budget: 512MiB
  seed: 18446744073709551615
batching:
  mode: padded
  boundaries: [1, 8, 32]
`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Inputs, []string{"data/one.parquet"}) || !slices.Equal(cfg.Input.Pass, []string{"machine"}) {
		t.Errorf("single values as lists: inputs %q, pass %q; want one item each", cfg.Inputs, cfg.Input.Pass)
	}
	if cfg.Training.MemoryBudget != 512<<20 || cfg.Training.Seed != 1<<64-1 {
		t.Errorf("memory_budget %d, seed %d; want %d, %d", cfg.Training.MemoryBudget, cfg.Training.Seed, 512<<20, uint64(1<<64-1))
	}
	if cfg.Input.MemoryBudget != 64<<20 || cfg.Input.SpillDir != "/scratch" || Default().Input.MemoryBudget != 0 {
		t.Errorf("input.memory_budget %d, spill_dir %q, default budget %d; want %d, /scratch, 0 (from the memory limit)", cfg.Input.MemoryBudget, cfg.Input.SpillDir, Default().Input.MemoryBudget, 64<<20)
	}
	if cfg.Model.Latent != Default().Model.Latent || cfg.Training.ValFraction != 0.1 {
		t.Errorf("unset keys: latent %d, val_fraction %v; want the defaults", cfg.Model.Latent, cfg.Training.ValFraction)
	}
}

// The shipped job files parse.
func TestShippedJobFilesParse(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("*.yaml")
	if len(files) < 2 {
		t.Fatalf("found job files %v, want example.yaml and example-long.yaml", files)
	}
	for _, f := range files {
		if _, err := Load(f, nil, nil, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// A flag beats a variable, which beats the file, which beats the default;
// each error names where the bad value came from.
func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	job := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(job, []byte("inputs: [a]\ntraining:\n  epochs: 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		path       string
		env, sets  []string
		wantEpochs int
	}{
		{"default", "", []string{"SEQAE_INPUTS=a"}, nil, 10},
		{"file", job, nil, nil, 7},
		{"env beats file", job, []string{"SEQAE_TRAINING_EPOCHS=5"}, nil, 5},
		{"flag beats env", job, []string{"SEQAE_TRAINING_EPOCHS=5"}, []string{"training.epochs=3"}, 3},
		{"later flag wins", job, nil, []string{"training.epochs=3", "training.epochs=4"}, 4},
		{"other variables pass", job, []string{"SEQAE_DATE=2026-01-01", "HOME=/root"}, nil, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(c.path, c.env, c.sets, []string{"SEQAE_DATE"})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Training.Epochs != c.wantEpochs {
				t.Errorf("got epochs %d, want %d", cfg.Training.Epochs, c.wantEpochs)
			}
		})
	}

	errs := []struct {
		name      string
		env, sets []string
		want      string
	}{
		{"bad variable value", []string{"SEQAE_MODEL_LATENT=0"}, nil, "SEQAE_MODEL_LATENT: model.latent: must be >= 1, got 0"},
		{"unparsable variable", []string{"SEQAE_TRAINING_LR=x"}, nil, `SEQAE_TRAINING_LR: training.lr: must be a number, got "x"`},
		{"unknown variable", []string{"SEQAE_TRAINING_EPOCS=3"}, nil, "SEQAE_TRAINING_EPOCS: no such setting"},
		{"bad flag value", nil, []string{"model.hidden=-2"}, "--set model.hidden=-2: model.hidden: must be >= 1, got -2"},
		{"unknown flag key", nil, []string{"model.size=3"}, "--set model.size=3: model.size: no such key"},
		{"section as key", nil, []string{"model=3"}, "model: no such key"},
		{"no equals", nil, []string{"model.latent"}, "--set model.latent: want KEY=VALUE"},
	}
	for _, c := range errs {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(job, c.env, c.sets, nil)
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want a ConfigError containing %q", err, c.want)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), nil, nil, nil); err == nil || !strings.Contains(err.Error(), "missing.yaml: cannot read the job file") {
		t.Errorf("missing job file: got %v, want an error naming it", err)
	}
}

func TestSetLists(t *testing.T) {
	t.Parallel()
	cases := []struct {
		key, value string
		get        func(*Config) any
		want       any
	}{
		{"inputs", "a.parquet,b/", func(c *Config) any { return c.Inputs }, []string{"a.parquet", "b/"}},
		{"inputs", `["x,y.parquet", z]`, func(c *Config) any { return c.Inputs }, []string{"x,y.parquet", "z"}},
		{"input.pass", "machine", func(c *Config) any { return c.Input.Pass }, []string{"machine"}},
		{"batching.boundaries", "4, 16,64", func(c *Config) any { return c.Batching.Boundaries }, []int{4, 16, 64}},
		{"name", "a: b", func(c *Config) any { return c.Name }, "a: b"},
	}
	for _, c := range cases {
		cfg := Default()
		if err := cfg.Set(c.key, c.value); err != nil {
			t.Fatalf("Set(%s, %s): %v", c.key, c.value, err)
		}
		if got := c.get(&cfg); !equalAny(got, c.want) {
			t.Errorf("Set(%s, %q): got %#v, want %#v", c.key, c.value, got, c.want)
		}
	}
}

func equalAny(a, b any) bool {
	switch x := a.(type) {
	case []string:
		return slices.Equal(x, b.([]string))
	case []int:
		return slices.Equal(x, b.([]int))
	}
	return a == b
}

// Every key has its own variable name.
func TestEnvNamesAreUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, k := range Keys() {
		n := EnvName(k)
		if other, dup := seen[n]; dup {
			t.Errorf("keys %s and %s share the variable %s", other, k, n)
		}
		seen[n] = k
	}
	if got := EnvName("training.clip_norm"); got != "SEQAE_TRAINING_CLIP_NORM" {
		t.Errorf("got %s, want SEQAE_TRAINING_CLIP_NORM", got)
	}
}

// The YAML a run stores in its outputs reads back as the same settings.
func TestYAMLRoundTrip(t *testing.T) {
	t.Parallel()
	cfg, err := Load("example.yaml", nil, []string{"training.memory_budget=3GiB", "batching.mode=padded", "batching.boundaries=2,9"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("stored", []byte(cfg.YAML()))
	if err != nil {
		t.Fatal(err)
	}
	if back.YAML() != cfg.YAML() {
		t.Errorf("round trip changed the config:\n%s\nwant\n%s", back.YAML(), cfg.YAML())
	}
}

func TestParseByteSize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want ByteSize
	}{
		{"1000", 1000}, {"512MiB", 512 << 20}, {"2GiB", 2 << 30}, {"1.5GB", 1.5e9}, {"64 KiB", 64 << 10}, {"0", 0},
	}
	for _, c := range cases {
		got, err := ParseByteSize(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "lots", "-1MiB", "3XB"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) succeeded, want an error", bad)
		}
	}
	if got := ByteSize(3 << 30).String(); got != "3GiB" {
		t.Errorf("String() = %s, want 3GiB", got)
	}
}

func TestParseShard(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want Shard
	}{{"0/1", Shard{0, 1}}, {"3/8", Shard{3, 8}}, {" 1 / 2 ", Shard{1, 2}}, {"99998/99999", Shard{99998, 99999}}} {
		got, err := ParseShard(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "3", "8/8", "-1/2", "1/0", "a/b", "0/100000"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) succeeded, want an error", bad)
		}
	}
}

// Every choice setting takes exactly its type's words, and its errors and
// help list them.
func TestChoices(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		v     interface{ UnmarshalText([]byte) error }
		list  string   // Choices
		words []string // accepted
		oneOf string   // the error's list
	}{
		{"run", new(RunMode), Choices[RunMode](), []string{"train", "encode", "train-then-encode"}, "train, encode, train-then-encode"},
		{"layout", new(Layout), Choices[Layout](), []string{"nested", "columns", "long", ""}, "nested, columns, long"},
		{"duplicates", new(Duplicates), Choices[Duplicates](), []string{"quarantine", "keep"}, "quarantine, keep"},
		{"head", new(Head), Choices[Head](), []string{"linear", "none"}, "linear, none"},
		{"batch mode", new(BatchMode), Choices[BatchMode](), []string{"exact", "padded"}, "exact, padded"},
		{"format", new(Format), Choices[Format](), []string{"parquet", "arrow"}, "parquet, arrow"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, w := range c.words {
				if err := c.v.UnmarshalText([]byte(w)); err != nil {
					t.Errorf("UnmarshalText(%q): %v, want it accepted", w, err)
				}
			}
			if got, want := c.list, c.oneOf[:strings.LastIndex(c.oneOf, ", ")]+" or "+c.oneOf[strings.LastIndex(c.oneOf, ", ")+2:]; got != want {
				t.Errorf("Choices: got %q, want %q", got, want)
			}
			for _, bad := range []string{"bogus", "Parquet", " exact"} {
				err := c.v.UnmarshalText([]byte(bad))
				if want := "must be one of " + c.oneOf + ", got " + strconv.Quote(bad); err == nil || err.Error() != want {
					t.Errorf("UnmarshalText(%q): got %v, want %q", bad, err, want)
				}
			}
		})
	}
}

// Origin names where each key's value came from: the job file's line of
// the value (a scalar, a block or flow list, a key in a section), the
// variable, the flag, or the default; Validate's errors start with it.
func TestOrigin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	job := filepath.Join(dir, "job.yaml")
	text := `name: nightly
run: encode
inputs:
  - data/a.parquet
  - data/b.parquet
model:
  latent: 8
  path: m.safetensors
batching: {mode: padded, boundaries: [4, 8]}
input:
  id: trace_id
  layout: wide
training:
  epochs: 3
`
	if err := os.WriteFile(job, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(job, nil, nil, nil)
	if want := job + ":12: input.layout: must be one of nested, columns, long, got \"wide\""; err == nil || err.Error() != want {
		t.Errorf("Load: got %v, want %q", err, want)
	}
	if err := os.WriteFile(job, []byte(strings.Replace(text, "wide", "nested", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(job, []string{"SEQAE_TRAINING_EPOCHS=5"}, []string{"input.layout=long", "model.hidden=4"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"name":                job + ":1",
		"run":                 job + ":2",
		"inputs":              job + ":4",
		"model.latent":        job + ":7",
		"model.path":          job + ":8",
		"batching.mode":       job + ":9",
		"batching.boundaries": job + ":9",
		"input.id":            job + ":11",
		"input.layout":        "--set input.layout=long",
		"model.hidden":        "--set model.hidden=4",
		"training.epochs":     "SEQAE_TRAINING_EPOCHS",
		"training.lr":         "default",
	} {
		if got := cfg.Origin(key); got != want {
			t.Errorf("Origin(%s): got %q, want %q", key, got, want)
		}
	}
}
