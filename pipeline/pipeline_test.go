package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seqae/seqae/pipeline"
	"github.com/seqae/seqae/schemas"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// counting returns a source whose workers share the items 0..n-1 between
// them, each item sent once.
func counting(n int) pipeline.SourceFunc[int] {
	var next atomic.Int64
	return pipeline.Generate(func(ctx context.Context, emit func(int) error) error {
		for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
			if err := emit(i); err != nil {
				return err
			}
		}
		return nil
	})
}

// endless returns a source that sends 0, 1, 2, ... until it is cancelled.
func endless() pipeline.SourceFunc[int] {
	return pipeline.Generate(func(ctx context.Context, emit func(int) error) error {
		for i := 0; ; i++ {
			if err := emit(i); err != nil {
				return err
			}
		}
	})
}

// relay is a raw stage that ranges over its input directly and sends each
// item on.
func relay[A any]() pipeline.StageFunc[A, A] {
	return func(ctx context.Context, in <-chan A, out chan<- A) error {
		for v := range in {
			if err := pipeline.Send(ctx, out, v); err != nil {
				return err
			}
		}
		return nil
	}
}

func stats(t *testing.T, snap pipeline.Snapshot, name string) pipeline.StageStats {
	t.Helper()
	for _, s := range snap.Stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stage %q in snapshot %+v", name, snap)
	return pipeline.StageStats{}
}

func TestItemsFlowExactlyOnce(t *testing.T) {
	tests := []struct {
		name                                  string
		buffer, n                             int
		sources, validators, doublers, relays int
		sinks                                 int
	}{
		{name: "one worker each, unbuffered", buffer: 0, n: 100, sources: 1, validators: 1, doublers: 1, relays: 1, sinks: 1},
		{name: "one worker each", buffer: 4, n: 1000, sources: 1, validators: 1, doublers: 1, relays: 1, sinks: 1},
		{name: "many workers", buffer: 2, n: 1000, sources: 3, validators: 4, doublers: 2, relays: 5, sinks: 3},
		{name: "no items", buffer: 4, n: 0, sources: 2, validators: 2, doublers: 2, relays: 2, sinks: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pipeline.New(context.Background(), pipeline.WithBuffer(tc.buffer))
			items := pipeline.AddSource(p, "source", tc.sources, counting(tc.n))
			// validate sets multiples of 5 aside.
			valid := pipeline.AddStage(p, "validate", tc.validators, items, pipeline.FlatMap(
				func(ctx context.Context, v int, emit func(int) error) error {
					if v%5 == 0 {
						pipeline.Quarantine(ctx)
						return nil
					}
					return emit(v)
				}, nil))
			// double sends each item twice, and each worker a -1 at the end.
			doubled := pipeline.AddStage(p, "double", tc.doublers, valid, pipeline.FlatMap(
				func(ctx context.Context, v int, emit func(int) error) error {
					if err := emit(v); err != nil {
						return err
					}
					return emit(v)
				},
				func(ctx context.Context, emit func(int) error) error { return emit(-1) }))
			relayed := pipeline.AddStage(p, "relay", tc.relays, doubled, relay[int]())
			var mu sync.Mutex
			seen := map[int]int{}
			pipeline.AddSink(p, "sink", tc.sinks, relayed, pipeline.ForEach(func(ctx context.Context, v int) error {
				mu.Lock()
				defer mu.Unlock()
				seen[v]++
				return nil
			}))
			if err := p.Wait(); err != nil {
				t.Fatalf("Wait: got %v, want nil", err)
			}

			quarantined := (tc.n + 4) / 5
			valids := tc.n - quarantined
			for v := range tc.n {
				want := 2
				if v%5 == 0 {
					want = 0
				}
				if seen[v] != want {
					t.Errorf("item %d arrived %d times, want %d", v, seen[v], want)
				}
			}
			if seen[-1] != tc.doublers {
				t.Errorf("end markers: got %d, want %d (one per double worker)", seen[-1], tc.doublers)
			}
			if len(seen) != valids+1 {
				t.Errorf("distinct items at the sink: got %d, want %d", len(seen), valids+1)
			}

			want := []pipeline.StageStats{
				{Name: "source", Workers: tc.sources, In: 0, Out: int64(tc.n), Done: true},
				{Name: "validate", Workers: tc.validators, In: int64(tc.n), Out: int64(valids), Quarantined: int64(quarantined), Done: true},
				{Name: "double", Workers: tc.doublers, In: int64(valids), Out: int64(2*valids + tc.doublers), Done: true},
				{Name: "relay", Workers: tc.relays, In: int64(2*valids + tc.doublers), Out: int64(2*valids + tc.doublers), Done: true},
				{Name: "sink", Workers: tc.sinks, In: int64(2*valids + tc.doublers), Out: 0, Done: true},
			}
			snap := p.Snapshot()
			if len(snap.Stages) != len(want) {
				t.Fatalf("stages in snapshot: got %d, want %d", len(snap.Stages), len(want))
			}
			for i, got := range snap.Stages {
				got.Busy = 0 // timing; checked in TestBusyTimeExcludesWaiting
				if got != want[i] {
					t.Errorf("stage %d stats: got %+v, want %+v", i, got, want[i])
				}
			}
		})
	}
}

func TestBusyTimeExcludesWaiting(t *testing.T) {
	const items, produce, process = 3, 30 * time.Millisecond, 10 * time.Millisecond
	// Each stage has one worker; spent adds up the time it really slept,
	// which can overshoot on a loaded machine.
	var spent [3]time.Duration
	sleep := func(stage int, d time.Duration) {
		start := time.Now()
		time.Sleep(d)
		spent[stage] += time.Since(start)
	}
	p := pipeline.New(context.Background())
	slow := pipeline.AddSource(p, "slow source", 1, pipeline.Generate(func(ctx context.Context, emit func(int) error) error {
		for i := range items {
			sleep(0, produce)
			if err := emit(i); err != nil {
				return err
			}
		}
		return nil
	}))
	work := pipeline.AddStage(p, "work", 1, slow, pipeline.Map(func(ctx context.Context, v int) (int, error) {
		sleep(1, process)
		return v, nil
	}))
	pipeline.AddSink(p, "sink", 1, work, pipeline.ForEach(func(context.Context, int) error {
		sleep(2, process)
		return nil
	}))
	if err := p.Wait(); err != nil {
		t.Fatalf("Wait: got %v, want nil", err)
	}
	snap := p.Snapshot()
	if got, min := stats(t, snap, "slow source").Busy, spent[0]; got < min {
		t.Errorf("source busy: got %v, want at least %v", got, min)
	}
	// work and sink each wait for input about as long as the source
	// sleeps, several times longer than they work; none of it may count.
	for i, name := range []string{"work", "sink"} {
		got := stats(t, snap, name).Busy
		if lo, hi := spent[i+1], spent[i+1]+spent[0]/2; got < lo || got >= hi {
			t.Errorf("%s busy: got %v, want in [%v, %v)", name, got, lo, hi)
		}
	}
}

func TestFirstErrorCancelsAll(t *testing.T) {
	errBad := errors.New("bad input")
	fail := func(ctx context.Context, v int) error {
		if v == 7 {
			return pipeline.Errorf(schemas.At("a.parquet").WithRowGroup(2).WithRow(7).WithID("s-7"), "bad length: %w", errBad)
		}
		return nil
	}
	failPlain := func(ctx context.Context, v int) error {
		if v == 7 {
			return errBad
		}
		return nil
	}
	passAll := func(context.Context, int) error { return nil }
	tests := []struct {
		name           string
		source, middle func(context.Context, int) error
		sink           func(context.Context, int) error
		wantStage      string
		wantMsg        string
		wantLoc        schemas.Loc
	}{
		{
			name: "located error in the middle", source: passAll, middle: fail, sink: passAll,
			wantStage: "middle", wantLoc: schemas.Loc{File: "a.parquet", RowGroup: 2, Row: 7, ID: "s-7"},
			wantMsg: `stage "middle": file a.parquet, row group 2, row 7, id "s-7": bad length: bad input`,
		},
		{
			name: "plain error in the source", source: failPlain, middle: passAll, sink: passAll,
			wantStage: "source", wantLoc: schemas.At(""),
			wantMsg: `stage "source": bad input`,
		},
		{
			name: "plain error in the sink", source: passAll, middle: passAll, sink: failPlain,
			wantStage: "sink", wantLoc: schemas.At(""),
			wantMsg: `stage "sink": bad input`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sourceErr error
			p := pipeline.New(context.Background(), pipeline.WithBuffer(1))
			items := pipeline.AddSource(p, "source", 1, pipeline.Generate(func(ctx context.Context, emit func(int) error) error {
				for i := 0; ; i++ {
					if err := tc.source(ctx, i); err != nil {
						return err
					}
					if err := emit(i); err != nil {
						sourceErr = err
						return err
					}
				}
			}))
			mid := pipeline.AddStage(p, "middle", 3, items, pipeline.Map(func(ctx context.Context, v int) (int, error) {
				return v, tc.middle(ctx, v)
			}))
			pipeline.AddSink(p, "sink", 2, mid, pipeline.ForEach(tc.sink))
			err := p.Wait()
			if err == nil {
				t.Fatal("Wait: got nil, want an error")
			}
			if got := err.Error(); got != tc.wantMsg {
				t.Errorf("message: got %q, want %q", got, tc.wantMsg)
			}
			if !errors.Is(err, errBad) {
				t.Errorf("errors.Is(%v, errBad): got false, want true", err)
			}
			e, ok := errors.AsType[*pipeline.Error](err)
			if !ok {
				t.Fatalf("errors.As(%T, *pipeline.Error): got false, want true", err)
			}
			if e.Stage != tc.wantStage || e.Loc != tc.wantLoc {
				t.Errorf("error context: got stage %q at %+v, want %q at %+v", e.Stage, e.Loc, tc.wantStage, tc.wantLoc)
			}
			if tc.wantStage != "source" && !errors.Is(sourceErr, context.Canceled) {
				t.Errorf("the endless source stopped with %v, want context.Canceled", sourceErr)
			}
			for _, s := range p.Snapshot().Stages {
				if !s.Done {
					t.Errorf("stage %q not done after Wait", s.Name)
				}
			}
		})
	}
}

func TestPanicBecomesError(t *testing.T) {
	errInside := errors.New("inside")
	tests := []struct {
		name    string
		value   any
		wantMsg string
		wantIs  error
	}{
		{name: "string", value: "kaboom", wantMsg: `stage "explode": panic: kaboom`},
		{name: "error", value: errInside, wantMsg: `stage "explode": panic: inside`, wantIs: errInside},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pipeline.New(context.Background())
			items := pipeline.AddSource(p, "source", 1, endless())
			boom := pipeline.AddStage(p, "explode", 2, items, pipeline.Map(func(ctx context.Context, v int) (int, error) {
				if v == 3 {
					panic(tc.value)
				}
				return v, nil
			}))
			pipeline.AddSink(p, "sink", 1, boom, pipeline.ForEach(func(context.Context, int) error { return nil }))
			err := p.Wait()
			if err == nil {
				t.Fatal("Wait: got nil, want an error")
			}
			if got := err.Error(); !strings.HasPrefix(got, tc.wantMsg+"\n") {
				t.Errorf("message: got %q, want it to start with %q and a newline", got, tc.wantMsg)
			}
			pe, ok := errors.AsType[*pipeline.PanicError](err)
			if !ok {
				t.Fatalf("errors.As(%v, *PanicError): got false, want true", err)
			}
			if pe.Value != tc.value {
				t.Errorf("panic value: got %v, want %v", pe.Value, tc.value)
			}
			if !strings.Contains(pe.Stack, "TestPanicBecomesError") {
				t.Errorf("stack excerpt: got %q, want it to name the panicking test function", pe.Stack)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("errors.Is(%v, %v): got false, want true", err, tc.wantIs)
			}
		})
	}
}

func TestDeadlineStopsEndlessSourcePromptly(t *testing.T) {
	defer goleak.VerifyNone(t)
	const deadline = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	p := pipeline.New(ctx, pipeline.WithBuffer(2))
	items := pipeline.AddSource(p, "source", 2, endless())
	mid := pipeline.AddStage(p, "middle", 3, items, relay[int]())
	pipeline.AddSink(p, "sink", 1, mid, pipeline.ForEach(func(context.Context, int) error { return nil }))
	// stall reads nothing until cancelled, so its source blocks in Send.
	stalled := pipeline.AddSource(p, "second source", 1, endless())
	pipeline.AddSink(p, "stall", 1, stalled, func(ctx context.Context, in <-chan int) error {
		<-ctx.Done()
		return nil
	})

	start := time.Now()
	err := p.Wait()
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait: got %v, want context.DeadlineExceeded", err)
	}
	if elapsed > deadline+500*time.Millisecond {
		t.Errorf("Wait returned after %v, want within 500ms of the %v deadline", elapsed, deadline)
	}
	if got := stats(t, p.Snapshot(), "source").Out; got == 0 {
		t.Errorf("source sent %d items before the deadline, want some", got)
	}
}

func TestCancelReportedWhenStagesReturnNil(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := pipeline.New(ctx)
	// quiet stops without an error once emit fails.
	items := pipeline.AddSource(p, "quiet", 1, pipeline.Generate(func(ctx context.Context, emit func(int) error) error {
		for i := 0; emit(i) == nil; i++ {
		}
		return nil
	}))
	seen := 0
	pipeline.AddSink(p, "sink", 1, items, pipeline.ForEach(func(context.Context, int) error {
		if seen++; seen == 10 {
			cancel()
		}
		return nil
	}))
	err := p.Wait()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Wait after cancel: got %v, want context.Canceled", err)
	}
}

func TestBackpressureBoundsRunAhead(t *testing.T) {
	tests := []struct{ buffer, workers int }{{0, 1}, {1, 1}, {4, 1}, {4, 3}}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("buffer %d, %d workers", tc.buffer, tc.workers), func(t *testing.T) {
			const n = 50
			p := pipeline.New(context.Background(), pipeline.WithBuffer(tc.buffer))
			items := pipeline.AddSource(p, "source", 1, counting(n))
			mid := pipeline.AddStage(p, "middle", tc.workers, items, pipeline.Map(func(ctx context.Context, v int) (int, error) {
				return v, nil
			}))
			gate := make(chan struct{})
			got := 0
			pipeline.AddSink(p, "sink", 1, mid, func(ctx context.Context, in <-chan int) error {
				<-gate
				for range in {
					got++
				}
				return nil
			})

			// With the sink not reading, the source can get ahead by one
			// buffer before the middle stage, one item in each middle
			// worker's hands, and one buffer after it.
			bound := int64(2*tc.buffer + tc.workers)
			wait := time.Now()
			for stats(t, p.Snapshot(), "source").Out < bound && time.Since(wait) < 5*time.Second {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(30 * time.Millisecond)
			snap := p.Snapshot()
			close(gate)
			if got := stats(t, snap, "source").Out; got != bound {
				t.Errorf("source ran ahead of a stalled sink by %d items, want %d", got, bound)
			}
			if got, want := stats(t, snap, "middle").In, int64(tc.buffer+tc.workers); got != want {
				t.Errorf("middle In while stalled: got %d, want %d", got, want)
			}
			if err := p.Wait(); err != nil {
				t.Fatalf("Wait: got %v, want nil", err)
			}
			if got != n {
				t.Errorf("sink received %d items, want %d", got, n)
			}
		})
	}
}

func TestWiringMistakes(t *testing.T) {
	t.Run("output never consumed", func(t *testing.T) {
		p := pipeline.New(context.Background())
		pipeline.AddSource(p, "orphan", 1, endless())
		err := p.Wait()
		if got, want := err, `stage "orphan": output is never consumed`; got == nil || got.Error() != want {
			t.Errorf("Wait: got %v, want %s", got, want)
		}
	})
	t.Run("stage returns before its input ends", func(t *testing.T) {
		p := pipeline.New(context.Background())
		items := pipeline.AddSource(p, "source", 1, counting(10))
		pipeline.AddSink(p, "quitter", 1, items, func(ctx context.Context, in <-chan int) error {
			<-in
			return nil
		})
		err := p.Wait()
		if got, want := err, `stage "quitter": returned before reading all of its input`; got == nil || got.Error() != want {
			t.Errorf("Wait: got %v, want %s", got, want)
		}
	})
	panics := []struct {
		name, want string
		wire       func(p *pipeline.Pipeline)
	}{
		{
			name: "zero workers", want: `pipeline: stage "none": 0 workers, want at least 1`,
			wire: func(p *pipeline.Pipeline) { pipeline.AddSource(p, "none", 0, endless()) },
		},
		{
			name: "stream consumed twice", want: `pipeline: stage "second": output of "source" is already consumed`,
			wire: func(p *pipeline.Pipeline) {
				items := pipeline.AddSource(p, "source", 1, counting(3))
				pipeline.AddSink(p, "first", 1, items, pipeline.ForEach(func(context.Context, int) error { return nil }))
				pipeline.AddSink(p, "second", 1, items, pipeline.ForEach(func(context.Context, int) error { return nil }))
			},
		},
	}
	for _, tc := range panics {
		t.Run(tc.name, func(t *testing.T) {
			p := pipeline.New(context.Background())
			func() {
				defer func() {
					if got := recover(); got != tc.want {
						t.Errorf("panic: got %v, want %s", got, tc.want)
					}
				}()
				tc.wire(p)
			}()
			if err := p.Wait(); err != nil {
				t.Errorf("Wait after the panic: got %v, want nil", err)
			}
		})
	}
}

func TestProgressNeverBlocksThePipeline(t *testing.T) {
	const n, pause = 200, 100 * time.Millisecond
	var calls []pipeline.Snapshot
	p := pipeline.New(context.Background(), pipeline.WithProgress(time.Millisecond, func(s pipeline.Snapshot) {
		calls = append(calls, s)
		time.Sleep(pause)
	}))
	items := pipeline.AddSource(p, "source", 1, counting(n))
	var sinkDone time.Duration
	start := time.Now()
	pipeline.AddSink(p, "sink", 1, items, func(ctx context.Context, in <-chan int) error {
		for range pipeline.Receive(ctx, in) {
		}
		sinkDone = time.Since(start)
		return nil
	})
	if err := p.Wait(); err != nil {
		t.Fatalf("Wait: got %v, want nil", err)
	}
	elapsed := time.Since(start)
	if sinkDone >= pause {
		t.Errorf("the pipeline took %v beside a progress hook that sleeps %v, want less", sinkDone, pause)
	}
	if maxCalls := int(elapsed/pause) + 2; len(calls) < 1 || len(calls) > maxCalls {
		t.Errorf("progress calls in %v: got %d, want 1 to %d", elapsed, len(calls), maxCalls)
	}
	last := calls[len(calls)-1]
	if got := stats(t, last, "sink"); got.In != n || !got.Done {
		t.Errorf("last progress call: got sink %+v, want In %d and Done", got, n)
	}
}

func TestSnapshotJSON(t *testing.T) {
	snap := pipeline.Snapshot{Elapsed: 3, Stages: []pipeline.StageStats{
		{Name: "s", Workers: 2, In: 5, Out: 4, Quarantined: 1, Busy: 7, Done: true},
	}}
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"elapsed_ns":3,"stages":[{"name":"s","workers":2,"in":5,"out":4,"quarantined":1,"busy_ns":7,"done":true}]}`
	if got := string(b); got != want {
		t.Errorf("JSON: got %s, want %s", got, want)
	}
}
