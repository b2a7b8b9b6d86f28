package cloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/seqae/seqae/storage"
	"github.com/seqae/seqae/storage/internal/match"
)

// ReadAhead is the default size of the window Blob reads around a ReadAt
// that misses its cache: opening a Parquet file (footer) and reading a
// small row group are one request each.
const ReadAhead = 4 << 20

// blobWindows is how many read-ahead windows an open object keeps, so that
// the column chunks of a row group read in turn do not evict each other.
const blobWindows = 4

// Blob is a Store over one bucket of an object store (gocloud.dev/blob).
// Names are location URLs in that bucket (see Location); Resolver makes
// them. Reads go through ranged GETs with a read-ahead window, writes
// through the driver's uploader, which publishes the object only when
// Close succeeds.
type Blob struct {
	bucket *blob.Bucket
	loc    storage.Location // the bucket's location, no key
	// ReadAhead is the read-ahead window; 0 is the package's ReadAhead.
	ReadAhead int64

	mu    sync.Mutex
	stats map[string]*objStats
}

type objStats struct{ requests, bytes atomic.Int64 }

var _ storage.Store = (*Blob)(nil)

// NewBlob wraps an open bucket whose names are loc (scheme, bucket and
// query; its key is ignored) joined with the object keys.
func NewBlob(bucket *blob.Bucket, loc storage.Location) *Blob {
	loc.Key = ""
	return &Blob{bucket: bucket, loc: loc, stats: map[string]*objStats{}}
}

// Close closes the bucket.
func (b *Blob) Close() error { return b.bucket.Close() }

// key is name's object key in the bucket.
func (b *Blob) key(name string) (string, error) {
	loc, err := storage.ParseLocation(name)
	if err != nil {
		return "", err
	}
	if loc.Scheme != b.loc.Scheme || loc.Bucket != b.loc.Bucket || loc.Query != b.loc.Query {
		return "", fmt.Errorf("%s is not in the bucket %s", storage.Redact(name), storage.Redact(b.loc.String()))
	}
	return loc.Key, nil
}

// name is the location URL of a key.
func (b *Blob) name(key string) string {
	l := b.loc
	l.Key = key
	return l.String()
}

func (b *Blob) counter(name string) *objStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats[name]
	if s == nil {
		s = &objStats{}
		b.stats[name] = s
	}
	return s
}

// ReadStats are the requests made and bytes read for the named object
// since the store was made.
func (b *Blob) ReadStats(name string) storage.Stats {
	s := b.counter(name)
	return storage.Stats{Requests: s.requests.Load(), Bytes: s.bytes.Load()}
}

// wrap makes a driver's error name the object and map to this package's
// errors; the name is redacted.
func wrap(op, name string, err error) error {
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return fmt.Errorf("%s %s: %w", op, storage.Redact(name), storage.ErrNotFound)
	case gcerrors.PermissionDenied:
		return fmt.Errorf("%s %s: access denied (check the credentials in the environment): %w", op, storage.Redact(name), err)
	case gcerrors.FailedPrecondition:
		return fmt.Errorf("%s %s: %w", op, storage.Redact(name), storage.ErrExist)
	}
	return fmt.Errorf("%s %s: %w", op, storage.Redact(name), err)
}

// Open reads the object's size (one request); reads then go through
// read-ahead windows.
func (b *Blob) Open(ctx context.Context, name string) (storage.Object, error) {
	key, err := b.key(name)
	if err != nil {
		return nil, err
	}
	st := b.counter(name)
	st.requests.Add(1)
	attrs, err := b.bucket.Attributes(ctx, key)
	if err != nil {
		return nil, wrap("open", name, err)
	}
	ra := b.ReadAhead
	if ra <= 0 {
		ra = ReadAhead
	}
	return &blobObject{ctx: ctx, b: b, key: key, name: name, size: attrs.Size, readAhead: ra, stats: st}, nil
}

// ReadAll reads a whole object in one request (see storage.ReadAll).
func (b *Blob) ReadAll(ctx context.Context, name string) ([]byte, error) {
	key, err := b.key(name)
	if err != nil {
		return nil, err
	}
	st := b.counter(name)
	st.requests.Add(1)
	data, err := b.bucket.ReadAll(ctx, key)
	st.bytes.Add(int64(len(data)))
	if err != nil {
		return nil, wrap("read", name, err)
	}
	return data, nil
}

type window struct {
	off  int64
	data []byte
}

type blobObject struct {
	ctx       context.Context
	b         *Blob
	key, name string
	size      int64
	readAhead int64
	stats     *objStats

	mu      sync.Mutex
	windows []*window // most recently used last
}

func (o *blobObject) Size() int64  { return o.size }
func (o *blobObject) Name() string { return o.name }

func (o *blobObject) Close() error {
	o.mu.Lock()
	o.windows = nil
	o.mu.Unlock()
	return nil
}

// get reads length bytes at off in one ranged request.
func (o *blobObject) get(p []byte, off int64) error {
	o.stats.requests.Add(1)
	r, err := o.b.bucket.NewRangeReader(o.ctx, o.key, off, int64(len(p)), nil)
	if err != nil {
		return wrap("read", o.name, err)
	}
	defer r.Close()
	// The object's size, as the read reports it, must be the one Open saw:
	// an object replaced by one of another size would otherwise be read at
	// the old one's offsets. (Modification times cannot be compared: GCS
	// reports milliseconds to Open and whole seconds to a read. An object
	// replaced by one of the same size is not caught; seqae never replaces
	// a data object, and reads its small control objects with ReadAll.)
	if r.Size() != o.size {
		return fmt.Errorf("read %s: the object was replaced since it was opened (%d bytes then, %d now); open it again",
			storage.Redact(o.name), o.size, r.Size())
	}
	n, err := io.ReadFull(r, p)
	o.stats.bytes.Add(int64(n))
	if err != nil {
		return wrap("read", o.name, err)
	}
	return nil
}

// ReadAt serves reads from the object's windows, fetching a window of
// readAhead bytes from off (or the object's last readAhead bytes, near its
// end) on a miss. A read at least as large as a window goes straight to
// the store.
func (o *blobObject) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset", storage.Redact(o.name))
	}
	if off >= o.size {
		return 0, io.EOF
	}
	want := len(p)
	if rest := o.size - off; int64(want) > rest {
		p = p[:rest]
	}
	if int64(len(p)) >= o.readAhead {
		if err := o.get(p, off); err != nil {
			return 0, err
		}
	} else {
		o.mu.Lock()
		err := o.fill(p, off)
		o.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}

// fill copies [off, off+len(p)) from the windows, fetching one if need be.
func (o *blobObject) fill(p []byte, off int64) error {
	for len(p) > 0 {
		i := slices.IndexFunc(o.windows, func(w *window) bool { return off >= w.off && off < w.off+int64(len(w.data)) })
		if i < 0 {
			start := off
			if start+o.readAhead > o.size {
				start = max(0, o.size-o.readAhead)
			}
			w := &window{off: start, data: make([]byte, min(o.readAhead, o.size-start))}
			if err := o.get(w.data, start); err != nil {
				return err
			}
			if len(o.windows) == blobWindows {
				o.windows = slices.Delete(o.windows, 0, 1)
			}
			o.windows = append(o.windows, w)
			i = len(o.windows) - 1
		}
		w := o.windows[i]
		if i != len(o.windows)-1 {
			o.windows = append(slices.Delete(o.windows, i, i+1), w)
		}
		n := copy(p, w.data[off-w.off:])
		p, off = p[n:], off+int64(n)
	}
	return nil
}

// contentType names what a file holds, by extension; uploads skip content
// sniffing, which would buffer them.
func contentType(key string) string {
	switch path.Ext(key) {
	case ".parquet":
		return "application/vnd.apache.parquet"
	case ".json":
		return "application/json"
	case ".arrow":
		return "application/vnd.apache.arrow.file"
	}
	return "application/octet-stream"
}

type blobWriter struct {
	name   string
	w      *blob.Writer
	cancel context.CancelFunc
	closed bool
	result error
}

// Create starts an upload; the object appears only when Close succeeds.
func (b *Blob) Create(ctx context.Context, name string) (storage.Writer, error) {
	return b.create(ctx, name, false)
}

// CreateNew is Create for an object that must not exist yet (a conditional
// write, If-None-Match: *): Close fails with an error wrapping storage.ErrExist if
// it does. Keep such objects small: some servers check the condition only
// on single-request uploads.
func (b *Blob) CreateNew(ctx context.Context, name string) (storage.Writer, error) {
	return b.create(ctx, name, true)
}

func (b *Blob) create(ctx context.Context, name string, ifNotExist bool) (storage.Writer, error) {
	key, err := b.key(name)
	if err != nil {
		return nil, err
	}
	if key == "" || strings.HasSuffix(key, "/") {
		return nil, fmt.Errorf("create %s: no object name", storage.Redact(name))
	}
	if ifNotExist && b.loc.Scheme == "file" {
		// fileblob checks IfNotExist by looking before it renames, so two
		// writers can both win; a hard link takes the name only if it is
		// free, in one step.
		return newLinkWriter(name, "/"+key)
	}
	cctx, cancel := context.WithCancel(ctx)
	w, err := b.bucket.NewWriter(cctx, key, &blob.WriterOptions{ContentType: contentType(key), DisableContentTypeDetection: true, IfNotExist: ifNotExist})
	if err != nil {
		cancel()
		return nil, wrap("create", name, err)
	}
	return &blobWriter{name: name, w: w, cancel: cancel}, nil
}

func (w *blobWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("write %s: writer already closed", storage.Redact(w.name))
	}
	n, err := w.w.Write(p)
	if err != nil {
		return n, wrap("write", w.name, err)
	}
	return n, nil
}

// Close finishes the upload. Later calls return what the first returned.
func (w *blobWriter) Close() error {
	if w.closed {
		return w.result
	}
	w.closed = true
	if err := w.w.Close(); err != nil {
		w.result = wrap("publish", w.name, err)
	}
	w.cancel()
	return w.result
}

// Abort cancels the upload: cancelling the writer's context before Close
// makes the driver abandon it, so nothing appears under the name.
func (w *blobWriter) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.result = fmt.Errorf("publish %s: %w", storage.Redact(w.name), storage.ErrAborted)
	w.cancel()
	w.w.Close()
	return nil
}

// keys lists every key under prefix, recursively, hidden names included.
func (b *Blob) keys(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	it := b.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if !obj.IsDir {
			out = append(out, obj.Key)
		}
	}
	return out, nil
}

// ListAll returns the names of every object under the folder dir
// (recursively), hidden ones included, sorted; none is not an error.
func (b *Blob) ListAll(ctx context.Context, dir string) ([]string, error) {
	key, err := b.key(dir)
	if err != nil {
		return nil, err
	}
	if key != "" {
		key = strings.TrimSuffix(key, "/") + "/"
	}
	keys, err := b.keys(ctx, key)
	if err != nil {
		return nil, wrap("list", dir, err)
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = b.name(k)
	}
	slices.Sort(out)
	return out, nil
}

// List resolves an object, a folder (a key prefix) or a glob to sorted
// object names, with the rules of Local.List.
func (b *Blob) List(ctx context.Context, pattern string) ([]string, error) {
	key, err := b.key(pattern)
	if err != nil {
		return nil, err
	}
	var out []string
	add := func(k string) { out = append(out, b.name(k)) }
	if !match.HasMeta(key) {
		if key != "" {
			if _, err := b.bucket.Attributes(ctx, key); err == nil {
				return []string{pattern}, nil
			} else if gcerrors.Code(err) != gcerrors.NotFound {
				return nil, wrap("list", pattern, err)
			}
			key += "/"
		}
		keys, err := b.keys(ctx, key)
		if err != nil {
			return nil, b.listErr(pattern, err)
		}
		for _, k := range keys {
			if !match.HiddenPath(k[len(key):]) {
				add(k)
			}
		}
	} else {
		if _, err := path.Match(key, ""); err != nil {
			return nil, fmt.Errorf("list %s: %w", storage.Redact(pattern), err)
		}
		elems := strings.Split(key, "/")
		lit := slices.IndexFunc(elems, match.HasMeta)
		prefix := strings.Join(elems[:lit], "/")
		if prefix != "" {
			prefix += "/"
		}
		keys, err := b.keys(ctx, prefix)
		if err != nil {
			return nil, b.listErr(pattern, err)
		}
		for _, k := range keys {
			if match.MatchOrUnder(key, k) {
				add(k)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("list %s: no objects: %w", storage.Redact(pattern), storage.ErrNotFound)
	}
	slices.Sort(out)
	return out, nil
}

// listErr is the error of a listing: a listing that is not found is a
// missing bucket.
func (b *Blob) listErr(pattern string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("list %s: the bucket %s does not exist: %w", storage.Redact(pattern), b.loc.Bucket, storage.ErrNotFound)
	}
	return wrap("list", pattern, err)
}

// Delete removes the named object; a missing one is not an error.
func (b *Blob) Delete(ctx context.Context, name string) error {
	key, err := b.key(name)
	if err != nil {
		return err
	}
	if err := b.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return wrap("delete", name, err)
	}
	return nil
}

// linkWriter is CreateNew on the local file system (file:// locations): it
// writes a temporary file beside path and publishes it with a hard link,
// which fails if path exists.
type linkWriter struct {
	name, path string
	f          *os.File
	closed     bool
	result     error
}

func newLinkWriter(name, path string) (*linkWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, wrap("create", name, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, wrap("create", name, err)
	}
	return &linkWriter{name: name, path: path, f: f}, nil
}

func (w *linkWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("write %s: writer already closed", storage.Redact(w.name))
	}
	return w.f.Write(p)
}

// Close publishes the file unless path exists (an error wrapping
// ErrExist). Later calls return what the first returned.
func (w *linkWriter) Close() error {
	if w.closed {
		return w.result
	}
	w.closed = true
	defer os.Remove(w.f.Name())
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(w.f.Name(), w.path)
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		w.result = fmt.Errorf("publish %s: %w", storage.Redact(w.name), storage.ErrExist)
	case err != nil:
		w.result = wrap("publish", w.name, err)
	}
	return w.result
}

// Abort discards the temporary file.
func (w *linkWriter) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.result = fmt.Errorf("publish %s: %w", storage.Redact(w.name), storage.ErrAborted)
	w.f.Close()
	return os.Remove(w.f.Name())
}
