//go:build !purego

#include "textflag.h"

// AVX2/FMA microkernels of gemm: C (mr=6 rows) += A panel · B, see the
// microkernel type in gemm.go. Registers: SI packed A, DI B row, R8 ldb in
// bytes, DX C, R9 ldc in bytes, CX the remaining depth, R10 a C row.

#define ARGS \
	MOVQ k+0(FP), CX     \
	MOVQ a+8(FP), SI     \
	MOVQ b+16(FP), DI    \
	MOVQ ldb+24(FP), R8  \
	SHLQ $2, R8          \
	MOVQ c+32(FP), DX    \
	MOVQ ldc+40(FP), R9  \
	SHLQ $2, R9          \
	MOVQ DX, R10

// Rows of two vectors (16 floats): accumulators Y0..Y11, B in Y12 Y13.
#define LOAD2(y0, y1) VMOVUPS (R10), y0; VMOVUPS 32(R10), y1; ADDQ R9, R10
#define STORE2(y0, y1) VMOVUPS y0, (R10); VMOVUPS y1, 32(R10); ADDQ R9, R10
#define FMA2(off, y0, y1) \
	VBROADCASTSS off(SI), Y15        \
	VFMADD231PS  Y12, Y15, y0        \
	VFMADD231PS  Y13, Y15, y1

// func kern16AVX2(k int, a, b *float32, ldb int, c *float32, ldc int)
TEXT ·kern16AVX2(SB), NOSPLIT, $0-48
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
	FMA2(0, Y0, Y1)
	FMA2(4, Y2, Y3)
	FMA2(8, Y4, Y5)
	FMA2(12, Y6, Y7)
	FMA2(16, Y8, Y9)
	FMA2(20, Y10, Y11)
	ADDQ $24, SI
	ADDQ R8, DI
	DECQ CX
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
#define FMA1(off, y0) \
	VBROADCASTSS off(SI), Y15        \
	VFMADD231PS  Y12, Y15, y0

// func kern8AVX2(k int, a, b *float32, ldb int, c *float32, ldc int)
TEXT ·kern8AVX2(SB), NOSPLIT, $0-48
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
	FMA1(0, Y0)
	FMA1(4, Y1)
	FMA1(8, Y2)
	FMA1(12, Y3)
	FMA1(16, Y4)
	FMA1(20, Y5)
	ADDQ $24, SI
	ADDQ R8, DI
	DECQ CX
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
