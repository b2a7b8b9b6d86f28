// Package pipeline is seqae's in-process runner: it runs a chain of stages,
// each one or more goroutines, connected by bounded channels, under one
// errgroup.
//
// A stage is a synchronous function that reads its input channel until it is
// closed, sends its results with [Send] and returns:
//
//	func(ctx context.Context, in <-chan A, out chan<- B) error
//
// Sources have no input and sinks no output. The runner owns the channels:
// it makes them, and it closes a stage's output once all of that stage's
// workers have returned, so stage functions never close anything. The
// channels' small buffers are the backpressure: a slow stage stalls the ones
// before it.
//
// The first error, or a panic in any worker, cancels the context every stage
// runs under and is what [Pipeline.Wait] returns, tagged with the stage's name
// (see [Error]). A stage must read its input until it is closed, return an
// error, or stop because its context is done; one that returns nil early is an
// error too, so nothing is dropped silently and no upstream stage is left
// blocked.
//
// Code that is not about pipelines (the model, the batcher, the encoder)
// keeps plain signatures; [Map], [FlatMap], [ForEach] and [Generate] adapt
// such functions into stages, so only this package handles channels.
// [Ordered] (and [AddOrdered], the stage made of it) fans work out to
// several goroutines and puts the results back in input order.
//
// It is how seqae works inside, not a stable Go API: see docs/design.md §7.
package pipeline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// SourceFunc is a stage with no input: it sends its items to out with [Send].
type SourceFunc[B any] func(ctx context.Context, out chan<- B) error

// StageFunc reads items from in until it is closed and sends results to out
// with [Send].
type StageFunc[A, B any] func(ctx context.Context, in <-chan A, out chan<- B) error

// SinkFunc reads items from in until it is closed.
type SinkFunc[A any] func(ctx context.Context, in <-chan A) error

// Stream is the output of a stage, to be consumed by exactly one later stage.
type Stream[T any] struct {
	ch   chan T
	from *stage
}

// Pipeline runs stages under one errgroup. Build it with [New], add stages
// with [AddSource], [AddStage] and [AddSink] (they start running at once),
// then call [Pipeline.Wait] once.
type Pipeline struct {
	g        *errgroup.Group
	ctx      context.Context
	buffer   int
	every    time.Duration
	progress func(Snapshot)
	start    time.Time

	mu     sync.Mutex
	stages []*stage
}

// stage holds one stage's wiring and counters.
type stage struct {
	name     string
	workers  int
	upstream *stage     // nil for a source
	queued   func() int // items waiting in the input channel; nil for a source
	hasOut   bool
	consumed bool // its output is wired to a later stage; guarded by Pipeline.mu

	sent        atomic.Int64
	quarantined atomic.Int64
	busy        atomic.Int64 // nanoseconds
	done        atomic.Bool
}

// Option configures a [Pipeline].
type Option func(*Pipeline)

// WithBuffer sets how many items each channel between two stages holds
// (default 4). Zero makes every hand-off synchronous.
func WithBuffer(n int) Option {
	return func(p *Pipeline) { p.buffer = n }
}

// WithProgress makes [Pipeline.Wait] call fn with a [Snapshot] at most once
// every interval while the pipeline runs, and once more when it has
// finished. fn runs on the goroutine that called Wait, never on a stage's: a
// slow fn only makes the calls rarer, it does not slow the stages.
func WithProgress(every time.Duration, fn func(Snapshot)) Option {
	return func(p *Pipeline) { p.every, p.progress = every, fn }
}

// New returns an empty pipeline whose stages run under a context derived
// from ctx.
func New(ctx context.Context, opts ...Option) *Pipeline {
	g, gctx := errgroup.WithContext(ctx)
	p := &Pipeline{g: g, ctx: gctx, buffer: 4, start: time.Now()}
	for _, o := range opts {
		o(p)
	}
	return p
}

// AddSource starts a stage of workers goroutines, each running fn, and
// returns their combined output.
func AddSource[B any](p *Pipeline, name string, workers int, fn SourceFunc[B]) *Stream[B] {
	s := p.add(name, workers, nil, true)
	out := make(chan B, p.buffer)
	p.launch(s, func(ctx context.Context) error { return fn(ctx, out) }, func() error {
		close(out)
		return nil
	})
	return &Stream[B]{ch: out, from: s}
}

// AddStage starts a stage of workers goroutines, each running fn on the
// shared input in, and returns their combined output.
func AddStage[A, B any](p *Pipeline, name string, workers int, in *Stream[A], fn StageFunc[A, B]) *Stream[B] {
	s := p.add(name, workers, in.from, true)
	s.queued = func() int { return len(in.ch) }
	out := make(chan B, p.buffer)
	p.launch(s, func(ctx context.Context) error { return fn(ctx, in.ch, out) }, func() error {
		defer close(out)
		return exhausted(p.ctx, in.ch)
	})
	return &Stream[B]{ch: out, from: s}
}

// AddSink starts a stage of workers goroutines, each running fn on the
// shared input in.
func AddSink[A any](p *Pipeline, name string, workers int, in *Stream[A], fn SinkFunc[A]) {
	s := p.add(name, workers, in.from, false)
	s.queued = func() int { return len(in.ch) }
	p.launch(s, func(ctx context.Context) error { return fn(ctx, in.ch) }, func() error {
		return exhausted(p.ctx, in.ch)
	})
}

// add registers a stage. Wiring mistakes are programming errors and panic.
func (p *Pipeline) add(name string, workers int, upstream *stage, hasOut bool) *stage {
	if workers < 1 {
		panic(fmt.Sprintf("pipeline: stage %q: %d workers, want at least 1", name, workers))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if upstream != nil {
		if upstream.consumed {
			panic(fmt.Sprintf("pipeline: stage %q: output of %q is already consumed", name, upstream.name))
		}
		upstream.consumed = true
	}
	s := &stage{name: name, workers: workers, upstream: upstream, hasOut: hasOut}
	p.stages = append(p.stages, s)
	return s
}

// launch starts s's workers. The last worker to return runs finish, which
// checks the input was read to its end and closes the output.
func (p *Pipeline) launch(s *stage, work func(context.Context) error, finish func() error) {
	p.launchN(s, s.workers, work, finish)
}

// launchN starts n goroutines running work for s, as launch does; a stage
// added by [AddOrdered] runs its workers itself, under one.
func (p *Pipeline) launchN(s *stage, n int, work func(context.Context) error, finish func() error) {
	var left atomic.Int32
	left.Store(int32(n))
	for range n {
		p.g.Go(func() error {
			err := runWorker(p.ctx, s, work)
			if left.Add(-1) == 0 {
				ferr := finish()
				s.done.Store(true)
				if err == nil {
					err = ferr
				}
			}
			return tag(s.name, err)
		})
	}
}

// exhausted waits for in to be closed, and reports an error if an item
// arrives instead: the stage returned before reading all of its input.
func exhausted[A any](ctx context.Context, in <-chan A) error {
	select {
	case _, ok := <-in:
		if ok {
			return fmt.Errorf("returned before reading all of its input")
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait waits for every stage to return and gives the first error, if any.
// It reports progress as [WithProgress] asked. Add no stages once Wait has
// been called.
func (p *Pipeline) Wait() error {
	p.mu.Lock()
	for _, s := range p.stages {
		if s.hasOut && !s.consumed {
			p.g.Go(func() error { return tag(s.name, fmt.Errorf("output is never consumed")) })
		}
	}
	p.mu.Unlock()

	done := make(chan error, 1)
	go func() { done <- p.g.Wait() }()
	var tick <-chan time.Time
	if p.progress != nil {
		t := time.NewTicker(p.every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case err := <-done:
			if p.progress != nil {
				p.progress(p.Snapshot())
			}
			return err
		case <-tick:
			p.progress(p.Snapshot())
		}
	}
}

// Snapshot is the state of every stage at one moment, for logs, manifests
// and progress bars.
type Snapshot struct {
	Elapsed time.Duration `json:"elapsed_ns"`
	Stages  []StageStats  `json:"stages"`
}

// StageStats are one stage's counters.
//
// Out counts items the stage sent with [Send]. In counts items taken from its
// input channel: what the stage before it sent, less what still waits in the
// channel (zero for a source). Busy is the time, summed over the stage's
// workers, spent in the stage function outside [Send] and [Receive]: time a
// worker waits on a channel it reads directly is counted as busy. Busy is
// brought up to date each time a worker sends, receives through Receive or
// returns. While the pipeline runs, the counters are a little out of step
// with each other; once Wait has returned they are exact.
type StageStats struct {
	Name        string        `json:"name"`
	Workers     int           `json:"workers"`
	In          int64         `json:"in"`
	Out         int64         `json:"out"`
	Quarantined int64         `json:"quarantined"`
	Busy        time.Duration `json:"busy_ns"`
	Done        bool          `json:"done"`
}

// Snapshot returns the counters of every stage, in the order they were added.
// It is safe to call at any time from any goroutine.
func (p *Pipeline) Snapshot() Snapshot {
	p.mu.Lock()
	stages := p.stages
	p.mu.Unlock()
	snap := Snapshot{Elapsed: time.Since(p.start), Stages: make([]StageStats, len(stages))}
	for i, s := range stages {
		st := StageStats{
			Name:        s.name,
			Workers:     s.workers,
			Out:         s.sent.Load(),
			Quarantined: s.quarantined.Load(),
			Busy:        time.Duration(s.busy.Load()),
			Done:        s.done.Load(),
		}
		if s.upstream != nil {
			st.In = max(0, s.upstream.sent.Load()-int64(s.queued()))
		}
		snap.Stages[i] = st
	}
	return snap
}
