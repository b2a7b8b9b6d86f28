package schemas

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"slices"

	"github.com/parquet-go/parquet-go"
)

// The long layout has one row per step. A file is decoded whole and in
// order by one caller (its Unit is the file), because a sequence's rows may
// span row groups. When the rows of each id are contiguous (checked by a
// first pass over the id column) sequences stream and only the current one
// is held; otherwise the file's rows are grouped in memory, which is
// refused up front when the estimate exceeds Spec.GroupBudget. A sequence
// lives in one file: the same id in two files makes two sequences (see
// Dedup). A row whose id is null is quarantined on its own.

// longGroup is one id's rows while they are collected.
type longGroup struct {
	id    Value
	src   Source
	order []int64
	vals  []float32
	pass  []Value
	rows  int
	p     problem
}

// contiguity reports whether each non-null id's rows are contiguous in the
// file, reading only the id column. A sorted id column is recognised
// without memory; otherwise a set of 64-bit hashes of the ids already
// closed finds repeats (a hash collision only costs grouping in memory).
func contiguity(f *inputFile, r io.ReaderAt) (bool, error) {
	if ok, err := scanIDs(f, r, nil); ok || err != nil {
		return ok, err
	}
	return scanIDs(f, r, map[uint64]struct{}{})
}

// scanIDs walks the id column. With seen nil it reports whether the ids
// are sorted (ascending or descending); otherwise whether no id recurs
// after another id.
func scanIDs(f *inputFile, r io.ReaderAt, seen map[uint64]struct{}) (bool, error) {
	s := newValueStream(f.id, r, rowGroupChunks(f.pf, f.id, allGroups(f.pf)...))
	defer s.close()
	var prev Value
	started := false
	dir := 0
	seed := maphash.MakeSeed()
	for {
		more, err := s.more()
		if err != nil || !more {
			return err == nil, err
		}
		v := toValue(s.scalar(), f.id.kind, f.id.phys)
		s.advance()
		if v.Null || started && v == prev {
			continue
		}
		if started {
			if seen == nil {
				c := cmp.Compare(v.Str, prev.Str)
				if f.id.kind != String {
					c = cmp.Compare(v.Int, prev.Int)
				}
				if dir != 0 && c != dir {
					return false, nil
				}
				dir = c
			} else {
				seen[hashID(seed, prev)] = struct{}{}
				if _, dup := seen[hashID(seed, v)]; dup {
					return false, nil
				}
			}
		}
		prev, started = v, true
	}
}

func hashID(seed maphash.Seed, v Value) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	maphash.WriteComparable(&h, v)
	return h.Sum64()
}

func allGroups(pf *parquet.File) []int {
	g := make([]int, len(pf.RowGroups()))
	for i := range g {
		g[i] = i
	}
	return g
}

// groupEstimate is the memory, in bytes, that grouping the whole file
// takes: each row's values, order and bookkeeping, plus the ids.
func groupEstimate(f *inputFile, dim int) int64 {
	est := f.pf.NumRows() * int64(4*dim+8+32)
	for _, rg := range f.pf.RowGroups() {
		if fc, ok := rg.ColumnChunks()[f.id.index].(*parquet.FileColumnChunk); ok {
			est += fc.NumValues() * 8
		}
	}
	return est
}

func (in *Input) readLong(ctx context.Context, f *inputFile, r io.ReaderAt, sink Sink, st *Stats) error {
	contiguous, err := contiguity(f, r)
	if err != nil {
		return err
	}
	dim := len(f.features)
	if !contiguous {
		if est := groupEstimate(f, dim); est > in.spec.GroupBudget {
			return fmt.Errorf("the rows of an id are not contiguous, so the file's %d rows must be grouped in memory, which needs about %d MiB, over the group budget of %d MiB: sort the input by id (and order), split it into smaller files, or raise the group budget",
				f.pf.NumRows(), est>>20, in.spec.GroupBudget>>20)
		}
	}
	groups := allGroups(f.pf)
	var done closer
	defer func() { done.close() }()
	ids := newValueStream(f.id, r, rowGroupChunks(f.pf, f.id, groups...))
	order := newValueStream(f.order, r, rowGroupChunks(f.pf, f.order, groups...))
	done = append(done, ids, order)
	feats := make([]*floatStream, dim)
	for i, c := range f.features {
		feats[i] = newFloatStream(c, r, rowGroupChunks(f.pf, c, groups...))
		done = append(done, feats[i])
	}
	pass := make([]*valueStream, len(f.pass))
	for i, c := range f.pass {
		pass[i] = newValueStream(c, r, rowGroupChunks(f.pf, c, groups...))
		done = append(done, pass[i])
	}
	rgs := f.pf.RowGroups()
	rg, rgEnd := 0, int64(0)
	if len(rgs) > 0 {
		rgEnd = rgs[0].NumRows()
	}
	var cur *longGroup
	byID := map[Value]*longGroup{}
	var firstSeen []*longGroup
	finish := func(g *longGroup) error {
		st.Groups++
		return in.finishLong(f, g, dim, sink, st)
	}
	rows := f.pf.NumRows()
	for row := int64(0); row < rows; row++ {
		if row%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		for row >= rgEnd && rg+1 < len(rgs) {
			rg++
			rgEnd += rgs[rg].NumRows()
		}
		st.Rows++
		id, err := readScalar(ids, f.id)
		if err != nil {
			return atRow(row, err)
		}
		src := Source{File: f.name, RowGroup: rg, Row: row}
		var g *longGroup
		switch {
		case id.Null:
			g = &longGroup{id: id, src: src}
			g.p.set(NullID, "column %q is null", f.id.name)
		case !contiguous:
			g = byID[id]
		case cur != nil && cur.id == id:
			g = cur
		}
		if g == nil {
			g = &longGroup{id: id, src: src}
			if contiguous {
				if cur != nil {
					if err := finish(cur); err != nil {
						return err
					}
				}
				cur = g
			} else {
				byID[id] = g
				firstSeen = append(firstSeen, g)
			}
		}
		if err := in.addLongRow(f, g, feats, order, pass, row); err != nil {
			return atRow(row, err)
		}
		if id.Null {
			if err := finish(g); err != nil {
				return err
			}
		}
	}
	if cur != nil {
		if err := finish(cur); err != nil {
			return err
		}
	}
	for _, g := range firstSeen {
		if err := finish(g); err != nil {
			return err
		}
	}
	return nil
}

// addLongRow reads one row's order, features and pass-through values into
// its group. Values stop being kept once the group is bad or past MaxLen.
func (in *Input) addLongRow(f *inputFile, g *longGroup, feats []*floatStream, order *valueStream, pass []*valueStream, row int64) error {
	o, err := readScalar(order, f.order)
	if err != nil {
		return err
	}
	if o.Null {
		g.p.set(BadOrder, "column %q is null at row %d", f.order.name, row)
	}
	keep := g.p.ok() && (in.spec.MaxLen <= 0 || g.rows < in.spec.MaxLen)
	for i, s := range feats {
		c := f.features[i]
		if _, _, err := scalarRow(s, &c.lv, c.name); err != nil {
			return err
		}
		if s.def() < c.lv.maxDef {
			g.p.set(NullValue, "column %q is null at row %d", c.name, row)
		} else if v, ok := finite32(s.float()); !ok {
			g.p.set(NonFinite, "column %q is %v at row %d", c.name, s.float(), row)
		} else if keep {
			g.vals = append(g.vals, v)
		}
		s.advance()
	}
	if keep && g.p.ok() {
		g.order = append(g.order, o.Int)
	}
	for i, s := range pass {
		v, err := readScalar(s, f.pass[i])
		if err != nil {
			return err
		}
		if g.rows == 0 {
			g.pass = append(g.pass, v)
		}
	}
	g.rows++
	return nil
}

// finishLong validates a collected group, orders its steps and emits it.
func (in *Input) finishLong(f *inputFile, g *longGroup, dim int, sink Sink, st *Stats) error {
	if g.p.ok() && in.spec.MaxLen > 0 && g.rows > in.spec.MaxLen {
		g.p.set(TooLong, "%d steps, max_len is %d", g.rows, in.spec.MaxLen)
	}
	var vals []float32
	if g.p.ok() {
		vals = sortSteps(g.order, g.vals, dim)
		for t := 1; t < len(g.order); t++ {
			if g.order[t] == g.order[t-1] {
				g.p.set(BadOrder, "column %q: value %s appears in more than one row", f.order.name, Value{Int: g.order[t]}.Format(f.order.kind))
				break
			}
		}
	}
	return emit(sink, st, &g.p, g.id, f.id.kind, g.src, &Sequence{ID: g.id, Len: g.rows, Dim: dim, Values: vals, Pass: g.pass, Src: g.src})
}

// sortSteps orders the steps (rows of dim values) by their order values,
// stably, sorting order in place; it returns the values in step order.
func sortSteps(order []int64, vals []float32, dim int) []float32 {
	if slices.IsSorted(order) {
		return vals
	}
	idx := make([]int, len(order))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(order[a], order[b]) })
	out := make([]float32, len(vals))
	sorted := make([]int64, len(order))
	for t, i := range idx {
		copy(out[t*dim:(t+1)*dim], vals[i*dim:(i+1)*dim])
		sorted[t] = order[i]
	}
	copy(order, sorted)
	return out
}
