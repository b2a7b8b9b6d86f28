//go:build !linux

package jobs

// exchangeDirs has no atomic swap to use outside Linux; publishing falls
// back to rename-aside-then-rename.
func exchangeDirs(a, b string) error { return errNoExchange }
