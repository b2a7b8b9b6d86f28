package jobs

import (
	"encoding"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas/read"
	"github.com/seqae/seqae/schemas/write"
	"github.com/seqae/seqae/stages"
)

// Config is a job file (YAML). Every key has a default (see Default); a job
// file names only what it changes.
type Config struct {
	// Name labels the job in logs and manifests.
	Name string `yaml:"name"`
	// Run is train, encode or train-then-encode.
	Run RunMode `yaml:"run"`
	// Inputs are Parquet files, folders (read recursively, skipping names
	// that start with "." or "_") or globs. "{date}" is replaced by the
	// run's date (YYYY-MM-DD). Relative paths are relative to the working
	// folder.
	Inputs []string `yaml:"inputs"`

	Input    InputConfig    `yaml:"input"`
	Model    ModelConfig    `yaml:"model"`
	Batching BatchingConfig `yaml:"batching"`
	Training TrainingConfig `yaml:"training"`
	Output   OutputConfig   `yaml:"output"`
	Workers  WorkersConfig  `yaml:"workers"`

	// origins says where each key's value came from, for error messages.
	origins map[string]string
}

// InputConfig says how to read the input tables (schemas.Spec).
type InputConfig struct {
	Layout     Layout     `yaml:"layout"`     // nested, columns or long; empty detects it
	ID         string     `yaml:"id"`         // the id column
	Sequence   string     `yaml:"sequence"`   // nested: the list<list<float>> column; empty finds it
	Features   []string   `yaml:"features"`   // columns/long: the feature columns; empty takes every float one
	Order      string     `yaml:"order"`      // long: the order column; empty finds it
	Pass       []string   `yaml:"pass"`       // pass-through columns copied to every output row
	Dim        int        `yaml:"dim"`        // nested: features per step; 0 takes it from the data
	MaxLen     int        `yaml:"max_len"`    // quarantine longer sequences as too_long; 0 derives it from the memory limit (DefaultMaxLen), -1 is no limit
	Duplicates Duplicates `yaml:"duplicates"` // quarantine or keep repeated ids
	// MemoryBudget bounds the memory that grouping the long layout's rows
	// by id holds (schemas.Spec.GroupBudget); past it they spill to
	// SpillDir, sorted, and are merged. 0 derives it from the memory limit
	// (DefaultBudgets).
	MemoryBudget ByteSize `yaml:"memory_budget"`
	SpillDir     string   `yaml:"spill_dir"` // local folder the long layout spills to; empty is the system's temporary folder
	// AllowAllQuarantined lets an encode in which every row read was
	// quarantined commit (empty latents); by default it fails.
	AllowAllQuarantined bool `yaml:"allow_all_quarantined,omitempty"`
}

// ModelConfig holds the model's sizes; its input size comes from the data.
type ModelConfig struct {
	Latent int  `yaml:"latent"` // L, the latent size
	Hidden int  `yaml:"hidden"` // H, the decoder's hidden size
	Head   Head `yaml:"head"`   // linear or none (needs hidden == the input's features)
	// Path is the model file encode uses. Empty takes the newest model
	// committed under OUTPUT/models/ for a date up to the run's date.
	Path string `yaml:"path"`
}

// BatchingConfig says how sequences are cut into batches (stages.BatchConfig).
type BatchingConfig struct {
	Mode       BatchMode `yaml:"mode"`       // exact or padded
	BatchSize  int       `yaml:"batch_size"` // most sequences in a batch
	MaxSteps   int       `yaml:"max_steps"`  // most real steps in a batch; 0 is no cap
	Boundaries []int     `yaml:"boundaries"` // padded: bucket starts; empty derives them from the data
}

// TrainingConfig holds the training loop's settings (stages.TrainConfig).
type TrainingConfig struct {
	Epochs       int      `yaml:"epochs"`        // most epochs
	LR           float64  `yaml:"lr"`            // Adam's learning rate
	ClipNorm     float64  `yaml:"clip_norm"`     // clip the gradient's global norm; 0 is no clipping
	Patience     int      `yaml:"patience"`      // stop after this many epochs without a better validation loss; 0 never stops early
	Seed         uint64   `yaml:"seed"`          // seeds the initial weights and the shuffles
	ValFraction  float64  `yaml:"val_fraction"`  // share of ids held out for validation, by id hash
	MemoryBudget ByteSize `yaml:"memory_budget"` // cache the data if it fits, else stream it every epoch; 0 derives it from the memory limit (DefaultBudgets)
	// WarmStart begins from the newest model committed for a date before
	// the run's date (and keeps its normaliser), when there is one.
	WarmStart bool `yaml:"warm_start"`
}

// OutputConfig says where and how the outputs are written.
type OutputConfig struct {
	Dir        string `yaml:"dir"`         // the output folder: DIR/<table>/dt=YYYY-MM-DD/
	Format     Format `yaml:"format"`      // parquet or arrow
	StepLosses bool   `yaml:"step_losses"` // write the step_losses table
	// AnomalyPercentile flags latents whose percentile (among the model's
	// scores at training, of their length) reaches it.
	AnomalyPercentile float64 `yaml:"anomaly_percentile"`
	// FeatureLosses adds latents.feature_scores and step_losses.feature_loss.
	FeatureLosses bool `yaml:"feature_losses"`
	// DriftWarnPSI is the score drift (population stability index) above
	// which a run warns.
	DriftWarnPSI float64 `yaml:"drift_warn_psi"`
}

// WorkersConfig sizes the goroutine pools.
type WorkersConfig struct {
	Readers  int `yaml:"readers"`  // decoding goroutines
	Encoders int `yaml:"encoders"` // encoding goroutines, each with its own workspace
	Trainers int `yaml:"trainers"` // goroutines computing a training batch's gradient parts (or two sharing a small batch's recurrences); the model does not depend on it
}

// Default returns the configuration a job file starts from: the one home
// of every setting's default. Where stages gives a zero field a value
// (the batch size, epochs, learning rate, anomaly percentile, worker
// counts), the default is stages' constant, so a job and a direct caller of
// stages agree; the rest are the job's own choices (stages takes a zero
// val_fraction, clip_norm or patience as "none", not as "default").
func Default() Config {
	return Config{
		Name:     "seqae",
		Run:      RunTrainAndEncode,
		Input:    InputConfig{ID: "id", Duplicates: Duplicates(read.QuarantineDuplicates)},
		Model:    ModelConfig{Latent: 16, Hidden: 16, Head: Head(nn.HeadLinear)},
		Batching: BatchingConfig{Mode: BatchMode(stages.Exact), BatchSize: stages.DefaultBatchSize},
		Training: TrainingConfig{Epochs: stages.DefaultEpochs, LR: stages.DefaultLR, ClipNorm: 1, Patience: 3, Seed: 1, ValFraction: 0.1},
		Output: OutputConfig{Dir: "out", Format: Format(write.Parquet), StepLosses: true,
			AnomalyPercentile: stages.DefaultAnomalyPercentile, DriftWarnPSI: 0.2},
		Workers: WorkersConfig{Readers: stages.DefaultReaders, Encoders: stages.DefaultWorkers, Trainers: stages.DefaultWorkers},
	}
}

// ConfigError is a bad job file, setting or flag: it names where the value
// came from (a file and line, an environment variable or a flag) and the
// key. Commands exit with status 2 on it.
type ConfigError struct {
	Origin string // "jobs/x.yaml:7", "SEQAE_MODEL_LATENT", "--set model.latent=0", "--date"
	Key    string // "model.latent"; empty when the error is not about one key
	Msg    string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.Origin != "" {
		b.WriteString(e.Origin + ": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load builds a job's configuration: the defaults, then the job file at
// path (none when path is ""), then every SEQAE_<KEY> variable in env (the
// key's path in capitals with "_" for "." and "_", e.g.
// SEQAE_TRAINING_EPOCHS=5), then sets ("training.epochs=5", as from
// flags), so a flag beats a variable, which beats the file, which beats
// the default. Unknown keys and bad values are ConfigErrors naming them.
// Variables in env that are not settings (SEQAE_DATE and the like) must
// be listed in ignore.
func Load(path string, env, sets, ignore []string) (*Config, error) {
	cfg := Default()
	cfg.origins = map[string]string{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, &ConfigError{Origin: path, Msg: "cannot read the job file: " + unwrapPathError(err)}
		}
		if err := cfg.decode(path, data); err != nil {
			return nil, err
		}
	}
	byEnv := map[string]string{}
	for _, key := range Keys() {
		byEnv[EnvName(key)] = key
	}
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "SEQAE_") || slices.Contains(ignore, name) {
			continue
		}
		key, ok := byEnv[name]
		if !ok {
			return nil, &ConfigError{Origin: name, Msg: "no such setting (settings are SEQAE_ and a key, e.g. SEQAE_TRAINING_EPOCHS; see seqae run --help)"}
		}
		if err := cfg.set(name, key, value); err != nil {
			return nil, err
		}
	}
	for _, s := range sets {
		key, value, ok := strings.Cut(s, "=")
		if !ok {
			return nil, &ConfigError{Origin: "--set " + s, Msg: "want KEY=VALUE, e.g. training.epochs=5"}
		}
		if err := cfg.Set(key, value); err != nil {
			return nil, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Parse reads a job file's text (name is used in error messages) over the
// defaults and validates it.
func Parse(name string, data []byte) (*Config, error) {
	cfg := Default()
	cfg.origins = map[string]string{}
	if err := cfg.decode(name, data); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Set sets one key ("training.epochs") from its text, as the --set flag
// does. Lists take YAML ("[a, b]") or comma-separated text. It does not
// validate: call Validate after the last Set.
func (c *Config) Set(key, value string) error {
	return c.set("--set "+key+"="+value, key, value)
}

func (c *Config) set(origin, key, value string) error {
	if c.origins == nil {
		c.origins = map[string]string{}
	}
	v, ok := fieldByKey(reflect.ValueOf(c).Elem(), key)
	if !ok {
		return &ConfigError{Origin: origin, Key: key, Msg: "no such key (keys: " + strings.Join(Keys(), ", ") + ")"}
	}
	var node yaml.Node
	switch v.Interface().(type) {
	case string:
		node = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	case []string, []int:
		if strings.HasPrefix(strings.TrimSpace(value), "[") {
			if err := yaml.Unmarshal([]byte(value), &node); err != nil {
				return &ConfigError{Origin: origin, Key: key, Msg: "not a YAML list: " + err.Error()}
			}
			node = *node.Content[0]
		} else {
			node = yaml.Node{Kind: yaml.SequenceNode}
			for _, item := range strings.Split(value, ",") {
				if item = strings.TrimSpace(item); item != "" {
					node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: item})
				}
			}
		}
	default:
		node = yaml.Node{Kind: yaml.ScalarNode, Value: value}
	}
	if err := decodeLeaf(&node, v); err != nil {
		return &ConfigError{Origin: origin, Key: key, Msg: err.Error()}
	}
	c.origins[key] = origin
	return nil
}

// Keys lists every key a job file can set, in file order.
func Keys() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := yamlName(f)
			if tag == "" {
				continue
			}
			if isSection(f.Type) {
				walk(f.Type, prefix+tag+".")
			} else {
				out = append(out, prefix+tag)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return out
}

// EnvName is the environment variable that sets key: SEQAE_ and the key in
// capitals, dots as underscores (training.clip_norm: SEQAE_TRAINING_CLIP_NORM).
func EnvName(key string) string {
	return "SEQAE_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// YAML renders the configuration as a job file, as written into every
// output's metadata.
func (c *Config) YAML() string {
	b, err := yaml.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("jobs: marshalling a config: %v", err)) // every field type marshals
	}
	return string(b)
}

// Trains reports whether the job trains a model.
func (c *Config) Trains() bool { return c.Run == RunTrain || c.Run == RunTrainAndEncode }

// Encodes reports whether the job encodes.
func (c *Config) Encodes() bool { return c.Run == RunEncode || c.Run == RunTrainAndEncode }

// Validate reports the first bad value, naming its key and where it was set.
func (c *Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return &ConfigError{Origin: c.Origin(key), Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	oneOf := func(key string, err error) error {
		if err != nil {
			return bad(key, "%v", err)
		}
		return nil
	}
	atLeast := func(key string, got, least int) error {
		if got < least {
			return bad(key, "must be >= %d, got %d", least, got)
		}
		return nil
	}
	checks := []func() error{
		func() error { return oneOf("run", checkChoice(c.Run)) },
		func() error {
			if len(c.Inputs) == 0 {
				return bad("inputs", "must name at least one file, folder or glob")
			}
			for _, in := range c.Inputs {
				if strings.TrimSpace(in) == "" {
					return bad("inputs", "an empty path")
				}
			}
			return nil
		},
		func() error {
			if c.Input.Layout == "" { // detected from the files
				return nil
			}
			return oneOf("input.layout", checkChoice(c.Input.Layout))
		},
		func() error {
			if c.Input.ID == "" {
				return bad("input.id", "must name the id column")
			}
			return nil
		},
		func() error { return atLeast("input.dim", c.Input.Dim, 0) },
		func() error { return atLeast("input.max_len", c.Input.MaxLen, -1) },
		func() error { return oneOf("input.duplicates", checkChoice(c.Input.Duplicates)) },
		func() error { return atLeast("model.latent", c.Model.Latent, 1) },
		func() error { return atLeast("model.hidden", c.Model.Hidden, 1) },
		func() error { return oneOf("model.head", checkChoice(c.Model.Head)) },
		func() error { return oneOf("batching.mode", checkChoice(c.Batching.Mode)) },
		func() error { return atLeast("batching.batch_size", c.Batching.BatchSize, 1) },
		func() error { return atLeast("batching.max_steps", c.Batching.MaxSteps, 0) },
		func() error {
			b := c.Batching.Boundaries
			if len(b) > 0 && c.Batching.Mode != BatchMode(stages.Padded) {
				return bad("batching.boundaries", "only padded mode uses boundaries (batching.mode is %q)", c.Batching.Mode)
			}
			for i, x := range b {
				if x < 1 || (i > 0 && x <= b[i-1]) {
					return bad("batching.boundaries", "must be ascending lengths >= 1, got %v", b)
				}
			}
			return nil
		},
		func() error { return atLeast("training.epochs", c.Training.Epochs, 1) },
		func() error {
			if !(c.Training.LR > 0) || math.IsInf(c.Training.LR, 0) {
				return bad("training.lr", "must be a positive number, got %v", c.Training.LR)
			}
			return nil
		},
		func() error {
			if !(c.Training.ClipNorm >= 0) || math.IsInf(c.Training.ClipNorm, 0) {
				return bad("training.clip_norm", "must be >= 0 (0 is no clipping), got %v", c.Training.ClipNorm)
			}
			return nil
		},
		func() error { return atLeast("training.patience", c.Training.Patience, 0) },
		func() error {
			if !(c.Training.ValFraction >= 0 && c.Training.ValFraction < 1) {
				return bad("training.val_fraction", "must be in [0, 1), got %v", c.Training.ValFraction)
			}
			return nil
		},
		func() error {
			if c.Input.MemoryBudget != 0 && c.Input.MemoryBudget < 1<<20 {
				return bad("input.memory_budget", "must be 0 (from the memory limit) or at least 1MiB, got %d", c.Input.MemoryBudget)
			}
			return nil
		},
		func() error {
			if c.Training.MemoryBudget < 0 {
				return bad("training.memory_budget", "must be >= 0, got %d", c.Training.MemoryBudget)
			}
			return nil
		},
		func() error {
			if c.Output.Dir == "" {
				return bad("output.dir", "must name a folder")
			}
			return nil
		},
		func() error { return oneOf("output.format", checkChoice(c.Output.Format)) },
		func() error {
			if p := c.Output.AnomalyPercentile; !(p > 0 && p <= 100) {
				return bad("output.anomaly_percentile", "must be in (0, 100], got %v", p)
			}
			return nil
		},
		func() error {
			if p := c.Output.DriftWarnPSI; !(p > 0) || math.IsInf(p, 0) {
				return bad("output.drift_warn_psi", "must be a positive number, got %v", p)
			}
			return nil
		},
		func() error { return atLeast("workers.readers", c.Workers.Readers, 1) },
		func() error { return atLeast("workers.encoders", c.Workers.Encoders, 1) },
		func() error { return atLeast("workers.trainers", c.Workers.Trainers, 1) },
		func() error {
			if key, err := c.badLocation(); err != nil {
				return bad(key, "%v", err)
			}
			return nil
		},
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// Origin says where key's value came from, for error messages about it:
// "FILE:LINE" for a job file (the line of the value's YAML node), the
// SEQAE_* variable, "--set KEY=VALUE", or "default". Validate's errors
// and the run's errors about a setting (ConfigError) start with it and
// the key: "job.yaml:12: input.layout: must be one of ...". An error about
// what an input.* key names in the data (a column that is not there) is
// to be told the same way.
func (c *Config) Origin(key string) string {
	if o, ok := c.origins[key]; ok {
		return o
	}
	return "default"
}

// decode lays a job file's text over c, strictly: unknown keys, wrong
// shapes and values that do not parse are errors naming the file, line and
// key.
func (c *Config) decode(name string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			return &ConfigError{Origin: name + ":" + m[1], Msg: "not YAML: " + m[2]}
		}
		return &ConfigError{Origin: name, Msg: "not YAML: " + msg}
	}
	if len(doc.Content) == 0 {
		return nil // an empty file keeps the defaults
	}
	return c.decodeNode(name, doc.Content[0], reflect.ValueOf(c).Elem(), "")
}

// yamlLineRE splits the line number off a YAML syntax error.
var yamlLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

func (c *Config) decodeNode(name string, n *yaml.Node, v reflect.Value, prefix string) error {
	at := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d", name, n.Line) }
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // "section:" with nothing under it
	}
	if n.Kind != yaml.MappingNode {
		key := strings.TrimSuffix(prefix, ".")
		if key == "" {
			return &ConfigError{Origin: at(n), Msg: "a job file must be a mapping of keys (run:, inputs:, model: ...)"}
		}
		return &ConfigError{Origin: at(n), Key: key, Msg: "must be a mapping of keys"}
	}
	fields := map[string]int{}
	var names []string
	for i := range v.NumField() {
		if tag := yamlName(v.Type().Field(i)); tag != "" {
			fields[tag] = i
			names = append(names, tag)
		}
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := prefix + k.Value
		idx, ok := fields[k.Value]
		if !ok {
			return &ConfigError{Origin: at(k), Key: key, Msg: "unknown key (known here: " + strings.Join(names, ", ") + ")"}
		}
		if first, dup := seen[k.Value]; dup {
			return &ConfigError{Origin: at(k), Key: key, Msg: fmt.Sprintf("repeated (first at line %d): give each key once", first.Line)}
		}
		seen[k.Value] = k
		f := v.Field(idx)
		if isSection(f.Type()) {
			if err := c.decodeNode(name, val, f, key+"."); err != nil {
				return err
			}
			continue
		}
		if err := decodeLeaf(val, f); err != nil {
			return &ConfigError{Origin: at(val), Key: key, Msg: err.Error()}
		}
		c.origins[key] = at(val)
	}
	return nil
}

// decodeLeaf sets v, a setting's field, from n.
func decodeLeaf(n *yaml.Node, v reflect.Value) error {
	scalar := func() error {
		if n.Kind != yaml.ScalarNode {
			return fmt.Errorf("must be a single value, got a %s", kindName(n))
		}
		return nil
	}
	switch p := v.Addr().Interface().(type) {
	case *string:
		if err := scalar(); err != nil {
			return err
		}
		if n.Tag == "!!null" {
			*p = ""
		} else {
			*p = n.Value
		}
		return nil
	case *int:
		if err := scalar(); err != nil {
			return err
		}
		if n.Decode(p) != nil {
			return fmt.Errorf("must be an integer, got %q", n.Value)
		}
	case *uint64:
		if err := scalar(); err != nil {
			return err
		}
		if n.Decode(p) != nil {
			return fmt.Errorf("must be an integer >= 0, got %q", n.Value)
		}
	case *float64:
		if err := scalar(); err != nil {
			return err
		}
		if n.Decode(p) != nil {
			return fmt.Errorf("must be a number, got %q", n.Value)
		}
	case *bool:
		if err := scalar(); err != nil {
			return err
		}
		if n.Decode(p) != nil {
			return fmt.Errorf("must be true or false, got %q", n.Value)
		}
	case encoding.TextUnmarshaler:
		if err := scalar(); err != nil {
			return err
		}
		value := n.Value
		if n.Tag == "!!null" {
			value = ""
		}
		return p.UnmarshalText([]byte(value))
	case *[]string:
		if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
			*p = []string{n.Value}
			return nil
		}
		var out []string
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("must be a list of text values, got a %s in it", kindName(item))
			}
			out = append(out, item.Value)
		}
		if n.Kind != yaml.SequenceNode && n.Tag != "!!null" {
			return fmt.Errorf("must be a list, got a %s", kindName(n))
		}
		*p = out
	case *[]int:
		if n.Kind != yaml.SequenceNode && n.Tag != "!!null" {
			return fmt.Errorf("must be a list of integers, got a %s", kindName(n))
		}
		var out []int
		for _, item := range n.Content {
			var x int
			if item.Kind != yaml.ScalarNode || item.Decode(&x) != nil {
				return fmt.Errorf("must be a list of integers, got %q in it", item.Value)
			}
			out = append(out, x)
		}
		*p = out
	default:
		panic(fmt.Sprintf("jobs: no decoder for a setting of type %s", v.Type()))
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

// fieldByKey finds the field a dotted key names.
func fieldByKey(v reflect.Value, key string) (reflect.Value, bool) {
	head, rest, nested := strings.Cut(key, ".")
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if yamlName(f) != head {
			continue
		}
		if isSection(f.Type) {
			if !nested {
				return reflect.Value{}, false
			}
			return fieldByKey(v.Field(i), rest)
		}
		return v.Field(i), !nested
	}
	return reflect.Value{}, false
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// isSection reports whether t is a group of keys rather than a value.
func isSection(t reflect.Type) bool { return t.Kind() == reflect.Struct }

// unwrapPathError drops the path an *os.PathError repeats.
func unwrapPathError(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
