package stages

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestCrew: every index of every job runs exactly once, before run
// returns, whatever the job's size against the helpers; an idle crew's
// helpers exit.
func TestCrew(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, helpers := range []int{0, 1, 3} {
		c := &crew{helpers: helpers}
		for job := range 300 {
			n := 1 + job%7
			var calls [7]atomic.Int32
			c.run(n, func(i int) {
				if job%50 == 0 {
					time.Sleep(time.Millisecond) // a helper waits past crewSpin between some jobs
				}
				calls[i].Add(1)
			})
			for i := range calls {
				if got, want := calls[i].Load(), int32(min(1, max(0, n-i))); got != want {
					t.Fatalf("%d helpers, job %d of %d indexes: index %d ran %d times, want %d", helpers, job, n, i, got, want)
				}
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after the crews went idle, %d before", n, before)
	}
}
