package nn

import (
	"fmt"
	"unsafe"
)

// Blocking of the matrix multiply: register tiles of mr×nr, A packed in
// blocks of mc rows by kc columns.
const (
	mr     = 6   // rows of a register tile
	nr     = 16  // columns of a register tile (two 8-float vectors)
	kc     = 256 // depth of a packed block
	mc     = 96  // rows of a packed block, a multiple of mr
	packSz = mc * kc
)

// A microkernel adds a (mr, k) panel of packed A times a (k, cols) slice of
// row-major B into a (mr, cols) tile of row-major C:
// C[r][j] += sum_p a[p*mr+r] * b[p*ldb+j], summed in order p = 0, 1, ...,
// with one rounding per multiply-add (fused) or per multiply and add
// (the pure-Go fallback). Every row uses the same operations in the same
// order, so a row's result does not depend on the other rows of the tile.
type microkernel func(k int, a, b *float32, ldb int, c *float32, ldc int)

// The microkernels in use: the assembly ones where the CPU has them (see
// gemm_amd64.go), else the pure-Go ones.
var (
	kern16 microkernel = kern16Go // mr×16 tile
	kern8  microkernel = kern8Go  // mr×8 tile
)

// gemm computes C += op(A)·B. op(A) is A, an (m, k) matrix, or with transA
// the transpose of A stored as a (k, m) matrix. B is (k, n) and C is (m, n).
// All are row-major with leading dimensions lda, ldb and ldc. pack is
// scratch for packing A; it must hold packSz floats.
//
// Each element of C is accumulated in order of p, the same way whatever m
// and n are, so a row of C does not depend on which other rows are computed
// with it.
func gemm(transA bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, pack []float32) {
	checkGemm("gemm", transA, m, n, k, a, lda, b, ldb, c, ldc)
	if len(pack) < packSz {
		panic(fmt.Sprintf("nn: gemm: pack scratch holds %d floats, want %d", len(pack), packSz))
	}
	if m == 0 || n == 0 || k == 0 {
		return
	}
	var tile [mr * nr]float32 // C rows of a partial row tile
	for p0 := 0; p0 < k; p0 += kc {
		kb := min(kc, k-p0)
		for i0 := 0; i0 < m; i0 += mc {
			mb := min(mc, m-i0)
			packA(pack, transA, a, lda, i0, p0, mb, kb)
			tiles := (mb + mr - 1) / mr
			j := 0
			for ; j < n; j += nr {
				kern, width := kern16, nr
				if n-j < nr {
					if n-j < 8 {
						break
					}
					kern, width = kern8, 8
				}
				for t := range tiles {
					panel := &pack[t*mr*kb]
					bp := &b[p0*ldb+j]
					row := i0 + t*mr
					rows := min(mr, m-row)
					if rows == mr {
						kern(kb, panel, bp, ldb, &c[row*ldc+j], ldc)
						continue
					}
					for r := range rows {
						copy(tile[r*nr:r*nr+width], c[(row+r)*ldc+j:])
					}
					kern(kb, panel, bp, ldb, &tile[0], nr)
					for r := range rows {
						copy(c[(row+r)*ldc+j:(row+r)*ldc+j+width], tile[r*nr:])
					}
				}
				if width == 8 {
					j += 8
					break
				}
			}
			for ; j < n; j++ {
				for r := range mb {
					panel := pack[(r/mr)*mr*kb+r%mr:]
					acc := c[(i0+r)*ldc+j]
					for p := range kb {
						acc += panel[p*mr] * b[(p0+p)*ldb+j]
					}
					c[(i0+r)*ldc+j] = acc
				}
			}
		}
	}
}

// packA copies rows i0..i0+mb and columns p0..p0+kb of op(A) into dst as
// panels of mr rows, each stored column by column (dst[t*mr*kb + p*mr + r]),
// the rows past mb of the last panel zero.
func packA(dst []float32, transA bool, a []float32, lda, i0, p0, mb, kb int) {
	for t := 0; t*mr < mb; t++ {
		panel := dst[t*mr*kb : (t+1)*mr*kb]
		rows := min(mr, mb-t*mr)
		first := i0 + t*mr
		if transA {
			for p := range kb {
				src := a[(p0+p)*lda+first : (p0+p)*lda+first+rows]
				d := panel[p*mr : p*mr+mr]
				copy(d, src)
				clear(d[rows:])
			}
			continue
		}
		for r := range rows {
			src := a[(first+r)*lda+p0 : (first+r)*lda+p0+kb]
			for p, v := range src {
				panel[p*mr+r] = v
			}
		}
		for r := rows; r < mr; r++ {
			for p := range kb {
				panel[p*mr+r] = 0
			}
		}
	}
}

// gemmRef is the naive reference for gemm: the textbook triple loop.
func gemmRef(transA bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	checkGemm("gemmRef", transA, m, n, k, a, lda, b, ldb, c, ldc)
	for i := range m {
		for j := range n {
			acc := c[i*ldc+j]
			for p := range k {
				if transA {
					acc += a[p*lda+i] * b[p*ldb+j]
				} else {
					acc += a[i*lda+p] * b[p*ldb+j]
				}
			}
			c[i*ldc+j] = acc
		}
	}
}

// checkGemm panics with a clear message when the operands cannot hold the
// shapes they are given.
func checkGemm(name string, transA bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("nn: %s: negative size m=%d n=%d k=%d", name, m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	need := func(what string, s []float32, rows, cols, ld int) {
		if rows == 0 || cols == 0 {
			return
		}
		if ld < cols {
			panic(fmt.Sprintf("nn: %s: %s is (%d, %d) but its leading dimension is %d", name, what, rows, cols, ld))
		}
		if len(s) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("nn: %s: %s is (%d, %d) with leading dimension %d, needing %d floats, but has %d",
				name, what, rows, cols, ld, (rows-1)*ld+cols, len(s)))
		}
	}
	need("A", a, ar, ac, lda)
	need("B", b, k, n, ldb)
	need("C", c, m, n, ldc)
}

// kern16Go is the pure-Go mr×16 microkernel.
func kern16Go(k int, a, b *float32, ldb int, c *float32, ldc int) { kernGo(16, k, a, b, ldb, c, ldc) }

// kern8Go is the pure-Go mr×8 microkernel.
func kern8Go(k int, a, b *float32, ldb int, c *float32, ldc int) { kernGo(8, k, a, b, ldb, c, ldc) }

func kernGo(cols, k int, a, b *float32, ldb int, c *float32, ldc int) {
	as := unsafe.Slice(a, k*mr)
	bs := unsafe.Slice(b, (k-1)*ldb+cols)
	cs := unsafe.Slice(c, (mr-1)*ldc+cols)
	var acc [mr][nr]float32
	for r := range mr {
		copy(acc[r][:cols], cs[r*ldc:])
	}
	for p := range k {
		brow := bs[p*ldb : p*ldb+cols]
		ap := as[p*mr : p*mr+mr]
		for r, av := range ap {
			for j, bv := range brow {
				acc[r][j] += av * bv
			}
		}
	}
	for r := range mr {
		copy(cs[r*ldc:r*ldc+cols], acc[r][:cols])
	}
}
