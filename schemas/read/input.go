package read

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/semaphore"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
)

// Unit is an independent piece of decoding work: one row group of a nested
// or columns layout file, or for the long layout every file (whose
// sequences' rows may be anywhere in them), File to LastFile, or a shard
// of them (see Input.Shard).
type Unit struct {
	File     string
	LastFile string // the unit's last file, when it has more than one
	RowGroup int    // -1 for whole files
	FirstRow int64  // index in the file of the unit's first row
	// Rows are the input rows the unit reads: for a long layout shard,
	// every file's, of which ReadUnit counts its ids' (Stats.Rows).
	Rows   int64
	file   int // index into Input.files of its first file
	nfiles int // files in the unit
	// shard of shards (when shards > 1) restricts a long layout unit to
	// the ids ShardOf gives it.
	shard, shards int
}

func (u Unit) String() string {
	var s string
	switch {
	case u.LastFile != "":
		s = fmt.Sprintf("%s to %s (%d files)", u.File, u.LastFile, u.nfiles)
	case u.RowGroup < 0:
		s = u.File
	default:
		s = fmt.Sprintf("%s row group %d", u.File, u.RowGroup)
	}
	if u.shards > 1 {
		s += fmt.Sprintf(" shard %d/%d", u.shard, u.shards)
	}
	return s
}

// Shard returns the units of shard i of n (0 <= i < n): every n-th unit
// starting at the i-th, so that n workers given the same units in the same
// order split them without overlap. It suits the nested and columns
// layouts; Input.Shard also shards the long layout.
func Shard(units []Unit, i, n int) []Unit {
	var out []Unit
	for k := i; k < len(units); k += n {
		out = append(out, units[k])
	}
	return out
}

// Shard returns the units of shard i of n (0 <= i < n), so that n workers
// split the input without overlap. For the nested and columns layouts they
// are Shard(in.Units(), i, n). A long layout sequence is never split: the
// shard's one unit reads every file (only the columns it needs) and keeps
// the ids that ShardOf(id, kind, n) gives shard i, and the rows whose id is
// null in shard 0; n shards read the files n times over.
func (in *Input) Shard(i, n int) []Unit {
	if in.spec.Layout != schemas.Long || n <= 1 {
		return Shard(in.Units(), i, n)
	}
	var out []Unit
	for _, u := range in.units {
		u.shard, u.shards = i, n
		out = append(out, u)
	}
	return out
}

// Stats counts what decoding a unit produced. Groups are the unit's
// sequences as the input defines them (a row for the nested and columns
// layouts; for the long layout the rows sharing an id, or one row whose id
// is null), and Groups == Sequences + Quarantined always holds. For the
// nested and columns layouts Rows == Groups.
type Stats struct {
	Rows, Groups, Sequences, Quarantined int64
}

// Add adds o's counts to s.
func (s *Stats) Add(o Stats) {
	s.Rows += o.Rows
	s.Groups += o.Groups
	s.Sequences += o.Sequences
	s.Quarantined += o.Quarantined
}

// Sink receives what ReadUnit decodes, in input order. The Sequence passed
// is the callee's to keep. A non-nil error stops ReadUnit, which returns it
// as it is (not wrapped, so that it does not read as an input error).
type Sink struct {
	Sequence   func(*schemas.Sequence) error
	Quarantine func(schemas.Quarantine) error
}

// sinkError carries an error of the caller's Sink out of the decoder.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }

// marked returns a Sink whose errors are marked as the caller's.
func (s Sink) marked() Sink {
	mark := func(err error) error {
		if err != nil {
			return &sinkError{err}
		}
		return nil
	}
	return Sink{
		Sequence:   func(q *schemas.Sequence) error { return mark(s.Sequence(q)) },
		Quarantine: func(q schemas.Quarantine) error { return mark(s.Quarantine(q)) },
	}
}

// Input is a set of Parquet files of one layout, checked and planned. It is
// safe for concurrent ReadUnit calls.
type Input struct {
	store   storage.Store
	spec    schemas.Spec
	files   []*inputFile
	units   []Unit
	idField schemas.Field
	pass    []schemas.Field
	dim     int
	budget  *semaphore.Weighted // Spec.GroupBudget, shared by ReadUnit calls
}

type inputFile struct {
	name     string
	pf       *parquet.File
	id       *column
	seq      *column   // nested
	features []*column // columns, long
	order    *column   // long
	pass     []*column
	// start is the number of rows in the files before this one.
	start int64
}

// Open reads the footer of every named file, checks each file's schema
// against the layout (detected from the first file when spec.Layout is
// Detect) and plans the units of work. A mismatch names the file, the
// column and what was expected.
func Open(ctx context.Context, store storage.Store, names []string, spec schemas.Spec) (*Input, error) {
	if len(names) == 0 {
		return nil, errors.New("no input files")
	}
	if spec.ID == "" {
		spec.ID = "id"
	}
	if spec.GroupBudget <= 0 {
		spec.GroupBudget = schemas.DefaultGroupBudget
	}
	in := &Input{store: store, budget: semaphore.NewWeighted(spec.GroupBudget)}
	for i, name := range names {
		if err := in.open(ctx, i, name, spec); err != nil {
			return nil, err
		}
	}
	in.plan()
	switch in.spec.Layout {
	case schemas.Nested:
		in.dim = in.spec.Dim
		if in.dim == 0 {
			if err := in.probeDim(ctx); err != nil {
				return nil, err
			}
		}
	default:
		in.dim = len(in.spec.Features)
	}
	return in, nil
}

// open reads and checks file i's footer (detecting the layout on the
// first).
func (in *Input) open(ctx context.Context, i int, name string, spec schemas.Spec) error {
	obj, err := in.store.Open(ctx, name)
	if err != nil {
		return err
	}
	defer obj.Close()
	pf, err := openFooter(obj, name)
	if err != nil {
		return err
	}
	if i == 0 {
		if spec, err = detect(pf.Root(), name, spec); err != nil {
			return err
		}
		in.spec = spec
	}
	f, err := in.bind(name, pf)
	if err != nil {
		return err
	}
	if i > 0 {
		prev := in.files[i-1]
		f.start = prev.start + prev.pf.NumRows()
	}
	for _, c := range append(append([]*column{f.id, f.seq, f.order}, f.features...), f.pass...) {
		if c != nil {
			c.maxPage = in.spec.MaxPageBytes
		}
	}
	in.files = append(in.files, f)
	return nil
}

// Layout returns the input layout (detected, when the Spec left it open).
func (in *Input) Layout() schemas.Layout { return in.spec.Layout }

// Spec returns the Spec with the detected layout and column names filled in.
func (in *Input) Spec() schemas.Spec {
	s := in.spec
	s.Features = slices.Clone(s.Features)
	s.Pass = slices.Clone(s.Pass)
	s.Dim = in.dim
	return s
}

// IDField is the id column and the kind of its values.
func (in *Input) IDField() schemas.Field { return in.idField }

// PassFields are the pass-through columns, in Sequence.Pass order.
func (in *Input) PassFields() []schemas.Field { return slices.Clone(in.pass) }

// Dim is the number of features per step (I). It is 0 only for a nested
// input with Spec.Dim 0 in which no row is valid.
func (in *Input) Dim() int { return in.dim }

// Files are the input files, in the order given to Open.
func (in *Input) Files() []string {
	out := make([]string, len(in.files))
	for i, f := range in.files {
		out[i] = f.name
	}
	return out
}

// Units are the units of work, in file and row order.
func (in *Input) Units() []Unit { return slices.Clone(in.units) }

// plan cuts the files into units: row groups, or for the long layout one
// unit of every file.
func (in *Input) plan() {
	if in.spec.Layout == schemas.Long {
		u := Unit{File: in.files[0].name, RowGroup: -1, nfiles: len(in.files)}
		for _, f := range in.files {
			u.Rows += f.pf.NumRows()
		}
		if len(in.files) > 1 {
			u.LastFile = in.files[len(in.files)-1].name
		}
		if u.Rows > 0 {
			in.units = append(in.units, u)
		}
		return
	}
	for i, f := range in.files {
		var first int64
		for g, rg := range f.pf.RowGroups() {
			if n := rg.NumRows(); n > 0 {
				in.units = append(in.units, Unit{File: f.name, RowGroup: g, FirstRow: first, Rows: n, file: i, nfiles: 1})
				first += n
			}
		}
	}
}

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

// errStop ends a probe early.
var errStop = errors.New("stop")

// probeDim takes the nested layout's feature count from the first valid row.
func (in *Input) probeDim(ctx context.Context) error {
	for _, u := range in.units {
		_, err := in.ReadUnit(ctx, u, Sink{
			Sequence:   func(s *schemas.Sequence) error { in.dim = s.Dim; return errStop },
			Quarantine: func(schemas.Quarantine) error { return nil },
		})
		if err == errStop {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ReadUnit decodes one unit, passing each valid sequence and each
// quarantined row to sink in input order, and returns the unit's counts.
// Errors (unreadable files, malformed pages, a long layout unit too large
// to group) name the file and column; bad values are quarantined, not
// errors. An error of the sink is returned as it is.
func (in *Input) ReadUnit(ctx context.Context, u Unit, sink Sink) (Stats, error) {
	if u.nfiles < 1 || u.file < 0 || u.file+u.nfiles > len(in.files) || in.files[u.file].name != u.File {
		return Stats{}, fmt.Errorf("unit %s is not one of this input's", u)
	}
	var st Stats
	var err error
	if in.spec.Layout == schemas.Long {
		err = in.readLong(ctx, u, sink.marked(), &st)
	} else {
		err = in.readRowGroup(ctx, u, sink.marked(), &st)
	}
	var se *sinkError
	switch {
	case errors.As(err, &se):
		return st, se.err
	case err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		err = fmt.Errorf("%s: %w", u, err)
	}
	return st, err
}

func (in *Input) readRowGroup(ctx context.Context, u Unit, sink Sink, st *Stats) error {
	f := in.files[u.file]
	obj, err := in.store.Open(ctx, f.name)
	if err != nil {
		return err
	}
	defer obj.Close()
	s := f.streams(obj, u.RowGroup)
	defer s.close()
	scratch := make([][]float32, len(s.feats))
	var buf []float32
	for i := int64(0); i < u.Rows; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var p problem
		src := schemas.Loc{File: f.name, RowGroup: u.RowGroup, Row: u.FirstRow + i}
		id, err := s.id.read()
		if err != nil {
			return atRow(src.Row, err)
		}
		if id.Null {
			p.set(schemas.NullID, "column %q is null", f.id.name)
		}
		pv := make([]schemas.Value, len(s.pass))
		for k, ps := range s.pass {
			if pv[k], err = ps.read(); err != nil {
				return atRow(src.Row, err)
			}
		}
		var vals []float32
		var steps, dim int
		if s.seq != nil {
			buf, steps, dim, err = nestedRow(s.seq, &f.seq.lv, f.seq.name, in.dim, in.spec.MaxLen, buf[:0], &p)
			if err != nil {
				return atRow(src.Row, err)
			}
			if p.ok() {
				vals = slices.Clone(buf)
			}
		} else {
			dim = len(s.feats)
			if vals, steps, err = columnsRow(s.feats, f.features, in.spec.MaxLen, scratch, &p); err != nil {
				return atRow(src.Row, err)
			}
		}
		st.Rows++
		st.Groups++
		if err := emit(sink, st, &p, id, f.id.kind, src, &schemas.Sequence{ID: id, Len: steps, Dim: dim, Values: vals, Pass: pv, Src: src}); err != nil {
			return err
		}
	}
	return nil
}

// atRow adds the row index to a decoding error.
func atRow(row int64, err error) error { return fmt.Errorf("row %d: %w", row, err) }

// emit passes a decoded sequence, or its quarantine record, to the sink.
func emit(sink Sink, st *Stats, p *problem, id schemas.Value, idKind schemas.Kind, src schemas.Loc, seq *schemas.Sequence) error {
	if !p.ok() {
		st.Quarantined++
		return sink.Quarantine(schemas.Quarantine{Src: src, ID: idText(id, idKind), IDNull: id.Null, Reason: p.reason, Detail: p.detail})
	}
	st.Sequences++
	return sink.Sequence(seq)
}

func idText(id schemas.Value, k schemas.Kind) string {
	if id.Null {
		return ""
	}
	return id.Format(k)
}
