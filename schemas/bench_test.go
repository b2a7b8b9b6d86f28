package schemas

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/storage"
)

var benchMB = flag.Int("nested.mb", 100, "size in MB of the nested-layout file BenchmarkReadNested reads (and 10x that)")

type benchRow struct {
	ID  int64       `parquet:"id"`
	Seq [][]float32 `parquet:"seq,list"`
}

const (
	benchSteps    = 64
	benchFeatures = 8
)

// writeNestedFile writes a nested-layout file of about mb megabytes
// (64 steps × 8 float32 features a row, random values, 4096 rows a row
// group) and returns its path and row count.
func writeNestedFile(tb testing.TB, dir string, mb int) (string, int64) {
	tb.Helper()
	path := filepath.Join(dir, fmt.Sprintf("nested-%dmb.parquet", mb))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := parquet.NewGenericWriter[benchRow](f, parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(4096))
	rng := rand.New(rand.NewPCG(1, uint64(mb)))
	rowBytes := benchSteps * benchFeatures * 4
	rows := int64(mb) << 20 / int64(rowBytes)
	batch := make([]benchRow, 256)
	for i := range batch {
		batch[i].Seq = make([][]float32, benchSteps)
		for t := range batch[i].Seq {
			batch[i].Seq[t] = make([]float32, benchFeatures)
		}
	}
	for n := int64(0); n < rows; n += int64(len(batch)) {
		k := int(min(int64(len(batch)), rows-n))
		for i := range batch[:k] {
			batch[i].ID = n + int64(i)
			for _, step := range batch[i].Seq {
				for j := range step {
					step[j] = rng.Float32()
				}
			}
		}
		if _, err := w.Write(batch[:k]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return path, rows
}

// heapPeak samples the heap (live and not yet collected objects) every
// millisecond until stop is called, and returns the highest sample.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// readNested decodes every unit of the file in order, dropping what it
// decodes (as a pipeline stage hands it on), and returns the sequences
// decoded and the peak heap.
func readNested(tb testing.TB, path string) (int64, uint64) {
	tb.Helper()
	runtime.GC() // twice: sync.Pool caches (the writer's buffers) survive one
	runtime.GC()
	stop := heapPeak()
	ctx := context.Background()
	in, err := Open(ctx, storage.Local{}, []string{path}, Spec{})
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	sink := Sink{
		Sequence: func(s *Sequence) error {
			if s.Len != benchSteps || s.Dim != benchFeatures {
				return fmt.Errorf("sequence %d: T=%d I=%d", s.ID.Int, s.Len, s.Dim)
			}
			n++
			return nil
		},
		Quarantine: func(q Quarantine) error { return fmt.Errorf("quarantined: %v", q) },
	}
	for _, u := range in.Units() {
		if _, err := in.ReadUnit(ctx, u, sink); err != nil {
			tb.Fatal(err)
		}
	}
	return n, stop()
}

// BenchmarkReadNested reads and decodes a nested-layout file of -nested.mb
// megabytes (default 100) and one 10× larger, reporting rows/s, MB/s (of
// file) and the peak heap: the heap must stay flat as the file grows,
// because the reader holds a page per column, not the file or a row group.
func BenchmarkReadNested(b *testing.B) {
	dir := b.TempDir()
	for _, scale := range []int{1, 10} {
		mb := *benchMB * scale
		path, rows := writeNestedFile(b, dir, mb)
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("x%d-%dMB", scale, mb), func(b *testing.B) {
			b.SetBytes(st.Size())
			var peak uint64
			start := time.Now()
			for i := 0; i < b.N; i++ {
				n, p := readNested(b, path)
				if n != rows {
					b.Fatalf("decoded %d rows, want %d", n, rows)
				}
				peak = max(peak, p)
			}
			b.ReportMetric(float64(rows)*float64(b.N)/time.Since(start).Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
		os.Remove(path)
	}
}

// TestHeapFlat is the quick form of the benchmark's claim: decoding a file
// 10× larger must not take much more heap.
func TestHeapFlat(t *testing.T) {
	dir := t.TempDir()
	var peaks [2]uint64
	for i, mb := range []int{2, 20} {
		path, rows := writeNestedFile(t, dir, mb)
		n, peak := readNested(t, path)
		if n != rows {
			t.Fatalf("decoded %d rows, want %d", n, rows)
		}
		peaks[i] = peak
	}
	t.Logf("peak heap: %.1f MB at 2 MB, %.1f MB at 20 MB", float64(peaks[0])/(1<<20), float64(peaks[1])/(1<<20))
	if peaks[1] > 2*peaks[0]+(8<<20) {
		t.Fatalf("peak heap grew from %d to %d bytes for a 10x larger file", peaks[0], peaks[1])
	}
}
