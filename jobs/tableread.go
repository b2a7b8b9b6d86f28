package jobs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/parquet-go/parquet-go"
)

// cell is one value of a row read back from an output table: a number
// (with Text its exact form for integers and booleans), a text (strings,
// and dates and timestamps formatted), or a list of float32.
type cell struct {
	Null  bool
	Num   float64
	Text  string
	IsNum bool
	List  []float32
}

// String formats the value for people.
func (c cell) String() string {
	switch {
	case c.Null:
		return ""
	case c.List != nil:
		return fmt.Sprint(c.List)
	case c.Text != "":
		return c.Text
	case c.IsNum:
		return strconv.FormatFloat(c.Num, 'g', 6, 64)
	}
	return c.Text
}

// tableFiles lists a partition folder's data files (part-*.parquet or
// part-*.arrow), sorted.
func tableFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if partRE.MatchString(e.Name()) && (strings.HasSuffix(e.Name(), ".parquet") || strings.HasSuffix(e.Name(), ".arrow")) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(out)
	return out, nil
}

// scanTable reads an output table's file (Parquet or Arrow, by its
// extension) and calls fn with the column names and each row's cells, in
// file order. row is reused between calls.
func scanTable(path string, fn func(cols []string, row []cell) error) error {
	var err error
	if strings.HasSuffix(path, ".arrow") {
		err = scanArrow(path, fn)
	} else {
		err = scanParquet(path, fn)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func scanParquet(path string, fn func(cols []string, row []cell) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return err
	}
	fields := pf.Schema().Fields()
	cols := make([]string, len(fields))
	// leaf column index -> top-level field; every seqae output field is a
	// leaf or a list of one leaf, so the two are in the same order.
	logical := make([]string, len(fields))
	for i, fl := range fields {
		cols[i] = fl.Name()
		if lt := fl.Type().LogicalType(); lt != nil {
			switch name := lt.String(); {
			case name == "DATE":
				logical[i] = "date"
			case strings.HasPrefix(name, "TIMESTAMP") && strings.Contains(name, "MILLIS"):
				logical[i] = "ms"
			case strings.HasPrefix(name, "TIMESTAMP") && strings.Contains(name, "MICROS"):
				logical[i] = "us"
			case strings.HasPrefix(name, "TIMESTAMP"):
				logical[i] = "ns"
			}
		}
	}
	row := make([]cell, len(cols))
	r := parquet.NewReader(pf)
	defer r.Close()
	buf := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(buf)
		for _, pr := range buf[:n] {
			for i := range row {
				row[i] = cell{}
			}
			for _, v := range pr {
				i := v.Column()
				switch {
				case i >= len(row):
				case !fields[i].Leaf():
					// a list: one value per element; a null or empty list has one null value
					if !v.IsNull() {
						row[i].List = append(row[i].List, v.Float())
					} else if row[i].List == nil {
						row[i].List = []float32{}
					}
				case v.IsNull():
					row[i].Null = true
				default:
					row[i] = parquetCell(v, logical[i])
				}
			}
			if err := fn(cols, row); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func parquetCell(v parquet.Value, logical string) cell {
	switch v.Kind() {
	case parquet.Boolean:
		return cell{Num: b2f(v.Boolean()), IsNum: true, Text: strconv.FormatBool(v.Boolean())}
	case parquet.Int32:
		if logical == "date" {
			return cell{Text: time.Unix(int64(v.Int32())*86400, 0).UTC().Format(DateLayout)}
		}
		return cell{Num: float64(v.Int32()), IsNum: true, Text: strconv.FormatInt(int64(v.Int32()), 10)}
	case parquet.Int64:
		switch logical {
		case "ms":
			return cell{Text: time.UnixMilli(v.Int64()).UTC().Format(time.RFC3339Nano)}
		case "us":
			return cell{Text: time.UnixMicro(v.Int64()).UTC().Format(time.RFC3339Nano)}
		case "ns":
			return cell{Text: time.Unix(0, v.Int64()).UTC().Format(time.RFC3339Nano)}
		}
		return cell{Num: float64(v.Int64()), IsNum: true, Text: strconv.FormatInt(v.Int64(), 10)}
	case parquet.Float:
		return cell{Num: float64(v.Float()), IsNum: true}
	case parquet.Double:
		return cell{Num: v.Double(), IsNum: true}
	}
	return cell{Text: string(v.ByteArray())}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func scanArrow(path string, fn func(cols []string, row []cell) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return err
	}
	defer r.Close()
	schema := r.Schema()
	cols := make([]string, schema.NumFields())
	for i, fl := range schema.Fields() {
		cols[i] = fl.Name
	}
	row := make([]cell, len(cols))
	for k := range r.NumRecords() {
		rec, err := r.Record(k)
		if err != nil {
			return err
		}
		for j := range int(rec.NumRows()) {
			for i := range row {
				row[i] = arrowCell(rec.Column(i), j)
			}
			if err := fn(cols, row); err != nil {
				return err
			}
		}
	}
	return nil
}

func arrowCell(a arrow.Array, j int) cell {
	if a.IsNull(j) {
		return cell{Null: true}
	}
	switch a := a.(type) {
	case *array.Boolean:
		return cell{Num: b2f(a.Value(j)), IsNum: true, Text: strconv.FormatBool(a.Value(j))}
	case *array.Int32:
		return cell{Num: float64(a.Value(j)), IsNum: true, Text: strconv.FormatInt(int64(a.Value(j)), 10)}
	case *array.Int64:
		return cell{Num: float64(a.Value(j)), IsNum: true, Text: strconv.FormatInt(a.Value(j), 10)}
	case *array.Float32:
		return cell{Num: float64(a.Value(j)), IsNum: true}
	case *array.Float64:
		return cell{Num: a.Value(j), IsNum: true}
	case *array.String:
		return cell{Text: a.Value(j)}
	case *array.Binary:
		return cell{Text: string(a.Value(j))}
	case *array.Date32:
		return cell{Text: a.Value(j).ToTime().UTC().Format(DateLayout)}
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return cell{Text: a.Value(j).ToTime(unit).UTC().Format(time.RFC3339Nano)}
	case *array.List:
		start, end := a.ValueOffsets(j)
		vals := a.ListValues().(*array.Float32)
		return cell{List: slices.Clone(vals.Float32Values()[start:end])}
	}
	return cell{Text: a.ValueStr(j)}
}

// scanFiles calls fn with every row of every table file in dir, in
// tableFiles' order.
func scanFiles(dir string, fn func(cols []string, row []cell) error) error {
	files, err := tableFiles(dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := scanTable(f, fn); err != nil {
			return err
		}
	}
	return nil
}
