package read

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/internal/heaptest"
	"github.com/seqae/seqae/schemas"
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
// (64 steps × 8 float32 features a row, random values, groupRows rows a
// row group) and returns its path and row count.
func writeNestedFile(tb testing.TB, dir string, mb, groupRows int) (string, int64) {
	tb.Helper()
	path := filepath.Join(dir, fmt.Sprintf("nested-%dmb.parquet", mb))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := parquet.NewGenericWriter[benchRow](f, parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(int64(groupRows)))
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

// readNested decodes every unit of the file in order, dropping what it
// decodes (as a pipeline stage hands it on), and returns the sequences
// decoded.
func readNested(tb testing.TB, path string) int64 {
	tb.Helper()
	ctx := context.Background()
	in, err := Open(ctx, storage.Local{}, []string{path}, schemas.Spec{})
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	sink := Sink{
		Sequence: func(s *schemas.Sequence) error {
			if s.Len != benchSteps || s.Dim != benchFeatures {
				return fmt.Errorf("sequence %d: T=%d I=%d", s.ID.Int, s.Len, s.Dim)
			}
			n++
			return nil
		},
		Quarantine: func(q schemas.Quarantine) error { return fmt.Errorf("quarantined: %v", q) },
	}
	for _, u := range in.Units() {
		if _, err := in.ReadUnit(ctx, u, sink); err != nil {
			tb.Fatal(err)
		}
	}
	return n
}

// heapOfReadNested runs readNested once, from a collected heap, and returns
// the peak heap in use and the peak live heap while it ran.
func heapOfReadNested(tb testing.TB, path string, rows int64) (peak, live uint64) {
	tb.Helper()
	runtime.GC() // twice: sync.Pool caches (the writer's buffers) survive one
	runtime.GC()
	stop := heaptest.Peaks()
	if n := readNested(tb, path); n != rows {
		tb.Fatalf("decoded %d rows, want %d", n, rows)
	}
	return stop()
}

// BenchmarkReadNested reads and decodes a nested-layout file of -nested.mb
// megabytes (default 100) and one 10× larger, reporting rows/s and MB/s (of
// file): warm, the file in the page cache from the previous read, and cold,
// its pages dropped from the cache before each read (where the system
// allows it; else the cold variant is skipped). Apart from the timing, one
// read measures the peak heap in use (live data plus garbage the GC has not
// yet collected, so it moves with GC timing) and the peak live heap. Both
// must stay flat as the file grows, because the reader holds a page per
// column, not the file or a row group.
func BenchmarkReadNested(b *testing.B) {
	dir := b.TempDir()
	for _, scale := range []int{1, 10} {
		mb := *benchMB * scale
		path, rows := writeNestedFile(b, dir, mb, 4096)
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		peak, live := heapOfReadNested(b, path, rows)
		for _, cold := range []bool{false, true} {
			name := fmt.Sprintf("x%d-%dMB/warm", scale, mb)
			if cold {
				name = fmt.Sprintf("x%d-%dMB/cold", scale, mb)
			}
			b.Run(name, func(b *testing.B) {
				if cold {
					if err := dropCached(path); err != nil {
						b.Skipf("cannot drop %s from the page cache: %v", path, err)
					}
				}
				b.SetBytes(st.Size())
				for b.Loop() {
					if cold {
						b.StopTimer()
						if err := dropCached(path); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					if n := readNested(b, path); n != rows {
						b.Fatalf("decoded %d rows, want %d", n, rows)
					}
				}
				b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(live)/(1<<20), "live-heap-MB")
			})
		}
		os.Remove(path)
	}
}

// TestHeapFlat is the quick form of the benchmark's claim: decoding a row
// group holds about a page per column, not the row group. It samples the
// heap during ReadUnit of files of one row group, of about 2 and 20 MB:
// the larger one's peak must not pass the smaller one's by more than a
// few MiB (holding the row group would add 18), nor a bound well below its
// size. The small file's peak alone varies from 3 to 6 MiB from run to run
// with when the collector runs, so the margin is 4 MiB.
func TestHeapFlat(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	peakOf := func(mb int) int64 {
		path, rows := writeNestedFile(t, dir, mb, 1<<30)
		in, err := Open(ctx, storage.Local{}, []string{path}, schemas.Spec{Dim: benchFeatures})
		if err != nil {
			t.Fatal(err)
		}
		if len(in.Units()) != 1 {
			t.Fatalf("%d units, want one row group", len(in.Units()))
		}
		var n int64
		sink := Sink{Sequence: func(*schemas.Sequence) error { n++; return nil }, Quarantine: func(schemas.Quarantine) error { return nil }}
		// With GOGC at 10 the heap in use stays near the live heap.
		defer debug.SetGCPercent(debug.SetGCPercent(10))
		runtime.GC() // twice: buffers pooled in sync.Pools survive one
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		stop := heaptest.Peaks()
		_, err = in.ReadUnit(ctx, in.Units()[0], sink)
		peak, _ := stop()
		if err != nil || n != rows {
			t.Fatalf("decoded %d of %d rows: %v", n, rows, err)
		}
		grown := int64(peak) - int64(base.HeapAlloc)
		t.Logf("%d MB file: heap peak %.1f MiB over the start", mb, float64(grown)/(1<<20))
		return grown
	}
	small, large := peakOf(2), peakOf(20)
	if large > small+(4<<20) || large > 12<<20 {
		t.Fatalf("heap peak %d bytes decoding a 20 MB row group, %d for a 2 MB one", large, small)
	}
}
