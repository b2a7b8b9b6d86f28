package write

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/internal/heaptest"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
)

// A table as read back: column names, and rows of Go values normalised to
// nil, bool, int64, float64, string or []float32.
type readTable struct {
	cols []string
	rows [][]any
	meta map[string]string
}

// fromArrow converts Arrow record batches.
func fromArrow(t testing.TB, schema *arrow.Schema, recs []arrow.Record) readTable {
	t.Helper()
	out := readTable{meta: map[string]string{}}
	for _, f := range schema.Fields() {
		out.cols = append(out.cols, f.Name)
	}
	md := schema.Metadata()
	for i, k := range md.Keys() {
		out.meta[k] = md.Values()[i]
	}
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]any, rec.NumCols())
			for c, col := range rec.Columns() {
				row[c] = arrowCell(t, col, i)
			}
			out.rows = append(out.rows, row)
		}
	}
	return out
}

func arrowCell(t testing.TB, a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Boolean:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Date32:
		return int64(a.Value(i))
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return string(a.Value(i))
	case *array.List:
		lo, hi := a.ValueOffsets(i)
		vals := a.ListValues().(*array.Float32)
		out := []float32{}
		for j := lo; j < hi; j++ {
			out = append(out, vals.Value(int(j)))
		}
		return out
	}
	t.Fatalf("arrowCell: array %T", a)
	return nil
}

// readIPC reads an Arrow IPC file with Arrow's reader.
func readIPC(t testing.TB, b []byte) readTable {
	t.Helper()
	r, err := ipc.NewFileReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var recs []arrow.Record
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.Record(i)
		if err != nil {
			t.Fatal(err)
		}
		rec.Retain()
		recs = append(recs, rec)
	}
	return fromArrow(t, r.Schema(), recs)
}

// readPqarrow reads a Parquet file with Arrow's Parquet reader (the Go port
// of the C++ reader behind pyarrow and pandas).
func readPqarrow(t testing.TB, b []byte) readTable {
	t.Helper()
	pr, err := file.NewParquetReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1<<20)
	defer tr.Release()
	var recs []arrow.Record
	for tr.Next() {
		rec := tr.Record()
		rec.Retain()
		recs = append(recs, rec)
	}
	out := fromArrow(t, tbl.Schema(), recs)
	for _, kv := range pr.MetaData().KeyValueMetadata() {
		if kv.Value != nil {
			out.meta[kv.Key] = *kv.Value
		}
	}
	return out
}

// readParquetGo reads a Parquet file with parquet-go, row by row.
func readParquetGo(t testing.TB, b []byte) readTable {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := readTable{meta: map[string]string{}}
	for _, kv := range f.Metadata().KeyValueMetadata {
		out.meta[kv.Key] = kv.Value
	}
	var leaves []*parquet.Column // each top-level column's one leaf
	for _, c := range f.Root().Columns() {
		out.cols = append(out.cols, c.Name())
		for !c.Leaf() {
			c = c.Columns()[0]
		}
		leaves = append(leaves, c)
	}
	r := parquet.NewReader(f)
	defer r.Close()
	buf := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(buf)
		for _, pr := range buf[:n] {
			row := make([]any, len(leaves))
			for c, lc := range leaves {
				var vals []parquet.Value
				for _, v := range pr {
					if v.Column() == lc.Index() {
						vals = append(vals, v)
					}
				}
				if lc.MaxRepetitionLevel() > 0 {
					list := []float32{}
					for _, v := range vals {
						if !v.IsNull() {
							list = append(list, v.Float())
						}
					}
					row[c] = list
					continue
				}
				row[c] = parquetCell(vals[0])
			}
			out.rows = append(out.rows, row)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func parquetCell(v parquet.Value) any {
	switch v.Kind() {
	case parquet.Boolean:
		return v.Boolean()
	case parquet.Float:
		return float64(v.Float())
	case parquet.Double:
		return v.Double()
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	case parquet.Int32:
		return int64(v.Int32())
	case parquet.Int64:
		return v.Int64()
	}
	return nil // null
}

func checkTable(t *testing.T, who string, got readTable, cols []string, rows [][]any, meta Meta) {
	t.Helper()
	if !reflect.DeepEqual(got.cols, cols) {
		t.Fatalf("%s: got columns %v, want %v", who, got.cols, cols)
	}
	if len(got.rows) != len(rows) {
		t.Fatalf("%s: got %d rows, want %d", who, len(got.rows), len(rows))
	}
	for i := range rows {
		if !reflect.DeepEqual(got.rows[i], rows[i]) {
			t.Fatalf("%s: row %d: got %#v, want %#v", who, i, got.rows[i], rows[i])
		}
	}
	for _, kv := range meta.Pairs() {
		if got.meta[kv[0]] != kv[1] {
			t.Fatalf("%s: metadata %s: got %q, want %q", who, kv[0], got.meta[kv[0]], kv[1])
		}
	}
}

var testMeta = Meta{ModelID: "sha256:abc", RunID: "run-7", Version: "0.1.0", Config: "layout: nested\nlatent: 8\n", Extra: map[string]string{"seqae.table": "test"}}

// outputCase writes one table with both formats' writers and says what
// reading it back must give.
type outputCase struct {
	name  string
	write func(ctx context.Context, s storage.Store, name string, f Format) error
	cols  []string
	rows  [][]any
}

func outputCases() []outputCase {
	passFields := []schemas.Field{{Name: "ok", Kind: schemas.Bool}, {Name: "n32", Kind: schemas.Int32}, {Name: "w", Kind: schemas.Float64}, {Name: "f", Kind: schemas.Float32}, {Name: "label", Kind: schemas.String}, {Name: "raw", Kind: schemas.Binary}, {Name: "day", Kind: schemas.Date}, {Name: "ms", Kind: schemas.TimestampMilli}, {Name: "us", Kind: schemas.TimestampMicro}, {Name: "ns", Kind: schemas.TimestampNano}}
	latents := []LatentRow{
		{ID: schemas.Value{Str: "a"}, Length: 3, Latent: []float32{0.5, -1, 2}, Score: 0.25, Pass: []schemas.Value{{Int: 1}, {Int: -5}, {Float: 2.5}, {Float: 0.5}, {Str: "walk"}, {Str: "\x00\x01"}, {Int: 19000}, {Int: 1700000000000}, {Int: 1700000000000000}, {Int: 1700000000000000000}},
			Percentile: 99.5, Anomaly: true, Calibrated: true},
		{ID: schemas.Value{Str: "b"}, Length: 1, Latent: []float32{0, 0, float32(math.SmallestNonzeroFloat32)}, Score: 3, Pass: []schemas.Value{{Null: true}, {Null: true}, {Null: true}, {Null: true}, {Null: true}, {Null: true}, {Null: true}, {Null: true}, {Null: true}, {Null: true}}},
	}
	var latentRows [][]any
	for _, r := range latents {
		row := []any{r.ID.Str, int64(r.Length), r.Latent, float64(r.Score), nil, nil}
		if r.Calibrated {
			row[4], row[5] = float64(r.Percentile), r.Anomaly
		}
		for i, v := range r.Pass {
			switch {
			case v.Null:
				row = append(row, nil)
			case passFields[i].Kind == schemas.Bool:
				row = append(row, v.Int != 0)
			case passFields[i].Kind == schemas.Float64:
				row = append(row, v.Float)
			case passFields[i].Kind == schemas.Float32:
				row = append(row, float64(float32(v.Float)))
			case passFields[i].Kind == schemas.String, passFields[i].Kind == schemas.Binary:
				row = append(row, v.Str)
			default:
				row = append(row, v.Int)
			}
		}
		latentRows = append(latentRows, row)
	}
	return []outputCase{
		{
			name: "latents",
			write: func(ctx context.Context, s storage.Store, name string, f Format) error {
				w, err := NewLatentsWriter(ctx, s, name, f, schemas.Field{Name: "id", Kind: schemas.String}, passFields, testMeta, WriteOptions{RowGroupBytes: 1, BatchRows: 1})
				if err != nil {
					return err
				}
				defer w.Abort()
				for _, r := range latents {
					if err := w.Write(r); err != nil {
						return err
					}
				}
				return w.Close()
			},
			cols: []string{"id", "length", "latent", "score", "percentile", "anomaly", "ok", "n32", "w", "f", "label", "raw", "day", "ms", "us", "ns"},
			rows: latentRows,
		},
		{
			name: "latents with feature scores",
			write: func(ctx context.Context, s storage.Store, name string, f Format) error {
				w, err := NewLatentsWriter(ctx, s, name, f, schemas.Field{Name: "id", Kind: schemas.Int64}, []schemas.Field{{Name: "m", Kind: schemas.String}}, testMeta, WriteOptions{FeatureLosses: true})
				if err != nil {
					return err
				}
				defer w.Abort()
				if err := w.Write(LatentRow{ID: schemas.Value{Int: 7}, Length: 2, Latent: []float32{1}, Score: 0.5, Percentile: 12.5, Calibrated: true,
					FeatureScores: []float32{0.25, 0.75}, Pass: []schemas.Value{{Str: "x"}}}); err != nil {
					return err
				}
				return w.Close()
			},
			cols: []string{"id", "length", "latent", "score", "percentile", "anomaly", "feature_scores", "m"},
			rows: [][]any{{int64(7), int64(2), []float32{1}, 0.5, 12.5, false, []float32{0.25, 0.75}, "x"}},
		},
		{
			name: "step_losses with feature losses",
			write: func(ctx context.Context, s storage.Store, name string, f Format) error {
				w, err := NewStepLossesWriter(ctx, s, name, f, schemas.Field{Name: "id", Kind: schemas.String}, testMeta, WriteOptions{FeatureLosses: true})
				if err != nil {
					return err
				}
				defer w.Abort()
				if err := w.WriteFeatures(schemas.Value{Str: "a"}, []float32{0.5, 1}, []float32{0.25, 0.75, 1.5, 0.5}); err != nil {
					return err
				}
				return w.Close()
			},
			cols: []string{"id", "step", "loss", "feature_loss"},
			rows: [][]any{{"a", int64(0), 0.5, []float32{0.25, 0.75}}, {"a", int64(1), 1.0, []float32{1.5, 0.5}}},
		},
		{
			name: "step_losses",
			write: func(ctx context.Context, s storage.Store, name string, f Format) error {
				w, err := NewStepLossesWriter(ctx, s, name, f, schemas.Field{Name: "seq_id", Kind: schemas.Int64}, testMeta, WriteOptions{})
				if err != nil {
					return err
				}
				defer w.Abort()
				if err := w.Write(schemas.Value{Int: 42}, []float32{0.5, 0.25, 0.125}); err != nil {
					return err
				}
				if err := w.Write(schemas.Value{Int: -1}, []float32{1}); err != nil {
					return err
				}
				return w.Close()
			},
			cols: []string{"seq_id", "step", "loss"},
			rows: [][]any{{int64(42), int64(0), 0.5}, {int64(42), int64(1), 0.25}, {int64(42), int64(2), 0.125}, {int64(-1), int64(0), 1.0}},
		},
		{
			name: "quarantine",
			write: func(ctx context.Context, s storage.Store, name string, f Format) error {
				w, err := NewQuarantineWriter(ctx, s, name, f, testMeta, WriteOptions{})
				if err != nil {
					return err
				}
				defer w.Abort()
				w.Write(schemas.Quarantine{Src: schemas.Loc{File: "in/a.parquet", Row: 7}, ID: "s4", Reason: schemas.NullSequence, Detail: `column "seq" is null`})
				w.Write(schemas.Quarantine{Src: schemas.Loc{File: "in/b.parquet", Row: 0}, IDNull: true, Reason: schemas.NullID, Detail: `column "id" is null`})
				return w.Close()
			},
			cols: []string{"source_file", "row", "id", "reason", "detail"},
			rows: [][]any{{"in/a.parquet", int64(7), "s4", "null_sequence", `column "seq" is null`}, {"in/b.parquet", int64(0), nil, "null_id", `column "id" is null`}},
		},
		{
			name: "metrics",
			write: func(ctx context.Context, s storage.Store, name string, f Format) error {
				w, err := NewMetricsWriter(ctx, s, name, f, testMeta, WriteOptions{})
				if err != nil {
					return err
				}
				defer w.Abort()
				w.Write(MetricsRow{Epoch: 1, TrainLoss: 0.5, ValLoss: 0.75, HasValLoss: true, SequencesPerS: 1e4, Seconds: 12.5})
				w.Write(MetricsRow{Epoch: 2, TrainLoss: 0.25, SequencesPerS: 2e4, Seconds: 6})
				return w.Close()
			},
			cols: []string{"epoch", "train_loss", "val_loss", "sequences_per_s", "seconds"},
			rows: [][]any{{int64(1), 0.5, 0.75, 1e4, 12.5}, {int64(2), 0.25, nil, 2e4, 6.0}},
		},
	}
}

// TestOutputRoundTrip writes every output table in both formats and reads
// each back with an independent reader: Parquet with parquet-go and with
// Arrow's Parquet reader, Arrow IPC with Arrow's IPC reader. All must give
// the same columns, rows and metadata.
func TestOutputRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, tc := range outputCases() {
		t.Run(tc.name, func(t *testing.T) {
			s := storage.NewMem()
			for _, f := range []Format{Parquet, Arrow} {
				if err := tc.write(ctx, s, tc.name+f.Ext(), f); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
			}
			pq := fileBytes(t, s, tc.name+".parquet")
			checkTable(t, "parquet-go", readParquetGo(t, pq), tc.cols, tc.rows, testMeta)
			checkTable(t, "arrow parquet reader", readPqarrow(t, pq), tc.cols, tc.rows, testMeta)
			checkTable(t, "arrow ipc reader", readIPC(t, fileBytes(t, s, tc.name+".arrow")), tc.cols, tc.rows, testMeta)
		})
	}
}

func fileBytes(t testing.TB, s storage.Store, name string) []byte {
	t.Helper()
	o, err := s.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b := make([]byte, o.Size())
	if _, err := o.ReadAt(b, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return b
}

// TestParquetLayout checks the Parquet files' physical layout: standard
// 3-level LIST for latent, zstd, row groups cut by RowGroupBytes, columns in
// the documented order.
func TestParquetLayout(t *testing.T) {
	ctx := context.Background()
	s := storage.NewMem()
	w, err := NewLatentsWriter(ctx, s, "l.parquet", Parquet, schemas.Field{Name: "id", Kind: schemas.Int64}, nil, testMeta, WriteOptions{RowGroupBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	latent := make([]float32, 16)
	for i := 0; i < 5000; i++ {
		if err := w.Write(LatentRow{ID: schemas.Value{Int: int64(i)}, Length: 1, Latent: latent}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := fileBytes(t, s, "l.parquet")
	pr, err := file.NewParquetReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	md := pr.MetaData()
	if md.NumRows != 5000 || pr.NumRowGroups() < 10 {
		t.Fatalf("got %d rows in %d row groups, want 5000 rows in at least 10", md.NumRows, pr.NumRowGroups())
	}
	col := md.Schema.Column(2)
	if got, want := col.Path(), "latent.list.element"; got != want {
		t.Fatalf("latent leaf path: got %s, want %s", got, want)
	}
	if got := md.Schema.Root().Field(2).LogicalType().String(); got != "List" {
		t.Fatalf("latent logical type: got %s, want List", got)
	}
	cc, err := md.RowGroup(0).ColumnChunk(2)
	if err != nil {
		t.Fatal(err)
	}
	if cc.Compression().String() != "ZSTD" {
		t.Fatalf("compression: got %s, want ZSTD", cc.Compression())
	}
}

// TestWriterFailuresPublishNothing checks, in both formats and on both
// stores, that an aborted, failed or cancelled write leaves nothing: no
// file under the name and, on a local disk, no temporary file beside it.
func TestWriterFailuresPublishNothing(t *testing.T) {
	tests := []struct {
		name string
		run  func(ctx context.Context, cancel func(), s storage.Store, name string, f Format) error
		want string
	}{
		{"abort", func(ctx context.Context, cancel func(), s storage.Store, name string, f Format) error {
			w, _ := NewQuarantineWriter(ctx, s, name, f, testMeta, WriteOptions{})
			w.Write(schemas.Quarantine{Reason: schemas.NullID})
			w.Abort()
			return w.Close()
		}, "aborted"},
		{"bad row", func(ctx context.Context, cancel func(), s storage.Store, name string, f Format) error {
			w, _ := NewLatentsWriter(ctx, s, name, f, schemas.Field{Name: "id", Kind: schemas.String}, nil, testMeta, WriteOptions{})
			defer w.Abort()
			w.Write(LatentRow{ID: schemas.Value{Str: "a"}, Latent: []float32{1}})
			if err := w.Write(LatentRow{ID: schemas.Value{Null: true}}); err == nil {
				return errors.New("null id accepted")
			}
			return w.Close()
		}, "null id"},
		{"cancelled", func(ctx context.Context, cancel func(), s storage.Store, name string, f Format) error {
			w, _ := NewStepLossesWriter(ctx, s, name, f, schemas.Field{Name: "id", Kind: schemas.Int64}, testMeta, WriteOptions{})
			defer w.Abort()
			w.Write(schemas.Value{Int: 1}, []float32{1, 2})
			cancel()
			return w.Close()
		}, "canceled"},
	}
	for _, tt := range tests {
		for _, f := range []Format{Parquet, Arrow} {
			for _, local := range []bool{false, true} {
				store := "mem"
				if local {
					store = "local"
				}
				t.Run(tt.name+"/"+string(f)+"/"+store, func(t *testing.T) {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					var s storage.Store = storage.NewMem()
					dir := t.TempDir()
					name := "out"
					if local {
						s, name = storage.Local{}, filepath.Join(dir, "out")
					}
					err := tt.run(ctx, cancel, s, name, f)
					if err == nil || !strings.Contains(err.Error(), tt.want) {
						t.Fatalf("got %v, want an error containing %q", err, tt.want)
					}
					if _, err := s.Open(context.Background(), name); !errors.Is(err, storage.ErrNotFound) {
						t.Fatalf("output exists after a failed write: %v", err)
					}
					if left, _ := os.ReadDir(dir); len(left) != 0 {
						t.Fatalf("files left in the output folder: %v", left)
					}
				})
			}
		}
	}
}

// TestCloseTwice checks that a writer's Close returns the same result every
// time: nil after a publish, the error after a failure.
func TestCloseTwice(t *testing.T) {
	for _, f := range []Format{Parquet, Arrow} {
		t.Run(string(f), func(t *testing.T) {
			s := storage.NewMem()
			w, err := NewMetricsWriter(context.Background(), s, "m", f, testMeta, WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(MetricsRow{Epoch: 1}); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				if err := w.Close(); err != nil {
					t.Fatalf("Close %d after a publish: %v", i+1, err)
				}
			}
			if err := w.Write(MetricsRow{Epoch: 2}); err == nil || !strings.Contains(err.Error(), "closed") {
				t.Fatalf("Write after Close: got %v, want an error saying the writer is closed", err)
			}
			lw, err := NewLatentsWriter(context.Background(), s, "l", f, schemas.Field{Name: "id", Kind: schemas.String}, nil, testMeta, WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			lw.Write(LatentRow{ID: schemas.Value{Null: true}})
			first := lw.Close()
			if first == nil {
				t.Fatal("Close after a bad row: got nil")
			}
			if again := lw.Close(); again != first {
				t.Fatalf("second Close after a failed one: got %v, want %v", again, first)
			}
		})
	}
}

func TestMetaPairs(t *testing.T) {
	got := fmt.Sprint(Meta{ModelID: "m", RunID: "r", Version: "v", Config: "c", Extra: map[string]string{"a": "1", MetaRunID: "ignored"}}.Pairs())
	want := "[[a 1] [seqae.config c] [seqae.model_id m] [seqae.run_id r] [seqae.version v]]"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// BenchmarkWriteLatents writes latents rows (L = 32, one string pass-through)
// to a local file in each format, reporting rows/s and the peak heap.
func BenchmarkWriteLatents(b *testing.B) {
	const rows = 200_000
	latent := make([]float32, 32)
	for i := range latent {
		latent[i] = float32(i) / 7
	}
	for _, f := range []Format{Parquet, Arrow} {
		b.Run(string(f), func(b *testing.B) {
			dir := b.TempDir()
			var peak uint64
			start := time.Now()
			for i := 0; i < b.N; i++ {
				runtime.GC()
				stop := heaptest.Peaks()
				w, err := NewLatentsWriter(context.Background(), storage.Local{}, dir+"/latents"+f.Ext(), f, schemas.Field{Name: "id", Kind: schemas.Int64}, []schemas.Field{{Name: "label", Kind: schemas.String}}, testMeta, WriteOptions{})
				if err != nil {
					b.Fatal(err)
				}
				for r := 0; r < rows; r++ {
					if err := w.Write(LatentRow{ID: schemas.Value{Int: int64(r)}, Length: 64, Latent: latent, Score: 0.5, Pass: []schemas.Value{{Str: "walk"}}}); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				p, _ := stop()
				peak = max(peak, p)
			}
			b.ReportMetric(float64(rows)*float64(b.N)/time.Since(start).Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// BenchmarkWriteStepLosses writes the step losses of the peer benchmark's
// workload (4096 sequences of 10 to 200 steps, 430,080 rows) to a local
// file in each format, a sequence at a time as encoding does.
func BenchmarkWriteStepLosses(b *testing.B) {
	losses := make([]float32, 200)
	for i := range losses {
		losses[i] = float32(i) / 7
	}
	rows := 0
	for i := range 4096 {
		rows += 10 + (i*7919)%191
	}
	for _, f := range []Format{Parquet, Arrow} {
		b.Run(string(f), func(b *testing.B) {
			dir := b.TempDir()
			for b.Loop() {
				w, err := NewStepLossesWriter(context.Background(), storage.Local{}, dir+"/steps"+f.Ext(), f, schemas.Field{Name: "id", Kind: schemas.Int64}, testMeta, WriteOptions{})
				if err != nil {
					b.Fatal(err)
				}
				for i := range 4096 {
					if err := w.Write(schemas.Value{Int: int64(i)}, losses[:10+(i*7919)%191]); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// step_losses without feature losses goes through parquet-go's typed writer
// (stepsBackend) for string and int64 ids, whatever the id column is
// called, and comes out byte for byte as the parquet.Value writer writes
// it, over row groups of several pages.
func TestStepsBackendWritesTheSameBytes(t *testing.T) {
	for _, id := range []schemas.Field{{Name: "id", Kind: schemas.String}, {Name: "sensor", Kind: schemas.Int64}} {
		t.Run(id.Kind.String(), func(t *testing.T) {
			cols := []outCol{{name: id.Name, kind: id.Kind}, {name: "step", kind: schemas.Int32}, {name: "loss", kind: schemas.Float32}}
			opt := WriteOptions{RowGroupBytes: 2 << 20}.withDefaults()
			write := func(be backend, out *bytes.Buffer) []byte {
				for i := range 4000 {
					losses := make([]float32, 1+(i*37)%100)
					for j := range losses {
						losses[j] = float32(i*j) / 7
					}
					v := schemas.Value{Int: int64(i) << 40, Str: fmt.Sprintf("seq-%05d", i)}
					if err := be.(stepWriter).writeSteps(v, losses); err != nil {
						t.Fatal(err)
					}
				}
				if err := be.close(); err != nil {
					t.Fatal(err)
				}
				return out.Bytes()
			}
			var a, b bytes.Buffer
			want := write(newValuesBackend(&a, cols, testMeta, opt), &a)
			be, err := newParquetBackend(&b, cols, testMeta, opt)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := be.(*parquetBackend); ok {
				t.Fatalf("step_losses with a %s id went to the parquet.Value writer, want the typed one", id.Kind)
			}
			got := write(be, &b)
			if !bytes.Equal(got, want) {
				t.Errorf("typed writer: %d bytes, differing from the parquet.Value writer's %d", len(got), len(want))
			}
			f, err := parquet.OpenFile(bytes.NewReader(got), int64(len(got)))
			if err != nil {
				t.Fatal(err)
			}
			pages := 0
			for pg := f.RowGroups()[0].ColumnChunks()[0].Pages(); ; pages++ {
				if _, err := pg.ReadPage(); err != nil {
					break
				}
			}
			if n := len(f.RowGroups()); n < 3 || pages < 2 {
				t.Errorf("%d row groups, the first id column in %d pages: want several of each", n, pages)
			}
		})
	}
}
