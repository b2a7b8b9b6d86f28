package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/seqae/seqae/jobs"
)

// jobFlags are the flags of run, train and encode.
type jobFlags struct {
	date, shard, out, model string
	format                  jobs.Format
	inputs, sets            []string
	epochs                  int
	seed                    uint64
	warmStart, printConfig  bool
}

const jobHelpTail = `
Settings come from, highest first: flags; SEQAE_* environment variables, one per
key (SEQAE_ and the key in capitals, dots as underscores:
SEQAE_TRAINING_EPOCHS=5, SEQAE_OUTPUT_DIR=/data/out); the job file; defaults.
--set KEY=VALUE sets any key; --print-config shows the result.

Outputs go to OUT/<table>/dt=DATE/ for the tables models, metrics, quarantine,
step_losses and latents, each partition with _SUCCESS and _manifest.json. They are
written aside (OUT/_staging/) and committed only when everything succeeded, each
partition in one step: rerunning a date replaces it whole (a run that trains
replaces every table, one that only encodes the quarantine, step_losses and
latents tables; such a table it does not write is removed), and a run that fails
before committing, or is interrupted, leaves the previous outputs as they were.
If committing itself fails part-way, the error names the partitions committed.
`

// shardHelp ends the help of the commands that encode.
const shardHelp = `
--shard I/N encodes only the I-th of N shares of the input units (row groups;
whole files for the long layout) into part-0000I-of-0000N files, so that N copies
(e.g. a Kubernetes Indexed Job) encode one date together; _SUCCESS appears once
the last shard has landed, if every shard saw the same input files (names and
sizes), input settings, format and model. Training cannot be sharded.`

func (a *app) jobCmd(name string) *cobra.Command {
	var f jobFlags
	cmd := &cobra.Command{Args: cobra.ExactArgs(1)}
	switch name {
	case "run":
		cmd.Use = "run JOB.yaml"
		cmd.Short = "Run a job file for a date: train and/or encode, then commit (the nightly job)"
		cmd.Long = `Run the job that JOB.yaml describes (train, encode or train-then-encode) for one
logical date, as a scheduler would. See jobs/example.yaml for every key. It takes
every job flag; those of a phase the job does not run have no effect.
` + jobHelpTail + shardHelp
		cmd.Example = `  seqae run jobs/example.yaml
  seqae run jobs/example.yaml --date 2026-11-25 --out /data/seqae
  SEQAE_TRAINING_EPOCHS=5 seqae run jobs/example.yaml --set batching.batch_size=128
  seqae run jobs/example-long.yaml --date 2026-11-25 --shard 1/3`
	case "train":
		cmd.Use = "train [JOB.yaml]"
		cmd.Args = cobra.MaximumNArgs(1)
		cmd.Short = "Train a model (a job with run: train) and commit it under OUT/models/"
		cmd.Long = `Train a model on the inputs and commit it, with its metrics, for one logical date:
the job file's settings (if one is given) with run: train. Without a job file
name the inputs with --input. Training reads every input: it cannot be sharded
(encode in shards with seqae encode --shard).
` + jobHelpTail
		cmd.Example = `  seqae train --input examples/data/nested --out out --epochs 20
  seqae train jobs/example.yaml --date 2026-11-25 --warm-start`
	case "encode":
		cmd.Use = "encode [JOB.yaml]"
		cmd.Args = cobra.MaximumNArgs(1)
		cmd.Short = "Encode inputs with a trained model (a job with run: encode)"
		cmd.Long = `Encode the inputs with a model for one logical date: latents, step losses and
quarantine. The model is --model, or the newest committed under OUT/models/ for a
date up to the run's date.
` + jobHelpTail + shardHelp
		cmd.Example = `  seqae encode jobs/example.yaml --date 2026-11-25
  seqae encode --input 'data/dt=2026-11-25/*.parquet' --model out/models/dt=2026-11-24/model.safetensors --shard 0/4`
	}
	// Each command takes the flags of the phases it can run: train those of
	// training, encode those of encoding, run (whose job file decides) all.
	encodes, trains := name != "train", name != "encode"
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&f.date, "date", "", "the run's logical date, YYYY-MM-DD: outputs go to dt=DATE partitions and {date} in\ninputs is replaced by it (env SEQAE_DATE; default today in UTC), e.g. --date 2026-11-25")
	if encodes {
		fl.StringVar(&f.shard, "shard", "", "encode only share I of N (N <= 99999) of the input units and write part I of N\n(env SEQAE_SHARD), e.g. --shard 3/8")
	}
	fl.StringVar(&f.out, "out", "", "the output folder (output.dir), e.g. --out /data/seqae")
	fl.Var(textFlag{&f.format}, "format", "the output tables' format, "+jobs.Choices[jobs.Format]()+" (output.format), e.g. --format arrow")
	fl.StringArrayVar(&f.inputs, "input", nil, "an input file, folder or glob, replacing the job's inputs; repeat for more\n(inputs), e.g. --input 'data/dt={date}/*.parquet'")
	if encodes {
		fl.StringVar(&f.model, "model", "", "the model file to encode with (model.path), e.g. --model out/models/dt=2026-11-24/model.safetensors")
	}
	if trains {
		fl.IntVar(&f.epochs, "epochs", 0, "the most training epochs (training.epochs), e.g. --epochs 20")
		fl.Uint64Var(&f.seed, "seed", 0, "the seed of the initial weights and shuffles (training.seed), e.g. --seed 7")
		fl.BoolVar(&f.warmStart, "warm-start", false, "begin training from the newest model committed before the date (training.warm_start),\ne.g. --warm-start")
	}
	fl.StringArrayVar(&f.sets, "set", nil, "set any job key, KEY=VALUE; repeat for more, e.g. --set model.latent=32 --set input.pass=machine,site")
	fl.BoolVar(&f.printConfig, "print-config", false, "print the job's settings after files, variables and flags, and exit, e.g. --print-config")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		path := ""
		if len(args) == 1 {
			path = args[0]
		}
		return a.runJob(cmd, name, path, &f)
	}
	return cmd
}

// sets turns the dedicated flags that were given into KEY=VALUE settings.
func (f *jobFlags) settings(cmd *cobra.Command, name string) []string {
	sets := slices.Clone(f.sets)
	changed := func(flag string) bool { return cmd.Flags().Changed(flag) }
	if changed("out") {
		sets = append(sets, "output.dir="+f.out)
	}
	if changed("format") {
		sets = append(sets, "output.format="+string(f.format))
	}
	if changed("input") {
		b, _ := json.Marshal(f.inputs)
		sets = append(sets, "inputs="+string(b))
	}
	if changed("model") {
		sets = append(sets, "model.path="+f.model)
	}
	if changed("epochs") {
		sets = append(sets, "training.epochs="+strconv.Itoa(f.epochs))
	}
	if changed("seed") {
		sets = append(sets, "training.seed="+strconv.FormatUint(f.seed, 10))
	}
	if changed("warm-start") {
		sets = append(sets, "training.warm_start="+strconv.FormatBool(f.warmStart))
	}
	if name != "run" {
		sets = append(sets, "run="+name)
	}
	return sets
}

func (a *app) runJob(cmd *cobra.Command, name, path string, f *jobFlags) error {
	if path == "" && !cmd.Flags().Changed("input") && a.getenv(jobs.EnvName("inputs")) == "" {
		return usagef("seqae %s: name a job file or the inputs (--input PATH)", name)
	}
	cfg, err := jobs.Load(path, a.env, f.settings(cmd, name), envOnly)
	if err != nil {
		return err
	}
	if d := cmd.Flags().Lookup("date"); d.Changed && d.Value.String() == "" {
		return usagef("--date: want a date YYYY-MM-DD, got an empty one (leave --date out for today, in UTC)")
	}
	opt := jobs.Options{Date: a.setting(cmd, "date", "SEQAE_DATE", ""), Logger: a.log}
	if s := a.setting(cmd, "shard", "SEQAE_SHARD", ""); s != "" {
		if opt.Shard, err = jobs.ParseShard(s); err != nil {
			return usagef("--shard: %v", err)
		}
	}
	if err := opt.Validate(cfg); err != nil {
		return err
	}
	if f.printConfig {
		_, err := io.WriteString(a.stdout, cfg.YAML())
		return err
	}
	switch {
	case a.bars:
		b := &bars{w: a.stderr}
		defer b.done()
		opt.Progress, opt.ProgressEvery = b.event, 200*time.Millisecond
	case a.progress != "none":
		opt.Progress, opt.ProgressEvery = logProgress(a.log), 10*time.Second
	}
	res, err := jobs.Run(cmd.Context(), cfg, opt)
	if err != nil {
		return err
	}
	if a.logFormat == "json" {
		return json.NewEncoder(a.stdout).Encode(summaryOf(cfg, res, opt.Shard))
	}
	writeSummary(a.stdout, cfg, res, opt.Shard)
	return nil
}

// summary is what a run prints on stdout with --log-format json.
type summary struct {
	Job        string         `json:"job"`
	Run        jobs.RunMode   `json:"run"`
	Date       string         `json:"date"`
	RunID      string         `json:"run_id"`
	ModelID    string         `json:"model_id"`
	Model      string         `json:"model"`
	Train      *jobs.Manifest `json:"train,omitempty"`
	Encode     *jobs.Manifest `json:"encode,omitempty"`
	Partitions []string       `json:"partitions"`
	Removed    []string       `json:"removed,omitempty"`
	Shard      string         `json:"shard,omitempty"`     // I/N of a sharded run
	ShardsIn   []int          `json:"shards_in,omitempty"` // by partition: the date's shards landed so far
}

func summaryOf(cfg *jobs.Config, res *jobs.Result, shard jobs.Shard) summary {
	strip := func(m *jobs.Manifest) *jobs.Manifest {
		if m == nil {
			return nil
		}
		c := *m
		c.Config, c.Inputs = "", nil
		return &c
	}
	s := summary{Job: cfg.Name, Run: cfg.Run, Date: res.Date, RunID: res.RunID, ModelID: res.ModelID, Model: res.ModelPath,
		Train: strip(res.Train), Encode: strip(res.Encode), Partitions: res.Partitions, Removed: res.Removed, ShardsIn: res.ShardsIn}
	if shard.Sharded() {
		s.Shard = shard.String()
	}
	return s
}

// writeSummary writes what the run did. A shard's partitions have landed,
// not necessarily committed: the date is complete, with _SUCCESS, only
// once every shard has landed, and the summary says how many have.
func writeSummary(w io.Writer, cfg *jobs.Config, res *jobs.Result, shard jobs.Shard) {
	fmt.Fprintf(w, "seqae %s: %s for %s (run %s)\n", cfg.Name, cfg.Run, res.Date, res.RunID)
	fmt.Fprintf(w, "  model      %s  %s\n", res.ModelID, res.ModelPath)
	if m := res.Train; m != nil {
		t := m.Training
		fmt.Fprintf(w, "  trained    %d epochs in %.1fs, best %d: train loss %.4f, val loss %.4f (%d train, %d validation sequences)\n",
			t.Epochs, m.Timings.Seconds, t.BestEpoch, t.BestTrainLoss, t.BestValLoss, t.TrainSeqs, t.ValSeqs)
		if t.WarmStartFrom != "" {
			fmt.Fprintf(w, "             warm start from model %s\n", t.WarmStartFrom)
		}
	}
	if m := res.Encode; m != nil {
		c := m.Counts
		fmt.Fprintf(w, "  encoded    %d sequences in %.1fs: %d out, %d quarantined%s; %d step losses\n",
			c.Sequences, m.Timings.Seconds, c.Encoded, c.Quarantined, jobs.ReasonList(c.Reasons), c.StepRows)
		if d := m.Drift; d != nil {
			writeDrift(w, d)
		}
	}
	committed := slices.Clone(res.Partitions)
	label := "committed"
	if shard.Sharded() {
		label = "landed"
		for i, p := range committed {
			in := res.ShardsIn[i]
			state := fmt.Sprintf("_SUCCESS once all %d are", shard.N)
			if in == shard.N {
				state = "complete: _SUCCESS written"
			}
			committed[i] = fmt.Sprintf("%s (shard %s; %d of %d shards in, %s)", p, shard, in, shard.N, state)
		}
	}
	for _, list := range []struct {
		label string
		paths []string
	}{{label, committed}, {"removed", res.Removed}} {
		for i, p := range list.paths {
			label := ""
			if i == 0 {
				label = list.label
			}
			fmt.Fprintf(w, "  %-10s %s\n", label, p)
		}
	}
}

// writeDrift writes the summary's drift line.
func writeDrift(w io.Writer, d *jobs.Drift) {
	line := "no baseline"
	if d.PSI != nil {
		against := "the model's calibration scores"
		if d.BaselineDate != "" {
			against = d.BaselineDate
		}
		line = fmt.Sprintf("score PSI %.3f against %s", *d.PSI, against)
	}
	if d.AnomalyShare != nil {
		line += fmt.Sprintf(", %.2f%% anomalies", 100**d.AnomalyShare)
	}
	if d.Warn {
		line += fmt.Sprintf(": WARNING, above output.drift_warn_psi %g", d.WarnPSI)
	}
	fmt.Fprintf(w, "  drift      %s\n", line)
}
