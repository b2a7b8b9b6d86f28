package cloud_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/seqae/seqae/internal/s3fake"
	"github.com/seqae/seqae/internal/tabletest"
	"github.com/seqae/seqae/storage"
	"github.com/seqae/seqae/storage/cloud"
)

func TestBlobWriteReadList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, s := range s3fake.Targets(t, "root") {
		t.Run(s.Name, func(t *testing.T) {
			r := s.Store
			data := make([]byte, 3<<20+17)
			for i := range data {
				data[i] = byte(i * 7)
			}
			for _, n := range []string{"t/dt=2026-01-02/b.parquet", "t/dt=2026-01-02/a.parquet", "t/dt=2026-01-02/_SUCCESS",
				"t/dt=2026-01-02/.tmp/x", "t/_staging/y", "t/dt=2026-01-03/c.parquet", "u/z"} {
				tabletest.Put(t, r, storage.Join(s.Base, n), data[:10])
			}
			tabletest.Put(t, r, storage.Join(s.Base, "big"), data)

			obj, err := r.Open(ctx, storage.Join(s.Base, "big"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := obj.Size(), int64(len(data)); got != want {
				t.Errorf("size: got %d, want %d", got, want)
			}
			for _, c := range []struct{ off, n int }{{0, 8}, {len(data) - 8, 8}, {1 << 20, 1000}, {len(data) - 100, 200}, {5, 3 << 20}} {
				buf := make([]byte, c.n)
				n, err := obj.ReadAt(buf, int64(c.off))
				want := data[c.off:min(c.off+c.n, len(data))]
				if n != len(want) || !bytes.Equal(buf[:n], want) {
					t.Errorf("ReadAt(%d, %d): got %d bytes, want %d, equal %v", c.n, c.off, n, len(want), bytes.Equal(buf[:n], want))
				}
				if (c.off+c.n > len(data)) != (err == io.EOF) {
					t.Errorf("ReadAt(%d, %d): got error %v", c.n, c.off, err)
				}
			}
			obj.Close()
			// A 3 MiB object fits one read-ahead window: Open's request and
			// the window's.
			if st := r.ReadStats(storage.Join(s.Base, "big")); st.Requests != 2 || st.Bytes != int64(len(data)) {
				t.Errorf("reads: got %d requests, %d bytes; want 2 (open, one window), %d", st.Requests, st.Bytes, len(data))
			}

			for _, c := range []struct {
				pattern string
				want    []string
			}{
				{"t", []string{"t/dt=2026-01-02/a.parquet", "t/dt=2026-01-02/b.parquet", "t/dt=2026-01-03/c.parquet"}},
				{"t/dt=2026-01-02/", []string{"t/dt=2026-01-02/a.parquet", "t/dt=2026-01-02/b.parquet"}},
				{"t/*/a.parquet", []string{"t/dt=2026-01-02/a.parquet"}},
				{"t/*", []string{"t/dt=2026-01-02/a.parquet", "t/dt=2026-01-02/b.parquet", "t/dt=2026-01-03/c.parquet"}},
				{"t/dt=2026-01-0[3]/*.parquet", []string{"t/dt=2026-01-03/c.parquet"}},
				{"t/_staging", []string{"t/_staging/y"}},
				{"u/z", []string{"u/z"}},
			} {
				got, err := r.List(ctx, storage.Join(s.Base, c.pattern))
				if err != nil {
					t.Errorf("List(%s): %v", c.pattern, err)
					continue
				}
				var want []string
				for _, w := range c.want {
					want = append(want, storage.Join(s.Base, w))
				}
				if !slices.Equal(got, want) {
					t.Errorf("List(%s):\n got %q\nwant %q", c.pattern, got, want)
				}
			}
			for _, p := range []string{"nothing", "t/*/nothing", "t/dt=2026-01-02/a"} {
				if _, err := r.List(ctx, storage.Join(s.Base, p)); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("List(%s): got %v, want ErrNotFound", p, err)
				}
			}
			if _, err := r.Open(ctx, storage.Join(s.Base, "nothing")); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Open(nothing): got %v, want ErrNotFound", err)
			}
			if err := r.Delete(ctx, storage.Join(s.Base, "u/z")); err != nil {
				t.Fatal(err)
			}
			if err := r.Delete(ctx, storage.Join(s.Base, "u/z")); err != nil {
				t.Errorf("deleting a missing object: %v", err)
			}
			if _, err := r.Open(ctx, storage.Join(s.Base, "u/z")); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Open after Delete: got %v, want ErrNotFound", err)
			}
		})
	}
}

// TestBlobAbort: an aborted upload, or one whose context is cancelled
// half-way, leaves nothing under its name, and an earlier object there
// stays as it was.
func TestBlobAbort(t *testing.T) {
	t.Parallel()
	for _, s := range s3fake.Targets(t, "root") {
		t.Run(s.Name, func(t *testing.T) {
			r := s.Store
			name := storage.Join(s.Base, "x/part.parquet")
			big := bytes.Repeat([]byte("abcdefgh"), 2<<20) // 16 MiB: a multipart upload on S3
			for _, c := range []struct {
				name   string
				finish func(w storage.Writer, cancel context.CancelFunc) error
			}{
				{"abort", func(w storage.Writer, _ context.CancelFunc) error { return w.Abort() }},
				{"cancel", func(w storage.Writer, cancel context.CancelFunc) error {
					cancel()
					if err := w.Close(); err == nil {
						t.Error("Close after cancel: got nil, want an error")
					}
					return nil
				}},
			} {
				for _, previous := range []bool{false, true} {
					if previous {
						tabletest.Put(t, r, name, []byte("old"))
					}
					ctx, cancel := context.WithCancel(context.Background())
					w, err := r.Create(ctx, name)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := w.Write(big); err != nil {
						t.Fatal(err)
					}
					if err := c.finish(w, cancel); err != nil {
						t.Fatal(err)
					}
					cancel()
					obj, err := r.Open(context.Background(), name)
					switch {
					case !previous && !errors.Is(err, storage.ErrNotFound):
						t.Errorf("%s: after the failed upload got %v, want ErrNotFound", c.name, err)
					case previous && err != nil:
						t.Errorf("%s: the earlier object: %v", c.name, err)
					case previous && obj.Size() != 3:
						t.Errorf("%s: the earlier object has %d bytes, want 3", c.name, obj.Size())
					}
					r.Delete(context.Background(), name)
				}
			}
		})
	}
}

// TestBlobCreateNew: of concurrent conditional writers of one object,
// exactly one wins; the others fail with ErrExist.
func TestBlobCreateNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, s := range s3fake.Targets(t, "root") {
		t.Run(s.Name, func(t *testing.T) {
			b, err := s.Store.Bucket(ctx, s.Base)
			if err != nil {
				t.Fatal(err)
			}
			name := storage.Join(s.Base, "lock")
			const writers = 16
			var wg sync.WaitGroup
			errs := make([]error, writers)
			for i := range writers {
				wg.Go(func() {
					w, err := b.CreateNew(ctx, name)
					if err != nil {
						errs[i] = err
						return
					}
					defer w.Abort()
					w.Write([]byte{byte(i)})
					errs[i] = w.Close()
				})
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, storage.ErrExist):
					t.Errorf("a loser's error: got %v, want ErrExist", err)
				}
			}
			if won != 1 {
				t.Errorf("winners: got %d, want 1", won)
			}
		})
	}
}

// TestFileNoSidecars: file:// writes no .attrs files and leaves no
// temporary files.
func TestFileNoSidecars(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := cloud.NewResolver()
	defer r.Close()
	tabletest.Put(t, r, "file://"+filepath.ToSlash(dir)+"/a/b.parquet", []byte("x"))
	var names []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return err
	})
	if want := []string{"a/b.parquet"}; !slices.Equal(names, want) {
		t.Errorf("files: got %q, want %q", names, want)
	}
}

// TestBlobErrors: a missing bucket, an unreachable endpoint and bad URLs
// are errors naming the location, without credentials.
func TestBlobErrors(t *testing.T) {
	// Parallel: the SDK's retries of the unreachable endpoint back off
	// for 1 to 5 s.
	t.Parallel()
	ctx := context.Background()
	srv := s3fake.StartTB(t, "lake")
	// A server that refuses everything, as S3 does without a valid
	// signature or permission.
	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>1</RequestId></Error>`)
	}))
	defer denied.Close()
	r := cloud.NewResolver()
	defer r.Close()
	for _, c := range []struct {
		name, loc string
		want      []string
	}{
		{"denied", "s3://lake/in?endpoint=" + denied.URL + "&use_path_style=true&region=us-east-1&anonymous=true", []string{"s3://lake/in", "access denied"}},
		{"missing bucket", srv.Location("nobucket", "in"), []string{"s3://nobucket/in", "does not exist"}},
		{"unreachable", "s3://lake/in?endpoint=http://127.0.0.1:1&region=us-east-1&anonymous=true", []string{"s3://lake/in"}},
		{"scheme", "ftp://lake/in", []string{"ftp://lake/in", "unsupported scheme"}},
		{"credentials", "s3://AKIDSECRET:hunter2@lake/in", []string{"credentials do not belong"}},
		{"no bucket", "s3:///in", []string{"no bucket"}},
		{"file host", "file://host/abs", []string{"three slashes"}},
	} {
		_, err := r.List(ctx, c.loc)
		if err == nil {
			t.Errorf("%s: got no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: got %q, want it to contain %q", c.name, err, w)
			}
		}
		for _, secret := range []string{"AKIDSECRET", "hunter2"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error %q shows a credential", c.name, err)
			}
		}
	}
}

func TestJoinRedact(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{storage.Join("s3://b/out?region=x&endpoint=http://h:1", "latents", "dt=2026-01-02"), "s3://b/out/latents/dt=2026-01-02?region=x&endpoint=http://h:1"},
		{storage.Join("file:///tmp/out", "a"), "file:///tmp/out/a"},
		{storage.Join("mem://b", "a", "c"), "mem://b/a/c"},
		{storage.Join("out", "a"), filepath.Join("out", "a")},
		{storage.Base("s3://b/out/m.safetensors?region=x"), "m.safetensors"},
		{storage.Redact("s3://b/p?region=x"), "s3://b/p?region=x"},
		{storage.Redact("azblob://c/p?sas_token=abc&region=x"), "azblob://c/p?region=x&sas_token=REDACTED"},
		{storage.Redact("s3://user:pw@b/p"), "s3://REDACTED@b/p"},
		{storage.Redact("/local/path"), "/local/path"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestBlobReplaced: ReadAll reads an object in one request; an object
// replaced after Open fails the next read that goes to the store, naming
// the change, instead of reading from the new object at the old one's
// offsets.
func TestBlobReplaced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, s := range s3fake.Targets(t, "root") {
		t.Run(s.Name, func(t *testing.T) {
			name := storage.Join(s.Base, "x.json")
			tabletest.Put(t, s.Store, name, []byte(`{"old":1}`))
			got, err := storage.ReadAll(ctx, s.Store, name)
			if string(got) != `{"old":1}` || err != nil {
				t.Fatalf("ReadAll: got %q, %v; want the object", got, err)
			}
			if st := s.Store.ReadStats(name); st.Requests != 1 || st.Bytes != 9 {
				t.Errorf("ReadAll: got %d requests, %d bytes; want 1, 9", st.Requests, st.Bytes)
			}
			if _, err := storage.ReadAll(ctx, s.Store, storage.Join(s.Base, "nothing")); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("ReadAll(nothing): got %v, want ErrNotFound", err)
			}
			obj, err := s.Store.Open(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			defer obj.Close()
			tabletest.Put(t, s.Store, name, []byte(`{"new":"longer"}`))
			buf := make([]byte, obj.Size())
			if _, err := obj.ReadAt(buf, 0); err == nil || !strings.Contains(err.Error(), "replaced since it was opened") {
				t.Errorf("ReadAt after the object was replaced: got %q, %v; want an error that says so", buf, err)
			}
		})
	}
}

// TestGCSReadAfterOpen: an object on GCS reads after Open although GCS
// reports its modification time in milliseconds to Open (the JSON
// metadata's "updated") and in whole seconds to a read (the media read's
// Last-Modified): a server that answers as GCS does, through gcsblob.
func TestGCSReadAfterOpen(t *testing.T) {
	body := "hello"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/storage/v1/b/bkt/o/key":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"kind":"storage#object","bucket":"bkt","name":"key","size":"%d","generation":"1","metageneration":"1","updated":"2024-01-02T03:04:05.678Z","timeCreated":"2024-01-02T03:04:05.678Z"}`, len(body))
		case "/bkt/key":
			w.Header().Set("Last-Modified", "Tue, 02 Jan 2024 03:04:05 GMT")
			w.Header().Set("X-Goog-Generation", "1")
			w.Header().Set("X-Goog-Metageneration", "1")
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(body)-1, len(body)))
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.WriteHeader(http.StatusPartialContent)
			w.Write([]byte(body))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.URL, "http://"))
	r := cloud.NewResolver()
	defer r.Close()
	obj, err := r.Open(context.Background(), "gs://bkt/key?anonymous=true")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, obj.Size())
	if n, err := obj.ReadAt(buf, 0); string(buf[:n]) != body || (err != nil && err != io.EOF) {
		t.Errorf("ReadAt: got %q, %v; want %q", buf[:n], err, body)
	}
}
