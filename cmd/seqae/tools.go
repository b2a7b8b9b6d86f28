package main

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/seqae/seqae/jobs"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/stages"
	"github.com/seqae/seqae/storage"
)

func (a *app) benchCmd() *cobra.Command {
	o := stages.DefaultBenchOptions()
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time training and encoding on torch_bench.py's fixed workload; print one JSON line",
		Long: `Run the fixed workload of shared/bench/torch_bench.py, the PyTorch peer benchmark,
in memory: N sequences, sequence i of length MIN + (i*7919) % (MAX-MIN+1), standard
normal values; EPOCHS of training with Adam (lr 1e-3), then one encoding pass.
It prints one JSON line with torch_bench.py's fields (peer, mode, threads, n,
batches, real_steps, train_seq_per_s, encode_seq_per_s, train_s, encode_s) plus
train_gflop_per_s, so the two compare line for line on the same machine.

Modes: bucketed (batches of one exact length, no padding) and padded (sorted by
length, cut into batches, padded and masked). Training runs on one goroutine;
--threads sets the encoding goroutines.`,
		Example: `  seqae bench
  seqae bench --n 8192 --mode padded --threads 2
  python3 shared/bench/torch_bench.py --n 8192 --mode padded --threads 2   # the peer`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Mode != "bucketed" && o.Mode != "padded" {
				return usagef("--mode: want bucketed or padded, got %q", o.Mode)
			}
			res, err := stages.Bench(cmd.Context(), o, jobs.Version())
			if err != nil {
				return err
			}
			return json.NewEncoder(a.stdout).Encode(res)
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
	fl.IntVar(&o.Threads, "threads", o.Threads, "encoding goroutines, e.g. --threads 4")
	return cmd
}

func (a *app) inspectCmd() *cobra.Command {
	var opt jobs.InspectOptions
	var layout string
	cmd := &cobra.Command{
		Use:   "inspect PATH",
		Short: "Describe a Parquet table, a model file or a committed partition",
		Long: `Describe what PATH holds:
  a Parquet table: size, rows, row groups, columns and seqae metadata; for an input
    table also its layout, sequences, quarantined rows and length histogram; and
    its first rows;
  a model file (.safetensors): sizes, parameter count, file size, model id and
    metadata (normaliser, padded boundaries, run id, version, job config);
  a partition folder (OUT/<table>/dt=DATE): its manifest and files;
  another folder of Parquet files: its files, and their layout, sequences,
    quarantined rows and length histogram read together, as a job would.`,
		Example: `  seqae inspect examples/data/nested/sensors.parquet
  seqae inspect examples/data/long/sensors-0.parquet --layout long --id id
  seqae inspect examples/data/long
  seqae inspect out/models/dt=2026-11-25/model.safetensors
  seqae inspect out/latents/dt=2026-11-25`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch layout {
			case "", "nested", "columns", "long":
				opt.Spec.Layout = schemas.Layout(layout)
			default:
				return usagef("--layout: want nested, columns or long, got %q", layout)
			}
			return jobs.Inspect(cmd.Context(), storage.Local{}, args[0], a.stdout, opt)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.IntVar(&opt.Rows, "rows", 3, "rows to show, e.g. --rows 10")
	fl.StringVar(&layout, "layout", "", "an input table's layout, nested, columns or long (default: detect), e.g. --layout long")
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
