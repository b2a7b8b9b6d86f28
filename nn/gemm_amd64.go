//go:build !purego

package nn

import "golang.org/x/sys/cpu"

//go:noescape
func kern16AVX2(k int, a, b *float32, ldb int, c *float32, ldc int)

//go:noescape
func kern8AVX2(k int, a, b *float32, ldb int, c *float32, ldc int)

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		kern16, kern8 = kern16AVX2, kern8AVX2
	}
}

var (
	cellForward  = cellForwardGo
	cellBackward = cellBackwardGo
)
