package jobs

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	pqa "github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/seqae/seqae/internal/heaptest"
	"github.com/seqae/seqae/internal/tabletest"
)

func TestDefaultMaxLen(t *testing.T) {
	for _, c := range []struct {
		limit int64
		want  int
	}{
		{math.MaxInt64, 1 << 20}, // no limit: 4 GiB assumed
		{0, 1 << 20},
		{4 << 30, 1 << 20},
		{256 << 20, 65536},
		{1 << 20, 1000},
	} {
		if got := DefaultMaxLen(c.limit); got != c.want {
			t.Errorf("DefaultMaxLen(%d) = %d, want %d", c.limit, got, c.want)
		}
	}
}

func TestDefaultBudgets(t *testing.T) {
	for _, c := range []struct {
		limit        int64
		group, cache int64
	}{
		{math.MaxInt64, 256 << 20, 1 << 30}, // no limit
		{0, 256 << 20, 1 << 30},
		{4 << 30, 256 << 20, 1 << 30},
		{1 << 30, 128 << 20, 256 << 20},
		{150 << 20, 150 << 17, 150 << 18},
		{4 << 20, 1 << 20, 1 << 20},
	} {
		if group, cache := DefaultBudgets(c.limit); group != c.group || cache != c.cache {
			t.Errorf("DefaultBudgets(%d) = %d, %d; want %d, %d", c.limit, group, cache, c.group, c.cache)
		}
	}
}

// One sequence of ten million steps does not take the run's memory: with
// input.max_len left to its default (derived from a 256 MiB memory limit
// here), it ends as a too_long quarantine row, the log says how to keep
// such sequences, and the heap holds a few pages of it at a time (2^18
// values, 1.5 MiB decoded, each), never the sequence. The live heap is
// compared with the same run on the same table with that sequence four
// steps long, so what the rest of the run holds (training, calibration, the
// report) is not counted.
func TestOverlongSequenceIsQuarantined(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a ten-million-step sequence")
	}
	const long = 10_000_000
	base, _, _ := overlongRun(t, 4)
	grew, cfg, log := overlongRun(t, long)
	t.Logf("live heap grew by at most %d MiB, %d MiB over the run with a short sequence; a %d-step sequence takes %d MiB", grew>>20, (grew-base)>>20, long, 4*long>>20)
	// Keeping the sequence would take its 38 MiB, and more as append grows
	// it. (Not under the race detector, whose instrumentation allocates.)
	if grew-base > 16<<20 && !raceEnabled {
		t.Errorf("the live heap grew by %d MiB more reading a %d-step sequence past max_len than a short one", (grew-base)>>20, long)
	}
	q := tabletest.ReadFile[tabletest.Quarantine](t, filepath.Join(cfg.Output.Dir, TableQuarantine, "dt="+day1, "part-00000-of-00001.parquet"))
	if len(q) != 1 || q[0].Reason != "too_long" || !strings.Contains(q[0].Detail, "10000000 steps, max_len is 65536") {
		t.Errorf("quarantine %+v, want s07 as too_long with 10000000 steps, max_len 65536", q)
	}
	for _, want := range []string{"sequences longer than max_len were quarantined as too_long", "max_len=65536", "set input.max_len, or -1 for no limit"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// overlongRun runs a small job on 40 sequences of 4 steps, but sequence 7
// has n steps, and returns the most the heap grew during the run.
func overlongRun(t *testing.T, n int) (grew int64, cfg *Config, log string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "in")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeOverlong(t, dir, n)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(256 << 20))
	// Collect often, so that the heap measured is what the run holds, not
	// garbage waiting for the collector.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	// Twice: the Arrow writer's pooled buffers survive the first.
	runtime.GC()
	runtime.GC()

	// The live heap as the last collection marked it: what the run holds,
	// not garbage a collector slowed by a busy machine has not reached yet.
	base := heaptest.Live()
	stop := heaptest.Peaks()
	var buf bytes.Buffer
	cfg = smallJob(t, dir, "input.layout=columns", "input.pass=", "training.val_fraction=0")
	mustRun(t, cfg, Options{Date: day1, Logger: logTo(&buf)})
	_, live := stop()
	return int64(live) - int64(base), cfg, buf.String()
}

// writeOverlong writes DIR/part-0.parquet for overlongRun. It is a function
// of its own so that none of the Arrow buffers is reachable once it returns.
func writeOverlong(t *testing.T, dir string, n int) {
	t.Helper()
	// Arrow's writer cuts the long list into pages of about a MiB, as
	// Arrow, Spark and DuckDB do, so no page holds the whole sequence
	// (without a dictionary: a dictionary of one value makes pages of 2^21
	// values, 12 MiB decoded, and a test whose pages are as big as what it
	// looks for is at the mercy of the collector's timing).
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "f0", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)}}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	ids, lists := rb.Field(0).(*array.StringBuilder), rb.Field(1).(*array.ListBuilder)
	vals := lists.ValueBuilder().(*array.Float32Builder)
	for i := range 40 {
		ids.Append(fmt.Sprintf("s%02d", i))
		lists.Append(true)
		if i == 7 {
			vals.AppendValues(make([]float32, n), nil)
			continue
		}
		vals.AppendValues([]float32{float32(i), 1, 2, float32(i % 3)}, nil)
	}
	rec := rb.NewRecord()
	f, err := os.Create(filepath.Join(dir, "part-0.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(schema, f, pqa.NewWriterProperties(pqa.WithCompression(compress.Codecs.Zstd), pqa.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	rb.Release()
}
