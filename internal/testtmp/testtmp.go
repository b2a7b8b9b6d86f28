// Package testtmp puts a package's test scratch folders (t.TempDir,
// os.MkdirTemp) in memory.
package testtmp

import (
	"os"
	"testing"
)

// Main runs m and exits with its code. Where TMPDIR is not set and the
// machine has /dev/shm (a tmpfs on Linux), the tests run with TMPDIR in a
// fresh folder there, removed afterwards; elsewhere, or with TMPDIR set,
// TMPDIR is left as it is. Tests that write, sync, rename and remove
// thousands of small files (a commit killed at each of its steps) spent
// most of their time waiting on a disk that other processes share, not in
// the code under test; on a tmpfs the same calls are made and the same
// states reached, without that wait.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("TMPDIR") != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("/dev/shm", "seqae-test-")
	if err != nil {
		return m.Run()
	}
	defer os.RemoveAll(dir)
	if err := os.Setenv("TMPDIR", dir); err != nil {
		return m.Run()
	}
	return m.Run()
}
