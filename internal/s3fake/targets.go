package s3fake

import (
	"path/filepath"
	"testing"

	"github.com/seqae/seqae/storage/cloud"
)

// StartTB starts a server on a free port of 127.0.0.1 with one bucket, and
// closes it when the test ends.
func StartTB(tb testing.TB, bucket string) *Server {
	tb.Helper()
	srv, err := Start("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	if err := srv.CreateBucket(bucket); err != nil {
		tb.Fatal(err)
	}
	return srv
}

// Target is a folder on one kind of object store, and the Resolver that
// serves it.
type Target struct {
	Name  string // s3, mem or file
	Base  string // a folder URL
	Store *cloud.Resolver
}

// Targets are the folder prefix on each kind of object store a Resolver
// serves: on this package's server (the s3blob driver over HTTP on
// 127.0.0.1, bucket "lake"), on memblob and on fileblob (a temporary
// folder), each with its own Resolver, closed when the test ends.
func Targets(tb testing.TB, prefix string) []Target {
	tb.Helper()
	srv := StartTB(tb, "lake")
	var out []Target
	for _, c := range []struct{ name, base string }{
		{"s3", srv.Location("lake", prefix)},
		{"mem", "mem://lake/" + prefix},
		{"file", "file://" + filepath.ToSlash(tb.TempDir()) + "/" + prefix},
	} {
		r := cloud.NewResolver()
		tb.Cleanup(func() { r.Close() })
		out = append(out, Target{c.name, c.base, r})
	}
	return out
}
