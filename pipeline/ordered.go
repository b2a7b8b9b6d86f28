package pipeline

import (
	"context"
	"iter"
	"runtime/debug"

	"golang.org/x/sync/errgroup"
)

// OrderedFunc turns one item into any number of results, sent by calling
// emit in order. worker is the index, from 0, of the goroutine running it,
// so that state kept per worker (a model's workspace, say) needs no lock.
type OrderedFunc[A, B any] func(ctx context.Context, worker int, a A, emit func(B) error) error

// Ordered fans the items of in out to workers goroutines, each running fn,
// and puts the results back in order: emit sees all of one item's results,
// in the order fn emitted them, before any of the next item's, so what it
// sees does not depend on workers. emit is called one result at a time.
//
// At most workers+1 items are being run or waiting to be emitted (and one
// more is taken from in, waiting for its turn), and a worker whose results
// are not yet wanted waits once two of them are held, so memory stays
// bounded whatever in's length. Each item's results travel on
// a channel of their own, closed by the worker that sends on it; every send
// and receive gives up once ctx is done. Ordered returns once in is closed
// and everything is emitted, or else the first error from fn or emit (a
// panic in either becomes a [PanicError]), which cancels the rest.
//
// Inside a stage, the workers count as the stage's (for [Send],
// [Quarantine] and its busy time), and time spent waiting for results is
// not busy time.
func Ordered[A, B any](ctx context.Context, workers int, in <-chan A, fn OrderedFunc[A, B], emit func(B) error) error {
	workers = max(workers, 1)
	g, gctx := errgroup.WithContext(ctx)
	type item struct {
		a   A
		out chan B
	}
	items := make(chan item)
	// order holds the result channels of the items handed out and not yet
	// being emitted, in input order; the one being emitted is the +1.
	order := make(chan chan B, workers)
	g.Go(func() error {
		defer close(order)
		defer close(items)
		for a := range receive(gctx, in) {
			it := item{a: a, out: make(chan B, 2)}
			select {
			case order <- it.out:
			case <-gctx.Done():
				return gctx.Err()
			}
			select {
			case items <- it:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return gctx.Err()
	})
	for k := range workers {
		g.Go(func() (err error) {
			wctx, done := fork(gctx)
			defer done()
			defer recoverInto(&err)
			w := workerFrom(wctx)
			for it := range items {
				send := func(b B) error {
					w.idle()
					defer w.busy()
					select {
					case it.out <- b:
						return nil
					case <-wctx.Done():
						return wctx.Err()
					}
				}
				if err := fn(wctx, k, it.a, send); err != nil {
					return err
				}
				close(it.out)
			}
			return nil
		})
	}
	// The caller's worker (if any) is idle while it waits; the goroutine
	// that emits marks it busy while emit runs.
	w := workerFrom(ctx)
	w.idle()
	defer w.busy()
	g.Go(func() (err error) {
		defer recoverInto(&err)
		for out := range receive(gctx, order) {
			for b := range receive(gctx, out) {
				w.busy()
				err := emit(b)
				w.idle()
				if err != nil {
					return err
				}
			}
			if err := gctx.Err(); err != nil {
				return err // the item's results may be cut short
			}
		}
		return gctx.Err()
	})
	return g.Wait()
}

// AddOrdered starts a stage that runs fn on workers goroutines and sends the
// results in input order, as [Ordered] does: the stage's output does not
// depend on workers.
func AddOrdered[A, B any](p *Pipeline, name string, workers int, in *Stream[A], fn OrderedFunc[A, B]) *Stream[B] {
	s := p.add(name, workers, in.from, true)
	s.queued = func() int { return len(in.ch) }
	out := make(chan B, p.buffer)
	p.launchN(s, 1, func(ctx context.Context) error {
		return Ordered(ctx, workers, in.ch, fn, func(b B) error { return Send(ctx, out, b) })
	}, func() error {
		defer close(out)
		return exhausted(p.ctx, in.ch)
	})
	return &Stream[B]{ch: out, from: s}
}

// receive ranges over in until it is closed or ctx is done, counting no
// worker's time.
func receive[T any](ctx context.Context, in <-chan T) iter.Seq[T] {
	return Receive(context.WithValue(ctx, workerKey{}, (*worker)(nil)), in)
}

// fork gives a goroutine that a stage's worker starts a worker record of its
// own on the same stage, if ctx carries one; call done when it returns.
func fork(ctx context.Context) (context.Context, func()) {
	w := workerFrom(ctx)
	if w == nil {
		return ctx, func() {}
	}
	nw := &worker{stage: w.stage}
	nw.busy()
	return context.WithValue(ctx, workerKey{}, nw), nw.idle
}

// recoverInto turns a panic of the calling goroutine into a *PanicError in
// *err.
func recoverInto(err *error) {
	if v := recover(); v != nil {
		*err = &PanicError{Value: v, Stack: stackExcerpt(debug.Stack())}
	}
}
