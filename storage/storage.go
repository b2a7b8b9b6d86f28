// Package storage is seqae's storage seam: where tables are read from and
// written to. Consumers see only the Store interface: objects are read through
// io.ReaderAt plus a size, and written through a Writer that publishes the
// object under its final name only when Close succeeds. Local folders are
// implemented here; object stores (gocloud.dev/blob) plug in behind the same
// interface in storage/cloud, so no consumer may assume *os.File. This
// package imports no cloud SDK: what reads and writes tables links only it.
package storage

import (
	"context"
	"errors"
	"io"
)

// Object is an object opened for reading.
type Object interface {
	io.ReaderAt
	io.Closer
	// Size is the object's length in bytes.
	Size() int64
	// Name is the name the object was opened with.
	Name() string
}

// Writer writes one object. Nothing is visible under the object's final name
// until Close returns nil; Abort, a failed Close, or a cancelled context
// leave no object under that name (and no temporary one either).
type Writer interface {
	io.Writer
	// Close flushes the object and publishes it atomically under its final
	// name, replacing any object already there. Calling it again returns
	// what the first call returned; after Abort it returns an error.
	Close() error
	// Abort discards what was written. It is safe to call after Close, in
	// which case it does nothing, so `defer w.Abort()` is the usual pattern.
	Abort() error
}

// Store reads, writes and lists objects.
type Store interface {
	// Open opens the named object for reading.
	Open(ctx context.Context, name string) (Object, error)
	// Create starts writing the named object. Writes are aside (a temporary
	// name that List never returns) until Writer.Close publishes them.
	Create(ctx context.Context, name string) (Writer, error)
	// List resolves an input pattern to object names, sorted: a single
	// object, a folder (every object under it, recursively, except those
	// whose name starts with "." or "_", like Spark's _SUCCESS markers and
	// this package's temporary files) or a glob (path.Match syntax in each
	// path element; as in a shell, only a pattern element starting with "."
	// or "_" matches such a hidden name, so "out/*/part-*" skips
	// "out/_temporary/" and "out/.staging/"). A pattern that matches nothing
	// is an error wrapping ErrNotFound.
	List(ctx context.Context, pattern string) ([]string, error)
	// Delete removes the named object; a missing object is not an error.
	// The commit to an object store needs it (jobs' commit_blob.go): an
	// object store has no rename, so a partition cannot be swapped whole
	// as a local folder is; a commit withdraws _SUCCESS (and a manifest
	// that no longer holds) by deleting them, writes the new run's files
	// under new names, then deletes the previous run's files that no
	// manifest lists; it also deletes its write probe, the parts of a
	// failed upload and expired commit locks.
	Delete(ctx context.Context, name string) error
}

// ReadAll reads a whole object in one consistent piece: if s can read an
// object in one request (storage/cloud's Blob: one GET), it does, so that
// a small object replaced while it is read (a commit lock, a manifest)
// reads as the old one or the new one, never half of each; otherwise
// through Open, whose open object keeps its contents (a local file that
// is replaced by a rename stays the file that was opened).
func ReadAll(ctx context.Context, s Store, name string) ([]byte, error) {
	if r, ok := s.(interface {
		ReadAll(ctx context.Context, name string) ([]byte, error)
	}); ok {
		return r.ReadAll(ctx, name)
	}
	obj, err := s.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	b := make([]byte, obj.Size())
	if _, err := obj.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

// ErrNotFound is wrapped by the errors of Open and List when nothing exists
// under the name or pattern.
var ErrNotFound = errors.New("not found")

// ErrExist is wrapped by the error of a writer that may only create (an
// object store's CreateNew, in storage/cloud) when the object already
// exists. It is here, not in storage/cloud, so that a caller's own store
// can return it without linking the cloud SDKs.
var ErrExist = errors.New("already exists")

// Stats count the requests a store served for one object, and the bytes it
// sent (storage/cloud's Blob counts them; local stores have none).
type Stats struct {
	Requests int64 `json:"requests"`
	Bytes    int64 `json:"bytes"`
}

// ErrAborted is wrapped by what a Writer's Close returns after Abort.
var ErrAborted = errors.New("writer was aborted")
