package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// kernelSet is a set of microkernels to run gemm with: the 32-, 16- and
// 8-wide tiles, and kern64From for the few rows past the full tiles (nil
// for none).
type kernelSet struct {
	k32, k16, k8 microkernel
	k64          func(k int, a *float32, sa, sp int, b *float32, ldb int, b2 *float32, c *float32, ldc int, c0 *float32, ldc0 int, rows int)
}

// kernels lists the microkernel sets to test: the pure-Go ones, the ones
// this CPU dispatches to, those without the 64-wide tile of few rows, and
// those without the 32-wide tile. Call it before any withKernels: it reads
// the dispatched kernels.
func kernels() map[string]kernelSet {
	return map[string]kernelSet{
		"go":       {nil, kern16Go, kern8Go, nil},
		"dispatch": {kern32, kern16, kern8, kern64From},
		"no64":     {kern32, kern16, kern8, nil},
		"no32":     {nil, kern16, kern8, nil},
	}
}

func withKernels(t testing.TB, k kernelSet) {
	old32, old16, old8, old64 := kern32, kern16, kern8, kern64From
	kern32, kern16, kern8, kern64From = k.k32, k.k16, k.k8, k.k64
	t.Cleanup(func() { kern32, kern16, kern8, kern64From = old32, old16, old8, old64 })
}

func TestGemmMatchesReference(t *testing.T) {
	shapes := [][3]int{
		{1, 1, 1}, {6, 16, 1}, {5, 7, 3}, {7, 17, 9}, {13, 24, 64}, {21, 256, 64}, {2, 64, 16}, {8, 128, 40},
		{96, 8, 8}, {97, 33, 257}, {256, 64, 600}, {3, 5, 0}, {0, 4, 4}, {200, 9, 520},
		// Past a block of A (mc rows) and of B (nc columns), and rows long
		// enough that A is copied even untransposed.
		{131, 600, 40}, {14, 40, 1030},
		// One block of depth up to kcMax, two past it.
		{13, 40, kcMax}, {13, 40, kcMax + 1},
	}
	for name, ks := range kernels() {
		t.Run(name, func(t *testing.T) {
			withKernels(t, ks)
			pack := make([]float32, packSz)
			for _, sh := range shapes {
				for _, v := range []struct {
					transA, panels bool
				}{{false, false}, {true, false}, {false, true}, {true, true}} {
					transA := v.transA
					m, n, k := sh[0], sh[1], sh[2]
					rng := rand.New(rand.NewPCG(uint64(m*1000+n), uint64(k)))
					lda, ldb, ldc := k+3, n+2, n+5
					arows := m
					if transA {
						lda, arows = m+3, k
					}
					a := randSlice(rng, arows*lda)
					if sh[0]%2 == 1 {
						// Slack past the end, holding NaN: the tail rows are
						// then read in place, and the NaN must not leak.
						a = append(a, slices.Repeat([]float32{float32(math.NaN())}, mr*lda)...)[:arows*lda]
					}
					b := randSlice(rng, k*ldb)
					// C's rows are followed by mr rows of guard values that
					// no kernel may write (a tile of fewer than mr rows).
					c := append(randSlice(rng, m*ldc), slices.Repeat([]float32{-7}, mr*ldc)...)
					guard := c[m*ldc:]
					c = c[:m*ldc]
					want := append([]float32(nil), c...)
					if v.panels {
						gemmPacked(c, ldc, a, lda, transA, packB(nil, b, ldb, false, k, n), m, n, k, pack)
					} else {
						gemm(c, ldc, a, lda, transA, b, ldb, m, n, k, pack)
					}
					gemmRef(want, ldc, a, lda, transA, b, ldb, m, n, k)
					// Rounding error bound: k+1 roundings of at most one
					// float32 ulp of the sum of the terms' magnitudes.
					mag := make([]float64, len(c))
					for i := range m {
						for j := range n {
							s := math.Abs(float64(want[i*ldc+j]))
							for p := range k {
								var av float32
								if transA {
									av = a[p*lda+i]
								} else {
									av = a[i*lda+p]
								}
								s += math.Abs(float64(av * b[p*ldb+j]))
							}
							mag[i*ldc+j] = s
						}
					}
					for i := range c {
						tol := float64(k+1) * 6e-8 * mag[i]
						if d := math.Abs(float64(c[i] - want[i])); d > tol {
							t.Fatalf("m=%d n=%d k=%d %+v: C[%d] = %g, want %g", m, n, k, v, i, c[i], want[i])
						}
						if (i%ldc >= n) && c[i] != want[i] {
							t.Fatalf("m=%d n=%d k=%d %+v: wrote outside C at %d", m, n, k, v, i)
						}
					}
					if i := slices.IndexFunc(guard, func(g float32) bool { return g != -7 }); i >= 0 {
						t.Fatalf("m=%d n=%d k=%d %+v: wrote %d floats past C's last row", m, n, k, v, i+1)
					}
				}
			}
		})
	}
}

// The assembly kernels of every width fuse each multiply-add in the same
// order, so their results are bit-identical: a model gives the same bits on
// CPUs with and without AVX-512.
func TestGemmKernelWidthsAgreeExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, k = 160, 300
	pack := make([]float32, packSz)
	// 1 to 5 rows past the full tiles (and none) go through kern64From
	// where it is dispatched; 160 columns are two 64-wide tiles and a
	// 32-wide one.
	sets := kernels()
	if sets["dispatch"].k64 == nil {
		t.Log("this CPU has no kern64From: the dispatched kernels are the no64 ones")
	}
	for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13} {
		a, b := randSlice(rng, m*k), randSlice(rng, k*n)
		bp := packB(nil, b, n, false, k, n)
		for _, panels := range []bool{false, true} {
			got := map[string][]float32{}
			for _, name := range []string{"dispatch", "no64", "no32"} {
				withKernels(t, sets[name])
				c := randSlice(rand.New(rand.NewPCG(5, 6)), m*n)
				if panels {
					gemmPacked(c, n, a, k, false, bp, m, n, k, pack)
				} else {
					gemm(c, n, a, k, false, b, n, m, n, k, pack)
				}
				got[name] = c
			}
			for _, name := range []string{"dispatch", "no64"} {
				for i := range got["no32"] {
					if math.Float32bits(got[name][i]) != math.Float32bits(got["no32"][i]) {
						t.Fatalf("m=%d panels=%v C[%d]: %x with the %s kernels, %x without the 32-wide one",
							m, panels, i, math.Float32bits(got[name][i]), name, math.Float32bits(got["no32"][i]))
					}
				}
			}
		}
	}
}

// A row of C must come out bit-identical whichever rows are computed with
// it: the batch-invariance of the model rests on it.
func TestGemmRowsIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, k = 40, 70
	pack := make([]float32, packSz)
	b := randSlice(rng, k*n)
	a := randSlice(rng, 20*k)
	full := make([]float32, 20*n)
	gemm(full, n, a, k, false, b, n, 20, n, k, pack)
	for i := range 20 {
		one := make([]float32, n)
		gemm(one, n, a[i*k:], k, false, b, n, 1, n, k, pack)
		for j := range n {
			if one[j] != full[i*n+j] {
				t.Fatalf("row %d col %d alone = %x, in a batch of 20 = %x", i, j, math.Float32bits(one[j]), math.Float32bits(full[i*n+j]))
			}
		}
	}
}

// packB lays B, or the transpose of what it is given, out as panels of nr
// columns padded with zeros.
func TestPackB(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range [][2]int{{1, 1}, {3, 32}, {5, 33}, {64, 256}, {7, 70}, {16, 16}, {17, 48}, {40, 90}, {47, 120}} {
		k, n := sh[0], sh[1]
		b := randSlice(rng, k*(n+1))
		bt := make([]float32, n*(k+2)) // B^T, (n, k) with leading dimension k+2
		for p := range k {
			for j := range n {
				bt[j*(k+2)+p] = b[p*(n+1)+j]
			}
		}
		for _, trans := range []bool{false, true} {
			var got []float32
			if trans {
				got = packB(slices.Repeat([]float32{9}, panelsLen(k, n)), bt, k+2, true, k, n)
			} else {
				got = packB(nil, b, n+1, false, k, n)
			}
			if len(got) != panelsLen(k, n) {
				t.Fatalf("k=%d n=%d trans=%v: %d floats, want %d", k, n, trans, len(got), panelsLen(k, n))
			}
			for p := range k {
				for j := range (n + nr - 1) / nr * nr {
					want := float32(0)
					if j < n {
						want = b[p*(n+1)+j]
					}
					if g := got[(j/nr)*k*nr+p*nr+j%nr]; g != want {
						t.Fatalf("k=%d n=%d trans=%v: element (%d, %d) = %g, want %g", k, n, trans, p, j, g, want)
					}
				}
			}
		}
	}
}

func TestGemmPanicsOnBadShapes(t *testing.T) {
	pack := make([]float32, packSz)
	cases := []struct {
		name string
		f    func()
	}{
		{"short A", func() {
			gemm(make([]float32, 4), 2, make([]float32, 3), 2, false, make([]float32, 4), 2, 2, 2, 2, pack)
		}},
		{"short C", func() {
			gemm(make([]float32, 3), 2, make([]float32, 4), 2, false, make([]float32, 4), 2, 2, 2, 2, pack)
		}},
		{"small ldb", func() {
			gemm(make([]float32, 4), 2, make([]float32, 4), 2, false, make([]float32, 4), 1, 2, 2, 2, pack)
		}},
		{"small pack", func() { gemm([]float32{1}, 1, []float32{1}, 1, false, []float32{1}, 1, 1, 1, 1, nil) }},
		{"short panels", func() {
			gemmPacked(make([]float32, 4), 2, make([]float32, 4), 2, false, make([]float32, 2*nr-1), 2, 2, 2, pack)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); len(msg) < 4 || msg[:4] != "nn: " {
					t.Fatalf("got panic %v, want one starting with \"nn: \"", r)
				}
			}()
			c.f()
		})
	}
}

// BenchmarkGemm times the model's products at L=H=64 and 256: the
// recurrent step (B packed as panels, as the model does), the input
// projection, the gradient through the recurrence and the weight gradient.
func BenchmarkGemm(b *testing.B) {
	shapes := []struct {
		name           string
		transA, panels bool
		m, n, k        int
	}{
		{"recurrent_21x256x64", false, true, 21, 256, 64},
		{"recurrent_64x256x64", false, true, 64, 256, 64},
		{"input_6400x256x8", false, true, 6400, 256, 8},
		{"dh_64x64x256", false, true, 64, 64, 256},
		{"wgrad_T_256x64x2000", true, false, 256, 64, 2000},
		{"recurrent_32x1024x256", false, true, 32, 1024, 256},
		{"dh_32x256x1024", false, true, 32, 256, 1024},
		{"wgrad_T_1024x256x2000", true, false, 1024, 256, 2000},
	}
	for _, s := range shapes {
		for name, ks := range kernels() {
			b.Run(s.name+"/"+name, func(b *testing.B) {
				withKernels(b, ks)
				rng := rand.New(rand.NewPCG(1, 1))
				lda := s.k
				if s.transA {
					lda = s.m
				}
				a := randSlice(rng, s.m*s.k)
				bb := randSlice(rng, s.k*s.n)
				bp := packB(nil, bb, s.n, false, s.k, s.n)
				c := make([]float32, s.m*s.n)
				pack := make([]float32, packSz)
				for b.Loop() {
					if s.panels {
						gemmPacked(c, s.n, a, lda, s.transA, bp, s.m, s.n, s.k, pack)
					} else {
						gemm(c, s.n, a, lda, s.transA, bb, s.n, s.m, s.n, s.k, pack)
					}
				}
				b.ReportMetric(float64(2*s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func TestPeakGFLOPS(t *testing.T) {
	if g := PeakGFLOPS(48, 2, 0); !(g > 0) || math.IsInf(g, 0) {
		t.Errorf("PeakGFLOPS(48, 2, 0) = %v, want a positive rate (one round at least)", g)
	}
	defer func() {
		if msg, _ := recover().(string); !strings.HasPrefix(msg, "nn: PeakGFLOPS") {
			t.Errorf("PeakGFLOPS(0, 1) panicked with %q, want nn: PeakGFLOPS: ...", msg)
		}
	}()
	PeakGFLOPS(0, 1, time.Millisecond)
}

// gemmPackedFrom gives the bits of copying C0 into C and then gemmPacked,
// with C0 a matrix or one row for all (ldc0 = 0), on the fused path (n a
// multiple of 32, one block of depth) and off it, and writes nothing past
// C's rows.
func TestGemmPackedFromMatchesCopy(t *testing.T) {
	for name, ks := range kernels() {
		t.Run(name, func(t *testing.T) {
			withKernels(t, ks)
			pack := make([]float32, packSz)
			for _, sh := range [][3]int{{1, 32, 8}, {5, 64, 24}, {13, 256, 64}, {21, 256, 72}, {2, 64, 16}, {8, 128, 40}, {7, 40, 16}, {6, 32, kcMax + 3}, {4, 64, 0}, {4, 64, 16}, {10, 128, 40}} {
				m, n, k := sh[0], sh[1], sh[2]
				for _, ldc0 := range []int{0, n + 4} {
					rng := rand.New(rand.NewPCG(uint64(m*n+ldc0), uint64(k)))
					lda, ldc := k+1, n+3
					a := randSlice(rng, m*lda+gemmSlack)[:m*lda]
					bp := packB(nil, randSlice(rng, k*n), n, false, k, n)
					c0 := randSlice(rng, max(1, m)*max(ldc0, n))
					want := randSlice(rng, m*ldc)
					got := append(slices.Clone(want), slices.Repeat([]float32{-7}, mr*ldc)...)
					guard := got[m*ldc:]
					got = got[:m*ldc]
					for r := range m {
						copy(want[r*ldc:r*ldc+n], c0[r*ldc0:r*ldc0+n])
					}
					gemmPacked(want, ldc, a, lda, false, bp, m, n, k, pack)
					gemmPackedFrom(got, ldc, c0, ldc0, a, lda, false, bp, m, n, k, pack)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("m=%d n=%d k=%d ldc0=%d: C[%d] = %g, want %g (copy, then gemmPacked)", m, n, k, ldc0, i, got[i], want[i])
						}
					}
					if i := slices.IndexFunc(guard, func(g float32) bool { return g != -7 }); i >= 0 {
						t.Fatalf("m=%d n=%d k=%d ldc0=%d: wrote %d floats past C's last row", m, n, k, ldc0, i+1)
					}
				}
			}
		})
	}
}

// BenchmarkPackBTrans prices packing a (1024, 256) weight's transpose as
// panels: the forward's B operand of an L=H=256 layer, repacked after every
// training step.
func BenchmarkPackBTrans(b *testing.B) {
	const k, n = 256, 1024
	w := randSlice(rand.New(rand.NewPCG(1, 1)), n*k)
	dst := make([]float32, panelsLen(k, n))
	for b.Loop() {
		packB(dst, w, k, true, k, n)
	}
	b.ReportMetric(float64(4*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}
