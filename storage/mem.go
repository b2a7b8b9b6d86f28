package storage

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/seqae/seqae/storage/internal/match"
)

// Mem is an in-memory Store, for tests and for checking that consumers keep
// to the Store interface. Names are slash-separated; "a/b" lists as a folder
// holding "a/b/c". Use NewMem; it is safe for concurrent use.
type Mem struct {
	mu      sync.Mutex
	objects map[string][]byte
}

var _ Store = (*Mem)(nil)

// NewMem returns an empty in-memory store.
func NewMem() *Mem { return &Mem{objects: map[string][]byte{}} }

type memObject struct {
	*bytes.Reader
	name string
}

func (o *memObject) Close() error { return nil }
func (o *memObject) Name() string { return o.name }
func (o *memObject) Size() int64  { return o.Reader.Size() }

// Open returns a reader over the object's current bytes.
func (m *Mem) Open(ctx context.Context, name string) (Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	b, ok := m.objects[name]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("open %s: %w", name, ErrNotFound)
	}
	return &memObject{Reader: bytes.NewReader(b), name: name}, nil
}

type memWriter struct {
	ctx    context.Context
	m      *Mem
	name   string
	buf    bytes.Buffer
	closed bool  // by Close or Abort
	result error // what Close returned, or why the writer was aborted
}

// Create buffers the object until Close stores it.
func (m *Mem) Create(ctx context.Context, name string) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &memWriter{ctx: ctx, m: m, name: name}, nil
}

func (w *memWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("write %s: writer already closed", w.name)
	}
	if err := w.ctx.Err(); err != nil {
		return 0, fmt.Errorf("write %s: %w", w.name, err)
	}
	return w.buf.Write(p)
}

// Close stores the object. Later calls return what the first returned (an
// error after Abort).
func (w *memWriter) Close() error {
	if w.closed {
		return w.result
	}
	w.closed = true
	if err := w.ctx.Err(); err != nil {
		w.result = fmt.Errorf("publish %s: %w", w.name, err)
		return w.result
	}
	w.m.mu.Lock()
	w.m.objects[w.name] = bytes.Clone(w.buf.Bytes())
	w.m.mu.Unlock()
	return nil
}

func (w *memWriter) Abort() error {
	if !w.closed {
		w.closed = true
		w.result = fmt.Errorf("publish %s: %w", w.name, ErrAborted)
	}
	return nil
}

// List resolves a name, folder prefix or glob to the sorted object names.
func (m *Mem) List(ctx context.Context, pattern string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	glob := match.HasMeta(pattern)
	if glob {
		if _, err := path.Match(pattern, ""); err != nil {
			return nil, fmt.Errorf("list %q: %w", pattern, err)
		}
	}
	prefix := strings.TrimSuffix(pattern, "/") + "/"
	m.mu.Lock()
	var out []string
	for name := range m.objects {
		switch {
		case name == pattern:
			out = append(out, name)
		case glob:
			if ok := match.MatchOrUnder(pattern, name); ok {
				out = append(out, name)
			}
		case strings.HasPrefix(name, prefix) && !match.HiddenPath(name[len(prefix):]):
			out = append(out, name)
		}
	}
	m.mu.Unlock()
	if len(out) == 0 {
		return nil, fmt.Errorf("list %q: no objects: %w", pattern, ErrNotFound)
	}
	slices.Sort(out)
	return out, nil
}

// Delete removes the named object.
func (m *Mem) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.objects, name)
	m.mu.Unlock()
	return nil
}
