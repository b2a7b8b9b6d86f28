package main

import (
	"context"
	"encoding"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/seqae/seqae/jobs"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1   // the run failed: bad input data, I/O, a model that does not fit the data
	exitUsage       = 2   // bad usage or configuration: flags, arguments, job file, SEQAE_* variables
	exitInterrupted = 130 // SIGINT or SIGTERM: the run stopped without committing
)

// usageError is bad usage found after cobra parsed the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// app is one invocation's state.
type app struct {
	env            []string
	stdout, stderr io.Writer
	tty            bool // stderr is a terminal

	logFormat, logLevel, progress string

	log  *slog.Logger
	bars bool // draw progress bars (else progress goes to the log)
	ran  bool // the command line parsed and the command started
}

// execute runs seqae with args (without the program name) and env (as
// os.Environ) and returns the exit status. tty says whether stderr is a
// terminal, for progress bars.
func execute(ctx context.Context, args, env []string, stdout, stderr io.Writer, tty bool) int {
	a := &app{env: env, stdout: stdout, stderr: stderr, tty: tty}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := a.exitCode(ctx, err)
	if code == exitInterrupted {
		fmt.Fprintln(stderr, "seqae: interrupted; nothing of this run was committed")
		return code
	}
	fmt.Fprintf(stderr, "seqae: %v\n", err)
	if code == exitUsage && !a.ran {
		fmt.Fprintln(stderr, "Run 'seqae --help' or 'seqae COMMAND --help' for usage.")
	}
	return code
}

func (a *app) exitCode(ctx context.Context, err error) int {
	var ce *jobs.ConfigError
	var ue *usageError
	switch {
	case !a.ran, errors.As(err, &ce), errors.As(err, &ue):
		return exitUsage
	case ctx.Err() != nil:
		// A signal arrived and the run stopped: whatever error it stopped
		// with (a library may not wrap context.Canceled), it was interrupted.
		return exitInterrupted
	}
	return exitFailed
}

// getenv looks name up in the invocation's environment.
func (a *app) getenv(name string) string {
	for _, kv := range a.env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// setting is a flag's value, else the environment variable's, else def.
func (a *app) setting(cmd *cobra.Command, flag, env, def string) string {
	if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
		return f.Value.String()
	}
	if v := a.getenv(env); v != "" {
		return v
	}
	return def
}

// envOnly are the SEQAE_* variables that are not job settings.
var envOnly = []string{"SEQAE_DATE", "SEQAE_SHARD", "SEQAE_LOG_FORMAT", "SEQAE_LOG_LEVEL", "SEQAE_PROGRESS"}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "seqae",
		Short: "Learn and apply an LSTM autoencoder over tables of variable-length sequences",
		Long: `seqae learns what normal sequences look like (an LSTM autoencoder over tables
of variable-length multivariate sequences in Parquet) and scores every sequence:
a latent vector, a reconstruction error per step and a score per sequence.

The nightly job is 'seqae run JOB.yaml'; see 'seqae run --help' and README.md.

Exit status: 0 ok, 1 failed (nothing committed, unless committing itself failed
part-way: the error names what was), 2 bad usage or configuration, 130
interrupted (SIGINT or SIGTERM; nothing of the run is committed).`,
		Example: `  seqae run jobs/example.yaml
  seqae inspect out/latents/dt=2026-11-25/part-00000-of-00001.parquet
  seqae bench --mode bucketed --threads 2 --peer`,
		Args:              cobra.NoArgs,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(a.stderr)
			cmd.Help()
			return usagef("no command given")
		},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.ran = true
			return a.setupLogging(cmd)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	pf := root.PersistentFlags()
	pf.StringVar(&a.logFormat, "log-format", "text", "log lines as text or json (env SEQAE_LOG_FORMAT), e.g. --log-format json")
	pf.StringVar(&a.logLevel, "log-level", "", "least level logged: debug, info, warn or error (env SEQAE_LOG_LEVEL; default info,\nor warn while progress bars are drawn), e.g. --log-level debug")
	pf.StringVar(&a.progress, "progress", "auto", "progress as bars (on stderr), log (lines in the log) or none; auto draws bars\nwhen stderr is a terminal, else logs (env SEQAE_PROGRESS), e.g. --progress log")
	root.AddCommand(a.jobCmd("run"), a.jobCmd("train"), a.jobCmd("encode"), a.inspectCmd(), a.reportCmd(), a.benchCmd(), a.versionCmd())
	return root
}

func (a *app) setupLogging(cmd *cobra.Command) error {
	format := a.setting(cmd, "log-format", "SEQAE_LOG_FORMAT", "text")
	progress := a.setting(cmd, "progress", "SEQAE_PROGRESS", "auto")
	switch progress {
	case "auto":
		a.bars = a.tty
	case "bars":
		a.bars = true
	case "log", "none":
	default:
		return usagef("--progress: want auto, bars, log or none, got %q", progress)
	}
	a.progress = progress
	def := "info"
	if a.bars {
		def = "warn"
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.setting(cmd, "log-level", "SEQAE_LOG_LEVEL", def))); err != nil {
		return usagef("--log-level: want debug, info, warn or error: %v", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	default:
		return usagef("--log-format: want text or json, got %q", format)
	}
	a.logFormat = format
	return nil
}

// textFlag is a flag over a value that parses and checks itself (a jobs
// setting such as jobs.Format), so the flag, the job file and their errors
// share the value's list. It is pflag's TextVar, but named "string" in the
// help like the other text flags.
type textFlag struct {
	v interface {
		encoding.TextMarshaler
		encoding.TextUnmarshaler
	}
}

func (f textFlag) Set(s string) error { return f.v.UnmarshalText([]byte(s)) }

func (f textFlag) String() string {
	b, _ := f.v.MarshalText()
	return string(b)
}

func (textFlag) Type() string { return "string" }

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
