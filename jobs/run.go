package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/pipeline"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/read"
	"github.com/seqae/seqae/schemas/write"
	"github.com/seqae/seqae/stages"
	"github.com/seqae/seqae/storage"
	"github.com/seqae/seqae/storage/cloud"
)

// The output tables, each a folder of dt=YYYY-MM-DD partitions under the
// output folder.
const (
	TableModels     = "models"
	TableMetrics    = "metrics"
	TableQuarantine = "quarantine"
	TableStepLosses = "step_losses"
	TableLatents    = "latents"
)

// tables are the output tables in commit order.
var tables = []string{TableModels, TableMetrics, TableQuarantine, TableStepLosses, TableLatents, TableDrift, TableReports}

// Options are a run's settings that are not part of the job file.
type Options struct {
	// Date is the run's logical date, YYYY-MM-DD: outputs go to
	// dt=DATE partitions. Empty is today's date in UTC.
	Date string
	// Shard makes this run encode only its share of the input units and
	// write its own part files (see commitShard). The zero Shard is the
	// whole input. Training cannot be sharded.
	Shard Shard
	// Logger receives the run's milestones; nil discards them.
	Logger *slog.Logger
	// Progress, when set, receives progress about every ProgressEvery
	// (default 1s) and after every training epoch.
	Progress      func(Event)
	ProgressEvery time.Duration
	// Store is where inputs and an explicit model.path are read; nil is a
	// cloud.Resolver (plain paths and location URLs). A local output
	// folder is committed with folder renames, so the models committed
	// under it (for warm start, and for encoding without model.path) are
	// read from the local file system; an output folder that is a
	// location URL is committed through Store, which must then serve it
	// (a cloud.Resolver does).
	Store storage.Store
}

// Validate reports options that cannot run cfg, as ConfigErrors naming the
// flag: a date that is not YYYY-MM-DD, a shard out of range (0 <= I < N <=
// MaxShards), or shards for a job that trains. Run calls it.
func (o Options) Validate(cfg *Config) error {
	if o.Date != "" {
		if _, err := ParseDate(o.Date); err != nil {
			return &ConfigError{Origin: "--date", Msg: err.Error()}
		}
	}
	s := o.Shard
	if s != (Shard{}) && (s.N < 1 || s.N > MaxShards || s.I < 0 || s.I >= s.N) {
		return &ConfigError{Origin: "--shard", Msg: fmt.Sprintf("want I/N with 0 <= I < N <= %d, got %d/%d", MaxShards, s.I, s.N)}
	}
	if s.Sharded() && cfg.Trains() {
		return &ConfigError{Origin: "--shard " + s.String(), Msg: fmt.Sprintf(
			"run is %q, but training reads every input and cannot be sharded: train once (run: train), then encode in shards (run: encode)", cfg.Run)}
	}
	return nil
}

// Event is a run's progress.
type Event struct {
	Phase string // "train" or "encode"
	// Rows counts what the pass has read so far: input rows for the nested
	// and columns layouts, sequences for the long layout. TotalRows is the
	// pass's input rows (0 when unknown, as for the long layout).
	Rows, TotalRows int64
	// Epoch is set after each training epoch; Epochs is the most epochs.
	Epoch    *stages.EpochMetrics
	Epochs   int
	Snapshot pipeline.Snapshot
}

// Result is what a run committed.
type Result struct {
	RunID      string
	Date       string
	ModelID    string
	ModelPath  string    // the model encoded with, or trained
	Train      *Manifest // the models partition's manifest; nil when not training
	Encode     *Manifest // this run's latents manifest; nil when not encoding
	Partitions []string  // the live partition folders committed, in commit order
	// Removed are the live partitions (with --shard, this shard's parts of
	// them) of tables the run replaces but does not write, which it
	// removed.
	Removed []string
	// ShardsIn is, for a sharded run (Options.Shard), how many of the
	// date's Shard.N shards each of Partitions holds now that this one has
	// landed; the date is complete, with _SUCCESS, once that is N. Nil for
	// a run that is not sharded.
	ShardsIn []int
}

// runner is one run's state.
type runner struct {
	cfg     *Config
	opt     Options
	store   storage.Store
	log     *slog.Logger
	date    string
	runID   string
	staging string // OUT/_staging/RUNID
	format  write.Format
	cfgYAML string
	// settings is the hash of the settings in every manifest's fingerprint.
	settings string
}

// Run runs a job for a date: trains and/or encodes as cfg.Run says, writes
// every output aside under OUT/_staging/RUNID/ and, once everything has
// succeeded and the counts agree (sequences in = out + quarantined, and
// every table holds the rows counted for it), commits each table's
// partition OUT/TABLE/dt=DATE/ in the order models, metrics, quarantine,
// step_losses, latents.
//
// A run replaces the tables it owns for its date: every table when it
// trains, the encoding tables (quarantine, step_losses, latents) when it
// only encodes, leaving the date's models and metrics to the run that
// trained them. An owned table it does not write (step_losses with
// output.step_losses false; latents and step_losses in a train-only run)
// has its live partition, or with a shard its part, removed.
//
// A run that fails or is cancelled before committing leaves every live
// partition as it was; once committing has begun it finishes (it is a few
// renames). An output folder that cannot be written fails the run before
// it reads any input, and a table folder that cannot be made fails it
// before it commits any table; a failure after the first table is
// committed returns an error naming the partitions already committed,
// which the next run on the output folder finishes: before anything else,
// every run finishes the commits that killed runs left part-way (begin).
// A config error is a *ConfigError.
func Run(ctx context.Context, cfg *Config, opt Options) (_ *Result, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := opt.Validate(cfg); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, opt: opt, store: opt.Store, log: opt.Logger, date: opt.Date, format: write.Format(cfg.Output.Format), cfgYAML: cfg.YAML()}
	if r.store == nil {
		res := cloud.NewResolver()
		defer res.Close()
		r.store = res
	}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if r.date == "" {
		r.date = time.Now().UTC().Format(DateLayout)
	}
	// The rows depend on the max_len in force, derived or not.
	effective := *cfg
	effective.Input.MaxLen = r.maxLen()
	r.settings = settingsHash(&effective)
	now := time.Now()
	r.runID = newRunID(now)
	out := cfg.Output.Dir
	r.staging = filepath.Join(out, stagingDir, r.runID)
	if r.blobOut() {
		// Outputs are staged in a local temporary folder and uploaded
		// when committed (commitBlob).
		if err := r.checkBlobOut(ctx); err != nil {
			return nil, err
		}
		if r.staging, err = os.MkdirTemp("", "seqae-"+r.runID+"-"); err != nil {
			return nil, err
		}
	}
	release, err := r.begin(ctx, now)
	if err != nil {
		return nil, err
	}
	defer release()
	defer func() { err = explainNoSpace(out, r.runID, err) }()
	r.log.Info("run started", "job", cfg.Name, "run", cfg.Run, "date", r.date, "run_id", r.runID, "shard", opt.Shard.String(), "out", storage.Redact(out))

	res := &Result{RunID: r.runID, Date: r.date}
	var parts []*partition
	var model *ModelFile
	if cfg.Trains() {
		m, tparts, err := r.train(ctx)
		if err != nil {
			return nil, err
		}
		model, parts = m, append(parts, tparts...)
		res.Train = tparts[0].manifest
		res.ModelPath = storage.Join(r.live(TableModels), r.liveName(ModelFileName))
	}
	if cfg.Encodes() {
		if model == nil {
			m, err := r.encodeModel(ctx)
			if err != nil {
				return nil, err
			}
			model, res.ModelPath = m, m.Path
		}
		eparts, err := r.encode(ctx, model)
		if err != nil {
			return nil, err
		}
		parts = append(parts, eparts...)
		res.Encode = eparts[len(eparts)-1].manifest
	}
	res.ModelID = model.Model.ID()
	// A report that cannot be made does not hold back the tables: the run
	// logs why and removes the date's previous report instead.
	if rp, err := r.writeReport(ctx, parts, model, now); err != nil {
		r.log.Error("no report: the run commits its tables without one", "error", err)
	} else {
		parts = append(parts, rp)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Past this point the run commits whatever happens to ctx: stopping
	// between two tables' commits would mix runs across tables for no gain.
	commit := r.commit
	if r.blobOut() {
		commit = r.commitBlob
	}
	res.Partitions, res.Removed, err = commit(context.WithoutCancel(ctx), r.withRemovals(parts))
	if err != nil {
		return nil, err
	}
	if res.ShardsIn, err = r.shardsIn(ctx, res.Partitions); err != nil {
		return nil, err
	}
	r.log.Info("run finished", "run_id", r.runID, "model_id", res.ModelID)
	return res, nil
}

// withRemovals puts parts in commit order, with a removal for each table
// the run owns (see Run) but does not write.
func (r *runner) withRemovals(parts []*partition) []*partition {
	var out []*partition
	for _, table := range tables {
		i := slices.IndexFunc(parts, func(p *partition) bool { return p.table == table })
		switch {
		case i >= 0:
			out = append(out, parts[i])
		case r.cfg.Trains() || table == TableQuarantine || table == TableStepLosses || table == TableLatents || table == TableDrift || table == TableReports:
			out = append(out, &partition{table: table, sharded: r.opt.Shard.Sharded()})
		}
	}
	return out
}

// live is a table's partition folder for the run's date.
func (r *runner) live(table string) string {
	return storage.Join(r.cfg.Output.Dir, table, "dt="+r.date)
}

// stage is a table's staging folder.
func (r *runner) stage(table string) string {
	return filepath.Join(r.staging, table, "dt="+r.date)
}

func (r *runner) meta(modelID, phase string) write.Meta {
	return write.Meta{ModelID: modelID, RunID: r.runID, Version: Version(), Config: r.cfgYAML,
		Extra: map[string]string{MetaDate: r.date, "seqae.phase": phase, "seqae.shard": r.opt.Shard.String()}}
}

func (r *runner) manifest(table, phase, modelID string, inputs []InputFile, counts stages.Counts, start time.Time, snap pipeline.Snapshot) *Manifest {
	now := time.Now().UTC()
	m := &Manifest{
		Table: table, Date: r.date, Job: r.cfg.Name, RunID: r.runID, Version: Version(), Phase: phase, ModelID: modelID,
		ShardCount: r.opt.Shard.count(), Fingerprint: fingerprint(inputs, r.settings, r.format, modelID),
		Inputs: r.withReadStats(inputs), Counts: counts, Pipeline: snap, Config: r.cfgYAML,
		Timings: Timings{Started: start.UTC(), Finished: now, Seconds: now.Sub(start).Seconds()},
		PeakRSS: peakRSS(),
	}
	if r.opt.Shard.Sharded() {
		m.Shard = r.opt.Shard.String()
	}
	return m
}

// event reports progress, if anyone listens.
func (r *runner) event(e Event) {
	if r.opt.Progress != nil {
		r.opt.Progress(e)
	}
}

// progress turns the pipeline's snapshots into events.
func (r *runner) progress(phase string, total int64, last *pipeline.Snapshot) func(pipeline.Snapshot) {
	return func(s pipeline.Snapshot) {
		*last = s
		e := Event{Phase: phase, TotalRows: total, Snapshot: s}
		for _, st := range s.Stages {
			if st.Name == "read" {
				e.Rows = st.Out
			}
		}
		r.event(e)
	}
}

// openInputs resolves the job's inputs and opens them. A nested input
// takes its features per step from input.dim or else the first valid row;
// when it has no valid row, dim (the model's, when encoding) is used, and
// with dim 0 the error says why every row is bad (allQuarantined).
func (r *runner) openInputs(ctx context.Context, phase string, dim int) (*read.Input, []InputFile, error) {
	var files []InputFile
	seen := map[string]bool{}
	for _, pattern := range r.cfg.Inputs {
		pattern = strings.ReplaceAll(pattern, "{date}", r.date)
		names, err := r.store.List(ctx, pattern)
		if err != nil {
			return nil, nil, fmt.Errorf("input %s: %w", pattern, err)
		}
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			obj, err := r.store.Open(ctx, name)
			if err != nil {
				return nil, nil, fmt.Errorf("input %s: %w", name, err)
			}
			files = append(files, InputFile{Name: name, Bytes: obj.Size()})
			obj.Close()
		}
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	ic := r.cfg.Input
	spec := schemas.Spec{Layout: schemas.Layout(ic.Layout), ID: ic.ID, Sequence: ic.Sequence, Features: ic.Features,
		Order: ic.Order, Pass: ic.Pass, Dim: ic.Dim, MaxLen: r.maxLen()}
	spec.GroupBudget, spec.SpillDir = r.groupBudget(), ic.SpillDir
	in, err := read.Open(ctx, r.store, names, spec)
	if err == nil && in.Dim() == 0 && dim > 0 {
		spec.Dim = dim
		in, err = read.Open(ctx, r.store, names, spec)
	}
	if se := (*schemas.SpecError)(nil); errors.As(err, &se) {
		if o := r.cfg.Origin(se.Key); o != "default" {
			err = fmt.Errorf("%s: %w", o, err) // the line of the key that names what is not there
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if in.Dim() == 0 {
		return nil, nil, r.noValidRow(ctx, phase, in)
	}
	var bytes int64
	for _, f := range files {
		bytes += f.Bytes
	}
	r.log.Info("inputs", "files", len(files), "bytes", bytes, "layout", in.Layout(), "features", in.Dim(), "units", len(in.Units()), "max_len", spec.MaxLen)
	return in, files, nil
}

// DefaultMaxLen is input.max_len's default for a process whose Go memory
// limit (GOMEMLIMIT, or the container's: see cmd/seqae) is memLimit bytes,
// math.MaxInt64 when there is none (then 4 GiB is assumed): a step costs
// about 1 KiB across reading, batching and the model's workspaces, so a
// sequence of DefaultMaxLen steps takes about a quarter of the limit. It
// is at least 1000.
func DefaultMaxLen(memLimit int64) int {
	if memLimit <= 0 || memLimit == math.MaxInt64 {
		memLimit = 4 << 30
	}
	return int(max(memLimit/4096, 1000))
}

// DefaultBudgets are the memory budgets a run takes when the job leaves
// them at 0, from the process's Go memory limit (GOMEMLIMIT, or 90 % of the
// container's limit, set by cmd/seqae): grouping the long layout's rows
// takes an eighth of it, at most schemas.DefaultGroupBudget and at least
// 1 MiB, and caching the training data a quarter, at most 1 GiB and at
// least 1 MiB (a smaller cache streams every epoch). Without a limit they
// are 256 MiB and 1 GiB.
func DefaultBudgets(memLimit int64) (group, cache int64) {
	if memLimit <= 0 || memLimit == math.MaxInt64 {
		return schemas.DefaultGroupBudget, 1 << 30
	}
	return min(max(memLimit/8, 1<<20), schemas.DefaultGroupBudget), min(max(memLimit/4, 1<<20), 1<<30)
}

// groupBudget is input.memory_budget, or DefaultBudgets' group budget.
func (r *runner) groupBudget() int64 {
	if b := r.cfg.Input.MemoryBudget; b > 0 {
		return int64(b)
	}
	group, _ := DefaultBudgets(debug.SetMemoryLimit(-1))
	return group
}

// cacheBudget is training.memory_budget, or DefaultBudgets' cache budget.
func (r *runner) cacheBudget() int64 {
	if b := r.cfg.Training.MemoryBudget; b > 0 {
		return int64(b)
	}
	_, cache := DefaultBudgets(debug.SetMemoryLimit(-1))
	return cache
}

// maxLen is the longest sequence the run keeps (Spec.MaxLen; 0 is no
// limit): input.max_len, or DefaultMaxLen of the process's memory limit.
func (r *runner) maxLen() int {
	switch n := r.cfg.Input.MaxLen; {
	case n < 0:
		return 0
	case n > 0:
		return n
	}
	return DefaultMaxLen(debug.SetMemoryLimit(-1))
}

// warnTooLong says how to keep sequences quarantined as too_long.
func (r *runner) warnTooLong(c stages.Counts) {
	if n := c.Reasons[schemas.TooLong]; n > 0 {
		how := "raise input.max_len"
		if r.cfg.Input.MaxLen == 0 {
			how = "max_len was derived from the memory limit (GOMEMLIMIT or the container's); set input.max_len, or -1 for no limit, and give the process the memory such sequences need"
		}
		r.log.Warn("sequences longer than max_len were quarantined as too_long", "quarantined", n, "max_len", r.maxLen(), "to_keep_them", how)
	}
}

func (r *runner) source(in *read.Input, units []read.Unit) stages.ReadSpec {
	return stages.ReadSpec{Input: in, Units: units, Duplicates: read.DuplicatePolicy(r.cfg.Input.Duplicates), Readers: r.cfg.Workers.Readers}
}

func (r *runner) batching(boundaries []int) stages.BatchConfig {
	b := r.cfg.Batching
	if len(b.Boundaries) > 0 {
		boundaries = b.Boundaries
	}
	if b.Mode != BatchMode(stages.Padded) {
		boundaries = nil
	}
	return stages.BatchConfig{Mode: stages.Mode(b.Mode), BatchSize: b.BatchSize, MaxSteps: b.MaxSteps, Boundaries: boundaries}
}

// encodeBatching is how encoding batches: in input order, batch_size
// sequences of any lengths at a time (stages.Arrival), whatever
// batching.mode says. A sequence's results do not depend on its batch and
// the model computes no padded step, so this gives the bits exact batches
// would, keeps the input's row order in the output, holds one batch instead
// of 64 waiting for their lengths, and lets the model start on the first
// batch read instead of at the end of a small input.
func (r *runner) encodeBatching() stages.BatchConfig {
	return stages.BatchConfig{Mode: stages.Arrival, BatchSize: r.cfg.Batching.BatchSize, MaxSteps: r.cfg.Batching.MaxSteps}
}

// totalRows is the rows a pass over units reads, for progress: 0 where
// unknown (unitRows).
func totalRows(in *read.Input, units []read.Unit) int64 {
	return max(unitRows(in, units), 0)
}

// unitRows is the rows of units in the Parquet metadata (read.Unit.Rows)
// where each is a sequence or a quarantined row (the nested and columns
// layouts); -1 for the long layout.
func unitRows(in *read.Input, units []read.Unit) int64 {
	if in.Layout() == schemas.Long {
		return -1
	}
	var n int64
	for _, u := range units {
		n += u.Rows
	}
	return n
}

// train runs the training phase: the models and metrics partitions, and
// the quarantine partition when the job does not also encode (the encode
// pass then reports the same rows).
func (r *runner) train(ctx context.Context) (*ModelFile, []*partition, error) {
	start := time.Now()
	cfg := r.cfg
	in, files, err := r.openInputs(ctx, "training", 0)
	if err != nil {
		return nil, nil, err
	}
	mc := nn.Config{InputDim: in.Dim(), LatentDim: cfg.Model.Latent, DecoderHidden: cfg.Model.Hidden, Head: nn.Head(cfg.Model.Head)}
	if mc.Head == nn.HeadNone && mc.DecoderHidden != mc.InputDim {
		return nil, nil, &ConfigError{Origin: r.cfg.Origin("model.hidden"), Key: "model.hidden", Msg: fmt.Sprintf(
			"head none outputs the decoder's hidden state, so hidden must equal the input's %d features, got %d", mc.InputDim, mc.DecoderHidden)}
	}
	job := stages.TrainJob{
		ReadSpec: r.source(in, in.Units()),
		Model:    mc,
		Batching: r.batching(nil),
		Train: stages.TrainConfig{Epochs: cfg.Training.Epochs, LR: cfg.Training.LR, ClipNorm: cfg.Training.ClipNorm,
			Patience: cfg.Training.Patience, Seed: cfg.Training.Seed, ValFraction: cfg.Training.ValFraction,
			MemoryBudget: r.cacheBudget(), Workers: cfg.Workers.Trainers},
		ProgressEvery: r.opt.ProgressEvery,
	}
	warmFrom := ""
	if cfg.Training.WarmStart {
		if job.Init, job.InitNorm, warmFrom, err = r.warmStart(ctx, mc); err != nil {
			return nil, nil, err
		}
	}
	if !cfg.Encodes() {
		// The model's id is not known until training ends; this table's
		// metadata carries the phase instead. stages.Train opens, writes
		// and closes it.
		job.Outputs = stages.Outputs{Store: storage.Local{}, Format: r.format, Meta: r.meta("", "train"),
			Quarantine: filepath.Join(r.stage(TableQuarantine), partName(r.opt.Shard, r.format.Ext()))}
	}
	var snap pipeline.Snapshot
	job.Progress = r.progress("train", totalRows(in, in.Units()), &snap)
	job.OnEpoch = func(m stages.EpochMetrics) error {
		r.log.Info("epoch", "epoch", m.Epoch, "train_loss", m.TrainLoss, "val_loss", m.ValLoss, "sequences_per_s", round(m.SequencesPerS), "seconds", round(m.Seconds), "best", m.Best)
		r.event(Event{Phase: "train", Epoch: &m, Epochs: cfg.Training.Epochs})
		return nil
	}
	res, err := stages.Train(ctx, job)
	if nd := (*stages.NoTrainingDataError)(nil); errors.As(err, &nd) && nd.Counts.Encoded == 0 && nd.Counts.Rows > 0 {
		return nil, nil, allQuarantined("training", nd.Counts, false)
	}
	if err != nil {
		return nil, nil, err
	}
	written := map[string]int64{}
	if job.Outputs.Quarantine != "" {
		written[TableQuarantine] = res.Written.Quarantine
	}
	if err := checkCounts("training", res.Counts, unitRows(in, in.Units()), written); err != nil {
		return nil, nil, err
	}
	r.warnTooLong(res.Counts)
	modelID := res.Model.ID()
	best := res.Epochs[res.BestEpoch-1]
	r.log.Info("trained", "epochs", len(res.Epochs), "best_epoch", res.BestEpoch, "train_loss", best.TrainLoss, "val_loss", best.ValLoss,
		"train_sequences", res.TrainSeqs, "val_sequences", res.ValSeqs, "quarantined", res.Counts.Quarantined, "model_id", modelID, "seconds", round(time.Since(start).Seconds()))

	meta := map[string]string{MetaNormalizer: res.Norm.Marshal(), MetaModelID: modelID, MetaRunID: r.runID, MetaVersion: Version(),
		MetaDate: r.date, MetaJobConfig: r.cfgYAML}
	if len(res.Boundaries) > 0 {
		b, _ := json.Marshal(res.Boundaries)
		meta[MetaBoundaries] = string(b)
	}
	if warmFrom != "" {
		meta[MetaWarmStart] = warmFrom
	}
	meta[MetaCalibration] = res.Calibration.Marshal()
	if f := in.Spec().Features; len(f) > 0 {
		b, _ := json.Marshal(f)
		meta[MetaFeatures] = string(b)
	}
	r.log.Info("calibrated", "source", res.Calibration.Source, "scores", res.Calibration.Overall.N, "buckets_by_min_length", res.Calibration.BucketCounts())
	// The model file and the metrics table are jobs' own: it opens,
	// writes and closes them here, as stages.Train does its quarantine table.
	modelOut, err := saveModel(ctx, r.stage(TableModels), res.Model, meta)
	if err != nil {
		return nil, nil, err
	}
	mw, err := write.NewMetricsWriter(ctx, storage.Local{}, filepath.Join(r.stage(TableMetrics), partName(r.opt.Shard, r.format.Ext())),
		r.format, r.meta(modelID, "train"), write.WriteOptions{})
	if err != nil {
		return nil, nil, err
	}
	defer mw.Abort()
	for _, e := range res.Epochs {
		if err := mw.Write(write.MetricsRow{Epoch: int32(e.Epoch), TrainLoss: e.TrainLoss, ValLoss: e.ValLoss, HasValLoss: e.HasVal,
			SequencesPerS: e.SequencesPerS, Seconds: e.Seconds}); err != nil {
			return nil, nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, nil, err
	}
	info := &TrainingInfo{Epochs: len(res.Epochs), BestEpoch: res.BestEpoch, BestTrainLoss: best.TrainLoss, BestValLoss: best.ValLoss,
		TrainSeqs: res.TrainSeqs, ValSeqs: res.ValSeqs, Streamed: res.Streamed, WarmStartFrom: warmFrom, Boundaries: res.Boundaries}
	parts := []*partition{
		r.trainPartition(TableModels, modelID, files, res.Counts, start, snap, info, []OutputFile{modelOut}),
		r.trainPartition(TableMetrics, modelID, files, res.Counts, start, snap, info, []OutputFile{{Name: partName(r.opt.Shard, r.format.Ext()), Rows: mw.Rows()}}),
	}
	if job.Outputs.Quarantine != "" {
		parts = append(parts, r.trainPartition(TableQuarantine, modelID, files, res.Counts, start, snap, info,
			[]OutputFile{{Name: partName(r.opt.Shard, r.format.Ext()), Rows: res.Written.Quarantine}}))
	}
	if err := sizeFiles(parts); err != nil {
		return nil, nil, err
	}
	return &ModelFile{Model: res.Model, Norm: res.Norm, Boundaries: res.Boundaries, Calibration: res.Calibration, Meta: meta}, parts, nil
}

func (r *runner) trainPartition(table, modelID string, inputs []InputFile, counts stages.Counts, start time.Time, snap pipeline.Snapshot,
	info *TrainingInfo, files []OutputFile) *partition {
	m := r.manifest(table, "train", modelID, inputs, counts, start, snap)
	m.Training, m.Files = info, files
	return &partition{table: table, staged: r.stage(table), manifest: m}
}

// sizeFiles fills in the staged files' sizes in their manifests.
func sizeFiles(parts []*partition) error {
	for _, p := range parts {
		for i, f := range p.manifest.Files {
			st, err := os.Stat(filepath.Join(p.staged, f.Name))
			if err != nil {
				return err
			}
			p.manifest.Files[i].Bytes = st.Size()
		}
	}
	return nil
}

// warmStart loads the newest model committed before the run's date. It
// returns no model (and logs why) when there is none or its sizes differ
// from the job's.
func (r *runner) warmStart(ctx context.Context, want nn.Config) (*nn.Model, *stages.Normalizer, string, error) {
	path, err := r.latestModel(ctx, false)
	if err != nil || path == "" {
		r.log.Info("warm start: no model committed before this date; training from scratch", "date", r.date)
		return nil, nil, "", err
	}
	mf, err := ReadModel(ctx, r.outStore(), path)
	if err != nil {
		return nil, nil, "", err
	}
	if mf.Model.Config != want {
		r.log.Warn("warm start: the previous model's sizes differ from the job's; training from scratch",
			"model", path, "previous", fmt.Sprintf("%+v", mf.Model.Config), "job", fmt.Sprintf("%+v", want))
		return nil, nil, "", nil
	}
	id := mf.Model.ID()
	r.log.Info("warm start", "model", path, "model_id", id)
	return mf.Model, &mf.Norm, id, nil
}

// encodeModel finds the model an encode-only run uses: model.path, read
// from the run's store, or the newest committed under the (local) output
// folder for a date up to the run's.
func (r *runner) encodeModel(ctx context.Context) (*ModelFile, error) {
	path := strings.ReplaceAll(r.cfg.Model.Path, "{date}", r.date)
	store := r.store
	if path == "" {
		var err error
		if path, err = r.latestModel(ctx, true); err != nil {
			return nil, err
		}
		if path == "" {
			return nil, fmt.Errorf("no model to encode with: none committed under %s for a date up to %s; train first (run: train) or set model.path",
				storage.Redact(storage.Join(r.cfg.Output.Dir, TableModels)), r.date)
		}
		store = r.outStore()
	}
	mf, err := ReadModel(ctx, store, path)
	if err != nil {
		return nil, err
	}
	r.log.Info("model", "path", path, "model_id", mf.Model.ID(), "config", fmt.Sprintf("%+v", mf.Model.Config))
	return mf, nil
}

// encode runs the encoding phase: this shard's parts of the quarantine,
// step_losses and latents partitions.
func (r *runner) encode(ctx context.Context, mf *ModelFile) ([]*partition, error) {
	start := time.Now()
	m := mf.Model
	in, files, err := r.openInputs(ctx, "encoding", m.Config.InputDim)
	if err != nil {
		return nil, err
	}
	if in.Dim() != m.Config.InputDim {
		return nil, fmt.Errorf("the model takes %d features per step, the inputs have %d", m.Config.InputDim, in.Dim())
	}
	units := in.Units()
	if r.opt.Shard.Sharded() {
		units = in.Shard(r.opt.Shard.I, r.opt.Shard.N)
		r.log.Info("shard", "shard", r.opt.Shard.String(), "units", len(units), "of", len(in.Units()))
	}
	modelID := m.ID()
	meta := r.meta(modelID, "encode")
	name := partName(r.opt.Shard, r.format.Ext())
	// stages.Encode opens, writes and closes the latents, step_losses and
	// quarantine tables in the staging folders; the drift table is jobs'
	// own (r.drift).
	outputs := stages.Outputs{Store: storage.Local{}, Format: r.format, Meta: meta,
		Latents: filepath.Join(r.stage(TableLatents), name), Quarantine: filepath.Join(r.stage(TableQuarantine), name)}
	if r.cfg.Output.StepLosses {
		outputs.StepLosses = filepath.Join(r.stage(TableStepLosses), name)
	}
	if mf.Calibration == nil {
		r.log.Warn("the model has no calibration (it predates it): latents' percentile and anomaly are null; retrain to get them", "model", mf.Path)
	}
	var snap pipeline.Snapshot
	var stats driftStats
	job := stages.EncodeJob{
		Observe:  stats.observe,
		ReadSpec: r.source(in, units), Model: m, Norm: mf.Norm, Batching: r.encodeBatching(), Workers: r.cfg.Workers.Encoders,
		Outputs:     outputs,
		Calibration: mf.Calibration, AnomalyPercentile: r.cfg.Output.AnomalyPercentile, FeatureLosses: r.cfg.Output.FeatureLosses,
		Progress: r.progress("encode", totalRows(in, units), &snap), ProgressEvery: r.opt.ProgressEvery,
	}
	enc, err := encodeStage(ctx, job)
	if err != nil {
		return nil, err
	}
	counts, snap := enc.Counts, enc.Snapshot
	written := map[string]int64{TableQuarantine: enc.Written.Quarantine, TableLatents: enc.Written.Latents}
	if r.cfg.Output.StepLosses {
		written[TableStepLosses] = enc.Written.StepLosses
	}
	if err := checkCounts("encoding", counts, unitRows(in, units), written); err != nil {
		return nil, err
	}
	r.warnTooLong(counts)
	if counts.Encoded == 0 && counts.Rows > 0 && !r.cfg.Input.AllowAllQuarantined {
		return nil, allQuarantined("encoding", counts, true)
	}
	r.log.Info("encoded", "sequences_in", counts.Sequences, "sequences_out", counts.Encoded, "quarantined", counts.Quarantined,
		"step_loss_rows", counts.StepRows, "batches", counts.Batches, "seconds", round(time.Since(start).Seconds()))
	drift, dw, err := r.drift(ctx, &stats, modelID, mf.Calibration, meta, name)
	if err != nil {
		return nil, err
	}
	defer dw.Abort()
	if err := dw.Close(); err != nil {
		return nil, err
	}
	type table struct {
		name string
		rows int64
	}
	tables := []table{{TableQuarantine, enc.Written.Quarantine}}
	if r.cfg.Output.StepLosses {
		tables = append(tables, table{TableStepLosses, enc.Written.StepLosses})
	}
	tables = append(tables, table{TableLatents, enc.Written.Latents}, table{TableDrift, dw.Rows()})
	var parts []*partition
	for _, t := range tables {
		man := r.manifest(t.name, "encode", modelID, files, counts, start, snap)
		man.Files = []OutputFile{{Name: name, Rows: t.rows}}
		if t.name == TableLatents || t.name == TableDrift {
			man.Drift = drift
		}
		parts = append(parts, &partition{table: t.name, staged: r.stage(t.name), sharded: r.opt.Shard.Sharded(), manifest: man})
	}
	return parts, sizeFiles(parts)
}

// noValidRow is the error for a nested input in which no row is valid to
// take the features per step from: it reads the input to say why (see
// allQuarantined), or says the input is empty.
func (r *runner) noValidRow(ctx context.Context, phase string, in *read.Input) error {
	c := stages.Counts{Reasons: map[schemas.Reason]int64{}}
	err := stages.ReadOrdered(ctx, in, in.Units(), r.cfg.Workers.Readers, func(ch stages.Chunk) error {
		for _, row := range ch.Rows {
			if row.Quarantine != nil {
				c.Quarantine(*row.Quarantine)
			}
		}
		if ch.Stats != nil {
			c.Rows += ch.Stats.Rows
			c.Sequences += ch.Stats.Groups
		}
		return nil
	})
	if err != nil {
		return err
	}
	if c.Rows == 0 {
		return fmt.Errorf("inputs %v: no rows to take the number of features from", r.cfg.Inputs)
	}
	return allQuarantined(phase, c, false)
}

// allQuarantined is the error for a pass that read rows and quarantined
// every one: the counts by reason and the first rows with their details.
// canAllow says whether input.allow_all_quarantined would let it pass.
func allQuarantined(phase string, c stages.Counts, canAllow bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: every input sequence was quarantined (%d rows read, %d sequences, %d quarantined: ", phase, c.Rows, c.Sequences, c.Quarantined)
	reasons := slices.Sorted(maps.Keys(c.Reasons))
	for i, reason := range reasons {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", reason, c.Reasons[reason])
	}
	b.WriteString("); nothing committed")
	if len(c.Examples) > 0 {
		fmt.Fprintf(&b, "\nthe first %d:", len(c.Examples))
		for _, q := range c.Examples {
			b.WriteString("\n  " + q.String())
		}
	}
	if c.Reasons[schemas.TooLong] > 0 {
		b.WriteString("\ntoo_long: sequences over input.max_len (by default derived from the memory limit); raise it, or -1 for no limit")
	}
	if canAllow {
		b.WriteString("\nif that is expected, set input.allow_all_quarantined: true to commit the date with no latents")
	}
	return errors.New(b.String())
}

// encodeStage is stages.Encode; tests wrap it to lose rows and see
// checkCounts fail the run.
var encodeStage = stages.Encode

// checkCounts checks, before anything is committed, that a pass lost no
// rows: sequences in = out + quarantined; the rows read are the units'
// rows in the Parquet metadata (unitRows; -1 where rows are not sequences,
// as in the long layout); and each table written holds the rows counted
// for it (written, by table: latents the sequences out, quarantine the
// quarantined, step_losses the step loss rows).
func checkCounts(phase string, c stages.Counts, unitRows int64, written map[string]int64) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s; nothing committed", phase, fmt.Sprintf(format, args...))
	}
	if !c.Balanced() {
		return fail("counts do not balance (sequences in %d != out %d + quarantined %d)", c.Sequences, c.Encoded, c.Quarantined)
	}
	if unitRows >= 0 && c.Rows != unitRows {
		return fail("read %d rows, but the inputs' metadata says %d", c.Rows, unitRows)
	}
	for _, t := range []struct {
		table   string
		counted int64
		what    string
	}{{TableQuarantine, c.Quarantined, "rows quarantined"}, {TableStepLosses, c.StepRows, "step losses"}, {TableLatents, c.Encoded, "sequences out"}} {
		if got, ok := written[t.table]; ok && got != t.counted {
			return fail("the %s table holds %d rows, but %d %s were counted", t.table, got, t.counted, t.what)
		}
	}
	return nil
}

// newRunID names a run: its start time and a random suffix, so that runs
// sort by start and never collide.
func newRunID(now time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return now.UTC().Format(runIDTime) + "-" + hex.EncodeToString(b[:])
}

func round(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }
