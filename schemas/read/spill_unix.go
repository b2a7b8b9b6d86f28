//go:build unix

package read

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// lockSpill takes an exclusive flock on f without waiting; it fails when
// another open file holds one, and is errors.ErrUnsupported where the
// file system has no flock. The lock lasts until f is closed.
func lockSpill(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch err {
		case unix.EINTR:
			continue
		case unix.ENOLCK, unix.EOPNOTSUPP:
			return errors.ErrUnsupported
		}
		return err
	}
}
