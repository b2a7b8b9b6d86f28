package inspect

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"

	"github.com/seqae/seqae/storage"
)

// arrowMagic opens an Arrow IPC file (Feather v2).
const arrowMagic = "ARROW1"

// describeArrow describes an Arrow IPC file, as seqae writes its output
// tables with output.format arrow (zstd-compressed buffers, which the
// reader decompresses).
func describeArrow(obj storage.Object, w io.Writer, opt Options) error {
	name := obj.Name()
	f, err := ipc.NewFileReader(io.NewSectionReader(obj, 0, obj.Size()))
	if err != nil {
		return fmt.Errorf("%s: not a readable Arrow IPC file: %w", name, err)
	}
	defer f.Close()
	var rows int64
	var batches []string
	for i := range f.NumRecords() {
		rec, err := f.Record(i)
		if err != nil {
			return fmt.Errorf("%s: record batch %d: %w", name, i, err)
		}
		rows += rec.NumRows()
		batches = append(batches, fmt.Sprint(rec.NumRows()))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "table\t%s\n", name)
	fmt.Fprintf(tw, "format\tArrow IPC file\n")
	fmt.Fprintf(tw, "file size\t%d bytes\n", obj.Size())
	fmt.Fprintf(tw, "rows\t%d\n", rows)
	fmt.Fprintf(tw, "record batches\t%d (rows: %s)\n", len(batches), shorten(batches, 12))
	fmt.Fprintf(tw, "columns\t\n")
	schema := f.Schema()
	for _, fld := range schema.Fields() {
		fmt.Fprintf(tw, "  %s\t%s\n", fld.Name, arrowTypeName(fld))
	}
	meta := map[string]string{}
	md := schema.Metadata()
	for i, k := range md.Keys() {
		if strings.HasPrefix(k, "seqae.") {
			meta[k] = md.Values()[i]
		}
	}
	writeMeta(tw, meta)
	if err := tw.Flush(); err != nil {
		return err
	}
	return firstArrowRows(f, w, opt.Rows)
}

// arrowTypeName names a column's Arrow type, with
// "optional" for a nullable column and list<T> for lists, as for Parquet.
func arrowTypeName(f arrow.Field) string {
	prefix := ""
	if f.Nullable {
		prefix = "optional "
	}
	if l, ok := f.Type.(*arrow.ListType); ok {
		return prefix + "list<" + l.Elem().String() + ">"
	}
	return prefix + f.Type.String()
}

// firstArrowRows prints the first n rows, long lists shortened.
func firstArrowRows(f *ipc.FileReader, w io.Writer, n int) error {
	fields := f.Schema().Fields()
	shown := 0
	for i := 0; i < f.NumRecords() && shown < n; i++ {
		rec, err := f.Record(i)
		if err != nil {
			return err
		}
		for r := 0; r < int(rec.NumRows()) && shown < n; r++ {
			if shown == 0 {
				fmt.Fprintf(w, "first rows:\n")
			}
			cells := make([]string, len(fields))
			for c, fld := range fields {
				cells[c] = fld.Name + "=" + formatValue(arrowValue(rec.Column(c), r), 0)
			}
			fmt.Fprintf(w, "  %s\n", strings.Join(cells, " "))
			shown++
		}
	}
	return nil
}

// timeText is a time already formatted: formatValue writes it unquoted.
type timeText string

func (t timeText) String() string { return string(t) }

// arrowValue is row i of a as formatValue takes it: nil, string, []byte,
// floats, integers, bool, []any for lists, timeText for dates and times.
func arrowValue(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return a.Value(i)
	case *array.Float32:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Date32:
		return timeText(a.Value(i).FormattedString())
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return timeText(a.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano))
	case *array.List:
		start, end := a.ValueOffsets(i)
		out := make([]any, 0, end-start)
		for j := start; j < end; j++ {
			out = append(out, arrowValue(a.ListValues(), int(j)))
		}
		return out
	}
	return a.ValueStr(i)
}
