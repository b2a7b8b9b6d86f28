package read

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/seqae/seqae/schemas"
)

// The long layout has one row per step, and an id's rows may be anywhere
// in any of the files. The files are one unit (or, sharded, one unit per
// shard, each reading every file): ReadUnit reads them in order, quarantines
// a row whose id is null as it goes, and groups the others by id through a
// grouper (group.go), which holds them in memory within the group budget
// and spills sorted runs to local files past it. Sequences then come out
// by id (strings bytewise, integers by value), after the null ids' records,
// so that what a unit emits does not depend on how the rows were cut into
// files or ordered in them, nor on whether anything was spilled.

// readLong decodes the long layout unit u.
func (in *Input) readLong(ctx context.Context, u Unit, sink Sink, st *Stats) (err error) {
	g := newGrouper(in)
	defer func() { err = errors.Join(err, g.close()) }()
	sc := &longScan{in: in, u: u, sink: sink, st: st, g: g}
	sc.row.vals = make([]float32, in.dim)
	sc.row.pass = make([]schemas.Value, len(in.pass))
	for i := u.file; i < u.file+u.nfiles; i++ {
		if err := sc.file(ctx, in.files[i]); err != nil {
			return err
		}
	}
	a := &assembler{in: in, sink: sink, st: st}
	if err := g.each(ctx, a.add); err != nil {
		return err
	}
	return a.flush()
}

// longScan is the state of reading a unit's files into a grouper.
type longScan struct {
	in   *Input
	u    Unit
	sink Sink
	st   *Stats
	g    *grouper
	row  step
}

// file reads one file's rows: a null id is quarantined at once, the rows
// of the unit's shard's ids go to the grouper, the other rows are skipped.
func (sc *longScan) file(ctx context.Context, f *inputFile) error {
	obj, err := sc.in.store.Open(ctx, f.name)
	if err != nil {
		return err
	}
	defer obj.Close()
	s := f.streams(obj, allGroups(f)...)
	defer s.close()
	rgs := f.pf.RowGroups()
	rg, rgEnd := 0, int64(0)
	if len(rgs) > 0 {
		rgEnd = rgs[0].NumRows()
	}
	kind := sc.in.idField.Kind
	for row := range f.pf.NumRows() {
		if row%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		for row >= rgEnd && rg+1 < len(rgs) {
			rg++
			rgEnd += rgs[rg].NumRows()
		}
		var p problem
		if err := sc.read(f, s, row, &p); err != nil {
			return sc.u.at(f.name, row, err)
		}
		id := sc.row.id
		if sc.u.shards > 1 && (id.Null && sc.u.shard != 0 || !id.Null && ShardOf(id, kind, sc.u.shards) != sc.u.shard) {
			continue
		}
		sc.st.Rows++
		if id.Null {
			sc.st.Groups++
			var q problem
			q.set(schemas.NullID, "column %q is null (1 row)", sc.in.spec.ID)
			if err := emit(sc.sink, sc.st, &q, id, kind, schemas.Loc{File: f.name, RowGroup: rg, Row: row}, nil); err != nil {
				return err
			}
			continue
		}
		sc.row.at = f.start + row
		sc.row.bad = nil
		if !p.ok() {
			sc.row.bad = &p
		}
		if err := sc.g.add(&sc.row); err != nil {
			return err
		}
	}
	return nil
}

// read reads one row into sc.row, and its first problem (a null order
// value, then a null or non-finite feature value, in feature order) into p.
func (sc *longScan) read(f *inputFile, s *streams, row int64, p *problem) error {
	r := &sc.row
	var err error
	if r.id, err = s.id.read(); err != nil {
		return err
	}
	o, err := s.order.read()
	if err != nil {
		return err
	}
	r.order, r.orderNull = o.Int, o.Null
	if o.Null {
		p.set(schemas.BadOrder, "column %q is null at row %d", f.order.name, row)
	}
	for i, fs := range s.feats {
		c := f.features[i]
		if _, _, err := scalarRow(fs, &c.lv, c.name); err != nil {
			return err
		}
		if fs.def() < c.lv.maxDef {
			p.set(schemas.NullValue, "column %q is null at row %d", c.name, row)
		} else if v, ok := finite32(fs.float()); !ok {
			p.set(schemas.NonFinite, "column %q is %v at row %d", c.name, fs.float(), row)
		} else {
			r.vals[i] = v
		}
		fs.advance()
	}
	for i, ps := range s.pass {
		if r.pass[i], err = ps.read(); err != nil {
			return err
		}
	}
	return nil
}

// at adds a row's place to a decoding error: its index, and its file when
// the unit has several.
func (u Unit) at(file string, row int64, err error) error {
	if u.nfiles > 1 {
		return fmt.Errorf("%s row %d: %w", file, row, err)
	}
	return atRow(row, err)
}

func allGroups(f *inputFile) []int {
	g := make([]int, len(f.pf.RowGroups()))
	for i := range g {
		g[i] = i
	}
	return g
}

// assembler makes sequences of the steps of each id, which come to it
// together and in step order.
type assembler struct {
	in   *Input
	sink Sink
	st   *Stats
	g    *longGroup
}

// longGroup is one id's steps while they are assembled.
type longGroup struct {
	id          schemas.Value
	rows        int
	first, last int64           // the least and greatest places of its rows
	p           problem         // the first of its rows' problems, see rowRank
	dup         *int64          // the first order value that repeats, in step order
	prev        key             // the last step's key
	vals        []float32       // the steps' features while the group is good
	pass        []schemas.Value // the first step's
}

// add adds a step to its id's group, finishing the previous group when the
// id changes.
func (a *assembler) add(s *step) error {
	g := a.g
	if g == nil || g.id != s.id {
		if err := a.flush(); err != nil {
			return err
		}
		g = &longGroup{id: s.id, first: s.at, last: s.at, pass: slices.Clone(s.pass)}
		a.g = g
	} else if !s.orderNull && !g.prev.orderNull && s.order == g.prev.order && g.dup == nil {
		o := s.order
		g.dup = &o
	}
	g.rows++
	g.first, g.last = min(g.first, s.at), max(g.last, s.at)
	g.prev = s.key
	if s.bad != nil && (g.p.ok() || rowRank(s.bad.reason) < rowRank(g.p.reason)) {
		g.p = *s.bad
	}
	maxLen := a.in.spec.MaxLen
	if g.p.ok() && (maxLen <= 0 || g.rows <= maxLen) {
		g.vals = append(g.vals, s.vals...)
	}
	return nil
}

// rowRank ranks the problems a row can have. A group is quarantined for
// the problem of least rank among its rows, and of those for the first
// row in step order (null orders first, then by order value and place in
// the input), so that the reason does not depend on how the rows were
// cut into files.
func rowRank(r schemas.Reason) int {
	switch r {
	case schemas.BadOrder:
		return 0
	case schemas.NullValue:
		return 1
	}
	return 2
}

// flush validates the group assembled and emits it: a sequence, or a
// quarantine record for its rows' first problem (see rowRank), or its
// being too long, or a repeated order value.
func (a *assembler) flush() error {
	g := a.g
	if g == nil {
		return nil
	}
	a.g = nil
	a.st.Groups++
	in := a.in
	if maxLen := in.spec.MaxLen; g.p.ok() && maxLen > 0 && g.rows > maxLen {
		g.p.set(schemas.TooLong, "%d steps, max_len is %d", g.rows, maxLen)
	}
	if g.p.ok() && g.dup != nil {
		g.p.set(schemas.BadOrder, "column %q: value %s appears in more than one row", in.spec.Order, schemas.Value{Int: *g.dup}.Format(in.files[0].order.kind))
	}
	src := in.locate(g.first)
	if !g.p.ok() {
		g.p.detail += in.rowsText(g, src)
		g.vals = nil
	}
	return emit(a.sink, a.st, &g.p, g.id, in.idField.Kind, src, &schemas.Sequence{ID: g.id, Len: g.rows, Dim: in.dim, Values: g.vals, Pass: g.pass, Src: src})
}

// locate returns the source of the row at place at of the long layout unit.
func (in *Input) locate(at int64) schemas.Loc {
	i, found := slices.BinarySearchFunc(in.files, at, func(f *inputFile, at int64) int {
		switch {
		case at < f.start:
			return 1
		case at >= f.start+f.pf.NumRows():
			return -1
		}
		return 0
	})
	if !found {
		return schemas.At("")
	}
	f := in.files[i]
	row := at - f.start
	rg, end := 0, int64(0)
	for g, r := range f.pf.RowGroups() {
		end += r.NumRows()
		if row < end {
			rg = g
			break
		}
	}
	return schemas.Loc{File: f.name, RowGroup: rg, Row: row}
}

// rowsText says which rows a quarantined group is made of.
func (in *Input) rowsText(g *longGroup, src schemas.Loc) string {
	if g.rows == 1 {
		return " (1 row)"
	}
	end := in.locate(g.last)
	last := fmt.Sprintf("row %d", end.Row)
	if end.File != src.File {
		last = fmt.Sprintf("%s row %d", end.File, end.Row)
	}
	if int64(g.rows) != g.last-g.first+1 {
		return fmt.Sprintf(" (%d rows from row %d to %s, not contiguous)", g.rows, src.Row, last)
	}
	return fmt.Sprintf(" (%d rows from row %d to %s)", g.rows, src.Row, last)
}
