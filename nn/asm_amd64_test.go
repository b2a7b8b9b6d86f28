//go:build !purego

package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The AVX-512 forward cell gives the AVX2 cell's bits, NaN included, so a
// model's results do not depend on which of the two a CPU has.
func TestCellForwardAVX512MatchesAVX2(t *testing.T) {
	if cellForward16 == nil {
		t.Skip("no AVX-512 on this CPU")
	}
	const n, hd = 3, 32
	rng := rand.New(rand.NewPCG(9, 9))
	g := randSlice(rng, n*4*hd)
	for i := range g {
		g[i] *= 8
	}
	g[5], g[70], g[200] = float32(math.NaN()), float32(math.Inf(1)), 0.625
	cPrev := randSlice(rng, n*hd)
	out := func(f func(h, c, tc, gates, cPrev *float32, n, hd, units int)) [][]float32 {
		gg := slices.Clone(g)
		h, c, tc := make([]float32, n*hd), make([]float32, n*hd), make([]float32, n*hd)
		f(&h[0], &c[0], &tc[0], &gg[0], &cPrev[0], n, hd, hd)
		return [][]float32{gg, h, c, tc}
	}
	a, b := out(cellForwardAVX2), out(cellForward16)
	for k := range a {
		for i := range a[k] {
			if math.Float32bits(a[k][i]) != math.Float32bits(b[k][i]) {
				t.Fatalf("output %d [%d]: AVX2 %g, AVX-512 %g", k, i, a[k][i], b[k][i])
			}
		}
	}
}

// The vector column sum gives the Go loop's bits: each column added row by
// row, in order, on values whose sums round differently in another order.
func TestColSumVecMatchesGo(t *testing.T) {
	if colSumVec == nil {
		t.Skip("no vector column sum on this CPU")
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range []struct{ rows, cols int }{{1, 8}, {3, 24}, {7, 40}, {64, 256}, {5, 264}, {130, 1024}} {
		a := randSlice(rng, c.rows*c.cols)
		for i := range a {
			a[i] *= float32(math.Pow(10, float64(rng.IntN(9)-4)))
		}
		a[len(a)/2] = float32(math.NaN())
		want, got := randSlice(rng, c.cols), make([]float32, c.cols)
		copy(got, want)
		colSumGo(want, a, c.rows, c.cols)
		colSumVec(&got[0], &a[0], c.rows, c.cols)
		for j := range want {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("%d×%d, column %d: vector %g, Go %g", c.rows, c.cols, j, got[j], want[j])
			}
		}
	}
}

// The AVX-512 backward cell gives the AVX2 cell's bits, with and without
// each optional input (dhRec, cPrev, dgSum).
func TestCellBackwardAVX512MatchesAVX2(t *testing.T) {
	if cellBackward16 == nil {
		t.Skip("no AVX-512 on this CPU")
	}
	const n, hd = 3, 48
	rng := rand.New(rand.NewPCG(10, 10))
	g, tc, dh := randSlice(rng, n*4*hd), randSlice(rng, n*hd), randSlice(rng, n*hd)
	g[7], dh[30] = float32(math.NaN()), float32(math.Inf(-1))
	dc0, dhRec0, cPrev0, dgSum0 := randSlice(rng, n*hd), randSlice(rng, n*hd), randSlice(rng, n*hd), randSlice(rng, n*4*hd)
	for _, opt := range []int{0, 1, 2, 4, 7} {
		ptr := func(s []float32, bit int) *float32 {
			if opt&bit == 0 {
				return nil
			}
			return &s[0]
		}
		out := func(f func(dg, dc, dh, dhRec, gates, cPrev, tc, dgSum *float32, n, hd, units int)) [][]float32 {
			dg, dc, dgSum := make([]float32, n*4*hd), slices.Clone(dc0), slices.Clone(dgSum0)
			f(&dg[0], &dc[0], &dh[0], ptr(dhRec0, 1), &g[0], ptr(cPrev0, 2), &tc[0], ptr(dgSum, 4), n, hd, hd)
			return [][]float32{dg, dc, dgSum}
		}
		a, b := out(cellBackwardAVX2), out(cellBackward16)
		for k := range a {
			for i := range a[k] {
				if math.Float32bits(a[k][i]) != math.Float32bits(b[k][i]) {
					t.Fatalf("inputs %03b, output %d [%d]: AVX2 %g, AVX-512 %g", opt, k, i, a[k][i], b[k][i])
				}
			}
		}
	}
}
