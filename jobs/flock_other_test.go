//go:build !linux

package jobs

import (
	"os"
	"testing"
)

// flockWaiters needs Linux's /proc/locks; elsewhere the test skips.
func flockWaiters(t *testing.T, _ *os.File) int {
	t.Helper()
	t.Skip("seeing a lock's waiters needs /proc/locks")
	return 0
}
