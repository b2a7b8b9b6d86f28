//go:build unix

package nn

import (
	"syscall"
	"testing"
	"time"
)

// A half that waits long for the other parks instead of spinning: while
// half 1 sleeps (as a thread the OS does not run would), half 0 uses a
// small part of the CPU time that passes, and every step still meets.
func TestPairedWaitParks(t *testing.T) {
	p := NewPair(twoGoroutines)
	const steps, nap = 6, 50 * time.Millisecond
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var done [2]int64
	start, cpu0 := time.Now(), cpu()
	p.run(func(h int) {
		u := &units{half: h, pair: p}
		for range steps {
			if h == 1 {
				time.Sleep(nap)
			}
			u.wait()
		}
		done[h] = u.steps
	})
	wall, used := time.Since(start), cpu()-cpu0
	if done != [2]int64{steps, steps} {
		t.Fatalf("steps met: %v, want %d each", done, steps)
	}
	if wall < steps*nap {
		t.Fatalf("the pair took %v, less than half 1's naps (%v): half 0 did not wait", wall, steps*nap)
	}
	if used > wall/2 {
		t.Errorf("%v of CPU time in %v while one half slept: the other spun instead of parking", used, wall)
	}
}
