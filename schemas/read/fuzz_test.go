package read

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
)

// streamOf is a floatStream over given entries (no pages behind it), for
// fuzzing the row decoders on every level pattern a valid file can hold.
func streamOf(reps, defs []byte, vals []float64, lv levels) *floatStream {
	s := &floatStream{src: pageSource{col: &column{name: "fuzz"}}, reps: reps, defs: defs, n: len(reps), maxDef: lv.maxDef, dblPhys: true}
	for i, d := range defs {
		if d == lv.maxDef {
			s.f64 = append(s.f64, vals[i])
		}
	}
	return s
}

// fuzzValue maps a byte to a value, special ones included.
func fuzzValue(b byte) float64 {
	switch b {
	case 0:
		return math.NaN()
	case 1:
		return math.Inf(1)
	case 2:
		return math.Inf(-1)
	case 3:
		return 1e300
	case 4:
		return math.Copysign(0, -1)
	}
	return float64(int(b)-128) / 8
}

// levelsFrom builds entries from data, three bytes each, keeping the two
// rules of valid level streams: a stream starts a row, and an entry that
// repeats level r has the repeated node at level r defined.
func levelsFrom(data []byte, lv levels) *floatStream {
	var reps, defs []byte
	var vals []float64
	for i := 0; i+2 < len(data); i += 3 {
		r := data[i] % (lv.maxRep + 1)
		if len(reps) == 0 {
			r = 0
		}
		d := data[i+1] % (lv.maxDef + 1)
		if r > 0 && d < lv.repDef[r-1] {
			d = lv.repDef[r-1]
		}
		reps = append(reps, r)
		defs = append(defs, d)
		vals = append(vals, fuzzValue(data[i+2]))
	}
	return streamOf(reps, defs, vals, lv)
}

// The level layouts of list<list<float>> and list<float> columns: all
// optional (as Arrow and Spark write them) and all required.
var (
	nestedOptional = levels{maxRep: 2, maxDef: 5, repDef: [2]byte{2, 4}, parentDef: [2]byte{1, 3}}
	nestedRequired = levels{maxRep: 2, maxDef: 2, repDef: [2]byte{1, 2}, parentDef: [2]byte{0, 1}}
	listOptional   = levels{maxRep: 1, maxDef: 3, repDef: [2]byte{2}, parentDef: [2]byte{1}}
	listRequired   = levels{maxRep: 1, maxDef: 1, repDef: [2]byte{1}, parentDef: [2]byte{0}}
)

// checkSequence asserts what every decoded sequence must satisfy.
func checkSequence(t *testing.T, vals []float32, steps, dim int) {
	t.Helper()
	if steps < 1 || dim < 1 || len(vals) != steps*dim {
		t.Fatalf("valid row with T=%d I=%d and %d values", steps, dim, len(vals))
	}
	for _, v := range vals {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("valid row holds %v", v)
		}
	}
}

// FuzzNestedRow decodes arbitrary valid level streams of a list<list<float>>
// column: every row must decode or be quarantined, never error or panic,
// and consume exactly its own entries.
func FuzzNestedRow(f *testing.F) {
	f.Add([]byte{0, 5, 10, 2, 5, 11, 1, 5, 12, 2, 5, 13}, uint8(0), uint8(0), uint8(0))
	f.Add([]byte{0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0}, uint8(0), uint8(2), uint8(0))
	f.Add([]byte{0, 2, 0, 2, 2, 1, 1, 2, 9, 2, 2, 8}, uint8(1), uint8(0), uint8(1))
	f.Add([]byte{0, 5, 200, 1, 5, 1, 0, 5, 3}, uint8(0), uint8(1), uint8(1))
	// Two valid rows, then one: as FLOAT, through a dictionary, and with a
	// problem already found.
	two := []byte{0, 2, 10, 2, 2, 11, 1, 2, 12, 2, 2, 13, 0, 2, 14, 2, 2, 15, 0, 2, 16, 2, 2, 17}
	for _, v := range []uint8{1, 3, 5, 7, 9, 15} {
		f.Add(two, v, uint8(2), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, variant, wantDim, maxLen uint8) {
		// variant: bit 0 required levels, bit 1 FLOAT, bit 2 a dictionary,
		// bit 3 a problem already found.
		lv := nestedOptional
		if variant%2 == 1 {
			lv = nestedRequired
		}
		s := levelsFrom(data, lv)
		if variant&2 != 0 {
			// FLOAT pages rather than DOUBLE.
			for _, v := range s.f64 {
				s.f32 = append(s.f32, float32(v))
			}
			s.f64, s.dblPhys = nil, false
		}
		if variant&4 != 0 {
			// Dictionary-encoded: the values reversed, read through
			// indexes.
			vals := s.f64
			if !s.dblPhys {
				vals = nil
				for _, v := range s.f32 {
					vals = append(vals, float64(v))
				}
			}
			n := len(vals)
			s.idx = make([]int32, n)
			for i := range n {
				s.idx[i] = int32(n - 1 - i)
			}
			s.f64, s.f32 = nil, nil
			for i := range n {
				if s.dblPhys {
					s.f64 = append(s.f64, vals[n-1-i])
				} else {
					s.f32 = append(s.f32, float32(vals[n-1-i]))
				}
			}
		}
		// A row may come with a problem found in another column already
		// (a null id): nothing is appended then.
		var given problem
		if variant&8 != 0 {
			given.set(schemas.NullID, "column %q is null", "id")
		}
		defer func(on bool) { nestedFast = on }(nestedFast)
		for s.li < s.n {
			start := s.li
			// nestedRowFast is a shortcut: the row decodes the same
			// without it, and leaves the stream at the same place.
			nestedFast = false
			ref := *s
			refP := given
			refVals, refSteps, refDim, refErr := nestedRow(&ref, &lv, "seq", int(wantDim%4), int(maxLen%4), nil, &refP)
			nestedFast = true
			p := given
			vals, steps, dim, err := nestedRow(s, &lv, "seq", int(wantDim%4), int(maxLen%4), nil, &p)
			if err != nil {
				t.Fatalf("error on a valid stream: %v", err)
			}
			if refErr != nil || ref.li != s.li || ref.vi != s.vi || refP != p || refSteps != steps || refDim != dim || !slices.Equal(refVals, vals) {
				t.Fatalf("row at %d: %v %d %d %+v, at %d; without nestedRowFast %v %d %d %+v, at %d (%v)",
					start, vals, steps, dim, p, s.li, refVals, refSteps, refDim, refP, ref.li, refErr)
			}
			if s.li == start || (s.li < s.n && s.reps[s.li] != 0) {
				t.Fatalf("row consumed entries %d..%d, not a whole row", start, s.li)
			}
			if p.ok() {
				checkSequence(t, vals, steps, dim)
				if wantDim%4 != 0 && dim != int(wantDim%4) {
					t.Fatalf("got %d features, want %d", dim, wantDim%4)
				}
				if maxLen%4 != 0 && steps > int(maxLen%4) {
					t.Fatalf("got %d steps past max_len %d", steps, maxLen%4)
				}
			} else if p.detail == "" {
				t.Fatalf("quarantined as %s with no detail", p.reason)
			}
		}
	})
}

// FuzzColumnsRow decodes arbitrary valid level streams of three list<float>
// feature columns.
func FuzzColumnsRow(f *testing.F) {
	f.Add([]byte{0, 3, 10, 1, 3, 11}, []byte{0, 3, 12, 1, 3, 13}, []byte{0, 3, 14, 1, 3, 15}, uint8(0))
	f.Add([]byte{0, 0, 0}, []byte{0, 1, 0}, []byte{0, 2, 0}, uint8(0))
	f.Add([]byte{0, 1, 10, 1, 1, 0}, []byte{0, 1, 12, 1, 1, 1}, []byte{0, 1, 14, 1, 1, 3}, uint8(1))
	f.Fuzz(func(t *testing.T, a, b, c []byte, variant uint8) {
		lv := listOptional
		if variant%2 == 1 {
			lv = listRequired
		}
		streams := []*floatStream{levelsFrom(a, lv), levelsFrom(b, lv), levelsFrom(c, lv)}
		var cols []*column
		for i := range streams {
			cols = append(cols, &column{name: string(rune('a' + i)), lv: lv})
		}
		scratch := make([][]float32, 3)
		for {
			done := false
			for _, s := range streams {
				done = done || s.li >= s.n
			}
			if done {
				return
			}
			var p problem
			vals, steps, err := columnsRow(streams, cols, int(variant%3), scratch, &p)
			if err != nil {
				t.Fatalf("error on a valid stream: %v", err)
			}
			if p.ok() {
				checkSequence(t, vals, steps, 3)
			} else if p.detail == "" {
				t.Fatalf("quarantined as %s with no detail", p.reason)
			}
		}
	})
}

// nestedRowsFrom turns fuzz bytes into nested-layout rows: ids, and
// sequences with nulls, empty lists, ragged steps and special values.
func nestedRowsFrom(data []byte) [][]any {
	var rows [][]any
	for len(data) >= 2 && len(rows) < 64 {
		hdr, n := data[0], int(data[1]%6)
		data = data[2:]
		var id any = string(rune('a' + len(rows)%26))
		if hdr%11 == 0 {
			id = nil
		}
		var seq any
		if hdr%13 != 1 {
			steps := []any{}
			for s := 0; s < n && len(data) > 0; s++ {
				w := int(data[0] % 4)
				data = data[1:]
				if w == 3 && hdr%5 == 0 {
					steps = append(steps, nil)
					continue
				}
				if hdr%7 != 3 {
					w = 2
				}
				step := []any{}
				for k := 0; k < w && len(data) > 0; k++ {
					if data[0] == 255 {
						step = append(step, nil)
					} else {
						step = append(step, fuzzValue(data[0]))
					}
					data = data[1:]
				}
				steps = append(steps, step)
			}
			seq = steps
		}
		rows = append(rows, []any{id, seq})
	}
	return rows
}

// FuzzNestedFile writes fuzzed rows to a real Parquet file (Arrow's writer,
// dictionary or plain, several row groups) and decodes it: every row must
// come out once, valid rows with exactly their values.
func FuzzNestedFile(f *testing.F) {
	f.Add([]byte{1, 2, 2, 10, 20, 2, 30, 40, 22, 1, 1, 50, 60, 0, 3, 3, 1, 2, 3}, uint8(0))
	f.Add([]byte{65, 3, 3, 9, 8, 7, 1, 5, 0, 255, 2, 1, 2}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, opts uint8) {
		rows := nestedRowsFrom(data)
		if len(rows) == 0 {
			return
		}
		schema := arrow.NewSchema([]arrow.Field{field("id", strType), field("seq", listOf(listOf(f64)))}, nil)
		b := arrowFile{schema: schema, rows: rows, groupRows: 1 + int(opts%5), plain: opts&8 != 0}.bytes(t)
		in := openMem(t, map[string][]byte{"f.parquet": b}, schemas.Spec{Dim: 2})
		d := decodeAll(t, in)
		if d.Stats.Rows != int64(len(rows)) {
			t.Fatalf("read %d rows, want %d", d.Stats.Rows, len(rows))
		}
		for _, s := range d.Seqs {
			checkSequence(t, s.Values, s.Len, s.Dim)
			var want []float32
			for _, step := range rows[s.Src.Row][1].([]any) {
				for _, v := range step.([]any) {
					want = append(want, float32(v.(float64)))
				}
			}
			if !slices.Equal(s.Values, want) {
				t.Fatalf("row %d: got %v, want %v", s.Src.Row, s.Values, want)
			}
		}
	})
}

// FuzzColumnsFile is FuzzNestedFile for the columns layout: the fuzzed
// steps' features are split into one list column each.
func FuzzColumnsFile(f *testing.F) {
	f.Add([]byte{1, 2, 2, 10, 20, 2, 30, 40, 22, 1, 1, 50, 60, 0, 3, 3, 1, 2, 3}, uint8(0))
	f.Add([]byte{65, 3, 3, 9, 8, 7, 1, 5, 0, 255, 2, 1, 2}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, opts uint8) {
		var rows [][]any
		for _, r := range nestedRowsFrom(data) {
			var a, b any
			if r[1] != nil {
				la, lb := []any{}, []any{}
				for _, step := range r[1].([]any) {
					if step == nil {
						la = append(la, nil)
						continue
					}
					st := step.([]any)
					if len(st) > 0 {
						la = append(la, st[0])
					}
					if len(st) > 1 {
						lb = append(lb, st[1])
					}
				}
				a = la
				if opts&16 == 0 {
					b = lb
				}
			}
			rows = append(rows, []any{r[0], a, b})
		}
		if len(rows) == 0 {
			return
		}
		schema := arrow.NewSchema([]arrow.Field{field("id", strType), field("a", listOf(f32)), field("b", listOf(f64))}, nil)
		b := arrowFile{schema: schema, rows: rows, groupRows: 1 + int(opts%5), plain: opts&8 != 0}.bytes(t)
		in := openMem(t, map[string][]byte{"f.parquet": b}, schemas.Spec{Layout: schemas.Columns})
		d := decodeAll(t, in)
		if d.Stats.Rows != int64(len(rows)) {
			t.Fatalf("read %d rows, want %d", d.Stats.Rows, len(rows))
		}
		for _, s := range d.Seqs {
			checkSequence(t, s.Values, s.Len, s.Dim)
			r := rows[s.Src.Row]
			for step := 0; step < s.Len; step++ {
				for k := 0; k < 2; k++ {
					if got, want := s.Values[step*2+k], float32(r[1+k].([]any)[step].(float64)); got != want {
						t.Fatalf("row %d step %d feature %d: got %v, want %v", s.Src.Row, step, k, got, want)
					}
				}
			}
		}
	})
}

// FuzzLongFile writes fuzzed long-layout rows (ids in runs or interleaved,
// null ids, orders, values and pass-through values, repeated orders) to one
// file or two (cut anywhere) and decodes them whole or in two shards, in
// memory or spilling. It checks against a model of the rules: every id's
// rows make one group, whatever file they are in; valid sequences in id
// order, their values in step order and pass-through values from their
// first step; and each quarantined group's reason.
func FuzzLongFile(f *testing.F) {
	f.Add([]byte{0, 1, 10, 0, 2, 11, 1, 1, 12, 1, 0, 13}, uint8(0), uint8(0))
	f.Add([]byte{2, 1, 10, 0, 2, 11, 2, 0, 12, 0, 3, 13, 255, 4, 0}, uint8(3), uint8(2))
	f.Add([]byte{0, 1, 10, 0, 2, 11, 1, 1, 12, 1, 0, 13, 1, 3, 254, 2, 0, 20}, uint8(1), uint8(3))
	// Issue 8: (A,0),(B,0),(A,1),(B,1),(C,0) | (C,1),(D,0) gave A and B of one step.
	f.Add([]byte{0, 0, 10, 1, 0, 11, 0, 1, 12, 1, 1, 13, 2, 0, 14, 2, 1, 15, 3, 0, 16}, uint8(32), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, opts, cut uint8) {
		var rows [][]any
		for i := 0; i+2 < len(data) && len(rows) < 200; i += 3 {
			var id, order, v, pass any = int64(data[i] % 5), int64(data[i+1] % 7), fuzzValue(data[i+2]), fmt.Sprintf("p%d", len(rows))
			if data[i] == 255 {
				id = nil
			}
			if data[i+1] == 255 {
				order = nil
			}
			if data[i+2] == 255 {
				v = nil
			}
			if data[i+2] == 254 {
				pass = nil
			}
			rows = append(rows, []any{id, order, v, pass})
		}
		if len(rows) == 0 {
			return
		}
		maxLen := int(opts % 4)
		k := int(cut) % (len(rows) + 1)
		parts := [][][]any{rows}
		if opts&32 != 0 && k > 0 && k < len(rows) {
			parts = [][][]any{rows[:k], rows[k:]}
		}
		schema := arrow.NewSchema([]arrow.Field{field("id", i64Type), field("t", i64Type), field("v", f64), field("p", strType)}, nil)
		files := map[string][]byte{}
		for i, part := range parts {
			files[fmt.Sprintf("f%d.parquet", i)] = arrowFile{schema: schema, rows: part, groupRows: 1 + int(opts%5)}.bytes(t)
		}
		spec := schemas.Spec{Layout: schemas.Long, Order: "t", Pass: []string{"p"}, MaxLen: maxLen, SpillDir: t.TempDir()}
		if opts&64 != 0 {
			spec.GroupBudget = 1 + int64(cut)*8 // spills
		}
		in := openMem(t, files, spec)
		var seqs []*schemas.Sequence
		var quars []schemas.Quarantine
		var st Stats
		shards := 1 + int(opts>>7)
		for i := range shards {
			for _, u := range in.Shard(i, shards) {
				s, err := in.ReadUnit(context.Background(), u, Sink{
					Sequence:   func(s *schemas.Sequence) error { seqs = append(seqs, s); return nil },
					Quarantine: func(q schemas.Quarantine) error { quars = append(quars, q); return nil },
				})
				if err != nil {
					t.Fatal(err)
				}
				st.Add(s)
			}
		}
		if st.Rows != int64(len(rows)) || st.Groups != st.Sequences+st.Quarantined {
			t.Fatalf("stats %+v for %d rows", st, len(rows))
		}

		// The model: a group is the rows of one id, or one row whose id is
		// null; its reason is its rows' first problem (a null order before
		// a null value before a non-finite one), then its length, then a
		// repeated order value.
		type group struct {
			id     int64
			rows   [][]any
			reason schemas.Reason
		}
		rank := map[schemas.Reason]int{schemas.BadOrder: 0, schemas.NullValue: 1, schemas.NonFinite: 2}
		byID := map[int64]*group{}
		nullIDs := 0
		for _, r := range rows {
			if r[0] == nil {
				nullIDs++
				continue
			}
			g := byID[r[0].(int64)]
			if g == nil {
				g = &group{id: r[0].(int64)}
				byID[g.id] = g
			}
			g.rows = append(g.rows, r)
			var reason schemas.Reason
			switch {
			case r[1] == nil:
				reason = schemas.BadOrder
			case r[2] == nil:
				reason = schemas.NullValue
			default:
				if _, ok := finite32(r[2].(float64)); !ok {
					reason = schemas.NonFinite
				}
			}
			if reason != "" && (g.reason == "" || rank[reason] < rank[g.reason]) {
				g.reason = reason
			}
		}
		var want []*group
		for _, id := range slices.Sorted(maps.Keys(byID)) {
			g := byID[id]
			want = append(want, g)
			if g.reason == "" && maxLen > 0 && len(g.rows) > maxLen {
				g.reason = schemas.TooLong
			}
			seen := map[int64]bool{}
			for _, r := range g.rows {
				if g.reason == "" && seen[r[1].(int64)] {
					g.reason = schemas.BadOrder
				}
				if r[1] != nil {
					seen[r[1].(int64)] = true
				}
			}
		}
		if got := st.Groups; got != int64(len(want)+nullIDs) || len(in.Units()) != 1 {
			t.Fatalf("got %d groups in %d units, want %d in 1", got, len(in.Units()), len(want)+nullIDs)
		}
		var named []schemas.Quarantine
		for _, q := range quars {
			if q.IDNull {
				if q.Reason != schemas.NullID {
					t.Fatalf("null id quarantined as %s", q.Reason)
				}
				nullIDs--
				continue
			}
			named = append(named, q)
		}
		quars = named
		if nullIDs != 0 {
			t.Fatalf("null id rows and null_id records differ by %d", nullIDs)
		}
		// Sequences and quarantine records each come in id order (shard by
		// shard).
		slices.SortStableFunc(seqs, func(a, b *schemas.Sequence) int { return cmp.Compare(a.ID.Int, b.ID.Int) })
		slices.SortStableFunc(quars, func(a, b schemas.Quarantine) int {
			x, _ := strconv.ParseInt(a.ID, 10, 64)
			y, _ := strconv.ParseInt(b.ID, 10, 64)
			return cmp.Compare(x, y)
		})
		for _, g := range want {
			id := g.id
			if g.reason != "" {
				if len(quars) == 0 || quars[0].ID != fmt.Sprint(id) || quars[0].Reason != g.reason || quars[0].Detail == "" {
					t.Fatalf("id %d: want %s, got %v", id, g.reason, quars)
				}
				quars = quars[1:]
				continue
			}
			if len(seqs) == 0 || seqs[0].ID.Int != id {
				t.Fatalf("id %d: want a sequence, got %v", id, seqs)
			}
			s := seqs[0]
			seqs = seqs[1:]
			checkSequence(t, s.Values, s.Len, s.Dim)
			steps := slices.Clone(g.rows)
			slices.SortStableFunc(steps, func(a, b []any) int { return cmp.Compare(a[1].(int64), b[1].(int64)) })
			if len(steps) != s.Len {
				t.Fatalf("id %d: got %d steps, want %d", id, s.Len, len(steps))
			}
			for k, st := range steps {
				if s.Values[k] != float32(st[2].(float64)) {
					t.Fatalf("id %d step %d: got %v, want %v", id, k, s.Values[k], st[2])
				}
			}
			wantPass := schemas.Value{Null: true}
			if p := steps[0][3]; p != nil {
				wantPass = schemas.Value{Str: p.(string)}
			}
			if s.Pass[0] != wantPass {
				t.Fatalf("id %d: pass-through %+v, want %+v (its first step's)", id, s.Pass[0], wantPass)
			}
		}
		if len(seqs)+len(quars) != 0 {
			t.Fatalf("left over: %v %v", seqs, quars)
		}
	})
}

// recompress rewrites a Parquet file's pages with codec.
func recompress(t testing.TB, b []byte, codec compress.Codec) []byte {
	t.Helper()
	pf, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[any](&buf, pf.Schema(), parquet.Compression(codec))
	for _, rg := range pf.RowGroups() {
		if _, err := w.WriteRowGroup(rg); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fuzzPageBytes caps the pages FuzzFileBytes decodes.
const fuzzPageBytes = 1 << 20

// FuzzFileBytes opens and decodes arbitrary bytes as an input file of each
// golden input's spec (seeded with the golden files, and with them
// recompressed as LZ4_RAW and as the deprecated LZ4 in Hadoop frames):
// malformed footers, pages, compressed blocks and levels must be errors,
// never a panic or an allocation of what a damaged file claims. Pages are
// capped at fuzzPageBytes (Spec.MaxPageBytes), so that no input allocates
// more than a few MiB and the fuzzer keeps its pace.
func FuzzFileBytes(f *testing.F) {
	inputs := goldenInputs()
	for i, g := range inputs {
		b, err := os.ReadFile(filepath.Join("testdata", g.name+".parquet"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(i))
		f.Add(recompress(f, b, &parquet.Lz4Raw), uint8(i))
		f.Add(recompress(f, b, hadoopFrames{size: 4 << 10}), uint8(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		s := storage.NewMem()
		w, _ := s.Create(context.Background(), "f.parquet")
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		spec := inputs[int(which)%len(inputs)].spec
		spec.MaxPageBytes = fuzzPageBytes
		in, err := Open(context.Background(), s, []string{"f.parquet", "f.parquet"}, spec)
		if err != nil {
			if !strings.Contains(err.Error(), "f.parquet") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		sink := Sink{Sequence: func(*schemas.Sequence) error { return nil }, Quarantine: func(schemas.Quarantine) error { return nil }}
		for _, u := range in.Units() {
			if _, err := in.ReadUnit(context.Background(), u, sink); err != nil && !strings.Contains(err.Error(), "f.parquet") {
				t.Fatalf("error does not name the file: %v", err)
			}
		}
	})
}
