package schemas

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// parquetBackend writes rows through parquet-go, cutting a row group (Flush)
// every RowGroupBytes of buffered values.
type parquetBackend struct {
	w       *parquet.GenericWriter[any]
	cols    []outCol
	rows    []parquet.Row
	pending int64 // estimated bytes in the current row group
	rgBytes int64
}

// rowBatch is the number of rows handed to parquet-go at once.
const rowBatch = 512

func parquetNode(c outCol) parquet.Node {
	var n parquet.Node
	switch {
	case c.list:
		return parquet.List(parquet.Leaf(parquet.FloatType))
	case c.kind == Bool:
		n = parquet.Leaf(parquet.BooleanType)
	case c.kind == Int32:
		n = parquet.Int(32)
	case c.kind == Int64:
		n = parquet.Int(64)
	case c.kind == Float32:
		n = parquet.Leaf(parquet.FloatType)
	case c.kind == Float64:
		n = parquet.Leaf(parquet.DoubleType)
	case c.kind == String:
		n = parquet.String()
	case c.kind == Binary:
		n = parquet.Leaf(parquet.ByteArrayType)
	case c.kind == Date:
		n = parquet.Date()
	case c.kind == TimestampMilli:
		n = parquet.Timestamp(parquet.Millisecond)
	case c.kind == TimestampMicro:
		n = parquet.Timestamp(parquet.Microsecond)
	case c.kind == TimestampNano:
		n = parquet.Timestamp(parquet.Nanosecond)
	default:
		panic(fmt.Sprintf("schemas: no Parquet type for %s", c.kind))
	}
	if c.nullable {
		return parquet.Optional(n)
	}
	return n
}

func newParquetBackend(w io.Writer, cols []outCol, meta Meta, opt WriteOptions) (backend, error) {
	names := make([]string, len(cols))
	nodes := make([]parquet.Node, len(cols))
	for i, c := range cols {
		if !c.list && (c.kind == KindInvalid || c.kind > TimestampNano) {
			return nil, fmt.Errorf("column %q: unsupported kind %s", c.name, c.kind)
		}
		names[i], nodes[i] = c.name, parquetNode(c)
	}
	schema := parquet.NewSchema("schema", newOrderedGroup(names, nodes))
	options := []parquet.WriterOption{schema, parquet.Compression(smallZstd), parquet.CreatedBy("seqae", meta.Version, "")}
	for _, kv := range meta.Pairs() {
		options = append(options, parquet.KeyValueMetadata(kv[0], kv[1]))
	}
	return &parquetBackend{w: parquet.NewGenericWriter[any](w, options...), cols: cols, rgBytes: opt.RowGroupBytes}, nil
}

func scalarValue(v Value, k Kind) parquet.Value {
	switch k {
	case Bool:
		return parquet.BooleanValue(v.Int != 0)
	case Int32, Date:
		return parquet.Int32Value(int32(v.Int))
	case Float32:
		return parquet.FloatValue(float32(v.Float))
	case Float64:
		return parquet.DoubleValue(v.Float)
	case String, Binary:
		return parquet.ByteArrayValue([]byte(v.Str))
	}
	return parquet.Int64Value(v.Int)
}

func (b *parquetBackend) write(cells []cell) error {
	n := 0
	for _, c := range cells {
		n += max(1, len(c.list))
	}
	row := make(parquet.Row, 0, n)
	for i, c := range cells {
		col := b.cols[i]
		switch {
		case col.list && len(c.list) == 0:
			row = append(row, parquet.NullValue().Level(0, 0, i))
		case col.list:
			for j, f := range c.list {
				row = append(row, parquet.FloatValue(f).Level(min(j, 1), 1, i))
			}
			b.pending += 4 * int64(len(c.list))
		case c.v.Null:
			if !col.nullable {
				return fmt.Errorf("column %q: null value in a non-nullable column", col.name)
			}
			row = append(row, parquet.NullValue().Level(0, 0, i))
		default:
			def := 0
			if col.nullable {
				def = 1
			}
			row = append(row, scalarValue(c.v, col.kind).Level(0, def, i))
			b.pending += 8 + int64(len(c.v.Str))
		}
	}
	b.rows = append(b.rows, row)
	if len(b.rows) == rowBatch {
		return b.flushRows()
	}
	return nil
}

func (b *parquetBackend) flushRows() error {
	if len(b.rows) > 0 {
		if _, err := b.w.WriteRows(b.rows); err != nil {
			return err
		}
		b.rows = b.rows[:0]
	}
	if b.pending >= b.rgBytes {
		b.pending = 0
		return b.w.Flush()
	}
	return nil
}

func (b *parquetBackend) close() error {
	if err := b.flushRows(); err != nil {
		return err
	}
	return b.w.Close()
}

func (b *parquetBackend) abort() {}
