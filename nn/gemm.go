package nn

import (
	"fmt"
	"unsafe"
)

// Blocking of the matrix multiply: register tiles of mr×nr, the depth cut
// into blocks of kc and the rows into blocks of mc, so that a block of A
// (mc, kc) stays in the L2 cache and a panel of B (kc, nr) in the L1 cache
// while all the tiles that need them run.
const (
	mr = 6   // rows of a register tile
	nr = 32  // most columns of a register tile; the width of a panel of B
	kc = 256 // depth of a block
	mc = 96  // rows of a block of A (a multiple of mr)
	nc = 512 // most columns of B packed at once (a multiple of nr)

	// kcMax is the deepest block: a remaining depth up to kcMax is one
	// block rather than kc and a sliver (the encoder's step product has
	// depth I+L, 264 at L=256: a second block of 8 passed over all of C
	// again for 8 multiply-adds, and the product ran at 113 GFLOP/s against
	// 167 for depth 256).
	kcMax = kc + kc/8

	// packSz is the floats of gemm's scratch: a packed block of A, a
	// packed block of B and a tile of C.
	packSz = mc*kcMax + kcMax*nc + mr*nr

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

	// kern32From is kern32 on the first rows (1 to mr) of a tile, C = C0
	// + A·B: it starts from C0's rows (row stride ldc0, 0 for one row for
	// all) and writes only those rows of C; with c0 = c, ldc0 = ldc it is
	// kern32 on fewer rows. Nil where the CPU has no kernel for it: rows
	// past the last full tile then go through a tile of scratch, and
	// gemmPackedFrom copies C0 into C first.
	kern32From func(k int, a *float32, sa, sp int, b *float32, ldb int, c *float32, ldc int, c0 *float32, ldc0 int, rows int)

	// kern64From is kern32From on a tile of 1 to wideRows rows and 64
	// columns, B's columns 0..31 at b and 32..63 at b2 (row stride ldb for
	// both), multiplying only the tile's rows: the rows past a batch's last
	// full tile, and the few rows of a small batch's step, at up to three
	// times kern32From's speed, with the same bits. Nil where the CPU has
	// no kernel for it.
	kern64From func(k int, a *float32, sa, sp int, b *float32, ldb int, b2 *float32, c *float32, ldc int, c0 *float32, ldc0 int, rows int)

	// transpose16 transposes blocks 16x16 blocks lying side by side along
	// 16 rows of src (row stride lds) into 16*blocks rows of 16 floats of
	// dst (row stride ldd): float p of src's row i goes to float i of dst's
	// row p. Nil where the CPU has no kernel for it.
	transpose16 func(dst *float32, ldd int, src *float32, lds int, blocks int)
)

// wideRows is the most rows kern64From takes.
const wideRows = 5

// panelsLen is the floats of a (k, n) matrix packed as panels: n rounded
// up to a multiple of nr columns.
func panelsLen(k, n int) int { return k * (n + nr - 1) / nr * nr }

// packB writes the (k, n) matrix B into dst as panels of nr columns, the
// form the microkernels read fastest and gemmPacked takes: panel q holds
// columns q*nr .. q*nr+nr-1, row by row, (k, nr) row-major, the last one
// padded with zeros, so element (p, j) is at dst[(j/nr)*k*nr + p*nr + j%nr].
// B is b, (k, n) with leading dimension ldb, or with trans the transpose
// of b stored as (n, k): for a weight W (out, in), packB(dst, W, in, true,
// in, out) packs W^T. It returns dst, grown to panelsLen(k, n) when short.
func packB(dst, b []float32, ldb int, trans bool, k, n int) []float32 {
	if len(dst) < panelsLen(k, n) {
		dst = make([]float32, panelsLen(k, n))
	}
	dst = dst[:panelsLen(k, n)]
	packBRows(dst, k, 0, b, ldb, trans, k, n)
	return dst
}

// packBRows is packB into rows p0 .. p0+k-1 of panels of rows rows, so
// that matrices stacked along the depth are packed as one: element (p, j)
// of B goes to dst[(j/nr)*rows*nr + (p0+p)*nr + j%nr]. dst holds
// panelsLen(rows, n) floats.
func packBRows(dst []float32, rows, p0 int, b []float32, ldb int, trans bool, k, n int) {
	if p0 < 0 || p0+k > rows || len(dst) < panelsLen(rows, n) {
		panic(fmt.Sprintf("nn: packBRows: rows %d..%d of %d, (%d, %d) panels in %d floats", p0, p0+k, rows, rows, n, len(dst)))
	}
	for q := 0; q*nr < n; q++ {
		panel := dst[q*rows*nr+p0*nr : q*rows*nr+(p0+k)*nr]
		cols := min(nr, n-q*nr)
		if trans {
			c := 0
			if blocks := k / 16; transpose16 != nil && blocks > 0 {
				// Sixteen columns at a time, sixteen depths per block in
				// the assembly, the depths past the last block here.
				for ; c+16 <= cols; c += 16 {
					src := b[(q*nr+c)*ldb : (q*nr+c+15)*ldb+k]
					transpose16(&panel[c], nr, &src[0], ldb, blocks)
					for i := range 16 {
						for p := blocks * 16; p < k; p++ {
							panel[p*nr+c+i] = src[i*ldb+p]
						}
					}
				}
			}
			// Eight columns at a time: each depth's eight floats go to
			// one 32-byte run of the panel, not eight strided stores.
			for ; c+8 <= cols; c += 8 {
				var r [8][]float32
				for i := range r {
					r[i] = b[(q*nr+c+i)*ldb : (q*nr+c+i)*ldb+k]
				}
				for p := range k {
					*(*[8]float32)(panel[p*nr+c:]) = [8]float32{r[0][p], r[1][p], r[2][p], r[3][p], r[4][p], r[5][p], r[6][p], r[7][p]}
				}
			}
			for ; c < cols; c++ {
				row := b[(q*nr+c)*ldb : (q*nr+c)*ldb+k]
				for p, v := range row {
					panel[p*nr+c] = v
				}
			}
		} else {
			for p := range k {
				copy(panel[p*nr:p*nr+cols], b[p*ldb+q*nr:])
			}
		}
		if cols < nr {
			for p := range k {
				clear(panel[p*nr+cols : (p+1)*nr])
			}
		}
	}
}

// packBCols is packB of B's columns c0..c1-1 alone (c0 a multiple of nr,
// c1 too or n): the panels that hold them, where packB puts them.
func packBCols(dst, b []float32, ldb int, trans bool, k, n, c0, c1 int) {
	if c0%nr != 0 || (c1%nr != 0 && c1 != n) || c0 < 0 || c0 > c1 || c1 > n {
		panic(fmt.Sprintf("nn: packBCols: columns %d..%d of %d, want whole panels of %d", c0, c1, n, nr))
	}
	src := b[c0:]
	if trans {
		src = b[c0*ldb:]
	}
	packBRows(dst[c0/nr*k*nr:], k, 0, src, ldb, trans, k, c1-c0)
}

// gemm computes C += op(A)·B, destination first, then the operands, then
// the sizes. op(A) is A, an (m, k) matrix, or with transA the transpose of
// A stored as a (k, m) matrix. B is (k, n) and C is (m, n). All are
// row-major with leading dimensions ldc, lda and ldb. pack is scratch of
// packSz floats: gemm copies blocks of A and B there when that makes their
// reads contiguous. When a's capacity extends past its length (see
// gemmSlack), gemm may read those floats; it never uses them.
//
// Each element of C is accumulated in order of p the same way whatever m
// and n are and however the operands are stored, so a row of C does not
// depend on which other rows are computed with it.
func gemm(c []float32, ldc int, a []float32, lda int, transA bool, b []float32, ldb int, m, n, k int, pack []float32) {
	checkGemm("gemm", c, ldc, a, lda, transA, b, ldb, m, n, k)
	gemmBlocked(c, ldc, nil, 0, a, lda, transA, b, ldb, false, m, n, k, pack)
}

// gemmPacked is gemm with B given as panels by packB.
func gemmPacked(c []float32, ldc int, a []float32, lda int, transA bool, bp []float32, m, n, k int, pack []float32) {
	checkAC("gemmPacked", c, ldc, a, lda, transA, m, n, k)
	if len(bp) < panelsLen(k, n) {
		panic(fmt.Sprintf("nn: gemmPacked: B is (%d, %d), needing %d floats as panels, but has %d", k, n, panelsLen(k, n), len(bp)))
	}
	gemmBlocked(c, ldc, nil, 0, a, lda, transA, bp, k, true, m, n, k, pack)
}

// gemmPackedFrom is gemmPacked computing C = C0 + op(A)·B: C0 is (m, n)
// with leading dimension ldc0, or with ldc0 = 0 one row of n for every row
// (a bias). It gives the bits of copying C0 into C and then gemmPacked,
// without the copy where it can: on kern32From, for n a multiple of 32 and
// one block of depth.
func gemmPackedFrom(c []float32, ldc int, c0 []float32, ldc0 int, a []float32, lda int, transA bool, bp []float32, m, n, k int, pack []float32) {
	if m > 0 && n > 0 && (ldc0 < 0 || (ldc0 > 0 && ldc0 < n) || len(c0) < (m-1)*ldc0+n) {
		panic(fmt.Sprintf("nn: gemmPackedFrom: C0 has %d floats with leading dimension %d, too few for (%d, %d)", len(c0), ldc0, m, n))
	}
	if kern32 == nil || kern32From == nil || n%32 != 0 || k == 0 || k > kcMax {
		for r := range m {
			copy(c[r*ldc:r*ldc+n], c0[r*ldc0:r*ldc0+n])
		}
		gemmPacked(c, ldc, a, lda, transA, bp, m, n, k, pack)
		return
	}
	checkAC("gemmPackedFrom", c, ldc, a, lda, transA, m, n, k)
	if len(bp) < panelsLen(k, n) {
		panic(fmt.Sprintf("nn: gemmPackedFrom: B is (%d, %d), needing %d floats as panels, but has %d", k, n, panelsLen(k, n), len(bp)))
	}
	gemmBlocked(c, ldc, c0, ldc0, a, lda, transA, bp, k, true, m, n, k, pack)
}

// bBlock is where the microkernels read a block of B: in place, row-major
// with leading dimension ld, or as panels of nr columns of rows rows each,
// the block starting at row p0 and column j0 of them.
type bBlock struct {
	b      []float32
	ld     int
	panels bool
	rows   int
	p0, j0 int
}

// at returns the address of element (p, j) of the block and the stride
// between its rows.
func (s *bBlock) at(p, j int) (*float32, int) {
	if s.panels {
		j += s.j0
		return &s.b[(j/nr)*s.rows*nr+(s.p0+p)*nr+j%nr], nr
	}
	return &s.b[(s.p0+p)*s.ld+s.j0+j], s.ld
}

func (s *bBlock) elem(p, j int) float32 {
	e, _ := s.at(p, j)
	return *e
}

// gemmBlocked is gemm's body: B in place or as panels; with c0 not nil,
// C = C0 + A·B (gemmPackedFrom alone passes one, and only when every
// column is a kern32 column and the depth one block).
func gemmBlocked(c []float32, ldc int, c0 []float32, ldc0 int, a []float32, lda int, transA bool, b []float32, ldb int, bPanels bool, m, n, k int, pack []float32) {
	if len(pack) < packSz {
		panic(fmt.Sprintf("nn: gemm: pack scratch holds %d floats, want %d", len(pack), packSz))
	}
	if m == 0 || n == 0 || k == 0 {
		return
	}
	if c0 != nil && (kern32 == nil || kern32From == nil || n%32 != 0 || k > kcMax) {
		panic("nn: gemmBlocked: C0 needs kern32 columns and one block of depth")
	}
	packA := pack[:mc*kcMax]
	packBuf := pack[mc*kcMax : mc*kcMax+kcMax*nc]
	tile := pack[mc*kcMax+kcMax*nc : packSz]
	sa, sp := lda, 1 // A(r, p) = a[r*sa + p*sp]
	if transA {
		sa, sp = 1, lda
	}
	// A is copied into panels when read in place a tile's rows (or
	// transposed, its depths) would lie 4 KiB or more apart, where they
	// compete for the same cache sets, and it has more than one tile's
	// rows: the few rows of a small batch's step are read once, and the
	// copy cost more than the reads (a (1, 1024)·(1024, 128) product took
	// 4.8 µs with it); B when it is read in place and its panels serve
	// several tiles.
	copyA := lda >= 1024 && m > mr
	copyB := !bPanels && m >= 4*mr && n >= 8
	for j0 := 0; j0 < n; j0 += nc {
		nb := min(nc, n-j0)
		nv := nb - nb%8 // columns for the vector kernels; the rest are scalar
		for p0, kb := 0, 0; p0 < k; p0 += kb {
			kb = min(kc, k-p0)
			if k-p0 <= kcMax {
				kb = k - p0
			}
			src := bBlock{b: b, ld: ldb, panels: bPanels, rows: ldb, p0: p0, j0: j0}
			if copyB {
				packB(packBuf[:panelsLen(kb, nb)], b[p0*ldb+j0:], ldb, false, kb, nb)
				src = bBlock{b: packBuf, panels: true, rows: kb}
			}
			for i0 := 0; i0 < m; i0 += mc {
				mb := min(mc, m-i0)
				full := mb - mb%mr // rows in full tiles; the rest go through tile
				// Tile t's A: rows i0+t*mr.., depths p0...
				aAt := func(r int) (*float32, int, int) { return &a[(i0+r)*sa+p0*sp], sa, sp }
				if copyA {
					packPanels(packA, a, sa, sp, i0, mb, p0, kb)
					aAt = func(r int) (*float32, int, int) { return &packA[r*kb], 1, mr }
				} else if full < mb && (i0+full+mr-1)*sa+(p0+kb-1)*sp >= cap(a) {
					// The rows past the last full tile cannot be read in
					// place: copy them.
					packPanels(packA, a, sa, sp, i0+full, mb-full, p0, kb)
					tail := full
					inPlace := aAt
					aAt = func(r int) (*float32, int, int) {
						if r < tail {
							return inPlace(r)
						}
						return &packA[0], 1, mr
					}
				}
				// fullTiles runs the full tiles of columns j..j+width-1.
				fullTiles := func(kern microkernel, j int) {
					bp, lb := src.at(0, j)
					for r := 0; r < full; r += mr {
						ap, asa, asp := aAt(r)
						if c0 != nil {
							kern32From(kb, ap, asa, asp, bp, lb, &c[(i0+r)*ldc+j0+j], ldc, &c0[(i0+r)*ldc0+j0+j], ldc0, mr)
							continue
						}
						kern(kb, ap, asa, asp, bp, lb, &c[(i0+r)*ldc+j0+j], ldc)
					}
				}
				// tailFrom is where the rows past the full tiles start
				// from at column j: C0's rows, or C's own.
				tailFrom := func(j int) (*float32, int) {
					if c0 != nil {
						return &c0[(i0+full)*ldc0+j0+j], ldc0
					}
					return &c[(i0+full)*ldc+j0+j], ldc
				}
				for j := 0; j < nv; {
					kern, width := kern8, 8
					switch {
					case kern32 != nil && nv-j >= 32:
						kern, width = kern32, 32
					case nv-j >= 16:
						kern, width = kern16, 16
					}
					if tail := mb - full; width == 32 && kern64From != nil && nv-j >= 64 && tail <= wideRows && tail > 0 {
						// Two panels: their full tiles, then the few rows
						// past them as one 64-wide tile.
						fullTiles(kern, j)
						fullTiles(kern, j+32)
						bp, lb := src.at(0, j)
						bp2, _ := src.at(0, j+32)
						ap, asa, asp := aAt(full)
						from, ldf := tailFrom(j)
						kern64From(kb, ap, asa, asp, bp, lb, bp2, &c[(i0+full)*ldc+j0+j], ldc, from, ldf, tail)
						j += 64
						continue
					}
					fullTiles(kern, j)
					bp, lb := src.at(0, j)
					switch {
					case full < mb && width == 32 && kern32From != nil:
						ap, asa, asp := aAt(full)
						from, ldf := tailFrom(j)
						kern32From(kb, ap, asa, asp, bp, lb, &c[(i0+full)*ldc+j0+j], ldc, from, ldf, mb-full)
					case full < mb:
						for r := range mb - full {
							copy(tile[r*nr:r*nr+width], c[(i0+full+r)*ldc+j0+j:])
						}
						ap, asa, asp := aAt(full)
						kern(kb, ap, asa, asp, bp, lb, &tile[0], nr)
						for r := range mb - full {
							copy(c[(i0+full+r)*ldc+j0+j:(i0+full+r)*ldc+j0+j+width], tile[r*nr:])
						}
					}
					j += width
				}
				for j := nv; j < nb; j++ {
					for i := i0; i < i0+mb; i++ {
						acc := c[i*ldc+j0+j]
						for p := range kb {
							acc += a[i*sa+(p0+p)*sp] * src.elem(p, j)
						}
						c[i*ldc+j0+j] = acc
					}
				}
			}
		}
	}
}

// packPanels copies rows first..first+rows and depths p0..p0+kb of A
// (element (r, p) at a[r*sa + p*sp]) into dst as panels of mr rows, each
// stored depth by depth: row first+q*mr+r, depth p0+p at
// dst[q*mr*kb + p*mr + r]. The last panel's missing rows are zero.
func packPanels(dst, a []float32, sa, sp, first, rows, p0, kb int) {
	panels := (rows + mr - 1) / mr
	if rows%mr != 0 {
		last := dst[(panels-1)*mr*kb : panels*mr*kb]
		clear(last)
	}
	if sa == 1 {
		// Transposed A: depth p's rows are contiguous; read each once.
		full := rows / mr
		for p := range kb {
			src := a[first+(p0+p)*sp : first+(p0+p)*sp+rows]
			for q := range full {
				*(*[mr]float32)(dst[q*mr*kb+p*mr:]) = *(*[mr]float32)(src[q*mr:])
			}
			if full < panels {
				copy(dst[full*mr*kb+p*mr:], src[full*mr:])
			}
		}
		return
	}
	for r := range rows {
		src := a[(first+r)*sa+p0*sp:]
		d := dst[(r/mr)*mr*kb+r%mr:]
		for p := range kb {
			d[p*mr] = src[p*sp]
		}
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
	checkAC(name, c, ldc, a, lda, transA, m, n, k)
	checkMat(name, "B", b, k, n, ldb)
}

// checkAC is checkGemm for A and C.
func checkAC(name string, c []float32, ldc int, a []float32, lda int, transA bool, m, n, k int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("nn: %s: negative size m=%d n=%d k=%d", name, m, n, k))
	}
	if transA {
		checkMat(name, "A", a, k, m, lda)
	} else {
		checkMat(name, "A", a, m, k, lda)
	}
	checkMat(name, "C", c, m, n, ldc)
}

// checkMat panics unless s holds a (rows, cols) matrix with leading
// dimension ld.
func checkMat(name, what string, s []float32, rows, cols, ld int) {
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
