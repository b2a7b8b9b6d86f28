package schemas

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
)

var longSchema = arrow.NewSchema([]arrow.Field{field("id", strType), field("t", i64Type), field("v", f32), field("site", strType)}, nil)

// longRow is a row of longSchema: id (nil for null), order, value, site.
func longRow(id any, t int64, v float64) []any { return []any{id, t, v, fmt.Sprint("site-", id)} }

// TestLongSplitAcrossFiles checks that a sequence split between files
// (id-sorted output cut by size) comes out whole, once: the files it spans
// are one unit, whatever the null ids at their ends, and chains of such
// files too; files that do not continue one another stay apart.
func TestLongSplitAcrossFiles(t *testing.T) {
	file := func(rows ...[]any) []byte { return arrowFile{schema: longSchema, rows: rows, groupRows: 2}.bytes(t) }
	files := map[string][]byte{
		"p0.parquet": file(longRow("a", 0, 1), longRow("b", 0, 2), longRow("c", 1, 31), longRow("c", 0, 30), longRow(nil, 0, 0)),
		"p1.parquet": file(longRow(nil, 0, 0), longRow("c", 3, 33), longRow("c", 2, 32), longRow("d", 0, 40)),
		"p2.parquet": file(longRow("d", 1, 41), longRow("d", 2, 42)),
		"p3.parquet": file(longRow("e", 0, 50), longRow("e", 1, 51)),
		"p4.parquet": file(longRow("e", 2, 52)), // starts with the id p3 ends with
		"p5.parquet": file(longRow("f", 0, 60)),
	}
	in := openMem(t, files, Spec{Pass: []string{"site"}})
	var units []string
	for _, u := range in.Units() {
		units = append(units, u.String())
	}
	if got, want := strings.Join(units, "; "), "p0.parquet to p2.parquet (3 files); p3.parquet to p4.parquet (2 files); p5.parquet"; got != want {
		t.Fatalf("units: got %s, want %s", got, want)
	}
	d := decodeAll(t, in)
	got := map[string][]float32{}
	for _, s := range d.Seqs {
		if _, dup := got[s.ID.Str]; dup {
			t.Fatalf("id %s emitted twice", s.ID.Str)
		}
		got[s.ID.Str] = s.Values
		if s.Pass[0].Str != "site-"+s.ID.Str {
			t.Errorf("id %s: pass-through %q", s.ID.Str, s.Pass[0].Str)
		}
	}
	want := map[string][]float32{"a": {1}, "b": {2}, "c": {30, 31, 32, 33}, "d": {40, 41, 42}, "e": {50, 51, 52}, "f": {60}}
	for id, w := range want {
		if !slices.Equal(got[id], w) {
			t.Errorf("id %s: got %v, want %v", id, got[id], w)
		}
	}
	if len(d.Seqs) != len(want) || len(d.Quars) != 2 || d.Stats.Rows != 15 {
		t.Fatalf("got %d sequences, %v quarantined, %+v, want 6 sequences, the 2 null ids, 15 rows", len(d.Seqs), d.Quars, d.Stats)
	}
	c := d.Seqs[slices.IndexFunc(d.Seqs, func(s *Sequence) bool { return s.ID.Str == "c" })]
	if c.Src.File != "p0.parquet" || c.Src.Row != 2 || c.Src.RowGroup != 1 {
		t.Errorf("c: source %+v, want its first row, p0.parquet row 2 (row group 1)", c.Src)
	}

	// Unsorted files that share an id at the boundary are grouped as one.
	mixed := openMem(t, map[string][]byte{
		"q0.parquet": file(longRow("x", 0, 1), longRow("y", 0, 2), longRow("x", 1, 3)),
		"q1.parquet": file(longRow("x", 2, 4), longRow("y", 1, 5)),
	}, Spec{})
	md := decodeAll(t, mixed)
	if len(mixed.Units()) != 1 || len(md.Seqs) != 2 || !slices.Equal(md.Seqs[0].Values, []float32{1, 3, 4}) || !slices.Equal(md.Seqs[1].Values, []float32{2, 5}) {
		t.Fatalf("unsorted files sharing an id: %d units, sequences %v", len(mixed.Units()), md.Seqs)
	}
}

// TestLongQuarantineRows checks that a long layout quarantine record says
// how many rows the sequence had, and that they were not contiguous.
func TestLongQuarantineRows(t *testing.T) {
	rows := [][]any{longRow("a", 0, 1), longRow("b", 0, nan), longRow("a", 0, 2), longRow("b", 1, 1), longRow("c", 0, 1), longRow("c", 0, 2)}
	d := decodeAll(t, openMem(t, map[string][]byte{"f": arrowFile{schema: longSchema, rows: rows}.bytes(t)}, Spec{}))
	var got []string
	for _, q := range d.Quars {
		got = append(got, q.Detail)
	}
	want := []string{
		`column "t": value 0 appears in more than one row (2 rows from row 0 to row 2, not contiguous)`,
		`column "v" is NaN at row 1 (2 rows from row 1 to row 3, not contiguous)`,
		`column "t": value 0 appears in more than one row (2 rows from row 4 to row 5)`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got details\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// longFile returns a long layout file of n ids of 3 rows each, with
// string ids and pass-through values: the rows of an id far apart (so they
// must be grouped) when interleaved, else together.
func longFile(t testing.TB, n int, interleaved bool) []byte {
	rows := make([][]any, 0, 3*n)
	for k := range 3 * n {
		i, step := k/3, k%3
		if interleaved {
			i, step = k%n, k/n
		}
		rows = append(rows, longRow(fmt.Sprintf("sensor-%08d", i), int64(step), float64(i)))
	}
	return arrowFile{schema: longSchema, rows: rows, groupRows: 8192}.bytes(t)
}

// TestLongGroupBudgetAccounting measures the live heap that grouping takes
// (over that of streaming the same rows sorted) and checks the budget
// accounts for it: a budget of 90% of it fails before anything is emitted,
// one of 150% succeeds. (The first accounting, 4·dim+40 bytes a row and 8
// an id, was about a third of the real use.)
func TestLongGroupBudgetAccounting(t *testing.T) {
	const n = 40000
	read := func(b []byte, budget int64) (grown int64, emitted int, err error) {
		in := openMem(t, map[string][]byte{"f.parquet": b}, Spec{Pass: []string{"site"}, GroupBudget: budget})
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err = in.ReadUnit(context.Background(), in.Units()[0], Sink{
			Sequence: func(*Sequence) error {
				if emitted == 0 {
					var ms runtime.MemStats
					runtime.GC()
					runtime.ReadMemStats(&ms)
					grown = int64(ms.HeapAlloc) - int64(before.HeapAlloc)
				}
				emitted++
				return nil
			},
			Quarantine: func(Quarantine) error { emitted++; return nil },
		})
		return grown, emitted, err
	}
	mixed := longFile(t, n, true)
	grouped, _, err := read(mixed, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	streamed, _, err := read(longFile(t, n, false), 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	groups := grouped - streamed
	t.Logf("grouping %d rows of %d ids takes %.1f MiB (%.1f MiB streaming them sorted)", 3*n, n, float64(grouped)/(1<<20), float64(streamed)/(1<<20))
	if _, emitted, err := read(mixed, groups*9/10); err == nil || emitted != 0 || !strings.Contains(err.Error(), "group budget") {
		t.Fatalf("budget of 90%% of the memory used: got %v after %d emitted, want a group budget error before any", err, emitted)
	}
	if _, _, err := read(mixed, groups*3/2); err != nil {
		t.Fatalf("budget of 150%% of the memory used: %v", err)
	}
}

// TestLongGroupBudgetShared checks that units decoding at the same time
// share one budget: each fits alone, two at once do not.
func TestLongGroupBudgetShared(t *testing.T) {
	b := longFile(t, 2000, true)
	files := map[string][]byte{"a.parquet": b, "b.parquet": b}
	fits := func(budget int64) bool {
		in := openMem(t, files, Spec{GroupBudget: budget})
		_, err := in.ReadUnit(context.Background(), in.Units()[0], Sink{Sequence: func(*Sequence) error { return nil }, Quarantine: func(Quarantine) error { return nil }})
		return err == nil
	}
	lo, hi := int64(1), int64(1<<30) // the least budget one unit fits in, within 1%
	for hi-lo > hi/100 {
		if mid := (lo + hi) / 2; fits(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	in := openMem(t, files, Spec{GroupBudget: hi * 3 / 2})
	units := in.Units()
	holding, bDone := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var aErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, aErr = in.ReadUnit(context.Background(), units[0], Sink{
			Sequence: func(*Sequence) error {
				once.Do(func() { close(holding); <-bDone })
				return nil
			},
			Quarantine: func(Quarantine) error { return nil },
		})
	}()
	<-holding // a has grouped its file and holds its memory
	_, bErr := in.ReadUnit(context.Background(), units[1], Sink{Sequence: func(*Sequence) error { return nil }, Quarantine: func(Quarantine) error { return nil }})
	close(bDone)
	wg.Wait()
	if aErr != nil {
		t.Fatalf("first unit: %v", aErr)
	}
	if bErr == nil || !strings.Contains(bErr.Error(), "b.parquet: ") || !strings.Contains(bErr.Error(), "other units decoding at the same time") {
		t.Fatalf("second unit while the first held its memory: got %v, want a group budget error", bErr)
	}
	if _, err := in.ReadUnit(context.Background(), units[1], Sink{Sequence: func(*Sequence) error { return nil }, Quarantine: func(Quarantine) error { return nil }}); err != nil {
		t.Fatalf("second unit once the first was done: %v", err)
	}
}

// TestContiguityBounded checks that contiguous but unsorted ids stream
// whatever their number, with a bounded filter: the Bloom filter's false
// hits are checked exactly, and its memory stays small (a set of every id
// took about 82 bytes an id).
func TestContiguityBounded(t *testing.T) {
	const n = 600000
	rows := make([][]any, 0, n)
	for i := range n {
		k := (i * 7919) % n // a permutation: unsorted, each id once
		rows = append(rows, []any{int64(k), int64(0), 1.0})
	}
	schema := arrow.NewSchema([]arrow.Field{field("id", i64Type), field("t", i64Type), field("v", f32)}, nil)
	in := openMem(t, map[string][]byte{"f.parquet": arrowFile{schema: schema, rows: rows, groupRows: 1 << 16}.bytes(t)}, Spec{})
	u := in.Units()[0]
	obj, err := in.store.Open(context.Background(), u.File)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	defer debug.SetGCPercent(debug.SetGCPercent(10)) // the heap in use stays near the live heap
	runtime.GC()
	stop := heapPeaks()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	ok, err := contiguity(u, []unitFile{{in.files[0], obj}}, Int64)
	peak, _ := stop()
	if err != nil || !ok {
		t.Fatalf("got %v, %v, want contiguous", ok, err)
	}
	grown := int64(peak) - int64(base.HeapAlloc)
	t.Logf("contiguity of %d ids: heap peak %.1f MiB over the start", n, float64(grown)/(1<<20))
	// The Bloom filter is 8 MiB; the rest is pages in flight and garbage
	// (more of it with -tags purego). Keeping one hash per id took 25 MiB.
	if grown > 16<<20 {
		t.Fatalf("heap grew %d bytes checking %d ids", grown, n)
	}
	rows = append(rows, []any{int64(5), int64(1), 1.0})
	again := openMem(t, map[string][]byte{"f.parquet": arrowFile{schema: schema, rows: rows, groupRows: 1 << 16}.bytes(t)}, Spec{})
	d := decodeAll(t, again)
	if d.Stats.Groups != n {
		t.Fatalf("an id recurring at the end: got %d groups, want %d", d.Stats.Groups, n)
	}
}

// TestSinkErrorsUnwrapped checks that an error of the caller's sink comes
// back as it is, not dressed as an input error.
func TestSinkErrorsUnwrapped(t *testing.T) {
	stop := errors.New("disk full")
	for _, g := range goldenInputs() {
		in := openMem(t, map[string][]byte{"f.parquet": g.file.bytes(t)}, g.spec)
		_, err := in.ReadUnit(context.Background(), in.Units()[0], Sink{Sequence: func(*Sequence) error { return stop }, Quarantine: func(Quarantine) error { return stop }})
		if err != stop {
			t.Errorf("%s: got %v, want the sink's error unwrapped", g.name, err)
		}
	}
}
