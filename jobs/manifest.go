package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seqae/seqae/pipeline"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/write"
	"github.com/seqae/seqae/stages"
)

// Manifest is a committed partition's _manifest.json: what it holds and how
// it was made. A sharded partition's manifest merges its shards' (listed
// in Shards); its counts are their sums.
type Manifest struct {
	Table   string `json:"table"`
	Date    string `json:"date"`
	Job     string `json:"job"`
	RunID   string `json:"run_id,omitempty"` // empty in a sharded partition's merged manifest: see Shards
	Version string `json:"seqae_version"`
	Phase   string `json:"phase"` // train or encode
	ModelID string `json:"model_id"`
	// Shard is the shard ("3/8") of a shard's manifest; ShardCount the
	// number of shards that wrote the partition (1 when unsharded).
	Shard      string `json:"shard,omitempty"`
	ShardCount int    `json:"shard_count"`
	// Fingerprint says what the files were made from; a sharded date is
	// complete only when every shard's is the same.
	Fingerprint Fingerprint       `json:"fingerprint"`
	Inputs      []InputFile       `json:"inputs"`
	Files       []OutputFile      `json:"files"`
	Counts      stages.Counts     `json:"counts"`
	Timings     Timings           `json:"timings"`
	Training    *TrainingInfo     `json:"training,omitempty"`
	Drift       *Drift            `json:"drift,omitempty"` // latents and drift: the scores against the previous date's
	Pipeline    pipeline.Snapshot `json:"pipeline"`
	Config      string            `json:"config"`
	Shards      []*Manifest       `json:"shards,omitempty"`
	// PeakRSS is the run's peak resident memory in bytes (getrusage's
	// maxrss) when the manifest was made; 0 where the platform does not
	// say. A sharded partition's is its largest shard's.
	PeakRSS int64 `json:"peak_rss_bytes,omitempty"`
}

// Fingerprint says what a partition's files were made from. Two shards of
// a date with equal fingerprints wrote their shares of the same rows.
type Fingerprint struct {
	Inputs   string `json:"inputs"`   // SHA-256 of every input file's name and size, sorted by name
	Settings string `json:"settings"` // SHA-256 of the settings that decide the rows: the input section (see settingsHash)
	Format   string `json:"format"`   // the output format, parquet or arrow
	ModelID  string `json:"model_id"` // the model encoded with, or trained
}

// fingerprint makes a Fingerprint.
func fingerprint(inputs []InputFile, settings string, format write.Format, modelID string) Fingerprint {
	sorted := slices.SortedFunc(slices.Values(inputs), func(a, b InputFile) int { return strings.Compare(a.Name, b.Name) })
	h := sha256.New()
	for _, in := range sorted {
		fmt.Fprintf(h, "%q %d\n", in.Name, in.Bytes)
	}
	return Fingerprint{Inputs: hex.EncodeToString(h.Sum(nil)), Settings: settings, Format: string(format), ModelID: modelID}
}

// settingsHash hashes the settings that decide what a table's rows are,
// given the input files, the format and the model: the input section (the
// layout, columns, pass-through columns, max_len, duplicates). The rest
// does not change the rows: batching (exact or padded give the same
// results), workers, the job's name, the output folder, training (the
// model id stands for it), output.step_losses (which decides only
// whether the step_losses table is written) and input.memory_budget and
// input.spill_dir (the long layout's rows come out the same spilled or
// not).
func settingsHash(c *Config) string {
	in := c.Input
	in.MemoryBudget, in.SpillDir = 0, ""
	b, err := yaml.Marshal(in)
	if err != nil {
		panic(fmt.Sprintf("jobs: marshalling the input settings: %v", err)) // every field type marshals
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// differences names the parts of f that differ from g.
func (f Fingerprint) differences(g Fingerprint) []string {
	var d []string
	for _, c := range []struct {
		name string
		a, b string
	}{{"inputs", f.Inputs, g.Inputs}, {"settings", f.Settings, g.Settings}, {"format", f.Format, g.Format}, {"model", f.ModelID, g.ModelID}} {
		if c.a != c.b {
			d = append(d, c.name)
		}
	}
	return d
}

// InputFile is one input file and its size, with, for an object store,
// the requests made and bytes read for it by the run so far.
type InputFile struct {
	Name      string `json:"name"`
	Bytes     int64  `json:"bytes"`
	Requests  int64  `json:"requests,omitempty"`
	BytesRead int64  `json:"bytes_read,omitempty"`
}

// OutputFile is one file of the partition.
type OutputFile struct {
	Name  string `json:"name"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// Timings say when the phase that wrote the partition ran.
type Timings struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Seconds  float64   `json:"seconds"`
}

// TrainingInfo summarises a training phase.
type TrainingInfo struct {
	Epochs        int     `json:"epochs"`
	BestEpoch     int     `json:"best_epoch"`
	BestTrainLoss float64 `json:"best_train_loss"`
	BestValLoss   float64 `json:"best_val_loss,omitempty"`
	TrainSeqs     int64   `json:"train_sequences"`
	ValSeqs       int64   `json:"val_sequences"`
	Streamed      bool    `json:"streamed"`
	WarmStartFrom string  `json:"warm_start_from,omitempty"` // the model id training began from
	Boundaries    []int   `json:"boundaries,omitempty"`      // padded mode's buckets
}

// ReadManifest reads a _manifest.json (or a shard's manifest).
func ReadManifest(name string) (*Manifest, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &m, nil
}

// mergeShards makes a sharded partition's manifest from its shards'.
func mergeShards(shards []*Manifest) *Manifest {
	first := shards[0]
	m := &Manifest{
		Table: first.Table, Date: first.Date, Job: first.Job, Version: first.Version, Phase: first.Phase,
		ModelID: first.ModelID, ShardCount: len(shards), Fingerprint: first.Fingerprint, Config: first.Config, Shards: shards,
		Counts:  stages.Counts{Reasons: map[schemas.Reason]int64{}},
		Timings: Timings{Started: first.Timings.Started, Finished: first.Timings.Finished},
	}
	inputs := map[string]int64{}
	for _, s := range shards {
		addCounts(&m.Counts, s.Counts)
		m.Files = append(m.Files, s.Files...)
		for _, in := range s.Inputs {
			inputs[in.Name] = in.Bytes
		}
		if s.Timings.Started.Before(m.Timings.Started) {
			m.Timings.Started = s.Timings.Started
		}
		if s.Timings.Finished.After(m.Timings.Finished) {
			m.Timings.Finished = s.Timings.Finished
		}
		m.Timings.Seconds += s.Timings.Seconds
		m.PeakRSS = max(m.PeakRSS, s.PeakRSS)
	}
	for _, name := range slices.Sorted(maps.Keys(inputs)) {
		m.Inputs = append(m.Inputs, InputFile{Name: name, Bytes: inputs[name]})
	}
	slices.SortFunc(m.Files, func(a, b OutputFile) int { return strings.Compare(a.Name, b.Name) })
	return m
}

func addCounts(dst *stages.Counts, c stages.Counts) {
	dst.Rows += c.Rows
	dst.Sequences += c.Sequences
	dst.Encoded += c.Encoded
	dst.Quarantined += c.Quarantined
	dst.StepRows += c.StepRows
	dst.Batches += c.Batches
	for r, n := range c.Reasons {
		dst.Reasons[r] += n
	}
}

// ReasonList writes quarantine counts by reason as " (reason n, ...)",
// sorted by reason; "" when there are none.
func ReasonList(reasons map[schemas.Reason]int64) string {
	if len(reasons) == 0 {
		return ""
	}
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(reasons)) {
		parts = append(parts, fmt.Sprintf("%s %d", r, reasons[r]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
