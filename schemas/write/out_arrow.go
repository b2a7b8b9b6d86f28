package write

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/seqae/seqae/schemas"
)

// arrowBackend writes Arrow IPC file record batches of BatchRows rows, or
// fewer when they reach about BatchBytes.
type arrowBackend struct {
	fw       *ipc.FileWriter
	rb       *array.RecordBuilder
	cols     []outCol
	n        int
	batch    int
	bytes    int64
	maxBytes int64
}

// positionWriter gives ipc.FileWriter the io.WriteSeeker it asks for: it only
// ever asks for the current position, which a storage.Writer (possibly an
// object store upload) cannot seek to but can count.
type positionWriter struct {
	w   io.Writer
	pos int64
}

func (p *positionWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.pos += int64(n)
	return n, err
}

func (p *positionWriter) Seek(offset int64, whence int) (int64, error) {
	if offset != 0 || whence != io.SeekCurrent {
		return 0, errors.New("output is not seekable")
	}
	return p.pos, nil
}

func arrowType(c outCol) arrow.DataType {
	if c.list {
		return arrow.ListOfNonNullable(arrow.PrimitiveTypes.Float32)
	}
	switch c.kind {
	case schemas.Bool:
		return arrow.FixedWidthTypes.Boolean
	case schemas.Int32:
		return arrow.PrimitiveTypes.Int32
	case schemas.Int64:
		return arrow.PrimitiveTypes.Int64
	case schemas.Float32:
		return arrow.PrimitiveTypes.Float32
	case schemas.Float64:
		return arrow.PrimitiveTypes.Float64
	case schemas.String:
		return arrow.BinaryTypes.String
	case schemas.Binary:
		return arrow.BinaryTypes.Binary
	case schemas.Date:
		return arrow.FixedWidthTypes.Date32
	case schemas.TimestampMilli:
		return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	case schemas.TimestampMicro:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case schemas.TimestampNano:
		return &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	}
	return nil
}

func newArrowBackend(w io.Writer, cols []outCol, meta Meta, opt WriteOptions) (backend, error) {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		t := arrowType(c)
		if t == nil {
			return nil, fmt.Errorf("column %q: unsupported kind %s", c.name, c.kind)
		}
		fields[i] = arrow.Field{Name: c.name, Type: t, Nullable: c.nullable}
	}
	var keys, values []string
	for _, kv := range meta.Pairs() {
		keys, values = append(keys, kv[0]), append(values, kv[1])
	}
	md := arrow.NewMetadata(keys, values)
	schema := arrow.NewSchema(fields, &md)
	fw, err := ipc.NewFileWriter(&positionWriter{w: w}, ipc.WithSchema(schema), ipc.WithZstd())
	if err != nil {
		return nil, err
	}
	return &arrowBackend{fw: fw, rb: array.NewRecordBuilder(memory.DefaultAllocator, schema), cols: cols, batch: opt.BatchRows, maxBytes: opt.BatchBytes}, nil
}

func (b *arrowBackend) write(cells []cell) error {
	for i, c := range cells {
		col := b.cols[i]
		fb := b.rb.Field(i)
		if col.list {
			lb := fb.(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.Float32Builder).AppendValues(c.list, nil)
			b.bytes += 4 * int64(len(c.list))
			continue
		}
		if c.v.Null {
			if !col.nullable {
				return fmt.Errorf("column %q: null value in a non-nullable column", col.name)
			}
			fb.AppendNull()
			continue
		}
		switch bb := fb.(type) {
		case *array.BooleanBuilder:
			bb.Append(c.v.Int != 0)
		case *array.Int32Builder:
			bb.Append(int32(c.v.Int))
		case *array.Int64Builder:
			bb.Append(c.v.Int)
		case *array.Float32Builder:
			bb.Append(float32(c.v.Float))
		case *array.Float64Builder:
			bb.Append(c.v.Float)
		case *array.StringBuilder:
			bb.Append(c.v.Str)
			b.bytes += int64(len(c.v.Str))
		case *array.BinaryBuilder:
			bb.Append([]byte(c.v.Str))
			b.bytes += int64(len(c.v.Str))
		case *array.Date32Builder:
			bb.Append(arrow.Date32(c.v.Int))
		case *array.TimestampBuilder:
			bb.Append(arrow.Timestamp(c.v.Int))
		default:
			return fmt.Errorf("column %q: no Arrow builder for %s", col.name, col.kind)
		}
	}
	b.n++
	b.bytes += 8 * int64(len(cells))
	if b.n == b.batch || b.bytes >= b.maxBytes {
		return b.flush()
	}
	return nil
}

func (b *arrowBackend) flush() error {
	if b.n == 0 {
		return nil
	}
	rec := b.rb.NewRecord()
	defer rec.Release()
	b.n, b.bytes = 0, 0
	return b.fw.Write(rec)
}

func (b *arrowBackend) close() error {
	defer b.rb.Release()
	if err := b.flush(); err != nil {
		return err
	}
	return b.fw.Close()
}

func (b *arrowBackend) abort() { b.rb.Release() }
