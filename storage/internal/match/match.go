// Package match holds the listing rules that every Store of package storage
// and storage/cloud shares: which names are hidden, and how a glob matches.
package match

import (
	"path"
	"strings"
)

// Hidden reports whether a file or folder name is skipped when listing.
func Hidden(base string) bool {
	return strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")
}

// HasMeta reports whether a pattern (or one of its elements) holds a
// wildcard.
func HasMeta(pattern string) bool { return strings.ContainsAny(pattern, "*?[") }

// WildHidden reports whether a glob match has a hidden name where the
// pattern has a wildcard, so that "out/*/part-*" does not reach into
// "out/_temporary" or "out/.staging". As in a shell, a pattern element that
// itself starts with "." or "_" ("_tmp", ".st*") may match a hidden name.
// Both are slash-separated; a pattern element matches one name, so the
// elements from the first wildcard on line up from the end.
func WildHidden(pattern, match string) bool {
	pe, me := strings.Split(pattern, "/"), strings.Split(match, "/")
	for i := 1; i <= len(pe) && i <= len(me); i++ {
		if p := pe[len(pe)-i]; HasMeta(p) && !Hidden(p) && Hidden(me[len(me)-i]) {
			return true
		}
	}
	return false
}

// MatchOrUnder reports whether name matches the glob, or lies (not hidden)
// under a folder that matches it; a name matched by a wildcard must not be
// hidden.
func MatchOrUnder(pattern, name string) bool {
	parts := strings.Split(name, "/")
	n := strings.Count(pattern, "/") + 1
	if n > len(parts) {
		return false
	}
	head := strings.Join(parts[:n], "/")
	if ok, _ := path.Match(pattern, head); !ok || WildHidden(pattern, head) {
		return false
	}
	return !HiddenPath(strings.Join(parts[n:], "/"))
}

// HiddenPath reports whether any element of a relative slash path is hidden.
func HiddenPath(rel string) bool {
	for _, p := range strings.Split(rel, "/") {
		if p != "" && Hidden(p) {
			return true
		}
	}
	return false
}
