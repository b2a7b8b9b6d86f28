package stages

import (
	"runtime"
	"sync/atomic"
	"time"
)

// crew runs the indexes of a job on the calling goroutine and up to
// helpers more. Training forks and joins three times a batch (the
// gradient parts, then two passes over the gradient chunks), a few
// hundred microseconds apart: a helper that finishes a job waits for the
// next one spinning, for up to crewSpin, instead of parking its thread, so
// that no fork waits for a sleeping thread to wake; a helper that waits
// longer exits, so an idle crew holds no goroutine. The caller takes
// indexes too, so a job never waits for a helper to start.
type crew struct {
	helpers int
	alive   atomic.Int32            // helpers running
	posted  atomic.Pointer[crewJob] // the newest job
}

// crewSpin is how long a helper waits for the next job before it exits.
const crewSpin = 200 * time.Microsecond

// crewJob is one call of run: indexes 0..n-1 of f.
type crewJob struct {
	f          func(i int)
	n          int64
	next, done atomic.Int64 // the next index to take; indexes finished
}

// work takes and runs indexes until none are left.
func (j *crewJob) work() {
	for i := j.next.Add(1) - 1; i < j.n; i = j.next.Add(1) - 1 {
		j.f(int(i))
		j.done.Add(1)
	}
}

// run calls f(0), ..., f(n-1), on the calling goroutine and the crew's
// helpers, and returns when all have returned.
func (c *crew) run(n int, f func(i int)) {
	if c.helpers == 0 || n == 1 {
		for i := range n {
			f(i)
		}
		return
	}
	j := &crewJob{f: f, n: int64(n)}
	c.posted.Store(j)
	for a := c.alive.Load(); a < int32(min(c.helpers, n-1)); a = c.alive.Load() {
		if c.alive.CompareAndSwap(a, a+1) {
			go c.helper(j)
		}
	}
	j.work()
	for j.done.Load() < j.n {
		runtime.Gosched()
	}
}

// helper works on job j, then on each newer job posted, until none comes
// for crewSpin.
func (c *crew) helper(j *crewJob) {
	for {
		j.work()
		since := time.Now()
		for spins := 0; c.posted.Load() == j; spins++ {
			if spins%64 == 63 && time.Since(since) > crewSpin {
				// Leave, unless a job came meanwhile: run may have counted
				// this helper alive and started none for it, and a job
				// whose indexes wait for each other (nn.Pair) would then
				// wait for ever.
				c.alive.Add(-1)
				if c.posted.Load() == j {
					return
				}
				c.alive.Add(1)
				break
			}
			runtime.Gosched()
		}
		j = c.posted.Load()
	}
}
