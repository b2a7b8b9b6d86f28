//go:build !purego

#include "textflag.h"

// AVX2/FMA microkernels of gemm: C (mr=6 rows) += A · B, see the
// microkernel type in gemm.go. Registers: SI A rows 0-2 and R13 A rows 3-5
// at depth p, R11 A's row stride and R12 its depth stride in bytes, DI B row
// p, R8 ldb in bytes, DX C, R9 ldc in bytes, CX the remaining depth, R10 a
// C row.

#define ARGS \
	MOVQ k+0(FP), CX      \
	MOVQ a+8(FP), SI      \
	MOVQ sa+16(FP), R11   \
	SHLQ $2, R11          \
	MOVQ sp+24(FP), R12   \
	SHLQ $2, R12          \
	LEAQ (SI)(R11*2), R13 \
	ADDQ R11, R13         \
	MOVQ b+32(FP), DI     \
	MOVQ ldb+40(FP), R8   \
	SHLQ $2, R8           \
	MOVQ c+48(FP), DX     \
	MOVQ ldc+56(FP), R9   \
	SHLQ $2, R9           \
	MOVQ DX, R10

#define NEXT \
	ADDQ R12, SI  \
	ADDQ R12, R13 \
	ADDQ R8, DI   \
	DECQ CX

// Rows of two vectors (16 floats): accumulators Y0..Y11, B in Y12 Y13.
#define LOAD2(y0, y1) VMOVUPS (R10), y0; VMOVUPS 32(R10), y1; ADDQ R9, R10
#define STORE2(y0, y1) VMOVUPS y0, (R10); VMOVUPS y1, 32(R10); ADDQ R9, R10
#define FMA2(addr, y0, y1) \
	VBROADCASTSS addr, Y15           \
	VFMADD231PS  Y12, Y15, y0        \
	VFMADD231PS  Y13, Y15, y1

// func kern16AVX2(k int, a *float32, sa, sp int, b *float32, ldb int, c *float32, ldc int)
TEXT ·kern16AVX2(SB), NOSPLIT, $0-64
	ARGS
	LOAD2(Y0, Y1)
	LOAD2(Y2, Y3)
	LOAD2(Y4, Y5)
	LOAD2(Y6, Y7)
	LOAD2(Y8, Y9)
	LOAD2(Y10, Y11)
	TESTQ CX, CX
	JZ    store16

loop16:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	FMA2((SI), Y0, Y1)
	FMA2((SI)(R11*1), Y2, Y3)
	FMA2((SI)(R11*2), Y4, Y5)
	FMA2((R13), Y6, Y7)
	FMA2((R13)(R11*1), Y8, Y9)
	FMA2((R13)(R11*2), Y10, Y11)
	NEXT
	JNZ  loop16

store16:
	MOVQ DX, R10
	STORE2(Y0, Y1)
	STORE2(Y2, Y3)
	STORE2(Y4, Y5)
	STORE2(Y6, Y7)
	STORE2(Y8, Y9)
	STORE2(Y10, Y11)
	VZEROUPPER
	RET

// Rows of one vector (8 floats): accumulators Y0..Y5, B in Y12.
#define LOAD1(y0) VMOVUPS (R10), y0; ADDQ R9, R10
#define STORE1(y0) VMOVUPS y0, (R10); ADDQ R9, R10
#define FMA1(addr, y0) \
	VBROADCASTSS addr, Y15           \
	VFMADD231PS  Y12, Y15, y0

// func kern8AVX2(k int, a *float32, sa, sp int, b *float32, ldb int, c *float32, ldc int)
TEXT ·kern8AVX2(SB), NOSPLIT, $0-64
	ARGS
	LOAD1(Y0)
	LOAD1(Y1)
	LOAD1(Y2)
	LOAD1(Y3)
	LOAD1(Y4)
	LOAD1(Y5)
	TESTQ CX, CX
	JZ    store8

loop8:
	VMOVUPS (DI), Y12
	FMA1((SI), Y0)
	FMA1((SI)(R11*1), Y1)
	FMA1((SI)(R11*2), Y2)
	FMA1((R13), Y3)
	FMA1((R13)(R11*1), Y4)
	FMA1((R13)(R11*2), Y5)
	NEXT
	JNZ  loop8

store8:
	MOVQ DX, R10
	STORE1(Y0)
	STORE1(Y1)
	STORE1(Y2)
	STORE1(Y3)
	STORE1(Y4)
	STORE1(Y5)
	VZEROUPPER
	RET

// Rows of two 16-float vectors (32 floats), AVX-512: accumulators Z0..Z11,
// B in Z12 Z13, A broadcast once into Z14 for the row's two multiply-adds.
// (Broadcasting from memory inside each multiply-add, VFMADD231PS.BCST,
// loads A twice per row and ran about 25 % slower on AMD Zen 5: 155 against
// 195 GFLOP/s on a tile in L1.)
#define LOADZ(z0, z1) VMOVUPS (R10), z0; VMOVUPS 64(R10), z1; ADDQ R9, R10
#define STOREZ(z0, z1) VMOVUPS z0, (R10); VMOVUPS z1, 64(R10); ADDQ R9, R10
#define FMAZ(addr, z0, z1) \
	VBROADCASTSS addr, Z14   \
	VFMADD231PS  Z12, Z14, z0 \
	VFMADD231PS  Z13, Z14, z1

// One depth step of the 6×32 tile: B's row p in Z12 Z13, each of A's six
// elements at depth p broadcast and multiplied in; then the next depth.
#define STEPZ \
	VMOVUPS (DI), Z12            \
	VMOVUPS 64(DI), Z13          \
	FMAZ((SI), Z0, Z1)           \
	FMAZ((SI)(R11*1), Z2, Z3)    \
	FMAZ((SI)(R11*2), Z4, Z5)    \
	FMAZ((R13), Z6, Z7)          \
	FMAZ((R13)(R11*1), Z8, Z9)   \
	FMAZ((R13)(R11*2), Z10, Z11) \
	NEXT

// func kern32AVX512(k int, a *float32, sa, sp int, b *float32, ldb int, c *float32, ldc int)
TEXT ·kern32AVX512(SB), NOSPLIT, $0-64
	ARGS
	LOADZ(Z0, Z1)
	LOADZ(Z2, Z3)
	LOADZ(Z4, Z5)
	LOADZ(Z6, Z7)
	LOADZ(Z8, Z9)
	LOADZ(Z10, Z11)
	TESTQ CX, CX
	JZ    store32

loop32:
	STEPZ
	JNZ  loop32

store32:
	MOVQ DX, R10
	STOREZ(Z0, Z1)
	STOREZ(Z2, Z3)
	STOREZ(Z4, Z5)
	STOREZ(Z6, Z7)
	STOREZ(Z8, Z9)
	STOREZ(Z10, Z11)
	VZEROUPPER
	RET

// Rows loaded from C0 (R10, its row stride in AX) rather than C.
#define LOADZ0(z0, z1) VMOVUPS (R10), z0; VMOVUPS 64(R10), z1; ADDQ AX, R10

// func kern32FromAVX512(k int, a *float32, sa, sp int, b *float32, ldb int, c *float32, ldc int, c0 *float32, ldc0 int, rows int)
// kern32AVX512 on the first rows (1 to mr) of a tile, C = C0 + A·B: the
// accumulators start from C0's rows (row stride ldc0, which may be 0: one
// row for all, a bias) and only the first rows of C are written. The other
// rows are computed from zeros and dropped, so a tile of fewer rows needs
// no copy through scratch; with c0 = c and ldc0 = ldc it is C += A·B. A's
// rows are read as by kern32AVX512 (all mr of them: the caller makes them
// readable). The multiply-adds are kern32AVX512's, in its order.
TEXT ·kern32FromAVX512(SB), NOSPLIT, $0-88
	ARGS
	MOVQ c0+64(FP), R10
	MOVQ ldc0+72(FP), AX
	SHLQ $2, AX
	MOVQ rows+80(FP), BX
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	LOADZ0(Z0, Z1)
	CMPQ BX, $2
	JLT  loadedF
	LOADZ0(Z2, Z3)
	CMPQ BX, $3
	JLT  loadedF
	LOADZ0(Z4, Z5)
	CMPQ BX, $4
	JLT  loadedF
	LOADZ0(Z6, Z7)
	CMPQ BX, $5
	JLT  loadedF
	LOADZ0(Z8, Z9)
	CMPQ BX, $6
	JLT  loadedF
	LOADZ0(Z10, Z11)

loadedF:
	TESTQ CX, CX
	JZ    storeF

loopF:
	STEPZ
	JNZ  loopF

storeF:
	MOVQ DX, R10
	STOREZ(Z0, Z1)
	CMPQ BX, $2
	JLT  doneF
	STOREZ(Z2, Z3)
	CMPQ BX, $3
	JLT  doneF
	STOREZ(Z4, Z5)
	CMPQ BX, $4
	JLT  doneF
	STOREZ(Z6, Z7)
	CMPQ BX, $5
	JLT  doneF
	STOREZ(Z8, Z9)
	CMPQ BX, $6
	JLT  doneF
	STOREZ(Z10, Z11)

doneF:
	VZEROUPPER
	RET

// A row of 64 floats, AVX-512, for kern64FromAVX512: C0's row into four
// accumulators (R10, row stride AX), and the four back to C's row (R10,
// row stride R9).
#define LOADW0(z0, z1, z2, z3) VMOVUPS (R10), z0; VMOVUPS 64(R10), z1; VMOVUPS 128(R10), z2; VMOVUPS 192(R10), z3; ADDQ AX, R10
#define STOREW(z0, z1, z2, z3) VMOVUPS z0, (R10); VMOVUPS z1, 64(R10); VMOVUPS z2, 128(R10); VMOVUPS z3, 192(R10); ADDQ R9, R10

// One row's four multiply-adds at depth p: A's element broadcast into zb,
// times B's 64 floats in Z12 Z13 Z15 Z16.
#define FMAW(addr, zb, z0, z1, z2, z3) \
	VBROADCASTSS addr, zb      \
	VFMADD231PS  Z12, zb, z0   \
	VFMADD231PS  Z13, zb, z1   \
	VFMADD231PS  Z15, zb, z2   \
	VFMADD231PS  Z16, zb, z3

// B's row p: 32 floats at DI (a panel, or columns j..j+31) and 32 at R13
// (the next panel, or columns j+32..j+63).
// Rows 0 to 2's multiply-adds at depth p.
#define FMAW3 \
	FMAW((SI), Z14, Z0, Z1, Z2, Z3)         \
	FMAW((SI)(R11*1), Z17, Z4, Z5, Z6, Z7)  \
	FMAW((SI)(R11*2), Z18, Z8, Z9, Z10, Z11)

#define LOADB64 \
	VMOVUPS (DI), Z12    \
	VMOVUPS 64(DI), Z13  \
	VMOVUPS (R13), Z15   \
	VMOVUPS 64(R13), Z16

#define NEXTW \
	ADDQ R12, SI  \
	ADDQ R12, R14 \
	ADDQ R8, DI   \
	ADDQ R8, R13  \
	DECQ CX

// func kern64FromAVX512(k int, a *float32, sa, sp int, b *float32, ldb int, b2 *float32, c *float32, ldc int, c0 *float32, ldc0 int, rows int)
// C = C0 + A·B on a tile of 1 to 5 rows and 64 columns: B's columns 0..31
// at b and 32..63 at b2, both with row stride ldb (two panels, or one
// row-major B with b2 = b+32). It multiplies only the tile's rows, where
// kern32FromAVX512 computes all six and drops the rest: a row's four
// accumulators (or a few rows' eight to twenty) keep the multiply-add units
// busier than the one row of a 32-wide tile, whose two chains wait on the
// multiply-add's latency. Rows 0-2 are at SI, rows 3-4 at R14; row r's
// accumulators are Z(4r)..Z(4r+3) for rows 0-2 and Z19.. for rows 3-4. C0's
// rows have stride ldc0 (0: one row for all); with c0 = c and ldc0 = ldc it
// is C += A·B. Each element takes the same fused multiply-adds in the same
// order as in kern32AVX512, so the bits are the same.
TEXT ·kern64FromAVX512(SB), NOSPLIT, $0-96
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ sa+16(FP), R11
	SHLQ $2, R11
	MOVQ sp+24(FP), R12
	SHLQ $2, R12
	LEAQ (SI)(R11*2), R14
	ADDQ R11, R14
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), R8
	SHLQ $2, R8
	MOVQ b2+48(FP), R13
	MOVQ c+56(FP), DX
	MOVQ ldc+64(FP), R9
	SHLQ $2, R9
	MOVQ c0+72(FP), R10
	MOVQ ldc0+80(FP), AX
	SHLQ $2, AX
	MOVQ rows+88(FP), BX
	LOADW0(Z0, Z1, Z2, Z3)
	CMPQ BX, $2
	JLT  oneW
	LOADW0(Z4, Z5, Z6, Z7)
	CMPQ BX, $3
	JLT  twoW
	LOADW0(Z8, Z9, Z10, Z11)
	CMPQ BX, $4
	JLT  threeW
	LOADW0(Z19, Z20, Z21, Z22)
	CMPQ BX, $5
	JLT  fourW
	LOADW0(Z23, Z24, Z25, Z26)
	TESTQ CX, CX
	JZ    storeW

loop5W:
	LOADB64
	FMAW3
	FMAW((R14), Z27, Z19, Z20, Z21, Z22)
	FMAW((R14)(R11*1), Z28, Z23, Z24, Z25, Z26)
	NEXTW
	JNZ loop5W
	JMP storeW

fourW:
	TESTQ CX, CX
	JZ    storeW

loop4W:
	LOADB64
	FMAW3
	FMAW((R14), Z27, Z19, Z20, Z21, Z22)
	NEXTW
	JNZ loop4W
	JMP storeW

threeW:
	TESTQ CX, CX
	JZ    storeW

loop3W:
	LOADB64
	FMAW3
	NEXTW
	JNZ loop3W
	JMP storeW

twoW:
	TESTQ CX, CX
	JZ    storeW

loop2W:
	LOADB64
	FMAW((SI), Z14, Z0, Z1, Z2, Z3)
	FMAW((SI)(R11*1), Z17, Z4, Z5, Z6, Z7)
	NEXTW
	JNZ loop2W
	JMP storeW

oneW:
	TESTQ CX, CX
	JZ    storeW

loop1W:
	LOADB64
	FMAW((SI), Z14, Z0, Z1, Z2, Z3)
	NEXTW
	JNZ loop1W

storeW:
	MOVQ DX, R10
	STOREW(Z0, Z1, Z2, Z3)
	CMPQ BX, $2
	JLT  doneW
	STOREW(Z4, Z5, Z6, Z7)
	CMPQ BX, $3
	JLT  doneW
	STOREW(Z8, Z9, Z10, Z11)
	CMPQ BX, $4
	JLT  doneW
	STOREW(Z19, Z20, Z21, Z22)
	CMPQ BX, $5
	JLT  doneW
	STOREW(Z23, Z24, Z25, Z26)

doneW:
	VZEROUPPER
	RET
