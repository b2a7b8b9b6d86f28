//go:build !unix

package jobs

import "os"

// lockFile has no flock to use outside Unix: commits fall back to
// lockByDir, and staging cleanup and commit recovery to holder records.
func lockFile(*os.File, bool) (func(), error) { return nil, errNoLock }

// processAlive cannot tell outside Unix: a holder is taken for alive until
// it expires.
func processAlive(int) bool { return true }
