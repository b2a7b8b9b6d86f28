// Package heaptest measures the heap in tests and benchmarks.
package heaptest

import (
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// Peaks samples the heap every millisecond until stop is called and
// returns the highest samples of the heap in use (live and not yet
// collected objects) and of the live heap (as marked by the last GC).
func Peaks() (stop func() (peak, live uint64)) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	var peak, live atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			peak.Store(max(peak.Load(), samples[0].Value.Uint64()))
			live.Store(max(live.Load(), samples[1].Value.Uint64()))
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		<-finished
		return peak.Load(), live.Load()
	}
}

// Live returns the live heap as the last collection marked it.
func Live() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
