//go:build !unix

package read

import (
	"errors"
	"os"
)

// lockSpill cannot lock here, so spill folders left by a killed process
// are never taken as free.
func lockSpill(*os.File) error { return errors.ErrUnsupported }
