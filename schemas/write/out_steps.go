package write

import (
	"fmt"
	"io"
	"reflect"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/schemas"
)

// stepRow is a step_losses row without feature losses, for parquet-go's
// typed writer. Its id column is renamed to the input's id column name
// (parquet.StructTag, which takes the Go field name).
type stepRow[ID string | int64] struct {
	ID   ID      `parquet:"id"`
	Step int32   `parquet:"step"`
	Loss float32 `parquet:"loss"`
}

// stepsBackend writes step_losses without feature losses (id string or
// int64, step, loss: the table with a row per real step, the largest seqae
// writes) through parquet-go's typed writer, which copies a slice of rows
// into the column buffers column by column, with no parquet.Value per
// value: about half the CPU of parquetBackend.writeSteps. It cuts the same
// row groups and writes the same bytes as parquetBackend
// (TestStepsBackendWritesTheSameBytes).
type stepsBackend[ID string | int64] struct {
	w       *parquet.GenericWriter[stepRow[ID]]
	id      func(schemas.Value) ID
	name    string        // the id column's
	rows    []stepRow[ID] // the rows not yet handed over
	pending int64         // estimated bytes in the current row group, as parquetBackend counts them
	rgBytes int64
}

// newStepsBackend returns a stepsBackend when cols are step_losses' columns
// without feature losses, with an id of a kind it takes, and the typed
// schema is the one parquetBackend would write; else nil.
func newStepsBackend(w io.Writer, cols []outCol, meta Meta, opt WriteOptions) backend {
	if len(cols) != 3 || cols[1] != (outCol{name: "step", kind: schemas.Int32}) || cols[2] != (outCol{name: "loss", kind: schemas.Float32}) ||
		cols[0].list || cols[0].nullable {
		return nil
	}
	// The id column's name goes into a struct tag: only names that need
	// no quoting there.
	for _, r := range cols[0].name {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return nil
		}
	}
	switch cols[0].kind {
	case schemas.String:
		return newStepsBackendOf(w, cols, meta, opt, "", func(v schemas.Value) string { return v.Str })
	case schemas.Int64:
		return newStepsBackendOf(w, cols, meta, opt, ",int(64)", func(v schemas.Value) int64 { return v.Int })
	}
	return nil
}

// newStepsBackendOf is newStepsBackend for one id type; tagOpts are the id
// field's struct tag options that give it parquetNode's type.
func newStepsBackendOf[ID string | int64](w io.Writer, cols []outCol, meta Meta, opt WriteOptions, tagOpts string, id func(schemas.Value) ID) backend {
	schema, options := parquetSchema(cols, meta)
	rename := parquet.StructTag(reflect.StructTag(`parquet:"`+cols[0].name+tagOpts+`"`), "ID")
	if !parquet.EqualNodes(schema, parquet.SchemaOf(stepRow[ID]{}, rename)) {
		return nil
	}
	pw := parquet.NewGenericWriter[stepRow[ID]](w, append(options, rename)...)
	return &stepsBackend[ID]{w: pw, id: id, name: cols[0].name, rows: make([]stepRow[ID], 0, rowBatch), rgBytes: opt.RowGroupBytes}
}

func (b *stepsBackend[ID]) write(cells []cell) error {
	if cells[0].v.Null {
		return fmt.Errorf("column %q: null value in a non-nullable column", b.name)
	}
	return b.add(cells[0].v, int32(cells[1].v.Int), float32(cells[2].v.Float))
}

func (b *stepsBackend[ID]) writeSteps(id schemas.Value, losses []float32) error {
	for t, l := range losses {
		if err := b.add(id, int32(t), l); err != nil {
			return err
		}
	}
	return nil
}

func (b *stepsBackend[ID]) add(id schemas.Value, step int32, loss float32) error {
	b.rows = append(b.rows, stepRow[ID]{ID: b.id(id), Step: step, Loss: loss})
	b.pending += 8 + int64(len(id.Str)) + 8 + 8
	if len(b.rows) == rowBatch {
		return b.flushRows()
	}
	return nil
}

func (b *stepsBackend[ID]) flushRows() error {
	if len(b.rows) > 0 {
		if _, err := b.w.Write(b.rows); err != nil {
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

func (b *stepsBackend[ID]) close() error {
	if err := b.flushRows(); err != nil {
		return err
	}
	return b.w.Close()
}

func (b *stepsBackend[ID]) abort() {}
