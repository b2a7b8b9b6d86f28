//go:build !purego

// The assembly kernels and their dispatch by CPU feature: AVX2 with FMA
// for the microkernels and the LSTM cell, AVX-512 for the widest
// microkernel. Build with -tags purego for the pure-Go ones everywhere.

package nn

import "golang.org/x/sys/cpu"

//go:noescape
func kern16AVX2(k int, a *float32, sa, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func kern32AVX512(k int, a *float32, sa, sp int, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func kern32FromAVX512(k int, a *float32, sa, sp int, b *float32, ldb int, c *float32, ldc int, c0 *float32, ldc0 int, rows int)

//go:noescape
func kern64FromAVX512(k int, a *float32, sa, sp int, b *float32, ldb int, b2 *float32, c *float32, ldc int, c0 *float32, ldc0 int, rows int)

//go:noescape
func transpose16AVX512(dst *float32, ldd int, src *float32, lds int, blocks int)

//go:noescape
func kern8AVX2(k int, a *float32, sa, sp int, b *float32, ldb int, c *float32, ldc int)

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		kern16, kern8 = kern16AVX2, kern8AVX2
		lstmCellForward, lstmCellBackward = cellForwardAsm, cellBackwardAsm
		adamVec = adamAVX2
		colSumVec = colSumAVX2
	}
	if cpu.X86.HasAVX512F {
		kern32, kern32From, kern64From = kern32AVX512, kern32FromAVX512, kern64FromAVX512
		transpose16 = transpose16AVX512
		cellForward16, cellBackward16 = cellForwardAVX512, cellBackwardAVX512
	}
}

//go:noescape
func colSumAVX2(dst, a *float32, rows, cols int)

//go:noescape
func adamAVX2(p, grad, m, v *float32, n int, b1, c1, b2, c2, step, bc2Sqrt, eps float32)

//go:noescape
func cellForwardAVX2(h, c, tc, gates, cPrev *float32, n, hd, units int)

//go:noescape
func cellForwardAVX512(h, c, tc, gates, cPrev *float32, n, hd, units int)

//go:noescape
func cellBackwardAVX2(dg, dc, dh, dhRec, gates, cPrev, tc, dgSum *float32, n, hd, units int)

//go:noescape
func cellBackwardAVX512(dg, dc, dh, dhRec, gates, cPrev, tc, dgSum *float32, n, hd, units int)

// cellBackward16 is the AVX-512 backward cell, where the CPU has it.
var cellBackward16 func(dg, dc, dh, dhRec, gates, cPrev, tc, dgSum *float32, n, hd, units int)

// cellBackwardAsm runs cellBackwardAVX2 (or its AVX-512 twin, when hd and
// units are multiples of 16) when they are multiples of 8, else the
// pure-Go cell. The assembly steps from row to row only for units == hd:
// fewer units go one row per call.
func cellBackwardAsm(dg, dc, dh, dhRec, g, cPrev, tc, dgSum []float32, n, hd, units int) {
	if hd%8 != 0 || units%8 != 0 || units == 0 || n == 0 {
		cellBackwardGo(dg, dc, dh, dhRec, g, cPrev, tc, dgSum, n, hd, units)
		return
	}
	if units < hd && n > 1 {
		for r := range n {
			cellBackwardAsm(dg[r*4*hd:], dc[r*hd:], dh[r*hd:], from(dhRec, r*hd), g[r*4*hd:], from(cPrev, r*hd), tc[r*hd:], from(dgSum, r*4*hd), 1, hd, units)
		}
		return
	}
	wide, narrow := rowsLen(n, 4*hd, 3*hd+units), rowsLen(n, hd, units)
	_, _ = dg[wide-1], g[wide-1]
	_, _, _ = dc[narrow-1], dh[narrow-1], tc[narrow-1]
	f := cellBackwardAVX2
	if cellBackward16 != nil && hd%16 == 0 && units%16 == 0 {
		f = cellBackward16
	}
	f(&dg[0], &dc[0], &dh[0], first(dhRec, narrow), &g[0], first(cPrev, narrow), &tc[0], first(dgSum, wide), n, hd, units)
}

// first returns &s[0] after checking s holds n elements, or nil for a nil s.
func first(s []float32, n int) *float32 {
	if s == nil {
		return nil
	}
	_ = s[n-1]
	return &s[0]
}

// cellForward16 is the AVX-512 forward cell, where the CPU has it.
var cellForward16 func(h, c, tc, gates, cPrev *float32, n, hd, units int)

// cellForwardAsm runs cellForwardAVX2 (or its AVX-512 twin) when hd and
// units are multiples of 8, else the pure-Go cell: a layer's rows always
// take the same path. Fewer units than hd go one row per call, as in
// cellBackwardAsm.
func cellForwardAsm(h, c, tc, g, cPrev []float32, n, hd, units int) {
	if hd%8 != 0 || units%8 != 0 || units == 0 || n == 0 {
		cellForwardGo(h, c, tc, g, cPrev, n, hd, units)
		return
	}
	if units < hd && n > 1 {
		for r := range n {
			cellForwardAsm(h[r*hd:], c[r*hd:], tc[r*hd:], g[r*4*hd:], from(cPrev, r*hd), 1, hd, units)
		}
		return
	}
	narrow := rowsLen(n, hd, units)
	_, _, _ = h[narrow-1], c[narrow-1], tc[narrow-1]
	_ = g[rowsLen(n, 4*hd, 3*hd+units)-1]
	if cellForward16 != nil && hd%16 == 0 && units%16 == 0 {
		cellForward16(&h[0], &c[0], &tc[0], &g[0], first(cPrev, narrow), n, hd, units)
		return
	}
	cellForwardAVX2(&h[0], &c[0], &tc[0], &g[0], first(cPrev, narrow), n, hd, units)
}

// rowsLen is the floats that n rows of stride ld need when each uses its
// first used floats.
func rowsLen(n, ld, used int) int { return (n-1)*ld + used }
