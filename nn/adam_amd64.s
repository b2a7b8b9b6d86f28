//go:build !purego

#include "textflag.h"

// func adamAVX2(p, grad, m, v *float32, n int, b1, c1, b2, c2, step, bc2Sqrt, eps float32)
// adamUpdate on n (a multiple of 8) elements, 8 at a time, with the Go
// loop's operations in its order and no fused multiply-add, so that the
// bits are the same: c1 = 1-b1, c2 = 1-b2.
TEXT ·adamAVX2(SB), NOSPLIT, $0-68
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   done
	VBROADCASTSS b1+40(FP), Y8
	VBROADCASTSS c1+44(FP), Y9
	VBROADCASTSS b2+48(FP), Y10
	VBROADCASTSS c2+52(FP), Y11
	VBROADCASTSS step+56(FP), Y12
	VBROADCASTSS bc2Sqrt+60(FP), Y13
	VBROADCASTSS eps+64(FP), Y14

loop:
	VMOVUPS (SI), Y0
	VMULPS  (DX), Y8, Y1  // b1 m
	VMULPS  Y0, Y9, Y2    // (1-b1) g
	VADDPS  Y2, Y1, Y1    // m
	VMOVUPS Y1, (DX)
	VMULPS  (R8), Y10, Y3 // b2 v
	VMULPS  Y0, Y11, Y4   // (1-b2) g
	VMULPS  Y0, Y4, Y4    // (1-b2) g g
	VADDPS  Y4, Y3, Y3    // v
	VMOVUPS Y3, (R8)
	VSQRTPS Y3, Y3
	VDIVPS  Y13, Y3, Y3   // sqrt(v) / bc2Sqrt
	VADDPS  Y14, Y3, Y3   // + eps
	VMULPS  Y1, Y12, Y5   // step m
	VDIVPS  Y3, Y5, Y5
	VMOVUPS (DI), Y6
	VSUBPS  Y5, Y6, Y6
	VMOVUPS Y6, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET
