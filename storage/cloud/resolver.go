package cloud

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob://
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob" // gs://
	"gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob" // s3://

	"github.com/seqae/seqae/storage"
)

// Resolver is the Store for names that are location URLs or plain paths:
// a plain path goes to Local, a URL (see ParseLocation) to a Blob over its
// bucket, opened on first use and kept until Close.
//
//   - s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, azblob://CONTAINER/PREFIX:
//     the gocloud drivers, with credentials from each SDK's default chain
//     (environment, shared configuration, instance or workload identity).
//     The query holds the driver's options, as in gocloud
//     (s3://b/p?endpoint=http://127.0.0.1:9000&use_path_style=true&region=us-east-1).
//     AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) is honoured by the AWS SDK;
//     with it, and no use_path_style in the query, requests use path-style
//     addressing, as MinIO, Ceph and most S3-compatible servers want.
//   - file:///ABS/PATH: the local file system through fileblob, with no
//     .attrs metadata files.
//   - mem://BUCKET/PREFIX: an in-memory bucket that lives as long as the
//     Resolver, for tests.
//
// It is safe for concurrent use.
type Resolver struct {
	mu      sync.Mutex
	buckets map[string]*Blob // by scheme://bucket?query
}

var _ storage.Store = (*Resolver)(nil)

// NewResolver returns a Resolver with no bucket open yet.
func NewResolver() *Resolver { return &Resolver{buckets: map[string]*Blob{}} }

// Bucket returns the Blob that serves a location URL, opening its bucket
// on first use. Errors name the location, redacted.
func (r *Resolver) Bucket(ctx context.Context, name string) (*Blob, error) {
	loc, err := storage.ParseLocation(name)
	if err != nil {
		return nil, err
	}
	loc.Key = ""
	id := loc.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.buckets[id]; b != nil {
		return b, nil
	}
	bucket, err := openBucket(ctx, loc)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", storage.Redact(name), err)
	}
	b := NewBlob(bucket, loc)
	r.buckets[id] = b
	return b, nil
}

func openBucket(ctx context.Context, loc storage.Location) (*blob.Bucket, error) {
	switch loc.Scheme {
	case "file":
		return fileblob.OpenBucket("/", &fileblob.Options{Metadata: fileblob.MetadataDontWrite, NoTempDir: true})
	case "mem":
		return memblob.OpenBucket(nil), nil
	}
	q, err := url.ParseQuery(loc.Query)
	if err != nil {
		return nil, err
	}
	if loc.Scheme == "s3" && !q.Has("use_path_style") && !q.Has("s3ForcePathStyle") &&
		(q.Has("endpoint") || os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != "") {
		q.Set("use_path_style", "true")
	}
	u := url.URL{Scheme: loc.Scheme, Host: loc.Bucket, RawQuery: q.Encode()}
	return blob.OpenBucket(ctx, u.String())
}

// store is the Store for a name.
func (r *Resolver) store(ctx context.Context, name string) (storage.Store, error) {
	if !storage.IsURL(name) {
		return storage.Local{}, nil
	}
	return r.Bucket(ctx, name)
}

func (r *Resolver) Open(ctx context.Context, name string) (storage.Object, error) {
	s, err := r.store(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.Open(ctx, name)
}

// ReadAll reads a whole object in one piece (see storage.ReadAll).
func (r *Resolver) ReadAll(ctx context.Context, name string) ([]byte, error) {
	s, err := r.store(ctx, name)
	if err != nil {
		return nil, err
	}
	return storage.ReadAll(ctx, s, name)
}

func (r *Resolver) Create(ctx context.Context, name string) (storage.Writer, error) {
	s, err := r.store(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.Create(ctx, name)
}

func (r *Resolver) List(ctx context.Context, pattern string) ([]string, error) {
	s, err := r.store(ctx, pattern)
	if err != nil {
		return nil, err
	}
	return s.List(ctx, pattern)
}

func (r *Resolver) Delete(ctx context.Context, name string) error {
	s, err := r.store(ctx, name)
	if err != nil {
		return err
	}
	return s.Delete(ctx, name)
}

// ListAll is Blob.ListAll for a location URL; plain paths are not served.
func (r *Resolver) ListAll(ctx context.Context, dir string) ([]string, error) {
	if !storage.IsURL(dir) {
		return nil, fmt.Errorf("list %s: not a location URL", dir)
	}
	b, err := r.Bucket(ctx, dir)
	if err != nil {
		return nil, err
	}
	return b.ListAll(ctx, dir)
}

// CreateNew is Blob.CreateNew for a location URL; plain paths are not
// served.
func (r *Resolver) CreateNew(ctx context.Context, name string) (storage.Writer, error) {
	if !storage.IsURL(name) {
		return nil, fmt.Errorf("create %s: not a location URL", name)
	}
	b, err := r.Bucket(ctx, name)
	if err != nil {
		return nil, err
	}
	return b.CreateNew(ctx, name)
}

// ReadStats are the requests and bytes read for an object URL since its
// bucket was opened; zero for plain paths.
func (r *Resolver) ReadStats(name string) storage.Stats {
	if !storage.IsURL(name) {
		return storage.Stats{}
	}
	loc, err := storage.ParseLocation(name)
	if err != nil {
		return storage.Stats{}
	}
	loc.Key = ""
	r.mu.Lock()
	b := r.buckets[loc.String()]
	r.mu.Unlock()
	if b == nil {
		return storage.Stats{}
	}
	return b.ReadStats(name)
}

// Close closes every bucket opened.
func (r *Resolver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first error
	for id, b := range r.buckets {
		if err := b.Close(); err != nil && first == nil {
			first = err
		}
		delete(r.buckets, id)
	}
	return first
}
