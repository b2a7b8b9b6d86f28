//go:build !linux

package nn

// adviseHuge does nothing where there is no madvise(MADV_HUGEPAGE).
func adviseHuge[T float32 | int](s []T) {}
