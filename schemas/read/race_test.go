//go:build race

package read

// raceEnabled is set under the race detector, which slows the tests that
// write many files down several times: they do fewer trials.
const raceEnabled = true
