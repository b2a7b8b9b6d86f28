//go:build linux

package jobs

import (
	"errors"

	"golang.org/x/sys/unix"
)

// exchangeDirs swaps two existing folders in one step (renameat2 with
// RENAME_EXCHANGE). It returns errNoExchange where the file system does not
// support it.
func exchangeDirs(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return errNoExchange
	}
	return err
}
