package nn

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePageMin is the smallest buffer adviseHuge asks huge pages for.
const hugePageMin = 4 << 20

// adviseHuge asks the kernel to back the 2 MiB-aligned interior of s with
// transparent huge pages (MADV_HUGEPAGE), before anything touches it. A
// training workspace's activations are hundreds of MiB at L=H=256, and
// first touching them a 4 KiB page at a time cost more than the epoch's
// matrix products in a virtual machine, where a page fault is dear. Where
// the kernel's THP setting is "never", or for memory the runtime reused
// (already touched), the advice does nothing; errors are ignored.
func adviseHuge[T float32 | int](s []T) {
	var zero T
	n := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if n < hugePageMin {
		return
	}
	const huge = 2 << 20
	p := unsafe.Pointer(unsafe.SliceData(s))
	start := uintptr(p)
	lo, hi := (start+huge-1)&^(huge-1), (start+n)&^(huge-1)
	if hi <= lo {
		return
	}
	unix.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, lo-start)), hi-lo), unix.MADV_HUGEPAGE)
}
