package read

import (
	"errors"
	"fmt"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"

	"github.com/seqae/seqae/schemas"
)

// levels describes how a leaf column's repetition and definition levels map
// to lists and nulls. Repeated node k (k = 0 for the outer list) is
// non-empty when the definition level is at least repDef[k], and its
// container (the list itself) is non-null at parentDef[k].
type levels struct {
	maxRep, maxDef byte
	repDef         [2]byte
	parentDef      [2]byte
}

// column is one resolved input column: a top-level field and its only leaf.
type column struct {
	name  string
	leaf  *parquet.Column
	index int // leaf column index, the column chunk's index in a row group
	lv    levels
	phys  parquet.Kind
	kind  schemas.Kind // for scalar columns
	// maxPage is Spec.MaxPageBytes: 0, or the most bytes a page of the
	// column may declare (checkPages).
	maxPage int64
}

// shape names what a column holds, for messages and layout detection.
func (c *column) shape() string {
	elem := c.elem()
	switch c.lv.maxRep {
	case 0:
		return elem
	case 1:
		return "list<" + elem + ">"
	}
	return strings.Repeat("list<", int(c.lv.maxRep)) + elem + strings.Repeat(">", int(c.lv.maxRep))
}

func (c *column) elem() string {
	if c.kind != schemas.KindInvalid {
		return c.kind.String()
	}
	return strings.ToLower(c.phys.String())
}

func (c *column) isFloat() bool { return c.phys == parquet.Float || c.phys == parquet.Double }

// resolve finds a top-level column by name and works out its levels; its
// errors say what is wrong with the column, not which it is.
func resolve(root *parquet.Column, name string) (*column, error) {
	top := root.Column(name)
	if top == nil {
		return nil, fmt.Errorf("no column %q (columns: %s)", name, topNames(root))
	}
	c := &column{name: name}
	var def, rep byte
	node := top
	for {
		switch {
		case node.Repeated():
			if rep == 2 {
				return nil, errors.New("lists nested more than two deep")
			}
			c.lv.parentDef[rep] = def
			def++
			c.lv.repDef[rep] = def
			rep++
		case node.Optional():
			def++
		}
		if node.Leaf() {
			break
		}
		kids := node.Columns()
		if len(kids) != 1 {
			return nil, fmt.Errorf("a group of %d fields (a struct or map), want one value or a list of values", len(kids))
		}
		node = kids[0]
	}
	c.leaf = node
	c.index = node.Index()
	c.lv.maxRep, c.lv.maxDef = rep, def
	var err error
	if c.phys, err = physical(node); err != nil {
		return nil, err
	}
	c.kind, _ = kindOf(node.Type())
	return c, nil
}

// physical returns a leaf's physical type. parquet-go panics for a leaf
// annotated with a group's logical type (a LIST or MAP with no children),
// which only a corrupt footer holds.
func physical(leaf *parquet.Column) (k parquet.Kind, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", schemas.ErrCorrupt, r)
		}
	}()
	return leaf.Type().Kind(), nil
}

func topNames(root *parquet.Column) string {
	var names []string
	for _, c := range root.Columns() {
		names = append(names, c.Name())
	}
	return strings.Join(names, ", ")
}

// kindOf maps a leaf's Parquet type to the Kind carried in memory.
func kindOf(t parquet.Type) (schemas.Kind, error) {
	lt := t.LogicalType()
	var lv format.LogicalTypeValue
	if lt != nil {
		lv = lt.Value
	}
	ct := t.ConvertedType()
	switch t.Kind() {
	case parquet.Boolean:
		return schemas.Bool, nil
	case parquet.Float:
		return schemas.Float32, nil
	case parquet.Double:
		return schemas.Float64, nil
	case parquet.Int32:
		switch v := lv.(type) {
		case *format.DateType:
			return schemas.Date, nil
		case *format.IntType:
			if !v.IsSigned && v.BitWidth == 32 {
				return schemas.Int64, nil
			}
			return schemas.Int32, nil
		case nil:
		default:
			return schemas.KindInvalid, fmt.Errorf("INT32 (%s) is not supported", lt)
		}
		if ct != nil {
			switch *ct {
			case deprecated.Date:
				return schemas.Date, nil
			case deprecated.Uint32:
				return schemas.Int64, nil
			case deprecated.Int8, deprecated.Int16, deprecated.Int32, deprecated.Uint8, deprecated.Uint16:
			default:
				return schemas.KindInvalid, fmt.Errorf("INT32 (converted type %d) is not supported", *ct)
			}
		}
		return schemas.Int32, nil
	case parquet.Int64:
		switch v := lv.(type) {
		case *format.TimestampType:
			switch v.Unit.Value.(type) {
			case *format.MilliSeconds:
				return schemas.TimestampMilli, nil
			case *format.MicroSeconds:
				return schemas.TimestampMicro, nil
			case *format.NanoSeconds:
				return schemas.TimestampNano, nil
			}
		case *format.IntType:
			if !v.IsSigned && v.BitWidth == 64 {
				return schemas.KindInvalid, fmt.Errorf("UINT64 is not supported (values past 2^63 do not fit int64)")
			}
			return schemas.Int64, nil
		case nil:
			if ct != nil {
				switch *ct {
				case deprecated.TimestampMillis:
					return schemas.TimestampMilli, nil
				case deprecated.TimestampMicros:
					return schemas.TimestampMicro, nil
				case deprecated.Int64:
					return schemas.Int64, nil
				}
				return schemas.KindInvalid, fmt.Errorf("INT64 (converted type %d) is not supported", *ct)
			}
			return schemas.Int64, nil
		}
		return schemas.KindInvalid, fmt.Errorf("INT64 (%s) is not supported", lt)
	case parquet.ByteArray:
		switch lv.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType:
			return schemas.String, nil
		case nil:
			if ct != nil && (*ct == deprecated.UTF8 || *ct == deprecated.Enum || *ct == deprecated.Json) {
				return schemas.String, nil
			}
			if ct != nil {
				return schemas.KindInvalid, fmt.Errorf("BYTE_ARRAY (converted type %d) is not supported", *ct)
			}
			return schemas.Binary, nil
		}
		return schemas.KindInvalid, fmt.Errorf("BYTE_ARRAY (%s) is not supported", lt)
	case parquet.FixedLenByteArray:
		if lv == nil && ct == nil {
			return schemas.Binary, nil
		}
		if _, ok := lv.(*format.UUIDType); ok {
			return schemas.Binary, nil
		}
		return schemas.KindInvalid, fmt.Errorf("FIXED_LEN_BYTE_ARRAY (%s) is not supported", lt)
	}
	return schemas.KindInvalid, fmt.Errorf("%s is not supported (INT96 timestamps: cast to a timestamp column)", t.Kind())
}

// toValue converts a Parquet value of a column of kind k.
func toValue(v parquet.Value, k schemas.Kind, phys parquet.Kind) schemas.Value {
	if v.IsNull() {
		return schemas.Value{Null: true}
	}
	switch k {
	case schemas.Bool:
		if v.Boolean() {
			return schemas.Value{Int: 1}
		}
		return schemas.Value{}
	case schemas.Float32:
		return schemas.Value{Float: float64(v.Float())}
	case schemas.Float64:
		return schemas.Value{Float: v.Double()}
	case schemas.String, schemas.Binary:
		return schemas.Value{Str: string(v.ByteArray())}
	}
	if phys == parquet.Int32 {
		if k == schemas.Int64 { // UINT32 widened
			return schemas.Value{Int: int64(uint32(v.Int32()))}
		}
		return schemas.Value{Int: int64(v.Int32())}
	}
	return schemas.Value{Int: v.Int64()}
}
