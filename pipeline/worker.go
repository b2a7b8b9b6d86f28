package pipeline

import (
	"context"
	"iter"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"
)

// worker is one goroutine of a stage. It travels in the context its stage
// function gets, so that Send, Receive and Quarantine can count for it.
type worker struct {
	stage *stage
	mark  atomic.Int64 // when the worker last became busy, as nanoseconds since epoch
}

// epoch is the origin of worker marks; time.Since(epoch) reads the monotonic clock.
var epoch = time.Now()

type workerKey struct{}

func workerFrom(ctx context.Context) *worker {
	w, _ := ctx.Value(workerKey{}).(*worker)
	return w
}

// idle adds the busy time since the last mark to the stage; call it before
// the worker blocks.
func (w *worker) idle() {
	if w != nil {
		w.stage.busy.Add(int64(time.Since(epoch)) - w.mark.Load())
	}
}

// busy marks the worker busy again.
func (w *worker) busy() {
	if w != nil {
		w.mark.Store(int64(time.Since(epoch)))
	}
}

// runWorker runs work as one worker of s, turning a panic into a PanicError.
// A worker that returns nil while the context is done did not finish its
// work, so it reports the context's error instead.
func runWorker(ctx context.Context, s *stage, work func(context.Context) error) (err error) {
	w := &worker{stage: s}
	w.busy()
	defer w.idle()
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: stackExcerpt(debug.Stack())}
		}
	}()
	if err := work(context.WithValue(ctx, workerKey{}, w)); err != nil {
		return err
	}
	return ctx.Err()
}

// stackExcerpt keeps the first frames of a stack trace from debug.Stack.
func stackExcerpt(stack []byte) string {
	const maxLines = 24
	lines := strings.SplitN(string(stack), "\n", maxLines+1)
	return strings.Join(lines[:min(len(lines), maxLines)], "\n")
}

// Send sends v on out, or returns ctx.Err() if ctx is done first.
// Stages send every item through it: it is what makes cancellation reach a
// stage blocked on a full channel, and what counts the stage's output. ctx
// must be the context the stage function was given, or one derived from it.
// Goroutines that a stage starts itself may call Send too, but the stage's
// busy time is then only approximate.
func Send[T any](ctx context.Context, out chan<- T, v T) error {
	w := workerFrom(ctx)
	w.idle()
	defer w.busy()
	select {
	case out <- v:
		if w != nil {
			w.stage.sent.Add(1)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Receive ranges over in until it is closed or ctx is done, whichever comes
// first. Time spent waiting for an item is not counted as the stage's busy
// time. After the loop, a stage should return (nil is fine: the runner
// reports a cancelled context itself).
func Receive[T any](ctx context.Context, in <-chan T) iter.Seq[T] {
	return func(yield func(T) bool) {
		w := workerFrom(ctx)
		for {
			w.idle()
			var v T
			ok := false
			select {
			case v, ok = <-in:
			case <-ctx.Done():
			}
			w.busy()
			if !ok || !yield(v) {
				return
			}
		}
	}
}

// Quarantine counts one item that the calling stage set aside as bad input.
// ctx must be the context the stage function was given (or one derived from
// it); elsewhere Quarantine does nothing.
func Quarantine(ctx context.Context) {
	if w := workerFrom(ctx); w != nil {
		w.stage.quarantined.Add(1)
	}
}
