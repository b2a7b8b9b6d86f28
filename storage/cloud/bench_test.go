package cloud_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seqae/seqae/internal/s3fake"
	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/read"
	"github.com/seqae/seqae/storage/cloud"
)

var benchBigMB = flag.Int("s3bench.mb", 200, "size in MB of BenchmarkReadS3's large input")

// BenchmarkReadS3 reads and decodes a nested input of the example's size
// (3,000 sequences, about 1 MB) and one of -s3bench.mb megabytes (default
// 200), from the local file system and from the loopback S3 server
// (gofakes3 over HTTP on 127.0.0.1, through s3blob), reporting rows/s and
// the requests per file.
func BenchmarkReadS3(b *testing.B) {
	srv := s3fake.StartTB(b, "bench")
	dir := b.TempDir()
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		n, steps int
	}{
		{"example", 3000, 24},
		// 8 features × 4 bytes × ~100 steps ≈ 3.3 kB a sequence.
		{fmt.Sprintf("%dMB", *benchBigMB), *benchBigMB * 300, 200},
	} {
		seqs := synth.Sensors(synth.Options{N: c.n, MinLen: c.steps / 4, MaxLen: c.steps, Dim: 8, Noise: 0.05, Seed: 1})
		var buf bytes.Buffer
		if err := synth.WriteNested(&buf, seqs, 2048); err != nil {
			b.Fatal(err)
		}
		seqs = nil
		local := filepath.Join(dir, c.name+".parquet")
		if err := os.WriteFile(local, buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		key := c.name + "/part-0.parquet"
		if _, err := srv.Backend.PutObject("bench", key, map[string]string{}, bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil); err != nil {
			b.Fatal(err)
		}
		size := buf.Len()
		buf = bytes.Buffer{}
		for _, where := range []struct{ name, file string }{{"local", local}, {"s3", srv.Location("bench", key)}} {
			b.Run(c.name+"/"+where.name, func(b *testing.B) {
				b.SetBytes(int64(size))
				var rows int64
				var requests int64
				start := time.Now()
				for i := 0; i < b.N; i++ {
					r := cloud.NewResolver()
					in, err := read.Open(ctx, r, []string{where.file}, schemas.Spec{})
					if err != nil {
						b.Fatal(err)
					}
					sink := read.Sink{Sequence: func(*schemas.Sequence) error { rows++; return nil }, Quarantine: func(schemas.Quarantine) error { return nil }}
					for _, u := range in.Units() {
						if _, err := in.ReadUnit(ctx, u, sink); err != nil {
							b.Fatal(err)
						}
					}
					requests += r.ReadStats(where.file).Requests
					r.Close()
				}
				b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
				b.ReportMetric(float64(requests)/float64(b.N), "requests/file")
				b.ReportMetric(float64(size)/(1<<20), "file-MB")
			})
		}
	}
}
