package write

import (
	"fmt"
	"io"
	"slices"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/schemas"
)

// parquetBackend writes through parquet-go column by column: each row's
// values are appended to its column's buffer, and every rowBatch rows each
// column's values go to that column's writer at once, with no row
// assembled; a row group is cut (Flush) every RowGroupBytes of buffered
// values. A column of any kind, list or nullable, is one outCol: nothing
// here is particular to a table.
type parquetBackend struct {
	w       *parquet.GenericWriter[any]
	cols    []outCol
	colW    []*parquet.ColumnWriter
	vals    [][]parquet.Value // per column, the values of the rows not yet handed over
	rows    int               // rows in vals
	pending int64             // estimated bytes in the current row group
	rgBytes int64
}

// rowBatch is the number of rows handed to parquet-go at once. A column's
// page is cut when its buffer is full at the end of a hand-over, and
// parquet-go's typed writer (stepsBackend) hands rows over 64 at a time:
// both writers hand over 64, so they cut the same pages.
const rowBatch = 64

func parquetNode(c outCol) parquet.Node {
	var n parquet.Node
	switch {
	case c.list:
		return parquet.List(parquet.Leaf(parquet.FloatType))
	case c.kind == schemas.Bool:
		n = parquet.Leaf(parquet.BooleanType)
	case c.kind == schemas.Int32:
		n = parquet.Int(32)
	case c.kind == schemas.Int64:
		n = parquet.Int(64)
	case c.kind == schemas.Float32:
		n = parquet.Leaf(parquet.FloatType)
	case c.kind == schemas.Float64:
		n = parquet.Leaf(parquet.DoubleType)
	case c.kind == schemas.String:
		n = parquet.String()
	case c.kind == schemas.Binary:
		n = parquet.Leaf(parquet.ByteArrayType)
	case c.kind == schemas.Date:
		n = parquet.Date()
	case c.kind == schemas.TimestampMilli:
		n = parquet.Timestamp(parquet.Millisecond)
	case c.kind == schemas.TimestampMicro:
		n = parquet.Timestamp(parquet.Microsecond)
	case c.kind == schemas.TimestampNano:
		n = parquet.Timestamp(parquet.Nanosecond)
	default:
		panic(fmt.Sprintf("schemas: no Parquet type for %s", c.kind))
	}
	if c.nullable {
		return parquet.Optional(n)
	}
	return n
}

// parquetSchema returns the schema of a table of cols and the writer
// options every seqae Parquet file has: the schema, compression, creator
// and meta's key-value metadata.
func parquetSchema(cols []outCol, meta Meta) (*parquet.Schema, []parquet.WriterOption) {
	names := make([]string, len(cols))
	nodes := make([]parquet.Node, len(cols))
	for i, c := range cols {
		names[i], nodes[i] = c.name, parquetNode(c)
	}
	schema := parquet.NewSchema("schema", newOrderedGroup(names, nodes))
	options := []parquet.WriterOption{schema, parquet.Compression(smallZstd), parquet.CreatedBy("seqae", meta.Version, "")}
	for _, kv := range meta.Pairs() {
		options = append(options, parquet.KeyValueMetadata(kv[0], kv[1]))
	}
	return schema, options
}

// newParquetBackend returns the backend for a table of cols: stepsBackend
// for step_losses where it applies, else a parquetBackend.
func newParquetBackend(w io.Writer, cols []outCol, meta Meta, opt WriteOptions) (backend, error) {
	for _, c := range cols {
		if !c.list && (c.kind == schemas.KindInvalid || c.kind > schemas.TimestampNano) {
			return nil, fmt.Errorf("column %q: unsupported kind %s", c.name, c.kind)
		}
	}
	if be := newStepsBackend(w, cols, meta, opt); be != nil {
		return be, nil
	}
	return newValuesBackend(w, cols, meta, opt), nil
}

// newValuesBackend returns a parquetBackend for a table of cols.
func newValuesBackend(w io.Writer, cols []outCol, meta Meta, opt WriteOptions) *parquetBackend {
	_, options := parquetSchema(cols, meta)
	pw := parquet.NewGenericWriter[any](w, options...)
	return &parquetBackend{w: pw, cols: cols, colW: pw.ColumnWriters(), vals: make([][]parquet.Value, len(cols)), rgBytes: opt.RowGroupBytes}
}

func scalarValue(v schemas.Value, k schemas.Kind) parquet.Value {
	switch k {
	case schemas.Bool:
		return parquet.BooleanValue(v.Int != 0)
	case schemas.Int32, schemas.Date:
		return parquet.Int32Value(int32(v.Int))
	case schemas.Float32:
		return parquet.FloatValue(float32(v.Float))
	case schemas.Float64:
		return parquet.DoubleValue(v.Float)
	case schemas.String, schemas.Binary:
		// parquet-go copies the bytes into its column buffer and never
		// writes to them, so the string's own bytes serve: no copy per row
		// (step_losses repeats the id on every step).
		return parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(v.Str), len(v.Str)))
	}
	return parquet.Int64Value(v.Int)
}

func (b *parquetBackend) write(cells []cell) error {
	for i, c := range cells {
		col, vals := b.cols[i], b.vals[i]
		switch {
		case col.list && len(c.list) == 0:
			vals = append(vals, parquet.NullValue().Level(0, 0, i))
		case col.list:
			// Grown once and set field by field: Level, a method on a
			// copy, is not inlined, and cost more than building the value.
			n := len(vals)
			vals = slices.Grow(vals, len(c.list))[:n+len(c.list)]
			for j, f := range c.list {
				v := &vals[n+j]
				*v = parquet.FloatValue(f)
				v.SetRepetitionLevel(min(j, 1))
				v.SetDefinitionLevel(1)
				v.SetColumnIndex(i)
			}
			b.pending += 4 * int64(len(c.list))
		case c.v.Null:
			if !col.nullable {
				b.dropRow(i)
				return fmt.Errorf("column %q: null value in a non-nullable column", col.name)
			}
			vals = append(vals, parquet.NullValue().Level(0, 0, i))
		default:
			def := 0
			if col.nullable {
				def = 1
			}
			vals = append(vals, scalarValue(c.v, col.kind).Level(0, def, i))
			b.pending += 8 + int64(len(c.v.Str))
		}
		b.vals[i] = vals
	}
	b.rows++
	if b.rows == rowBatch {
		return b.flushRows()
	}
	return nil
}

// writeSteps appends one row per loss: id, the step (0, 1, ...) and the
// loss, as write would from cells (step_losses without feature losses: three
// non-null scalar columns), without the cells.
func (b *parquetBackend) writeSteps(id schemas.Value, losses []float32) error {
	idv := scalarValue(id, b.cols[0].kind).Level(0, 0, 0)
	size := 8 + int64(len(id.Str)) + 8 + 8
	for t, l := range losses {
		b.vals[0] = append(b.vals[0], idv)
		b.vals[1] = append(b.vals[1], parquet.Int32Value(int32(t)).Level(0, 0, 1))
		b.vals[2] = append(b.vals[2], parquet.FloatValue(l).Level(0, 0, 2))
		b.pending += size
		b.rows++
		if b.rows == rowBatch {
			if err := b.flushRows(); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropRow takes back the values of the row being added from the first n
// columns, so that every column holds the same rows.
func (b *parquetBackend) dropRow(n int) {
	for i := range n {
		vals := b.vals[i]
		k := len(vals) - 1
		for k > 0 && vals[k].RepetitionLevel() > 0 {
			k--
		}
		b.vals[i] = vals[:k]
	}
}

func (b *parquetBackend) flushRows() error {
	if b.rows > 0 {
		for i, vals := range b.vals {
			if _, err := b.colW[i].WriteRowValues(vals); err != nil {
				return err
			}
			b.vals[i] = vals[:0]
		}
		b.rows = 0
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
