//go:build !unix

package jobs

// peakRSS is 0 where getrusage is not available.
func peakRSS() int64 { return 0 }
