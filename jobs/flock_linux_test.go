package jobs

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// flockWaiters counts the processes' flock requests blocked on f, from
// /proc/locks (the test skips where it cannot read it).
func flockWaiters(t *testing.T, f *os.File) int {
	t.Helper()
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Skipf("no /proc/locks to see the lock's waiters: %v", err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	ino, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no inode numbers")
	}
	suffix := fmt.Sprintf(":%d", ino.Ino)
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 7 && fields[1] == "->" && fields[2] == "FLOCK" && strings.HasSuffix(fields[6], suffix) {
			n++
		}
	}
	return n
}
