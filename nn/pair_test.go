package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// twoGoroutines runs f(0) and f(1) at once, as NewPair needs.
func twoGoroutines(f func(half int)) {
	var wg sync.WaitGroup
	wg.Go(func() { f(1) })
	f(0)
	wg.Wait()
}

// A paired training batch gives the unpaired one's bits: loss, latents,
// step losses and every gradient, over batches of one to four sequences
// (one of length one among them) through a few Adam steps, for both
// hidden sizes paired and with the head or without.
func TestPairedMatchesUnpaired(t *testing.T) {
	for _, cfg := range []Config{
		{InputDim: 5, LatentDim: 128, DecoderHidden: 128, Head: HeadLinear},
		{InputDim: 3, LatentDim: 192, DecoderHidden: 128, Head: HeadLinear},
		{InputDim: 128, LatentDim: 128, DecoderHidden: 128, Head: HeadNone},
	} {
		rng := rand.New(rand.NewPCG(4, uint64(cfg.LatentDim+cfg.InputDim)))
		m1, _ := NewModel(cfg, 7)
		m2 := m1.Clone()
		opt1, opt2 := NewAdam(len(m1.Params), 1e-2), NewAdam(len(m2.Params), 1e-2)
		plain, paired := NewWorkspace(cfg), NewWorkspace(cfg)
		paired.SetPair(NewPair(twoGoroutines))
		for i, lens := range [][]int{{9}, {5, 12}, {1, 7, 7}, {3, 1, 8, 6}, {6, 6}, {1}} {
			if !PairPays(cfg, len(lens)) {
				t.Fatalf("%+v: PairPays false for %d rows", cfg, len(lens))
			}
			x, T := testBatch(rng, cfg.InputDim, lens, float32(math.NaN()))
			seqs := seqsOf(x, lens, T, cfg.InputDim)
			m1.ZeroGrad()
			m2.ZeroGrad()
			l1, l2 := plain.ForwardSeqs(m1, seqs), paired.ForwardSeqs(m2, seqs)
			if !paired.paired {
				t.Fatalf("%+v batch %d: not paired", cfg, i)
			}
			plain.Backward(m1, m1.Grads)
			paired.Backward(m2, m2.Grads)
			same := func(what string, got, want []float32) {
				t.Helper()
				for j := range want {
					if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
						t.Fatalf("%+v batch %d lens %v: %s[%d]: paired %g, unpaired %g", cfg, i, lens, what, j, got[j], want[j])
					}
				}
			}
			same("loss", []float32{l2}, []float32{l1})
			same("latents", paired.Latents(), plain.Latents())
			for b := range lens {
				same("step losses", paired.StepLosses(b), plain.StepLosses(b))
			}
			same("gradient", m2.Grads, m1.Grads)
			opt1.Step(m1.Params, m1.Grads)
			opt2.Step(m2.Params, m2.Grads)
		}
	}
}

// PairPays takes small batches of hidden sizes that split into whole
// panels, and nothing else; a workspace pairs only when it says so.
func TestPairPays(t *testing.T) {
	for _, c := range []struct {
		L, H, rows int
		want       bool
	}{
		{256, 256, 3, true}, {256, 256, pairRows, true}, {256, 256, pairRows + 1, false},
		{128, 256, 1, true}, {64, 256, 1, false}, {256, 160, 1, false}, {96, 96, 1, false},
	} {
		cfg := Config{InputDim: 4, LatentDim: c.L, DecoderHidden: c.H, Head: HeadLinear}
		if got := PairPays(cfg, c.rows); got != c.want {
			t.Errorf("PairPays(L=%d, H=%d, %d rows) = %v, want %v", c.L, c.H, c.rows, got, c.want)
		}
	}
	cfg := Config{InputDim: 4, LatentDim: 128, DecoderHidden: 128, Head: HeadLinear}
	m, _ := NewModel(cfg, 1)
	ws := NewWorkspace(cfg)
	ws.SetPair(NewPair(twoGoroutines))
	rng := rand.New(rand.NewPCG(1, 2))
	lens := slices.Repeat([]int{3}, pairRows+1)
	x, T := testBatch(rng, cfg.InputDim, lens, 0)
	ws.Forward(m, x, lens, T)
	if ws.paired {
		t.Errorf("a batch of %d rows ran paired", len(lens))
	}
	ws.Encode(m, x, lens[:1], T)
	if ws.paired {
		t.Error("Encode ran paired")
	}
}

// A paired training step allocates nothing either.
func TestPairedStepAllocatesNothing(t *testing.T) {
	cfg := Config{InputDim: 4, LatentDim: 128, DecoderHidden: 128, Head: HeadLinear}
	m, _ := NewModel(cfg, 1)
	rng := rand.New(rand.NewPCG(1, 3))
	lens := []int{4, 9}
	x, T := testBatch(rng, cfg.InputDim, lens, 0)
	// Half 1 runs on a helper that takes its work from a channel, started
	// outside the measured calls.
	work, done := make(chan func(int)), make(chan struct{})
	go func() {
		for f := range work {
			f(1)
			done <- struct{}{}
		}
	}()
	defer close(work)
	ws := NewWorkspace(cfg)
	ws.SetPair(NewPair(func(f func(int)) {
		work <- f
		f(0)
		<-done
	}))
	step := func() {
		m.ZeroGrad()
		ws.Forward(m, x, lens, T)
		ws.Backward(m, m.Grads)
	}
	step()
	if !ws.paired {
		t.Fatal("not paired")
	}
	if n := testing.AllocsPerRun(20, step); n != 0 {
		t.Errorf("paired training step: %v allocations per run, want 0", n)
	}
}

// BenchmarkPairedStep prices a training step (Forward and Backward) of 1
// to 6 sequences of 100 steps at L=H=256 on one goroutine, and paired on
// two: the case nn.PairPays takes (up to pairRows sequences; past it,
// paired=true runs unpaired too). Rerun with wideRows set to 3 in gemm.go
// to price the 4 and 5 row tails on the 6-row kernel.
func BenchmarkPairedStep(b *testing.B) {
	cfg := Config{InputDim: 8, LatentDim: 256, DecoderHidden: 256, Head: HeadLinear}
	m, _ := NewModel(cfg, 1)
	for _, rows := range []int{1, 2, 3, 4, 5, 6} {
		lens := slices.Repeat([]int{100}, rows)
		x, T := testBatch(rand.New(rand.NewPCG(1, 1)), cfg.InputDim, lens, 0)
		seqs := seqsOf(x, lens, T, cfg.InputDim)
		for _, paired := range []bool{false, true} {
			b.Run(fmt.Sprintf("rows=%d/paired=%v", rows, paired), func(b *testing.B) {
				ws := NewWorkspace(cfg)
				if paired {
					ws.SetPair(pinnedPair(b))
				}
				for b.Loop() {
					ws.ForwardSeqs(m, seqs)
					ws.Backward(m, m.Grads)
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(4*T), "µs/step")
			})
		}
	}
}

// pinnedPair returns a Pair whose half 1 always runs on the same helper
// goroutine, which waits for work spinning, as stages' crew runs it;
// cleanup ends the helper.
func pinnedPair(tb testing.TB) *Pair {
	var posted, finished atomic.Int64
	var job func(int)
	var quit atomic.Bool
	go func() {
		for seen := int64(0); !quit.Load(); {
			if g := posted.Load(); g != seen {
				seen = g
				job(1)
				finished.Store(g)
				continue
			}
			runtime.Gosched()
		}
	}()
	tb.Cleanup(func() { quit.Store(true) })
	return NewPair(func(f func(int)) {
		job = f
		g := posted.Add(1)
		f(0)
		for finished.Load() != g {
			runtime.Gosched()
		}
	})
}

// A half that panics ends its section: the other half's waits pass, and
// the panic, with the half's stack, reaches the caller of the section,
// whichever half it was.
func TestPairedPanicEndsSection(t *testing.T) {
	cfg := Config{InputDim: 4, LatentDim: 128, DecoderHidden: 128, Head: HeadLinear}
	for bad := range 2 {
		ws := NewWorkspace(cfg)
		ws.SetPair(NewPair(twoGoroutines))
		ws.pairFns[pairEncoder] = func(h int) {
			defer ws.pair.release(h)
			u := ws.halfUnits(cfg.LatentDim, h)
			if h == bad {
				panic("boom")
			}
			for range 1000 {
				u.wait()
			}
		}
		done := make(chan any)
		go func() {
			defer func() { done <- recover() }()
			ws.runPaired(pairEncoder)
		}()
		select {
		case r := <-done:
			msg, _ := r.(string)
			if !strings.Contains(msg, "boom") || !strings.Contains(msg, fmt.Sprintf("paired half %d", bad)) {
				t.Errorf("half %d panicked: the section panicked with %v, want boom and the half", bad, r)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("half %d panicked: the section has not ended after 10 s", bad)
		}
	}
}
