package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Local is the Store for the local file system. Names are OS paths, absolute
// or relative to the working folder. The zero value is ready to use.
type Local struct{}

var _ Store = Local{}

type localObject struct {
	*os.File
	name string
	size int64
}

func (o *localObject) Size() int64  { return o.size }
func (o *localObject) Name() string { return o.name }

// Open opens the named file for reading.
func (Local) Open(ctx context.Context, name string) (Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open %s: %w", name, ErrNotFound)
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open %s: is a folder, not a file", name)
	}
	return &localObject{File: f, name: name, size: st.Size()}, nil
}

// localWriteBuffer is the size of the buffer in front of the temporary file.
const localWriteBuffer = 1 << 20

type localWriter struct {
	ctx   context.Context
	final string
	tmp   *os.File
	buf   *bufio.Writer
	done  bool
	err   error
}

// Create makes the named file's folder if needed and writes to a temporary
// file beside it (".NAME.tmp-*"), renamed over NAME by Close.
func (Local) Create(ctx context.Context, name string) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, base := filepath.Split(name)
	if base == "" {
		return nil, fmt.Errorf("create %q: no file name", name)
	}
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	return &localWriter{ctx: ctx, final: name, tmp: tmp, buf: bufio.NewWriterSize(tmp, localWriteBuffer)}, nil
}

func (w *localWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("write %s: writer already closed", w.final)
	}
	if w.err != nil {
		return 0, w.err
	}
	if err := w.ctx.Err(); err != nil {
		w.err = fmt.Errorf("write %s: %w", w.final, err)
		return 0, w.err
	}
	n, err := w.buf.Write(p)
	if err != nil {
		w.err = fmt.Errorf("write %s: %w", w.final, err)
	}
	return n, w.err
}

func (w *localWriter) Close() error {
	if w.done {
		return nil
	}
	if w.err != nil {
		w.discard()
		return w.err
	}
	if err := w.ctx.Err(); err != nil {
		w.discard()
		return fmt.Errorf("publish %s: %w", w.final, err)
	}
	err := w.buf.Flush()
	if err == nil {
		err = w.tmp.Sync()
	}
	if cerr := w.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp.Name(), w.final)
	}
	if err != nil {
		os.Remove(w.tmp.Name())
		w.done = true
		return fmt.Errorf("publish %s: %w", w.final, err)
	}
	w.done = true
	syncDir(filepath.Dir(w.final))
	return nil
}

// syncDir makes a rename durable where the platform allows it; failure to
// sync a folder does not undo a publish that already happened.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func (w *localWriter) Abort() error {
	if w.done {
		return nil
	}
	return w.discard()
}

func (w *localWriter) discard() error {
	w.done = true
	w.tmp.Close()
	if err := os.Remove(w.tmp.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("discard %s: %w", w.tmp.Name(), err)
	}
	return nil
}

// hidden reports whether a file or folder name is skipped when listing.
func hidden(base string) bool {
	return strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")
}

// List resolves a file, folder or glob to the sorted list of files.
func (Local) List(ctx context.Context, pattern string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var roots []string
	if strings.ContainsAny(pattern, "*?[") {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", pattern, err)
		}
		for _, p := range m {
			if !hidden(filepath.Base(p)) {
				roots = append(roots, p)
			}
		}
	} else {
		roots = []string{pattern}
	}
	var out []string
	for _, root := range roots {
		st, err := os.Stat(root)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("list %q: %w", pattern, ErrNotFound)
			}
			return nil, fmt.Errorf("list %q: %w", pattern, err)
		}
		if !st.IsDir() {
			out = append(out, root)
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if p != root && hidden(d.Name()) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", pattern, err)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("list %q: no files: %w", pattern, ErrNotFound)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Delete removes the named file.
func (Local) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
