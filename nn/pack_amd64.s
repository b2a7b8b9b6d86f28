//go:build !purego

#include "textflag.h"

// Four src rows from base (rows 0 to 3 of base's group of four).
#define LOAD4(base, r0, r1, r2, r3) \
	VMOVUPS (base), r0         \
	VMOVUPS (base)(BX*1), r1   \
	VMOVUPS (base)(BX*2), r2   \
	VMOVUPS (base)(R13*1), r3

// Rows a and b interleaved float by float, per 128-bit lane: lo takes
// floats 0 and 1 of each lane of both, hi floats 2 and 3.
#define PAIRS(a, b, lo, hi) \
	VUNPCKLPS b, a, lo \
	VUNPCKHPS b, a, hi

// Four rows' PAIRS (t0, t1 of rows 0-1; t2, t3 of rows 2-3) interleaved by
// pairs: s0 to s3 hold, in each 128-bit lane, column 0 to 3 of the lane's
// four columns for the four rows.
#define QUADS(t0, t1, t2, t3, s0, s1, s2, s3) \
	VUNPCKLPD t2, t0, s0 \
	VUNPCKHPD t2, t0, s1 \
	VUNPCKLPD t3, t1, s2 \
	VUNPCKHPD t3, t1, s3

// Column c of each lane, from QUADS of rows 0-3 (a), 4-7 (b), 8-11 (c)
// and 12-15 (d), gathered lane by lane into dst rows c, 4+c, 8+c and 12+c
// (at d0 to d3); x0, x1, y0, y1 and o0 to o3 are scratch.
#define LANES(a, b, c, d, x0, x1, y0, y1, o0, o1, o2, o3, d0, d1, d2, d3) \
	VSHUFF32X4 $0x44, b, a, x0  \
	VSHUFF32X4 $0xEE, b, a, x1  \
	VSHUFF32X4 $0x44, d, c, y0  \
	VSHUFF32X4 $0xEE, d, c, y1  \
	VSHUFF32X4 $0x88, y0, x0, o0 \
	VSHUFF32X4 $0xDD, y0, x0, o1 \
	VSHUFF32X4 $0x88, y1, x1, o2 \
	VSHUFF32X4 $0xDD, y1, x1, o3 \
	VMOVUPS    o0, d0            \
	VMOVUPS    o1, d1            \
	VMOVUPS    o2, d2            \
	VMOVUPS    o3, d3

// func transpose16AVX512(dst *float32, ldd int, src *float32, lds int, blocks int)
// Transposes blocks 16x16 blocks side by side along src's rows: rows i =
// 0..15 of src (at src + i*lds) hold 16*blocks floats, and float p of row i
// goes to float i of dst's row p (at dst + p*ldd). Registers: SI and R10 to
// R12 src rows 0, 4, 8 and 12 of the block, BX lds and R13 3*lds in bytes;
// DI, AX, R8 and R9 dst rows 0, 4, 8 and 12, DX ldd and R14 3*ldd in bytes;
// CX the blocks left. The rows are read into Z0-Z15, interleaved in pairs
// of floats (Z16-Z31), then of pairs (Z0-Z15, each 128-bit lane a 4x4 block
// transposed), and the lanes gathered by two rounds of VSHUFF32X4.
TEXT ·transpose16AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), DX
	SHLQ $2, DX
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), BX
	SHLQ $2, BX
	MOVQ blocks+32(FP), CX
	LEAQ (BX)(BX*2), R13
	LEAQ (DX)(DX*2), R14
	TESTQ CX, CX
	JZ    done

loop:
	LEAQ (SI)(BX*4), R10
	LEAQ (R10)(BX*4), R11
	LEAQ (R11)(BX*4), R12
	LEAQ (DI)(DX*4), AX
	LEAQ (AX)(DX*4), R8
	LEAQ (R8)(DX*4), R9
	LOAD4(SI, Z0, Z1, Z2, Z3)
	LOAD4(R10, Z4, Z5, Z6, Z7)
	LOAD4(R11, Z8, Z9, Z10, Z11)
	LOAD4(R12, Z12, Z13, Z14, Z15)

	PAIRS(Z0, Z1, Z16, Z17)
	PAIRS(Z2, Z3, Z18, Z19)
	PAIRS(Z4, Z5, Z20, Z21)
	PAIRS(Z6, Z7, Z22, Z23)
	PAIRS(Z8, Z9, Z24, Z25)
	PAIRS(Z10, Z11, Z26, Z27)
	PAIRS(Z12, Z13, Z28, Z29)
	PAIRS(Z14, Z15, Z30, Z31)
	QUADS(Z16, Z17, Z18, Z19, Z0, Z1, Z2, Z3)
	QUADS(Z20, Z21, Z22, Z23, Z4, Z5, Z6, Z7)
	QUADS(Z24, Z25, Z26, Z27, Z8, Z9, Z10, Z11)
	QUADS(Z28, Z29, Z30, Z31, Z12, Z13, Z14, Z15)
	LANES(Z0, Z4, Z8, Z12, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, (DI), (AX), (R8), (R9))
	LANES(Z1, Z5, Z9, Z13, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31, (DI)(DX*1), (AX)(DX*1), (R8)(DX*1), (R9)(DX*1))
	LANES(Z2, Z6, Z10, Z14, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, (DI)(DX*2), (AX)(DX*2), (R8)(DX*2), (R9)(DX*2))
	LANES(Z3, Z7, Z11, Z15, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31, (DI)(R14*1), (AX)(R14*1), (R8)(R14*1), (R9)(R14*1))
	ADDQ $64, SI
	LEAQ (R9)(DX*4), DI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET
