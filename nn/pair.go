package nn

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"sync/atomic"
)

// A Pair runs a training batch's recurrences on two goroutines at once,
// split by hidden units: at each step one goroutine computes the gates,
// the cell and h_t of units 0..hd/2-1 of every row, the other those of
// units hd/2..hd-1, then both wait for each other (h_t feeds the next
// step's product). The backward pass splits the same way, and the weight
// gradients' products split by rows. Each goroutine computes its elements
// with the same operations in the same order as one goroutine would, so a
// paired batch gives the same bits as an unpaired one.
//
// It pays where a batch has few rows and the recurrent weights do not fit
// in one core's L2 cache: at L=H=256 each step of a 2 or 3 sequence batch
// otherwise streams the whole 1 MiB of W_hh from beyond L2 on one core;
// paired, each goroutine reads half of it. PairPays says when.
type Pair struct {
	// run calls f(0) and f(1) on two goroutines at once and returns when
	// both have returned.
	run  func(f func(half int))
	pack []float32 // (packSz) half 1's gemm scratch; half 0 uses the workspace's

	// halves[h] is half h's side of the meeting: each on its own cache
	// line, written by one goroutine and read by the other.
	halves [2]struct {
		arrived  atomic.Int64 // the last step half h has finished
		sleeping atomic.Bool  // half h is parked on wake[h], or about to be
		_        [55]byte
	}
	wake   [2]chan struct{} // (cap 1) wakes half h from its park
	failed [2]any           // what each half panicked with, and where, for runPaired
}

// release, deferred by each half, keeps the half's panic for runPaired and
// lets the other half's waits pass, so that it returns instead of waiting
// for ever, and the section ends.
func (p *Pair) release(h int) {
	if r := recover(); r != nil {
		p.failed[h] = fmt.Sprintf("%v\n\npaired half %d:\n%s", r, h, debug.Stack())
		p.arrive(h, math.MaxInt64)
	}
}

// arrive records that half h has finished step, and wakes the other half
// if it is parked.
func (p *Pair) arrive(h int, step int64) {
	p.halves[h].arrived.Store(step)
	if p.halves[1-h].sleeping.Load() {
		select {
		case p.wake[1-h] <- struct{}{}:
		default: // a wake is already pending
		}
	}
}

// NewPair returns a Pair whose goroutines run calls f(0) and f(1) at once,
// on two goroutines, and returns when both have returned. Calling them one
// after the other never returns: each half waits for the other at every
// step.
func NewPair(run func(f func(half int))) *Pair {
	return &Pair{run: run, pack: make([]float32, packSz), wake: [2]chan struct{}{make(chan struct{}, 1), make(chan struct{}, 1)}}
}

// PairPays reports whether a batch of rows sequences of a model of cfg
// trains faster as one part paired on two goroutines than as two parts,
// one on each: both hidden sizes at least 128 and
// multiples of 64 (each half then a whole number of the products' 32-column
// panels), and at most pairRows rows.
func PairPays(cfg Config, rows int) bool {
	L, H := cfg.LatentDim, cfg.DecoderHidden
	return rows <= pairRows && min(L, H) >= 128 && L%64 == 0 && H%64 == 0
}

// pairRows is the most rows PairPays takes: the products of more rows per
// step read the weights often enough to keep them in cache unpaired.
const pairRows = 4

// SetPair makes the workspace run its next training batches (Forward and
// BackwardPart) paired on p when PairPays says so for the batch, or with
// p nil, on the calling goroutine alone. A workspace whose batches run
// paired must not run at the same time as another one on the same Pair.
func (w *Workspace) SetPair(p *Pair) {
	w.pair = p
	if p != nil && w.pairFns[0] == nil {
		w.pairFns = [...]func(int){
			func(h int) { defer w.pair.release(h); w.encoderRecur(w.halfUnits(w.cfg.LatentDim, h)) },
			func(h int) { defer w.pair.release(h); w.decoderRecur(w.halfUnits(w.cfg.DecoderHidden, h)) },
			func(h int) { defer w.pair.release(h); w.decoderBackRecur(w.halfUnits(w.cfg.DecoderHidden, h)) },
			func(h int) { defer w.pair.release(h); w.encoderBackRecur(w.halfUnits(w.cfg.LatentDim, h)) },
			func(h int) { defer w.pair.release(h); w.packHalf(w.packW, w.packTodo, h) },
		}
	}
}

// The paired sections, indexes of Workspace.pairFns.
const (
	pairEncoder = iota
	pairDecoder
	pairDecoderBack
	pairEncoderBack
	pairPack
)

// units is the span of hidden units one goroutine computes, its gemm
// scratch and its wait between steps (a no-op unpaired).
type units struct {
	u0, u1 int
	pack   []float32
	half   int
	pair   *Pair
	steps  int64
	prev   []float32 // (B, hd) paired: this half's copy of the step's h_{t-1}
	_      [64]byte  // the halves' spans share no cache line: steps changes at every step
}

// halfUnits returns half h's span of hd units on the workspace's pair.
func (w *Workspace) halfUnits(hd, h int) *units {
	u := &w.spans[h]
	*u = units{u0: h * hd / 2, u1: (h + 1) * hd / 2, pack: w.pack, half: h, pair: w.pair, prev: u.prev}
	if h == 1 {
		u.pack = w.pair.pack
	}
	return u
}

// stepInput returns a, a step's h_{t-1} (n, hd), as this half's product
// reads it. Paired, a copy: gemm reads a few rows past a matrix's last full
// tile in place, and here those are the next step's, which the other half
// is writing.
func (u *units) stepInput(a []float32) []float32 {
	if u.pair == nil {
		return a
	}
	u.prev = grow(u.prev, len(a))
	copy(u.prev, a)
	return u.prev
}

// allUnits returns the span of all hd units on the calling goroutine.
func (w *Workspace) allUnits(hd int) *units {
	u := &w.spans[0]
	*u = units{u0: 0, u1: hd, pack: w.pack}
	return u
}

// wait returns once the other half has finished the step this half just
// finished. It spins first: the other half is a few microseconds away, and
// a parked goroutine takes longer than that to wake; a goroutine that
// yielded instead would move between threads (and cores), leaving its half
// of the weights in the cache of the one it left. After pairSpins loads it
// parks until the other half arrives: the other half's thread may not be
// running at all (another process on the cores, or one thread for both),
// and spinning then would cost a time slice of the scheduler a step.
func (u *units) wait() {
	p := u.pair
	if p == nil {
		return
	}
	u.steps++
	p.arrive(u.half, u.steps)
	me, other := &p.halves[u.half], &p.halves[1-u.half]
	for spins := 1; other.arrived.Load() < u.steps; spins++ {
		if spins < pairSpins {
			if spins%pairYield == 0 {
				runtime.Gosched()
			}
			continue
		}
		// Park. The other half stores its step, then looks for a
		// sleeper; this half says it sleeps, then looks at the step
		// again: one of the two sees the other's store, so a wake is
		// never lost (a spare one only costs a look round the loop).
		me.sleeping.Store(true)
		if other.arrived.Load() < u.steps {
			<-p.wake[u.half]
		}
		me.sleeping.Store(false)
		spins = 0
	}
}

// runPaired runs section s on both halves of the pair, and panics with
// what a half panicked with.
func (w *Workspace) runPaired(s int) {
	p := w.pair
	p.halves[0].arrived.Store(0)
	p.halves[1].arrived.Store(0)
	p.failed = [2]any{}
	p.run(w.pairFns[s])
	for _, r := range p.failed {
		if r != nil {
			panic(r)
		}
	}
}

// pairSpins is how many times wait looks for the other half before it
// parks: about a hundred microseconds here, tens of steps' time (with 2^14,
// a few microseconds, waits parked often enough on a quiet machine to cost
// a tenth of the training rate).
const pairSpins = 1 << 18

// pairYield is how often a spinning wait yields, so that a goroutine the
// scheduler has waiting (a GC worker) runs without a park.
const pairYield = 1 << 14

// copyUnits copies units u0..u1-1 of n rows of stride ld from src to dst.
func copyUnits(dst, src []float32, n, ld, u0, u1 int) {
	if u0 == 0 && u1 == ld {
		copy(dst[:n*ld], src[:n*ld])
		return
	}
	for r := range n {
		copy(dst[r*ld+u0:r*ld+u1], src[r*ld+u0:r*ld+u1])
	}
}

// clearUnits zeroes units u0..u1-1 of n rows of stride ld.
func clearUnits(dst []float32, n, ld, u0, u1 int) {
	if u0 == 0 && u1 == ld {
		clear(dst[:n*ld])
		return
	}
	for r := range n {
		clear(dst[r*ld+u0 : r*ld+u1])
	}
}

// from returns s[off:], or nil for a nil s.
func from(s []float32, off int) []float32 {
	if s == nil {
		return nil
	}
	return s[off:]
}

// gateProduct adds a (n, K) · the packed (K, 4hd) panels bp into the gates
// of u's units of g (n, 4hd), or with c0 not nil, sets them to c0 plus the
// product: c0 (n, 4hd) with leading dimension ldc0, or with ldc0 = 0 one
// row (a bias).
func (u *units) gateProduct(g, c0 []float32, ldc0 int, a, bp []float32, n, hd, K int) {
	if u.u0 == 0 && u.u1 == hd {
		if c0 != nil {
			gemmPackedFrom(g, 4*hd, c0, ldc0, a, K, false, bp, n, 4*hd, K, u.pack)
			return
		}
		gemmPacked(g, 4*hd, a, K, false, bp, n, 4*hd, K, u.pack)
		return
	}
	for q := range 4 {
		j := q*hd + u.u0
		b := bp[j/nr*K*nr:]
		if c0 != nil {
			gemmPackedFrom(g[j:], 4*hd, c0[j:], ldc0, a, K, false, b, n, u.u1-u.u0, K, u.pack)
			continue
		}
		gemmPacked(g[j:], 4*hd, a, K, false, b, n, u.u1-u.u0, K, u.pack)
	}
}

// recurGrad adds u's rows 4u0..4u1-1 of the recurrent weights' gradient
// gw (4hd, hd): the sum over steps 1.. of dL/da^T h_{t-1}, from the
// layer's dG (R, 4hd) and its h_{t-1}, hp (R, hd). Step 0 has h_{-1} = 0.
func (w *Workspace) recurGrad(gw, dG, hp []float32, hd int, u *units) {
	r0, r1 := 4*u.u0, 4*u.u1
	o1 := w.off[1]
	if o1 == w.nr {
		return
	}
	gemm(gw[r0*hd:], hd, dG[o1*4*hd+r0:], 4*hd, true, hp[o1*hd:], hd, r1-r0, hd, w.nr-o1, u.pack)
}
