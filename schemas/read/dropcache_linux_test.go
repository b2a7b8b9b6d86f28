package read

import (
	"os"

	"golang.org/x/sys/unix"
)

// dropCached writes the file's pages out and asks the kernel to drop them
// from the page cache, so that the next read comes from the disk.
func dropCached(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
