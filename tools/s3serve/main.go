// Command s3serve serves a loopback S3 server (gofakes3, in memory) for
// trying seqae's s3:// locations and for .ci/run, with no cloud account.
//
//	s3serve -addr 127.0.0.1:9000 -bucket lake -preload examples/data:input
//
// It prints the endpoint (http://127.0.0.1:PORT) on the first line of its
// output, and the s3:// URL of each bucket, then serves until interrupted.
//
//	s3serve download LOCATION DIR
//
// copies every object under a location URL (hidden ones included: the
// manifests and markers) into DIR, through seqae's storage package.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/seqae/seqae/internal/s3fake"
	"github.com/seqae/seqae/storage/cloud"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var err error
	if len(os.Args) == 4 && os.Args[1] == "download" {
		var n int
		n, err = download(context.Background(), os.Args[2], os.Args[3])
		fmt.Fprintf(os.Stderr, "downloaded %d objects into %s\n", n, os.Args[3])
	} else {
		err = run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3serve:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (port 0: a free one)")
	var buckets, preload list
	flag.Var(&buckets, "bucket", "a bucket to create; repeat for more")
	flag.Var(&preload, "preload", "DIR:BUCKET/PREFIX: copy the files under DIR into BUCKET under PREFIX; repeat for more")
	portFile := flag.String("endpoint-file", "", "also write the endpoint to this file, once serving")
	flag.Parse()
	srv, err := s3fake.Start(*addr)
	if err != nil {
		return err
	}
	defer srv.Close()
	for _, b := range buckets {
		if err := srv.CreateBucket(b); err != nil {
			return fmt.Errorf("bucket %s: %w", b, err)
		}
	}
	for _, p := range preload {
		dir, dst, ok := strings.Cut(p, ":")
		if !ok {
			return fmt.Errorf("-preload %q: want DIR:BUCKET/PREFIX", p)
		}
		bucket, prefix, _ := strings.Cut(dst, "/")
		n, err := srv.Preload(bucket, prefix, dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "preloaded %d files from %s into %s\n", n, dir, srv.Location(bucket, prefix))
	}
	fmt.Println(srv.URL)
	for _, b := range buckets {
		fmt.Println(srv.Location(b, ""))
	}
	if *portFile != "" {
		if err := os.WriteFile(*portFile, []byte(srv.URL+"\n"), 0o644); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}

// download copies every object under a location URL into dir.
func download(ctx context.Context, loc, dir string) (int, error) {
	r := cloud.NewResolver()
	defer r.Close()
	names, err := r.ListAll(ctx, loc)
	if err != nil {
		return 0, err
	}
	head, _, _ := strings.Cut(loc, "?")
	for _, n := range names {
		rel, _, _ := strings.Cut(strings.TrimPrefix(n, strings.TrimSuffix(head, "/")+"/"), "?")
		obj, err := r.Open(ctx, n)
		if err != nil {
			return 0, err
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return 0, err
		}
		f, err := os.Create(dst)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(f, io.NewSectionReader(obj, 0, obj.Size()))
		obj.Close()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, err
		}
	}
	return len(names), nil
}
