package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// PeakGFLOPS measures the machine's float32 matrix-multiply rate with this
// package's own fastest gemm: each of threads goroutines multiplies two
// (n, n) matrices into its own result, together, again and again until
// minTime has passed (after one round to warm up), and the rate is a
// round's multiply-adds (2 FLOPs each) over the time of the fastest round:
// a peak, so that a round slowed by another process on the machine does not
// lower it (and raise the fractions held against it). A product of n=2048
// is large enough to reach the kernels' full speed: the rate is the ceiling
// the model's products can be held against.
func PeakGFLOPS(n, threads int, minTime time.Duration) float64 {
	if n < 1 || threads < 1 {
		panic(fmt.Sprintf("nn: PeakGFLOPS: need n and threads >= 1, got %d and %d", n, threads))
	}
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	a, b := make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = rng.Float32()-0.5, rng.Float32()-0.5
	}
	bp := packB(nil, b, n, false, n, n)
	product := func(c, pack []float32) {
		clear(c)
		gemmPacked(c, n, a, n, false, bp, n, n, n, pack)
	}
	cs := make([][]float32, threads)
	packs := make([][]float32, threads)
	for t := range threads {
		cs[t], packs[t] = make([]float32, n*n), make([]float32, packSz)
	}
	var wg sync.WaitGroup
	run := func() {
		for t := range threads {
			wg.Go(func() { product(cs[t], packs[t]) })
		}
		wg.Wait()
	}
	run()
	fastest, elapsed := time.Duration(math.MaxInt64), time.Duration(0)
	for elapsed == 0 || elapsed < minTime { // one round at least
		start := time.Now()
		run()
		took := time.Since(start)
		elapsed += took
		fastest = min(fastest, took)
	}
	return 2 * float64(n) * float64(n) * float64(n) * float64(threads) / fastest.Seconds() / 1e9
}
