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
	out := func(f func(h, c, tc, gates, cPrev *float32, n, hd int)) [][]float32 {
		gg := slices.Clone(g)
		h, c, tc := make([]float32, n*hd), make([]float32, n*hd), make([]float32, n*hd)
		f(&h[0], &c[0], &tc[0], &gg[0], &cPrev[0], n, hd)
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
