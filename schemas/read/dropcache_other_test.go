//go:build !linux

package read

import "errors"

// dropCached is not available here: the cold benchmarks are skipped.
func dropCached(string) error {
	return errors.New("no way to drop a file from the page cache on this system")
}
