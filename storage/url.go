package storage

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Schemes are the location URL schemes storage/cloud's Resolver accepts.
var Schemes = []string{"s3", "gs", "azblob", "file", "mem"}

// Location is a parsed location URL: SCHEME://BUCKET/KEY?QUERY. For file://
// the bucket is empty and Key is the absolute path less its leading "/".
type Location struct {
	Scheme string
	Bucket string
	Key    string
	Query  string // encoded, without the "?"
}

// IsURL reports whether s is written as a location URL (SCHEME://...)
// rather than a local path. It does not check the scheme: ParseLocation
// does.
func IsURL(s string) bool {
	i := strings.Index(s, "://")
	if i <= 0 {
		return false
	}
	for _, c := range s[:i] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ParseLocation parses a location URL. Credentials in it (user:password@)
// are an error: they come from the cloud SDK's default chain. In a URL "?"
// starts the query, so globs in a URL use "*" and "[...]", not "?".
func ParseLocation(s string) (Location, error) {
	bad := func(format string, args ...any) (Location, error) {
		return Location{}, fmt.Errorf("location %s: %s", Redact(s), fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("not a URL")
	}
	if !slices.Contains(Schemes, u.Scheme) {
		return bad("unsupported scheme %q (want one of %s://, or a plain path)", u.Scheme, strings.Join(Schemes, "://, "))
	}
	if u.User != nil {
		return bad("credentials do not belong in a location URL; they come from the environment (the cloud SDK's default chain)")
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return bad("a location has no #fragment")
	}
	loc := Location{Scheme: u.Scheme, Bucket: u.Host, Key: strings.TrimPrefix(u.Path, "/"), Query: u.RawQuery}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return bad("want file:///absolute/path (three slashes)")
		}
		if u.Query().Encode() != "" {
			return bad("file:// takes no query")
		}
		loc.Bucket, loc.Query = "", ""
	case "mem":
	default:
		if u.Host == "" {
			return bad("no bucket: want %s://BUCKET/PREFIX", u.Scheme)
		}
	}
	if strings.Contains(loc.Key, "//") {
		return bad("empty path element (//)")
	}
	return loc, nil
}

// String writes the location back as a URL.
func (l Location) String() string {
	s := l.Scheme + "://" + l.Bucket + "/" + l.Key
	if l.Query != "" {
		s += "?" + l.Query
	}
	return s
}

// Join joins path elements onto a location: onto the key of a location URL
// (keeping its query), or with filepath.Join onto a plain path.
func Join(base string, elem ...string) string {
	if !IsURL(base) {
		return filepath.Join(append([]string{base}, elem...)...)
	}
	head, query, hasQuery := strings.Cut(base, "?")
	i := strings.Index(head, "://") + 3
	joined := head[:i] + path.Join(append([]string{head[i:]}, elem...)...)
	if hasQuery {
		joined += "?" + query
	}
	return joined
}

// Base is the last element of a location URL's key or of a plain path.
func Base(name string) string {
	if !IsURL(name) {
		return filepath.Base(name)
	}
	head, _, _ := strings.Cut(name, "?")
	return path.Base(head[strings.Index(head, "://")+3:])
}

// secretParam reports whether a query parameter may hold a secret.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"key", "secret", "token", "sig", "password", "credential", "sas"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// Redact returns a location fit for errors and logs: a URL's user
// information and the values of query parameters that may hold secrets
// (names containing key, secret, token, sig, password, credential, sas)
// are replaced by "REDACTED". Plain paths are returned as they are.
func Redact(s string) string {
	if !IsURL(s) {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		// Keep the scheme and what follows up to any user information.
		head, rest, _ := strings.Cut(s, "://")
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			rest = "REDACTED@" + rest[at+1:]
		}
		if q := strings.Index(rest, "?"); q >= 0 {
			rest = rest[:q] + "?REDACTED"
		}
		return head + "://" + rest
	}
	changed := u.User != nil
	if changed {
		u.User = url.User("REDACTED")
	}
	q := u.Query()
	for k := range q {
		if secretParam(k) {
			q[k], changed = []string{"REDACTED"}, true
		}
	}
	if !changed {
		return s
	}
	u.RawQuery = q.Encode()
	return u.String()
}
