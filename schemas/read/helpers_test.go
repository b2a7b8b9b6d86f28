package read

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	pqa "github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
)

// Test inputs are written with Arrow's Parquet writer (an implementation
// independent of the parquet-go reader under test, the one pyarrow's C++
// writer is the origin of) from rows given as nested Go values:
//   - a list is []any; nil is null at any level (a null list, a null step,
//     a null value);
//   - numbers are float64 or int64 (or int), strings are string.

// appendAny appends a Go value to an Arrow builder.
func appendAny(b array.Builder, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.ListBuilder:
		b.Append(true)
		for _, e := range v.([]any) {
			appendAny(b.ValueBuilder(), e)
		}
	case *array.Float32Builder:
		b.Append(float32(v.(float64)))
	case *array.Float64Builder:
		b.Append(v.(float64))
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.BinaryBuilder:
		b.Append([]byte(v.(string)))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.Int32Builder:
		b.Append(int32(asInt(v)))
	case *array.Int64Builder:
		b.Append(asInt(v))
	case *array.Date32Builder:
		b.Append(arrow.Date32(asInt(v)))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(asInt(v)))
	default:
		panic(fmt.Sprintf("appendAny: builder %T", b))
	}
}

func asInt(v any) int64 {
	switch v := v.(type) {
	case int:
		return int64(v)
	case int64:
		return v
	}
	panic(fmt.Sprintf("asInt: %T", v))
}

// arrowFile describes a test input file.
type arrowFile struct {
	schema *arrow.Schema
	rows   [][]any
	// groupRows is the rows per row group (0: all in one).
	groupRows int
	// plain turns dictionary encoding off; v2 writes data page v2.
	plain, v2 bool
	// compression is the pages' codec; nil is ZSTD.
	compression *compress.Compression
}

// bytes writes the file with Arrow's Parquet writer.
func (a arrowFile) bytes(t testing.TB) []byte {
	t.Helper()
	codec := compress.Codecs.Zstd
	if a.compression != nil {
		codec = *a.compression
	}
	props := []pqa.WriterProperty{pqa.WithCompression(codec), pqa.WithDictionaryDefault(!a.plain)}
	if a.v2 {
		props = append(props, pqa.WithDataPageVersion(pqa.DataPageV2))
	}
	var buf bytes.Buffer
	fw, err := pqarrow.NewFileWriter(a.schema, &buf, pqa.NewWriterProperties(props...), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	step := a.groupRows
	if step <= 0 {
		step = max(1, len(a.rows))
	}
	for lo := 0; lo < len(a.rows); lo += step {
		rb := array.NewRecordBuilder(memory.DefaultAllocator, a.schema)
		for _, row := range a.rows[lo:min(lo+step, len(a.rows))] {
			for i, v := range row {
				appendAny(rb.Field(i), v)
			}
		}
		rec := rb.NewRecord()
		if err := fw.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		rb.Release()
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func field(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: true}
}

var (
	f32      = arrow.PrimitiveTypes.Float32
	f64      = arrow.PrimitiveTypes.Float64
	listOf   = arrow.ListOf
	strType  = arrow.BinaryTypes.String
	i64Type  = arrow.PrimitiveTypes.Int64
	i32Type  = arrow.PrimitiveTypes.Int32
	dateType = arrow.FixedWidthTypes.Date32
	tsType   = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
)

// memStore puts files in an in-memory store and returns it with their names.
func memStore(t testing.TB, files map[string][]byte) (*storage.Mem, []string) {
	t.Helper()
	s := storage.NewMem()
	ctx := context.Background()
	for name, b := range files {
		w, err := s.Create(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	names, err := s.List(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	return s, names
}

// decoded is everything an Input produced, in unit order.
type decoded struct {
	Seqs  []*schemas.Sequence
	Quars []schemas.Quarantine
	Stats Stats
}

// decodeAll reads every unit of in, in order, and checks that each unit's
// counts add up.
func decodeAll(t testing.TB, in *Input) decoded {
	t.Helper()
	var d decoded
	for _, u := range in.Units() {
		var nseq, nq int64
		st, err := in.ReadUnit(context.Background(), u, Sink{
			Sequence:   func(s *schemas.Sequence) error { d.Seqs = append(d.Seqs, s); nseq++; return nil },
			Quarantine: func(q schemas.Quarantine) error { d.Quars = append(d.Quars, q); nq++; return nil },
		})
		if err != nil {
			t.Fatalf("ReadUnit(%s): %v", u, err)
		}
		if st.Groups != st.Sequences+st.Quarantined || st.Sequences != nseq || st.Quarantined != nq {
			t.Fatalf("unit %s: stats %+v, but got %d sequences and %d quarantined", u, st, nseq, nq)
		}
		if in.Layout() != schemas.Long && (st.Rows != u.Rows || st.Groups != st.Rows) {
			t.Fatalf("unit %s: stats %+v, want %d rows, one group each", u, st, u.Rows)
		}
		if in.Layout() == schemas.Long && st.Rows != u.Rows {
			t.Fatalf("unit %s: read %d rows, want %d", u, st.Rows, u.Rows)
		}
		d.Stats.Add(st)
	}
	return d
}

func openMem(t testing.TB, files map[string][]byte, spec schemas.Spec) *Input {
	t.Helper()
	s, names := memStore(t, files)
	in, err := Open(context.Background(), s, names, spec)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return in
}
