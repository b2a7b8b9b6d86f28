package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seqae/seqae/pipeline"
)

// feed returns a closed channel holding items.
func feed[A any](items ...A) <-chan A {
	ch := make(chan A, len(items))
	for _, a := range items {
		ch <- a
	}
	close(ch)
	return ch
}

func TestOrderedKeepsInputOrder(t *testing.T) {
	tests := []struct {
		name           string
		workers, items int
		results        func(i int) int // results of item i
	}{
		{name: "no items", workers: 3, items: 0, results: func(int) int { return 1 }},
		{name: "one worker", workers: 1, items: 50, results: func(i int) int { return i % 4 }},
		{name: "zero workers means one", workers: 0, items: 20, results: func(int) int { return 1 }},
		{name: "more workers than items", workers: 8, items: 3, results: func(int) int { return 5 }},
		{name: "many results per item", workers: 4, items: 60, results: func(i int) int { return (i * 7) % 11 }},
		{name: "one result each", workers: 5, items: 200, results: func(int) int { return 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want [][2]int
			in := make([]int, tc.items)
			for i := range in {
				in[i] = i
				for j := range tc.results(i) {
					want = append(want, [2]int{i, j})
				}
			}
			var inFlight, most atomic.Int64
			var got [][2]int
			err := pipeline.Ordered(context.Background(), tc.workers, feed(in...),
				func(ctx context.Context, _ int, i int, emit func([2]int) error) error {
					n := inFlight.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					rng := rand.New(rand.NewPCG(uint64(i), 1))
					for j := range tc.results(i) {
						time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
						if err := emit([2]int{i, j}); err != nil {
							return err
						}
					}
					return emit([2]int{i, -1}) // the item's end
				},
				func(r [2]int) error {
					if r[1] == -1 {
						inFlight.Add(-1)
						return nil
					}
					got = append(got, r)
					return nil
				})
			if err != nil {
				t.Fatalf("Ordered: got %v, want nil", err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("results: got %v, want %v", got, want)
			}
			if limit := int64(max(tc.workers, 1) + 1); most.Load() > limit {
				t.Errorf("items in flight: got up to %d, want at most workers+1 = %d", most.Load(), limit)
			}
		})
	}
}

func TestOrderedStopsAtTheFirstError(t *testing.T) {
	errBad := errors.New("bad item")
	tests := []struct {
		name    string
		fail    func(i int) error // fn's error on item i
		emitErr func(i int) error // emit's error on item i's result
		panics  string            // "fn" or "emit": which panics on item 5
		want    error
	}{
		{name: "fn fails", fail: func(i int) error {
			if i == 7 {
				return errBad
			}
			return nil
		}, want: errBad},
		{name: "emit fails", emitErr: func(i int) error {
			if i == 3 {
				return errBad
			}
			return nil
		}, want: errBad},
		{name: "fn panics", panics: "fn"},
		{name: "emit panics", panics: "emit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Endless input: Ordered must stop reading it and return.
			in := make(chan int)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				defer close(in)
				for i := 0; ; i++ {
					select {
					case in <- i:
					case <-stop:
						return
					}
				}
			})
			var emitted []int
			err := pipeline.Ordered(context.Background(), 3, in,
				func(ctx context.Context, _ int, i int, emit func(int) error) error {
					if tc.panics == "fn" && i == 5 {
						panic("item 5")
					}
					if tc.fail != nil {
						if err := tc.fail(i); err != nil {
							return err
						}
					}
					return emit(i)
				},
				func(i int) error {
					if tc.panics == "emit" && i == 5 {
						panic("item 5")
					}
					emitted = append(emitted, i)
					if tc.emitErr != nil {
						return tc.emitErr(i)
					}
					return nil
				})
			close(stop)
			wg.Wait()
			if tc.panics != "" {
				if _, ok := errors.AsType[*pipeline.PanicError](err); !ok {
					t.Fatalf("got %v, want a *PanicError", err)
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			for k, i := range emitted {
				if i != k {
					t.Fatalf("emitted %v: want 0, 1, 2, ... with no gap", emitted)
				}
			}
		})
	}
}

func TestOrderedCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan int) // never closed: only the cancellation ends Ordered
	done := make(chan error, 1)
	go func() {
		done <- pipeline.Ordered(ctx, 2, in, func(ctx context.Context, _ int, i int, emit func(int) error) error {
			return emit(i)
		}, func(int) error { return nil })
	}()
	in <- 1
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Ordered did not return after its context was cancelled")
	}
}

func TestAddOrdered(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			const n = 300
			p := pipeline.New(context.Background(), pipeline.WithBuffer(2))
			nums := pipeline.AddSource(p, "source", 1, counting(n))
			perWorker := make([]int, workers) // state of its own per worker: no lock
			squares := pipeline.AddOrdered(p, "square", workers, nums, func(ctx context.Context, w int, v int, emit func(int) error) error {
				perWorker[w]++
				if v%10 == 0 {
					pipeline.Quarantine(ctx)
					return nil
				}
				time.Sleep(time.Duration(v%3) * 100 * time.Microsecond)
				return emit(v * v)
			})
			var got []int
			pipeline.AddSink(p, "sink", 1, squares, pipeline.ForEach(func(_ context.Context, v int) error {
				got = append(got, v)
				return nil
			}))
			if err := p.Wait(); err != nil {
				t.Fatalf("Wait: got %v, want nil", err)
			}
			var want []int
			for v := range n {
				if v%10 != 0 {
					want = append(want, v*v)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("sink got %v, want the squares in input order %v", got, want)
			}
			total := 0
			for _, k := range perWorker {
				total += k
			}
			if total != n {
				t.Errorf("items run: got %d, want %d", total, n)
			}
			st := stats(t, p.Snapshot(), "square")
			st.Busy = 0
			wantStats := pipeline.StageStats{Name: "square", Workers: workers, In: n, Out: int64(len(want)), Quarantined: n / 10, Done: true}
			if st != wantStats {
				t.Errorf("stats: got %+v, want %+v", st, wantStats)
			}
		})
	}
}
