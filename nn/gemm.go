package nn

import (
	"fmt"
	"unsafe"
)

// Blocking of the matrix multiply: register tiles of mr×nr, the depth cut
// into blocks of kc so that a block of A and B stays in cache while all the
// tiles that need it run.
const (
	mr     = 6   // rows of a register tile
	nr     = 32  // most columns of a register tile
	kc     = 256 // depth of a block
	packSz = mr*kc + mr*nr

	// gemmSlack is the capacity past their length that the workspace
	// gives its buffers, so that gemm reads the rows past a matrix's last
	// full tile in place (up to mr-1 rows of up to gemmSlack/(mr-1) floats)
	// instead of packing them.
	gemmSlack = 8192
)

// A microkernel adds a (mr, k) slice of A times a (k, cols) slice of
// row-major B into a (mr, cols) tile of row-major C. Element (r, p) of A is
// a[r*sa + p*sp], so A may be row-major (sa = lda, sp = 1), transposed
// (sa = 1, sp = lda) or a packed panel (sa = 1, sp = mr). Each element is
// C[r][j] += a(r,p) * b[p*ldb+j] in order p = 0, 1, ..., with one rounding
// per multiply-add (fused, assembly) or per multiply and add (pure Go).
// Every row takes the same operations in the same order, so a row's result
// does not depend on the other rows of its tile.
type microkernel func(k int, a *float32, sa, sp int, b *float32, ldb int, c *float32, ldc int)

// The microkernels in use: the assembly ones where the CPU has them (see
// asm_amd64.go), else the pure-Go ones.
var (
	kern32 microkernel            // mr×32 tile; nil where the CPU has no kernel for it
	kern16 microkernel = kern16Go // mr×16 tile
	kern8  microkernel = kern8Go  // mr×8 tile
)

// gemm computes C += op(A)·B, destination first, then the operands, then
// the sizes. op(A) is A, an (m, k) matrix, or with transA the transpose of
// A stored as a (k, m) matrix. B is (k, n) and C is (m, n). All are
// row-major with leading dimensions ldc, lda and ldb. pack is
// scratch of packSz floats for the rows past the last full tile: their
// panel of A and their tile of C. When a's capacity extends past its
// length (see gemmSlack), gemm may read those floats; it never uses them.
//
// Each element of C is accumulated in order of p the same way whatever m
// and n are, so a row of C does not depend on which other rows are computed
// with it.
func gemm(c []float32, ldc int, a []float32, lda int, transA bool, b []float32, ldb int, m, n, k int, pack []float32) {
	checkGemm("gemm", c, ldc, a, lda, transA, b, ldb, m, n, k)
	if len(pack) < packSz {
		panic(fmt.Sprintf("nn: gemm: pack scratch holds %d floats, want %d", len(pack), packSz))
	}
	if m == 0 || n == 0 || k == 0 {
		return
	}
	sa, sp := lda, 1 // A(r, p) = a[r*sa + p*sp]
	if transA {
		sa, sp = 1, lda
	}
	full := m - m%mr // rows in full tiles; the rest go through pack
	nv := n - n%8    // columns for the vector kernels; the rest are scalar
	tile := pack[mr*kc : mr*kc+mr*nr]
	for p0 := 0; p0 < k; p0 += kc {
		kb := min(kc, k-p0)
		// The rows past the last full tile run through a tile of scratch C.
		// Their A is read in place when a's capacity covers a full tile's
		// reads (the extra rows' results are dropped), else packed.
		tailA, tsa, tsp := &pack[0], 1, mr
		if full < m {
			if (full+mr-1)*sa+(p0+kb-1)*sp < cap(a) {
				tailA, tsa, tsp = &a[full*sa+p0*sp], sa, sp
			} else {
				packTail(pack, a, sa, sp, full, m-full, p0, kb)
			}
		}
		for j := 0; j < nv; {
			kern, width := kern8, 8
			switch {
			case kern32 != nil && nv-j >= 32:
				kern, width = kern32, 32
			case nv-j >= 16:
				kern, width = kern16, 16
			}
			bp := &b[p0*ldb+j]
			for i := 0; i < full; i += mr {
				kern(kb, &a[i*sa+p0*sp], sa, sp, bp, ldb, &c[i*ldc+j], ldc)
			}
			if full < m {
				for r := range m - full {
					copy(tile[r*nr:r*nr+width], c[(full+r)*ldc+j:])
				}
				kern(kb, tailA, tsa, tsp, bp, ldb, &tile[0], nr)
				for r := range m - full {
					copy(c[(full+r)*ldc+j:(full+r)*ldc+j+width], tile[r*nr:])
				}
			}
			j += width
		}
		for j := nv; j < n; j++ {
			for i := range m {
				acc := c[i*ldc+j]
				for p := p0; p < p0+kb; p++ {
					acc += a[i*sa+p*sp] * b[p*ldb+j]
				}
				c[i*ldc+j] = acc
			}
		}
	}
}

// packTail copies rows first..first+rows (rows < mr) and depths p0..p0+kb of
// A into dst as a panel of mr rows stored depth by depth
// (dst[p*mr + r]), the rows past the last zero.
func packTail(dst, a []float32, sa, sp, first, rows, p0, kb int) {
	for p := range kb {
		d := dst[p*mr : p*mr+mr]
		for r := range rows {
			d[r] = a[(first+r)*sa+(p0+p)*sp]
		}
		clear(d[rows:])
	}
}

// gemmRef is the naive reference for gemm: the textbook triple loop.
func gemmRef(c []float32, ldc int, a []float32, lda int, transA bool, b []float32, ldb int, m, n, k int) {
	checkGemm("gemmRef", c, ldc, a, lda, transA, b, ldb, m, n, k)
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
func checkGemm(name string, c []float32, ldc int, a []float32, lda int, transA bool, b []float32, ldb int, m, n, k int) {
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
func kern16Go(k int, a *float32, sa, sp int, b *float32, ldb int, c *float32, ldc int) {
	kernGo(16, k, a, sa, sp, b, ldb, c, ldc)
}

// kern8Go is the pure-Go mr×8 microkernel.
func kern8Go(k int, a *float32, sa, sp int, b *float32, ldb int, c *float32, ldc int) {
	kernGo(8, k, a, sa, sp, b, ldb, c, ldc)
}

func kernGo(cols, k int, a *float32, sa, sp int, b *float32, ldb int, c *float32, ldc int) {
	as := unsafe.Slice(a, (mr-1)*sa+(k-1)*sp+1)
	bs := unsafe.Slice(b, (k-1)*ldb+cols)
	cs := unsafe.Slice(c, (mr-1)*ldc+cols)
	var acc [mr][nr]float32
	for r := range mr {
		copy(acc[r][:cols], cs[r*ldc:])
	}
	for p := range k {
		brow := bs[p*ldb : p*ldb+cols]
		for r := range mr {
			av := as[r*sa+p*sp]
			for j, bv := range brow {
				acc[r][j] += av * bv
			}
		}
	}
	for r := range mr {
		copy(cs[r*ldc:r*ldc+cols], acc[r][:cols])
	}
}
