package read

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"os"
	"slices"
	"unsafe"

	"golang.org/x/sync/semaphore"

	"github.com/seqae/seqae/schemas"
)

// Grouping the long layout. Every row of a unit (all the input files) is
// collected, sorted by (id, order, input position) and read back in that
// order, so that each id's steps come together, in step order, whatever
// files and rows they came from. Rows are held in memory while their bytes
// fit the unit's share of Spec.GroupBudget; past it the held rows are
// sorted and written to a run file in a spill folder (see spill.go), and
// the runs are merged at the end. The sort key is a total order (input
// positions are unique), so the steps come out the same whether or not
// anything was spilled, and however the input was cut into files.

// cmpKeys orders steps by id (strings bytewise, integers by value), then
// order (a null first), then place in the input.
func cmpKeys(a, b *key, strIDs bool) int {
	if c := cmpIDs(a.id, b.id, strIDs); c != 0 {
		return c
	}
	if a.orderNull != b.orderNull {
		if a.orderNull {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(a.order, b.order); c != 0 {
		return c
	}
	return cmp.Compare(a.at, b.at)
}

func cmpIDs(a, b schemas.Value, strIDs bool) int {
	if strIDs {
		return cmp.Compare(a.Str, b.Str)
	}
	return cmp.Compare(a.Int, b.Int)
}

// ShardOf is the shard, of n, that owns a long layout sequence of id id:
// a 64-bit FNV-1a hash of the id's canonical encoding (the byte 's' and
// its bytes for a string, 'i' and its value as 8 little-endian bytes for
// an integer of either width) modulo n. It depends only on the id, not on
// the files or the machine.
func ShardOf(id schemas.Value, kind schemas.Kind, n int) int {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	if kind == schemas.String {
		h = (h ^ 's') * prime
		for i := 0; i < len(id.Str); i++ {
			h = (h ^ uint64(id.Str[i])) * prime
		}
	} else {
		h = (h ^ 'i') * prime
		for i := range 8 {
			h = (h ^ uint64(byte(id.Int>>(8*i)))) * prime
		}
	}
	return int(h % uint64(n))
}

// heldRow is a step held in memory: its features and pass-through values
// are at its index in grouper.rows in the grouper's arenas.
type heldRow struct {
	key
	bad int32 // 1 + index into grouper.bad; 0 when the row has no problem
}

// budgetHold is what one grouper holds of the shared group budget: held
// bytes acquired, of which used are in use.
type budgetHold struct {
	sem        *semaphore.Weighted
	budget     int64
	held, used int64
}

// take counts n more bytes in use, acquiring more of the budget (in chunks
// of up to 1 MiB) as needed; false when the budget has not got them.
func (h *budgetHold) take(n int64) bool {
	if need := h.used + n - h.held; need > 0 {
		chunk := max(need, min(1<<20, h.budget/16))
		if !h.sem.TryAcquire(chunk) {
			if chunk == need || !h.sem.TryAcquire(need) {
				return false
			}
			chunk = need
		}
		h.held += chunk
	}
	h.used += n
	return true
}

func (h *budgetHold) release() {
	h.sem.Release(h.held)
	h.held, h.used = 0, 0
}

// grouper collects a unit's steps, spilling sorted runs past its budget.
type grouper struct {
	strIDs     bool
	dim, npass int
	spillTo    string
	hold       budgetHold
	rows       []heldRow
	sorted     []int32         // the indexes of rows, to sort (pointer-free: sorting it is cheaper)
	vals       []float32       // cap(rows)*dim
	pass       []schemas.Value // cap(rows)*npass
	bad        []problem
	varBytes   int64 // bytes of the held rows' strings and problems
	sp         *spillDir
	runs       []string
}

// heldRowBytes is the memory of one slot of a grouper's buffers.
func (g *grouper) slotBytes() int64 {
	return int64(unsafe.Sizeof(heldRow{})) + 4 + int64(g.dim)*4 + int64(g.npass)*int64(unsafe.Sizeof(schemas.Value{}))
}

func newGrouper(in *Input) *grouper {
	return &grouper{
		strIDs:  in.idField.Kind == schemas.String,
		dim:     in.dim,
		npass:   len(in.pass),
		spillTo: in.spec.SpillDir,
		hold:    budgetHold{sem: in.budget, budget: in.spec.GroupBudget},
	}
}

// add holds a copy of s, spilling first when the budget is used up.
func (g *grouper) add(s *step) error {
	if len(g.rows) == cap(g.rows) {
		if err := g.grow(); err != nil {
			return err
		}
	}
	n := int64(len(s.id.Str))
	for _, v := range s.pass {
		n += int64(len(v.Str))
	}
	if s.bad != nil {
		n += int64(unsafe.Sizeof(problem{})) + int64(len(s.bad.detail))
	}
	if !g.hold.take(n) {
		if len(g.rows) > 0 {
			if err := g.spill(); err != nil {
				return err
			}
		}
		if !g.hold.take(n) {
			g.hold.used += n // one row over the budget, so that it moves on
		}
	}
	g.varBytes += n
	k := len(g.rows)
	r := heldRow{key: s.key}
	if s.bad != nil {
		g.bad = append(g.bad, *s.bad)
		r.bad = int32(len(g.bad))
	} else {
		copy(g.vals[k*g.dim:(k+1)*g.dim], s.vals)
	}
	copy(g.pass[k*g.npass:(k+1)*g.npass], s.pass)
	g.rows = append(g.rows, r)
	return nil
}

// grow doubles the buffers (to at most half the budget) when the budget
// allows, or else spills them.
func (g *grouper) grow() error {
	old := cap(g.rows)
	want := min(max(256, 2*old), int(g.hold.budget/(2*g.slotBytes())))
	if want <= old || !g.hold.take(int64(want-old)*g.slotBytes()) {
		if old > 0 {
			return g.spill()
		}
		want = 1
		g.hold.used += g.slotBytes() // one row over the budget, so that it moves on
	}
	rows := make([]heldRow, len(g.rows), want)
	copy(rows, g.rows)
	g.sorted = make([]int32, 0, want)
	vals := make([]float32, want*g.dim)
	copy(vals, g.vals)
	pass := make([]schemas.Value, want*g.npass)
	copy(pass, g.pass)
	g.rows, g.vals, g.pass = rows, vals, pass
	return nil
}

// held calls fn with the held rows in order.
func (g *grouper) held(ctx context.Context, fn func(*step) error) error {
	g.sorted = g.sorted[:0]
	for k := range g.rows {
		g.sorted = append(g.sorted, int32(k))
	}
	slices.SortFunc(g.sorted, func(a, b int32) int { return cmpKeys(&g.rows[a].key, &g.rows[b].key, g.strIDs) })
	var s step
	for i, k32 := range g.sorted {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		k, r := int(k32), &g.rows[k32]
		s = step{key: r.key, vals: g.vals[k*g.dim : (k+1)*g.dim], pass: g.pass[k*g.npass : (k+1)*g.npass]}
		if r.bad > 0 {
			s.bad = &g.bad[r.bad-1]
		}
		if err := fn(&s); err != nil {
			return err
		}
	}
	return nil
}

// spill writes the held rows, sorted, to a new run file and empties the
// buffers (keeping their capacity).
func (g *grouper) spill() error {
	if g.sp == nil {
		sp, err := newSpillDir(g.spillTo)
		if err != nil {
			return err
		}
		g.sp = sp
	}
	w, err := g.sp.create(g.strIDs)
	if err != nil {
		return err
	}
	err = g.held(context.Background(), w.write)
	name, cerr := w.close()
	if err = errors.Join(err, cerr); err != nil {
		return err
	}
	g.runs = append(g.runs, name)
	clear(g.rows)
	clear(g.pass)
	g.rows, g.bad = g.rows[:0], nil
	g.hold.used -= g.varBytes
	g.varBytes = 0
	return nil
}

// each calls fn with every step added, in cmpKeys order.
func (g *grouper) each(ctx context.Context, fn func(*step) error) error {
	if len(g.runs) == 0 {
		return g.held(ctx, fn)
	}
	if len(g.rows) > 0 {
		if err := g.spill(); err != nil {
			return err
		}
	}
	g.rows, g.sorted, g.vals, g.pass, g.bad = nil, nil, nil, nil, nil
	g.hold.release()
	runs := g.runs
	for len(runs) > maxFanIn {
		w, err := g.sp.create(g.strIDs)
		if err != nil {
			return err
		}
		err = g.merge(ctx, runs[:maxFanIn], w.write)
		name, cerr := w.close()
		if err = errors.Join(err, cerr); err != nil {
			return err
		}
		for _, r := range runs[:maxFanIn] {
			os.Remove(r)
		}
		runs = append(runs[maxFanIn:], name)
	}
	return g.merge(ctx, runs, fn)
}

// merge calls fn with the steps of the sorted run files, in order.
func (g *grouper) merge(ctx context.Context, names []string, fn func(*step) error) error {
	h := &runHeap{strIDs: g.strIDs}
	defer func() {
		for _, r := range h.runs {
			r.close()
		}
	}()
	for _, name := range names {
		r, err := openRun(name, g.strIDs, g.dim, g.npass)
		if err != nil {
			return err
		}
		ok, err := r.next()
		if !ok {
			r.close()
			if err != nil {
				return err
			}
			continue
		}
		h.runs = append(h.runs, r)
	}
	heap.Init(h)
	for n := 0; len(h.runs) > 0; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r := h.runs[0]
		if err := fn(&r.cur); err != nil {
			return err
		}
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			r.close()
			heap.Pop(h)
		}
	}
	return nil
}

// close gives the budget back and removes the spill folder.
func (g *grouper) close() error {
	g.hold.release()
	if g.sp != nil {
		return g.sp.remove()
	}
	return nil
}

// runHeap is a min-heap of run readers by their current steps.
type runHeap struct {
	runs   []*runReader
	strIDs bool
}

func (h *runHeap) Len() int { return len(h.runs) }
func (h *runHeap) Less(i, j int) bool {
	return cmpKeys(&h.runs[i].cur.key, &h.runs[j].cur.key, h.strIDs) < 0
}
func (h *runHeap) Swap(i, j int) { h.runs[i], h.runs[j] = h.runs[j], h.runs[i] }
func (h *runHeap) Push(x any)    { h.runs = append(h.runs, x.(*runReader)) }
func (h *runHeap) Pop() any {
	r := h.runs[len(h.runs)-1]
	h.runs = h.runs[:len(h.runs)-1]
	return r
}
