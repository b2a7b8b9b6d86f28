package stages

import (
	"runtime"
	"sync/atomic"
	"time"
)

// crew runs the indexes of a job on the calling goroutine and up to
// helpers more. Training forks and joins several times a batch (the
// gradient parts, or a paired batch's sections, then two passes over the
// gradient chunks), microseconds to milliseconds apart: a helper that
// finishes a job waits for the next one spinning, for up to crewSpin,
// instead of parking its thread, so that no fork waits for a sleeping
// thread to wake; a helper that waits longer exits, so an idle crew holds
// no goroutine. With run the caller takes indexes too, so a job never waits
// for a helper to start; runSplit's indexes past the first do.
type crew struct {
	helpers int
	alive   atomic.Int32            // helpers running
	posted  atomic.Pointer[crewJob] // the newest job
}

// crewSpin is how long a helper waits for the next job before it exits.
const crewSpin = 200 * time.Microsecond

// crewJob is one call of run or runSplit: indexes 0..n-1 of f.
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
	c.post(j)
	j.work()
	c.join(j)
}

// runSplit calls f(0) on the calling goroutine and f(1), ..., f(n-1) on
// the crew's helpers, one each, and returns when all have returned: for a
// job whose indexes wait for each other (nn.Pair's halves), so each needs
// a goroutine of its own, and index 0 stays on the caller's from job to
// job (its half of the weights stays in that core's cache). It needs n-1
// helpers at least.
func (c *crew) runSplit(n int, f func(i int)) {
	if n-1 > c.helpers {
		panic("stages: runSplit needs a helper for every index but the first")
	}
	j := &crewJob{f: f, n: int64(n)}
	j.next.Store(1)
	c.post(j)
	f(0)
	j.done.Add(1)
	c.join(j)
}

// post publishes j and starts helpers for it, up to the crew's number.
func (c *crew) post(j *crewJob) {
	c.posted.Store(j)
	for a := c.alive.Load(); a < int32(min(int64(c.helpers), j.n-1)); a = c.alive.Load() {
		if c.alive.CompareAndSwap(a, a+1) {
			go c.helper(j)
		}
	}
}

// join returns when every index of j has been run.
func (c *crew) join(j *crewJob) {
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
