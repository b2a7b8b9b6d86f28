package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/seqae/seqae/storage/internal/match"
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

// writeBuffers keeps the buffers of closed writers for the next ones: a
// run writes many small files (manifests, markers, locks), and allocating
// and clearing a MiB for each one took a sixth of jobs' test time.
var writeBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, localWriteBuffer) }}

type localWriter struct {
	ctx    context.Context
	final  string
	tmp    *os.File
	buf    *bufio.Writer
	err    error // the first write error
	closed bool  // by Close or Abort
	result error // what Close returned, or why the writer was aborted
}

// Create makes the named file's folder if needed and writes to a temporary
// file beside it (".NAME.tmp-*"), renamed over NAME by Close. The file is
// created with mode 0666 less the umask, as os.Create makes files.
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
	tmp, err := createTemp(dir, "."+base+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	buf := writeBuffers.Get().(*bufio.Writer)
	buf.Reset(tmp)
	return &localWriter{ctx: ctx, final: name, tmp: tmp, buf: buf}, nil
}

// createTemp creates a new file dir/prefix* like os.CreateTemp, but with
// mode 0666 less the umask (os.CreateTemp's 0600 would be kept by the
// rename, leaving published files readable only by their owner).
func createTemp(dir, prefix string) (*os.File, error) {
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) && try < 100 {
			continue
		}
		return f, err
	}
}

func (w *localWriter) Write(p []byte) (int, error) {
	if w.closed {
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

// Close publishes the file. Later calls return what the first returned
// (an error after Abort).
func (w *localWriter) Close() error {
	if w.closed {
		return w.result
	}
	w.closed = true
	w.result = w.publish()
	w.release()
	return w.result
}

// release returns the buffer to writeBuffers, once the writer is closed.
func (w *localWriter) release() {
	w.buf.Reset(nil)
	writeBuffers.Put(w.buf)
	w.buf = nil
}

func (w *localWriter) publish() error {
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
		return fmt.Errorf("publish %s: %w", w.final, err)
	}
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
	if w.closed {
		return nil
	}
	w.closed = true
	w.result = fmt.Errorf("publish %s: %w", w.final, ErrAborted)
	err := w.discard()
	w.release()
	return err
}

func (w *localWriter) discard() error {
	w.tmp.Close()
	if err := os.Remove(w.tmp.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("discard %s: %w", w.tmp.Name(), err)
	}
	return nil
}

// List resolves a file, folder or glob to the sorted list of files. A
// named path and glob matches follow symbolic links; inside a folder, links
// to regular files are listed and links to folders are not followed (they
// could make cycles).
func (Local) List(ctx context.Context, pattern string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	glob := match.HasMeta(pattern)
	roots := []string{pattern}
	if glob {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", pattern, err)
		}
		roots = roots[:0]
		for _, p := range m {
			if !match.WildHidden(filepath.ToSlash(pattern), filepath.ToSlash(p)) {
				roots = append(roots, p)
			}
		}
	}
	var out []string
	for _, root := range roots {
		st, err := os.Stat(root)
		switch {
		case glob && err != nil:
			continue // a broken link or a file removed since the glob matched it
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("list %q: %w", pattern, ErrNotFound)
		case err != nil:
			return nil, fmt.Errorf("list %q: %w", pattern, err)
		case st.Mode().IsRegular():
			out = append(out, root)
		case st.IsDir():
			if out, err = walkFiles(ctx, root, out); err != nil {
				return nil, fmt.Errorf("list %q: %w", pattern, err)
			}
		case !glob:
			return nil, fmt.Errorf("list %q: not a regular file or folder", pattern)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("list %q: no files: %w", pattern, ErrNotFound)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// walkFiles appends the regular files under dir, and the links to regular
// files, skipping hidden names and not following links to folders.
func walkFiles(ctx context.Context, dir string, out []string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if match.Hidden(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		switch t := e.Type(); {
		case t.IsDir():
			if out, err = walkFiles(ctx, p, out); err != nil {
				return nil, err
			}
		case t.IsRegular():
			out = append(out, p)
		case t&fs.ModeSymlink != 0:
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				out = append(out, p)
			}
		}
	}
	return out, nil
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
