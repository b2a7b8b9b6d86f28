//go:build race

package jobs

// raceEnabled is set under the race detector, whose instrumentation
// allocates on its own: heap bounds do not hold there.
const raceEnabled = true
