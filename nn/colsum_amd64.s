//go:build !purego

#include "textflag.h"

// func colSumAVX2(dst, a *float32, rows, cols int)
// colSum for cols a multiple of 8: dst[j] += a[r*cols+j] for r = 0, 1, ...
// in that order, as the Go loop adds them, so the bits are the same. Each
// block of 32 (then 8) columns stays in registers while the rows stream by.
TEXT ·colSumAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ cols+24(FP), DX
	SHLQ $2, DX           // row stride and row width, bytes
	XORQ R9, R9           // the block's first column, bytes

block32:
	MOVQ DX, AX
	SUBQ R9, AX           // bytes of columns left
	CMPQ AX, $128
	JLT  block8
	VMOVUPS 0(DI)(R9*1), Y0
	VMOVUPS 32(DI)(R9*1), Y1
	VMOVUPS 64(DI)(R9*1), Y2
	VMOVUPS 96(DI)(R9*1), Y3
	LEAQ (SI)(R9*1), R10
	MOVQ CX, R11

rows32:
	TESTQ R11, R11
	JZ    store32
	VADDPS 0(R10), Y0, Y0
	VADDPS 32(R10), Y1, Y1
	VADDPS 64(R10), Y2, Y2
	VADDPS 96(R10), Y3, Y3
	ADDQ DX, R10
	DECQ R11
	JMP  rows32

store32:
	VMOVUPS Y0, 0(DI)(R9*1)
	VMOVUPS Y1, 32(DI)(R9*1)
	VMOVUPS Y2, 64(DI)(R9*1)
	VMOVUPS Y3, 96(DI)(R9*1)
	ADDQ $128, R9
	JMP  block32

block8:
	MOVQ DX, AX
	SUBQ R9, AX
	CMPQ AX, $32
	JLT  done
	VMOVUPS 0(DI)(R9*1), Y0
	LEAQ (SI)(R9*1), R10
	MOVQ CX, R11

rows8:
	TESTQ R11, R11
	JZ    store8
	VADDPS 0(R10), Y0, Y0
	ADDQ DX, R10
	DECQ R11
	JMP  rows8

store8:
	VMOVUPS Y0, 0(DI)(R9*1)
	ADDQ $32, R9
	JMP  block8

done:
	VZEROUPPER
	RET
