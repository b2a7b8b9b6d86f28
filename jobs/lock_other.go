//go:build !unix

package jobs

import "os"

// lockFile has no flock to use outside Unix: commits fall back to
// lockByDir, and staging cleanup to the run's age alone.
func lockFile(*os.File, bool) (func(), error) { return nil, errNoLock }
