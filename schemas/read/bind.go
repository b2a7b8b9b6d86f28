package read

import (
	"fmt"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/schemas"
)

// shapes sorts the first file's columns that the Spec does not name by
// shape: the candidates for each layout's columns.
type shapes struct{ nested, lists, floats, orders []string }

func shapesOf(root *parquet.Column, spec schemas.Spec) shapes {
	taken := map[string]bool{spec.ID: true, spec.Order: true, spec.Sequence: true}
	for _, n := range spec.Pass {
		taken[n] = true
	}
	for _, n := range spec.Features {
		taken[n] = true
	}
	var sh shapes
	for _, top := range root.Columns() {
		name := top.Name()
		if taken[name] {
			continue
		}
		c, err := resolve(root, name)
		if err != nil {
			continue
		}
		switch {
		case c.isFloat() && c.lv.maxRep == 2:
			sh.nested = append(sh.nested, name)
		case c.isFloat() && c.lv.maxRep == 1:
			sh.lists = append(sh.lists, name)
		case c.isFloat() && c.lv.maxRep == 0:
			sh.floats = append(sh.floats, name)
		case c.lv.maxRep == 0 && isOrderKind(c.kind):
			sh.orders = append(sh.orders, name)
		}
	}
	return sh
}

// layout is the layout the shapes make plain, or Detect when they do not.
func (sh shapes) layout() schemas.Layout {
	switch {
	case len(sh.nested) == 1 && len(sh.lists) == 0:
		return schemas.Nested
	case len(sh.nested) == 0 && len(sh.lists) > 0:
		return schemas.Columns
	case len(sh.nested) == 0 && len(sh.lists) == 0 && len(sh.floats) > 0 && len(sh.orders) == 1:
		return schemas.Long
	}
	return schemas.Detect
}

// misfit is err, a column of spec's layout missing or of the wrong shape in
// file, told as a wrong layout when file's columns make another one plain.
func misfit(root *parquet.Column, file string, spec schemas.Spec, err error) error {
	if got := shapesOf(root, schemas.Spec{ID: spec.ID, Pass: spec.Pass}).layout(); got != schemas.Detect && got != spec.Layout {
		return &schemas.SpecError{Key: "input.layout", File: file,
			Msg: fmt.Sprintf("input.layout is %s but %s looks like the %s layout: %v", spec.Layout, file, got, err)}
	}
	return err
}

// detect fills in the layout and the column names the Spec left open, from
// the first file's schema.
func detect(root *parquet.Column, file string, spec schemas.Spec) (schemas.Spec, error) {
	sh := shapesOf(root, spec)
	specErr := func(key, format string, args ...any) error {
		return &schemas.SpecError{Key: key, File: file, Msg: fmt.Sprintf(format, args...)}
	}
	layout := spec.Layout
	if layout == schemas.Detect {
		switch {
		case spec.Sequence != "":
			layout = schemas.Nested
		case spec.Order != "":
			layout = schemas.Long
		case len(spec.Features) > 0:
			c, err := resolveFor(root, file, "input.features", spec.Features[0])
			if err != nil {
				return spec, err
			}
			if c.lv.maxRep == 1 {
				layout = schemas.Columns
			} else {
				layout = schemas.Long
			}
		default:
			if layout = sh.layout(); layout == schemas.Detect {
				return spec, specErr("input.layout", "input.layout is not set and %s does not tell it (list<list<float>> columns: %s; list<float> columns: %s; float columns: %s; integer or timestamp columns: %s): cannot tell the input layout; set input.layout and its column names",
					file, orNone(sh.nested), orNone(sh.lists), orNone(sh.floats), orNone(sh.orders))
			}
		}
	}
	spec.Layout = layout
	var err error
	switch layout {
	case schemas.Nested:
		if spec.Sequence == "" {
			if len(sh.nested) != 1 {
				err = specErr("input.sequence", "input.sequence is not set and %s has not one list<list<float>> column to use (found %s): set input.sequence", file, orNone(sh.nested))
				break
			}
			spec.Sequence = sh.nested[0]
		}
	case schemas.Columns:
		if len(spec.Features) == 0 {
			if len(sh.lists) == 0 {
				err = specErr("input.features", "input.features is not set and %s has no list<float> columns to use: set input.features", file)
				break
			}
			spec.Features = sh.lists
		}
	case schemas.Long:
		if spec.Order == "" {
			if len(sh.orders) != 1 {
				err = specErr("input.order", "input.order is not set and %s has not one integer or timestamp column to use (found %s): set input.order", file, orNone(sh.orders))
				break
			}
			spec.Order = sh.orders[0]
		}
		if len(spec.Features) == 0 {
			spec.Features = sh.floats
			if len(spec.Features) == 0 {
				err = specErr("input.features", "input.features is not set and %s has no float columns to use: set input.features", file)
			}
		}
	default:
		return spec, specErr("input.layout", "input.layout %q: want nested, columns or long", layout)
	}
	if err != nil {
		return spec, misfit(root, file, spec, err)
	}
	return spec, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func isOrderKind(k schemas.Kind) bool {
	switch k {
	case schemas.Int32, schemas.Int64, schemas.Date, schemas.TimestampMilli, schemas.TimestampMicro, schemas.TimestampNano:
		return true
	}
	return false
}

// resolveFor resolves the column name that the Spec field of the job key
// names in file.
func resolveFor(root *parquet.Column, file, key, name string) (*column, error) {
	if root.Column(name) == nil {
		return nil, &schemas.SpecError{Key: key, File: file, Msg: fmt.Sprintf("%s %q not found in %s; columns are %s", key, name, file, topNames(root))}
	}
	c, err := resolve(root, name)
	if err != nil {
		return nil, &schemas.SpecError{Key: key, File: file, Msg: fmt.Sprintf("%s %q in %s: %v", key, name, file, err)}
	}
	return c, nil
}

// want resolves a column and checks its shape.
func want(root *parquet.Column, file, key, name, expect string, ok func(*column) bool) (*column, error) {
	c, err := resolveFor(root, file, key, name)
	if err != nil {
		return nil, err
	}
	if !ok(c) {
		return nil, &schemas.SpecError{Key: key, File: file, Msg: fmt.Sprintf("%s %q in %s: want %s, found %s", key, name, file, expect, c.shape())}
	}
	return c, nil
}

// bind resolves and checks one file's columns against the (resolved) spec
// and, for later files, against the first file's kinds.
func (in *Input) bind(name string, pf *parquet.File) (*inputFile, error) {
	root := pf.Root()
	s := &in.spec
	f := &inputFile{name: name, pf: pf}
	var err error
	f.id, err = want(root, name, "input.id", s.ID, "a string or integer", func(c *column) bool {
		return c.lv.maxRep == 0 && (c.kind == schemas.String || c.kind == schemas.Int32 || c.kind == schemas.Int64)
	})
	if err != nil {
		return nil, err
	}
	switch s.Layout {
	case schemas.Nested:
		f.seq, err = want(root, name, "input.sequence", s.Sequence, "list<list<float>> or list<list<double>>", func(c *column) bool {
			return c.isFloat() && c.lv.maxRep == 2
		})
	case schemas.Columns:
		for _, n := range s.Features {
			var c *column
			if c, err = want(root, name, "input.features", n, "list<float> or list<double>", func(c *column) bool {
				return c.isFloat() && c.lv.maxRep == 1
			}); err != nil {
				break
			}
			f.features = append(f.features, c)
		}
	case schemas.Long:
		f.order, err = want(root, name, "input.order", s.Order, "an integer, date or timestamp", func(c *column) bool {
			return c.lv.maxRep == 0 && isOrderKind(c.kind)
		})
		for _, n := range s.Features {
			if err != nil {
				break
			}
			var c *column
			if c, err = want(root, name, "input.features", n, "float or double", func(c *column) bool {
				return c.isFloat() && c.lv.maxRep == 0
			}); err == nil {
				f.features = append(f.features, c)
			}
		}
	}
	if err != nil {
		return nil, misfit(root, name, *s, err)
	}
	for _, n := range s.Pass {
		c, err := want(root, name, "input.pass", n, "a scalar (not a list or group)", func(c *column) bool { return c.lv.maxRep == 0 })
		if err != nil {
			return nil, err
		}
		if _, err := kindOf(c.leaf.Type()); err != nil {
			return nil, &schemas.SpecError{Key: "input.pass", File: name, Msg: fmt.Sprintf("input.pass %q in %s: %v", n, name, err)}
		}
		f.pass = append(f.pass, c)
	}
	if len(in.files) == 0 {
		in.idField = schemas.Field{Name: s.ID, Kind: f.id.kind}
		for _, c := range f.pass {
			in.pass = append(in.pass, schemas.Field{Name: c.name, Kind: c.kind})
		}
		return f, nil
	}
	if f.id.kind != in.idField.Kind {
		return nil, &schemas.SpecError{Key: "input.id", File: name,
			Msg: fmt.Sprintf("input.id %q in %s: want %s like %s, found %s", s.ID, name, in.idField.Kind, in.files[0].name, f.id.kind)}
	}
	for i, c := range f.pass {
		if c.kind != in.pass[i].Kind {
			return nil, &schemas.SpecError{Key: "input.pass", File: name,
				Msg: fmt.Sprintf("input.pass %q in %s: want %s like %s, found %s", c.name, name, in.pass[i].Kind, in.files[0].name, c.kind)}
		}
	}
	return f, nil
}
