package schemas

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"unsafe"

	"github.com/seqae/seqae/storage"
)

// The long layout has one row per step. A unit (one file, or consecutive
// files sharing a sequence) is decoded whole and in order by one caller,
// because a sequence's rows may span row groups and files. When the rows of
// each id are contiguous (checked by a first pass over the id column)
// sequences stream and only the current one is held; otherwise the unit's
// rows are grouped in memory, accounted as they grow against
// Spec.GroupBudget, which the units decoding at the same time share. A
// sequence lives in one unit: the same id in two units makes two
// sequences (see Dedup). A row whose id is null is quarantined on its own.

// ends returns a long layout file's first and last non-null ids (null
// when every id is null), reading the id column of as few row groups as
// it takes from each end.
func (f *inputFile) ends(r io.ReaderAt) (first, last Value, err error) {
	first, last = Value{Null: true}, Value{Null: true}
	n := len(f.pf.RowGroups())
	for g := 0; g < n && first.Null; g++ {
		if first, err = f.groupID(r, g, true); err != nil {
			return first, last, err
		}
	}
	for g := n - 1; g >= 0 && last.Null; g-- {
		if last, err = f.groupID(r, g, false); err != nil {
			return first, last, err
		}
	}
	return first, last, nil
}

// groupID returns the first (or last) non-null id of row group g.
func (f *inputFile) groupID(r io.ReaderAt, g int, first bool) (Value, error) {
	s := newValueStream(f.id, r, rowGroupChunks(f.pf, f.id, g))
	defer s.close()
	found := Value{Null: true}
	for range f.pf.RowGroups()[g].NumRows() {
		v, err := s.read()
		if err != nil {
			return found, fmt.Errorf("row group %d: %w", g, err)
		}
		if !v.Null {
			found = v
			if first {
				break
			}
		}
	}
	return found, nil
}

// unitFile is one file of a long layout unit, open for reading.
type unitFile struct {
	*inputFile
	obj storage.Object
}

// at adds a row's place to a decoding error: its index, and its file when
// the unit has several.
func (u Unit) at(file string, row int64, err error) error {
	if u.nfiles > 1 {
		return fmt.Errorf("%s row %d: %w", file, row, err)
	}
	return atRow(row, err)
}

// eachID calls fn with every id of the unit's files, in order, until fn
// returns false.
func eachID(u Unit, files []unitFile, fn func(Value) bool) error {
	for _, f := range files {
		s := newValueStream(f.id, f.obj, rowGroupChunks(f.pf, f.id, allGroups(f.inputFile)...))
		for row := range f.pf.NumRows() {
			v, err := s.read()
			if err != nil {
				s.close()
				return u.at(f.name, row, err)
			}
			if !fn(v) {
				break
			}
		}
		s.close()
	}
	return nil
}

// maxCandidates bounds the ids the Bloom filter of contiguity flags that
// are checked exactly; past it the ids are taken as not contiguous.
const maxCandidates = 1 << 16

// contiguity reports whether each non-null id's rows are contiguous in the
// unit, in one pass over the id column. Sorted ids (ascending or
// descending) are. Otherwise an id that starts a second run is looked for
// in a Bloom filter of the ids whose runs ended (of at most 8 MiB, however
// many ids there are); its hits, usually none, are checked exactly by a
// second pass holding only them. Too many hits (more than maxCandidates,
// which takes millions of distinct ids) give false, which only costs
// grouping in memory.
func contiguity(u Unit, files []unitFile, kind Kind) (bool, error) {
	bloom := newIDFilter(u.Rows)
	candidates := map[Value]bool{}
	var prev Value
	started, sorted, dir := false, true, 0
	err := eachID(u, files, func(v Value) bool {
		if v.Null || started && v == prev {
			return true
		}
		if started {
			c := cmp.Compare(v.Str, prev.Str)
			if kind != String {
				c = cmp.Compare(v.Int, prev.Int)
			}
			sorted = sorted && (dir == 0 || c == dir)
			dir = c
			bloom.add(prev)
			if bloom.has(v) {
				candidates[v] = true
			}
		}
		prev, started = v, true
		return sorted || len(candidates) <= maxCandidates
	})
	switch {
	case err != nil:
		return false, err
	case sorted || len(candidates) == 0:
		return true, nil
	case len(candidates) > maxCandidates:
		return false, nil
	}
	ended := map[Value]bool{}
	contiguous := true
	started = false
	err = eachID(u, files, func(v Value) bool {
		if v.Null || started && v == prev {
			return true
		}
		if started && candidates[prev] {
			ended[prev] = true
		}
		contiguous = !ended[v]
		prev, started = v, true
		return contiguous
	})
	return contiguous, err
}

// idFilter is a Bloom filter of ids: 4 probes into a power-of-two number of
// bits, about 16 per row of the unit, between 64 Kib and 64 Mib.
type idFilter struct {
	bits []uint64
	mask uint64
	seed maphash.Seed
}

func newIDFilter(rows int64) *idFilter {
	n := uint64(1 << 16)
	for n < 1<<26 && n < uint64(rows)*16 {
		n <<= 1
	}
	return &idFilter{bits: make([]uint64, n/64), mask: n - 1, seed: maphash.MakeSeed()}
}

// probes calls fn with the bit of each of the 4 probes for v.
func (f *idFilter) probes(v Value, fn func(bit uint64) bool) bool {
	h := hashID(f.seed, v)
	a, b := h, h>>32|h<<32|1
	for range 4 {
		if !fn(a & f.mask) {
			return false
		}
		a += b
	}
	return true
}

func (f *idFilter) add(v Value) {
	f.probes(v, func(bit uint64) bool { f.bits[bit/64] |= 1 << (bit % 64); return true })
}

func (f *idFilter) has(v Value) bool {
	return f.probes(v, func(bit uint64) bool { return f.bits[bit/64]&(1<<(bit%64)) != 0 })
}

func hashID(seed maphash.Seed, v Value) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	maphash.WriteComparable(&h, v)
	return h.Sum64()
}

func allGroups(f *inputFile) []int {
	g := make([]int, len(f.pf.RowGroups()))
	for i := range g {
		g[i] = i
	}
	return g
}

// longGroup is one id's rows while they are collected.
type longGroup struct {
	id    Value
	src   Source // the first row
	end   Source // the last row
	order []int64
	vals  []float32
	pass  []Value
	rows  int
	next  int64 // the unit-wide index a next contiguous row would have
	split bool  // the rows are not contiguous
	p     problem
	bytes int64 // taken from the group budget
}

// Memory of a grouped longGroup besides its own: its map entry (key and
// pointer) and its pointer in longReader.firstSeen, doubled for the slack
// of a growing map and slice.
const groupOverhead = 2 * (int64(unsafe.Sizeof(Value{})) + 8 + 8)

// size is the memory a grouped longGroup holds: the struct, its map entry
// and firstSeen slot, the id's, pass-through values' and detail's bytes,
// and its slices' capacity (append's slack included).
func (g *longGroup) size() int64 {
	n := int64(unsafe.Sizeof(*g)) + groupOverhead + int64(len(g.id.Str)+len(g.p.detail))
	n += int64(cap(g.order))*8 + int64(cap(g.vals))*4 + int64(cap(g.pass))*int64(unsafe.Sizeof(Value{}))
	for _, v := range g.pass {
		n += int64(len(v.Str))
	}
	return n
}

// longReader is the state of decoding one long layout unit.
type longReader struct {
	in      *Input
	u       Unit
	sink    Sink
	st      *Stats
	grouped bool // the ids are not contiguous: groups are held to the end
	cur     *longGroup
	byID    map[Value]*longGroup
	// firstSeen holds the grouped groups in the order of their first rows.
	firstSeen []*longGroup
	held      int64 // bytes taken from the budget
	index     int64 // unit-wide index of the current row
}

func (in *Input) readLong(ctx context.Context, u Unit, sink Sink, st *Stats) error {
	files := make([]unitFile, u.nfiles)
	for i := range files {
		f := in.files[u.file+i]
		obj, err := in.store.Open(ctx, f.name)
		if err != nil {
			return err
		}
		defer obj.Close()
		files[i] = unitFile{f, obj}
	}
	contiguous, err := contiguity(u, files, in.idField.Kind)
	if err != nil {
		return err
	}
	lr := &longReader{in: in, u: u, sink: sink, st: st, grouped: !contiguous, byID: map[Value]*longGroup{}}
	defer func() { in.budget.Release(lr.held) }()
	for _, f := range files {
		if err := lr.readFile(ctx, f); err != nil {
			return err
		}
	}
	if lr.cur != nil {
		if err := lr.finish(lr.cur); err != nil {
			return err
		}
	}
	for _, g := range lr.firstSeen {
		if err := lr.finish(g); err != nil {
			return err
		}
	}
	return nil
}

// readFile reads one file of the unit, row by row, into groups.
func (lr *longReader) readFile(ctx context.Context, f unitFile) error {
	s := f.streams(f.obj, allGroups(f.inputFile)...)
	defer s.close()
	rgs := f.pf.RowGroups()
	rg, rgEnd := 0, int64(0)
	if len(rgs) > 0 {
		rgEnd = rgs[0].NumRows()
	}
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
		lr.st.Rows++
		id, err := s.id.read()
		if err != nil {
			return lr.u.at(f.name, row, err)
		}
		src := Source{File: f.name, RowGroup: rg, Row: row}
		g, err := lr.group(id, src)
		if err != nil {
			return err
		}
		if err := lr.addRow(f.inputFile, s, g, src); err != nil {
			return lr.u.at(f.name, row, err)
		}
		if lr.grouped {
			if err := lr.account(g, src); err != nil {
				return err
			}
		} else if id.Null {
			if err := lr.finish(g); err != nil {
				return err
			}
		}
		lr.index++
	}
	return nil
}

// group returns the group the row of id belongs to, making a new one (and,
// when streaming, finishing the current one) as needed. A row whose id is
// null is a group of its own.
func (lr *longReader) group(id Value, src Source) (*longGroup, error) {
	var g *longGroup
	switch {
	case id.Null:
	case lr.grouped:
		g = lr.byID[id]
	case lr.cur != nil && lr.cur.id == id:
		g = lr.cur
	}
	if g != nil {
		return g, nil
	}
	g = &longGroup{id: id, src: src, next: lr.index}
	switch {
	case id.Null:
		g.p.set(NullID, "column %q is null", lr.in.spec.ID)
		if lr.grouped {
			lr.firstSeen = append(lr.firstSeen, g)
		}
	case lr.grouped:
		lr.byID[id] = g
		lr.firstSeen = append(lr.firstSeen, g)
	default:
		if lr.cur != nil {
			if err := lr.finish(lr.cur); err != nil {
				return nil, err
			}
		}
		lr.cur = g
	}
	return g, nil
}

// account takes a grouped group's growth from the budget; past it the
// unit fails before anything is emitted.
func (lr *longReader) account(g *longGroup, src Source) error {
	n := g.size()
	delta := n - g.bytes
	if delta <= 0 {
		return nil
	}
	if !lr.in.budget.TryAcquire(delta) {
		budget := lr.in.spec.GroupBudget
		others := "other units decoding at the same time hold the rest"
		if lr.held+delta > budget {
			others = "this unit alone needs more"
		}
		return fmt.Errorf("the rows of an id are not contiguous, so the unit's %d rows are grouped in memory, which at %s row %d holds %d MiB of the group budget of %d MiB (%s): sort the input by id (and order), split it into smaller files, decode fewer files at once, or raise the group budget",
			lr.u.Rows, src.File, src.Row, lr.held>>20, budget>>20, others)
	}
	lr.held += delta
	g.bytes = n
	return nil
}

// addRow reads one row's order, features and pass-through values into its
// group. Values stop being kept once the group is bad or past MaxLen.
func (lr *longReader) addRow(f *inputFile, s *streams, g *longGroup, src Source) error {
	o, err := s.order.read()
	if err != nil {
		return err
	}
	if o.Null {
		g.p.set(BadOrder, "column %q is null at row %d", f.order.name, src.Row)
	}
	keep := g.p.ok() && (lr.in.spec.MaxLen <= 0 || g.rows < lr.in.spec.MaxLen)
	for i, fs := range s.feats {
		c := f.features[i]
		if _, _, err := scalarRow(fs, &c.lv, c.name); err != nil {
			return err
		}
		if fs.def() < c.lv.maxDef {
			g.p.set(NullValue, "column %q is null at row %d", c.name, src.Row)
		} else if v, ok := finite32(fs.float()); !ok {
			g.p.set(NonFinite, "column %q is %v at row %d", c.name, fs.float(), src.Row)
		} else if keep {
			g.vals = append(g.vals, v)
		}
		fs.advance()
	}
	if keep && g.p.ok() {
		g.order = append(g.order, o.Int)
	}
	for _, ps := range s.pass {
		v, err := ps.read()
		if err != nil {
			return err
		}
		if g.rows == 0 {
			g.pass = append(g.pass, v)
		}
	}
	g.split = g.split || lr.index != g.next
	g.next = lr.index + 1
	g.end = src
	g.rows++
	return nil
}

// finish validates a collected group, orders its steps and emits it, and
// gives its memory back to the budget (a Sequence's values are the sink's).
func (lr *longReader) finish(g *longGroup) error {
	lr.st.Groups++
	lr.in.budget.Release(g.bytes)
	lr.held -= g.bytes
	maxLen := lr.in.spec.MaxLen
	if g.p.ok() && maxLen > 0 && g.rows > maxLen {
		g.p.set(TooLong, "%d steps, max_len is %d", g.rows, maxLen)
	}
	dim := lr.in.dim
	var vals []float32
	if g.p.ok() {
		vals = sortSteps(g.order, g.vals, dim)
		for t := 1; t < len(g.order); t++ {
			if g.order[t] == g.order[t-1] {
				g.p.set(BadOrder, "column %q: value %s appears in more than one row", lr.in.spec.Order, Value{Int: g.order[t]}.Format(lr.in.files[lr.u.file].order.kind))
				break
			}
		}
	}
	if !g.p.ok() {
		g.p.detail += g.rowsText()
	}
	return emit(lr.sink, lr.st, &g.p, g.id, lr.in.idField.Kind, g.src, &Sequence{ID: g.id, Len: g.rows, Dim: dim, Values: vals, Pass: g.pass, Src: g.src})
}

// rowsText says which rows a quarantined group is made of.
func (g *longGroup) rowsText() string {
	if g.rows == 1 {
		return " (1 row)"
	}
	end := fmt.Sprintf("row %d", g.end.Row)
	if g.end.File != g.src.File {
		end = fmt.Sprintf("%s row %d", g.end.File, g.end.Row)
	}
	if g.split {
		return fmt.Sprintf(" (%d rows from row %d to %s, not contiguous)", g.rows, g.src.Row, end)
	}
	return fmt.Sprintf(" (%d rows from row %d to %s)", g.rows, g.src.Row, end)
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
