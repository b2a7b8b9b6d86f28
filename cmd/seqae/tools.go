package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/seqae/seqae/bench"
	"github.com/seqae/seqae/internal/inspect"
	"github.com/seqae/seqae/jobs"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage/cloud"
)

func (a *app) benchCmd() *cobra.Command {
	o := bench.DefaultOptions()
	var peer bool
	var cpuProfile string
	python := "python3"
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time training and encoding on the peer benchmark's fixed workload; print one JSON line",
		Long: `Run the fixed workload of bench/torch_peer.py, seqae's PyTorch peer benchmark,
in memory: N sequences, sequence i of length MIN + (i*7919) % (MAX-MIN+1), standard
normal values; EPOCHS of training with Adam (lr 1e-3), then one encoding pass.
It prints one JSON line with torch_peer.py's fields (peer, mode, threads, n,
batches, real_steps, train_seq_per_s, encode_seq_per_s, train_s, encode_s) plus
where seqae stands against the machine: train_gflop_per_s and
encode_gflop_per_s (the model's matrix products), peak_gflop_per_s (seqae's
own matrix multiply on (PEAK_N, PEAK_N) products, as many goroutines as
--threads, in rounds for about a second: the fastest round) and
train_fraction_of_peak and encode_fraction_of_peak.

Modes: bucketed (batches of one exact length, no padding) and padded (sorted by
length, cut into batches, padded and masked). --threads is the goroutines of
both: training computes each batch's two gradient parts on up to that many (or
splits a small batch's recurrences by hidden units between two), encoding runs
that many batches at once.

With --peer, seqae then runs torch_peer.py (built into seqae; the same file as
bench/torch_peer.py in the repository) with the same flags under PYTHON, prints
its JSON line, and a third line with seqae's rates over PyTorch's
(train_ratio, encode_ratio). PyTorch needs an optimised BLAS: on Debian, apt-get
install python3-torch libopenblas0-pthread; the script refuses the reference
BLAS and names the one it ran on.`,
		Example: `  seqae bench
  seqae bench --mode padded --threads 1
  seqae bench --latent 256 --hidden 256 --n 512 --peer --python /usr/bin/python3
  python3 bench/torch_peer.py --n 4096 --mode padded --threads 2   # the peer alone`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Mode != "bucketed" && o.Mode != "padded" {
				return usagef("--mode: want bucketed or padded, got %q", o.Mode)
			}
			res, err := runBench(cmd.Context(), o, cpuProfile)
			if err != nil {
				return err
			}
			if err := json.NewEncoder(a.stdout).Encode(res); err != nil || !peer {
				return err
			}
			return a.runPeer(cmd.Context(), python, o, res)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.IntVar(&o.N, "n", o.N, "sequences, e.g. --n 1024")
	fl.IntVar(&o.MinLen, "min-len", o.MinLen, "shortest sequence, e.g. --min-len 5")
	fl.IntVar(&o.MaxLen, "max-len", o.MaxLen, "longest sequence, e.g. --max-len 400")
	fl.IntVar(&o.InputDim, "input-dim", o.InputDim, "features per step, e.g. --input-dim 16")
	fl.IntVar(&o.Latent, "latent", o.Latent, "latent size (the encoder's hidden size), e.g. --latent 32")
	fl.IntVar(&o.Hidden, "hidden", o.Hidden, "decoder hidden size, e.g. --hidden 32")
	fl.IntVar(&o.Batch, "batch", o.Batch, "sequences per batch, e.g. --batch 128")
	fl.IntVar(&o.Epochs, "epochs", o.Epochs, "training epochs, e.g. --epochs 3")
	fl.StringVar(&o.Mode, "mode", o.Mode, "bucketed or padded, e.g. --mode padded")
	fl.IntVar(&o.Threads, "threads", o.Threads, "goroutines for training (a batch's two gradient parts, or a small batch's hidden units) and for encoding (batches at once), and for the peak; the peer's torch threads, e.g. --threads 1")
	fl.IntVar(&o.PeakN, "peak-n", o.PeakN, "size of the square products that measure the peak; 0 skips it, e.g. --peak-n 1024")
	fl.BoolVar(&peer, "peer", false, "then run the PyTorch peer, torch_peer.py, on the same workload and print its line and the ratios, e.g. --peer")
	fl.StringVar(&python, "python", python, "the Python with PyTorch that --peer runs, e.g. --python /usr/bin/python3")
	fl.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of seqae's run (training, encoding and the peak: add --peak-n 0 to leave the peak out) to FILE, for go tool pprof, e.g. --cpuprofile cpu.out")
	return cmd
}

// runBench runs the benchmark, under a CPU profile written to profile
// when it is not empty.
func runBench(ctx context.Context, o bench.Options, profile string) (bench.Result, error) {
	if profile == "" {
		return bench.Run(ctx, o, jobs.Version())
	}
	f, err := os.Create(profile)
	if err != nil {
		return bench.Result{}, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return bench.Result{}, fmt.Errorf("--cpuprofile %s: %w", profile, err)
	}
	res, err := bench.Run(ctx, o, jobs.Version())
	pprof.StopCPUProfile()
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("--cpuprofile %s: %w", profile, cerr)
	}
	return res, err
}

// runPeer runs torch_peer.py under python with o's flags, copies its JSON
// line to stdout and prints seqae's rates over the peer's.
func (a *app) runPeer(ctx context.Context, python string, o bench.Options, res bench.Result) error {
	args := []string{"-", "--n", strconv.Itoa(o.N), "--min-len", strconv.Itoa(o.MinLen), "--max-len", strconv.Itoa(o.MaxLen),
		"--input-dim", strconv.Itoa(o.InputDim), "--latent", strconv.Itoa(o.Latent), "--hidden", strconv.Itoa(o.Hidden),
		"--batch", strconv.Itoa(o.Batch), "--epochs", strconv.Itoa(o.Epochs), "--mode", o.Mode, "--threads", strconv.Itoa(o.Threads)}
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Stdin = bytes.NewReader(bench.TorchPeer)
	cmd.Stderr = a.stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("the peer, %s torch_peer.py: %w", python, err)
	}
	var peer struct {
		Train  float64 `json:"train_seq_per_s"`
		Encode float64 `json:"encode_seq_per_s"`
	}
	line := bytes.TrimSpace(out)
	if err := json.Unmarshal(line, &peer); err != nil || peer.Train <= 0 || peer.Encode <= 0 {
		return fmt.Errorf("the peer printed %q, want a JSON line with positive train_seq_per_s and encode_seq_per_s", line)
	}
	if _, err := fmt.Fprintf(a.stdout, "%s\n", line); err != nil {
		return err
	}
	return json.NewEncoder(a.stdout).Encode(struct {
		Train  float64 `json:"train_ratio"`
		Encode float64 `json:"encode_ratio"`
	}{math.Round(res.TrainSeqPerS/peer.Train*100) / 100, math.Round(res.EncodeSeqPerS/peer.Encode*100) / 100})
}

func (a *app) inspectCmd() *cobra.Command {
	var opt inspect.Options
	var layout jobs.Layout
	cmd := &cobra.Command{
		Use:   "inspect PATH",
		Short: "Describe a Parquet or Arrow table, a model file or a committed partition",
		Long: `Describe what PATH holds:
  a Parquet table: size, rows, row groups, columns and seqae metadata; for an input
    table also its layout, sequences, quarantined rows and length histogram; and
    its first rows;
  an Arrow IPC file (seqae's output.format arrow): size, rows, record batches,
    columns, seqae metadata and its first rows;
  a model file (.safetensors): sizes, parameter count, file size, model id and
    metadata (normaliser, padded boundaries, run id, version, job config);
  a partition folder (OUT/<table>/dt=DATE): its manifest and files;
  another folder of Parquet files: its files, and their layout, sequences,
    quarantined rows and length histogram read together, as a job would.`,
		Example: `  seqae inspect examples/data/nested/sensors.parquet
  seqae inspect examples/data/long/sensors-0.parquet --layout long --id id
  seqae inspect examples/data/long
  seqae inspect out/models/dt=2026-11-25/model.safetensors
  seqae inspect out/latents/dt=2026-11-25
  seqae inspect out/latents/dt=2026-11-25/part-00000-of-00001.arrow`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt.Spec.Layout = schemas.Layout(layout)
			store := cloud.NewResolver()
			defer store.Close()
			return inspect.Describe(cmd.Context(), store, args[0], a.stdout, opt)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.IntVar(&opt.Rows, "rows", 3, "rows to show, e.g. --rows 10")
	fl.Var(textFlag{&layout}, "layout", "an input table's layout, "+jobs.Choices[jobs.Layout]()+" (default: detect), e.g. --layout long")
	fl.StringVar(&opt.Spec.ID, "id", "", "an input table's id column (default id), e.g. --id trace_id")
	return cmd
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print seqae's version",
		Long:    "Print seqae's version (the module version or VCS revision it was built from), Go version and platform.",
		Example: "  seqae version",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(a.stdout, "seqae %s (%s %s/%s)\n", jobs.Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
