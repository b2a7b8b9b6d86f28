// Command seqae learns and applies an LSTM autoencoder over tables of
// variable-length sequences: seqae run JOB.yaml is the nightly job;
// seqae --help lists the rest.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

func main() {
	// In a container, the Go soft memory limit follows the container's
	// (90% of its cgroup's memory limit), so the collector works harder
	// before the kernel kills the process; GOMEMLIMIT, when set, wins.
	// Outside a cgroup, or without a limit, the runtime's default stays.
	memlimit.Set()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr, isTerminal(os.Stderr))
	stop()
	os.Exit(code)
}
