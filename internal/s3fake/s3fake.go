// Package s3fake serves a real S3 protocol server, gofakes3 with its
// in-memory backend, on 127.0.0.1, so that tests and .ci/run exercise the
// s3blob driver over HTTP with no cloud account.
package s3fake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running fake S3 server.
type Server struct {
	// URL is the endpoint, http://127.0.0.1:PORT.
	URL     string
	Backend *s3mem.Backend
	srv     *http.Server
	done    chan error
}

// Start serves on addr ("127.0.0.1:0" for a free port).
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	be := s3mem.New()
	s := &Server{URL: "http://" + ln.Addr().String(), Backend: be, done: make(chan error, 1),
		srv: &http.Server{Handler: gofakes3.New(be, gofakes3.WithAutoBucket(false)).Server()}}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error {
	err := s.srv.Shutdown(context.Background())
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// CreateBucket makes an empty bucket.
func (s *Server) CreateBucket(name string) error { return s.Backend.CreateBucket(name) }

// Location is the s3:// URL of prefix in bucket on this server: the
// endpoint, path-style addressing, a region and unsigned requests in the
// query, so that no credentials are needed.
func (s *Server) Location(bucket, prefix string) string {
	q := url.Values{"endpoint": {s.URL}, "use_path_style": {"true"}, "region": {"us-east-1"}, "anonymous": {"true"}}
	return "s3://" + bucket + "/" + strings.Trim(prefix, "/") + "?" + q.Encode()
}

// Preload copies every file under dir into bucket under prefix (keys are
// the files' slash paths relative to dir). It returns the number of
// objects.
func (s *Server) Preload(bucket, prefix, dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		key := strings.TrimPrefix(strings.Trim(prefix, "/")+"/"+filepath.ToSlash(rel), "/")
		if _, err := s.Backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			return fmt.Errorf("preload %s: %w", key, err)
		}
		n++
		return nil
	})
	return n, err
}
