package read

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/internal/heaptest"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
)

var longSchema = arrow.NewSchema([]arrow.Field{field("id", strType), field("t", i64Type), field("v", f32), field("site", strType)}, nil)

// longRow is a row of longSchema: id (nil for null), order, value, site.
func longRow(id any, t int64, v float64) []any { return []any{id, t, v, fmt.Sprint("site-", id)} }

// TestLongSplitAcrossFiles checks that sequences split between files,
// at their ends or anywhere, come out whole, once, in id order: the files
// are one unit.
func TestLongSplitAcrossFiles(t *testing.T) {
	file := func(rows ...[]any) []byte { return arrowFile{schema: longSchema, rows: rows, groupRows: 2}.bytes(t) }
	files := map[string][]byte{
		"p0.parquet": file(longRow("a", 0, 1), longRow("b", 0, 2), longRow("c", 1, 31), longRow("c", 0, 30), longRow(nil, 0, 0)),
		"p1.parquet": file(longRow(nil, 0, 0), longRow("c", 3, 33), longRow("c", 2, 32), longRow("d", 0, 40)),
		"p2.parquet": file(longRow("d", 1, 41), longRow("d", 2, 42), longRow("a", 1, 2)),
		"p3.parquet": file(longRow("e", 0, 50), longRow("e", 1, 51)),
		"p4.parquet": file(longRow("e", 2, 52)),
		"p5.parquet": file(longRow("f", 0, 60), longRow("b", 1, 3)),
	}
	in := openMem(t, files, schemas.Spec{Pass: []string{"site"}})
	var units []string
	for _, u := range in.Units() {
		units = append(units, u.String())
	}
	if got, want := strings.Join(units, "; "), "p0.parquet to p5.parquet (6 files)"; got != want {
		t.Fatalf("units: got %s, want %s", got, want)
	}
	d := decodeAll(t, in)
	var ids []string
	got := map[string][]float32{}
	for _, s := range d.Seqs {
		ids = append(ids, s.ID.Str)
		got[s.ID.Str] = s.Values
		if s.Pass[0].Str != "site-"+s.ID.Str {
			t.Errorf("id %s: pass-through %q", s.ID.Str, s.Pass[0].Str)
		}
	}
	if want := "a b c d e f"; strings.Join(ids, " ") != want {
		t.Fatalf("sequences %v, want %s, once each in id order", ids, want)
	}
	want := map[string][]float32{"a": {1, 2}, "b": {2, 3}, "c": {30, 31, 32, 33}, "d": {40, 41, 42}, "e": {50, 51, 52}, "f": {60}}
	for id, w := range want {
		if !slices.Equal(got[id], w) {
			t.Errorf("id %s: got %v, want %v", id, got[id], w)
		}
	}
	if len(d.Quars) != 2 || d.Stats.Rows != 17 {
		t.Fatalf("got %v quarantined, %+v, want the 2 null ids, 17 rows", d.Quars, d.Stats)
	}
	c := d.Seqs[2]
	if c.Src.File != "p0.parquet" || c.Src.Row != 2 || c.Src.RowGroup != 1 {
		t.Errorf("c: source %+v, want its first row, p0.parquet row 2 (row group 1)", c.Src)
	}
}

// TestLongTwoFiles is the case of issue 8: ids that reappear in a later
// file after other ids came out split, A and B of length 1.
func TestLongTwoFiles(t *testing.T) {
	file := func(rows ...[]any) []byte { return arrowFile{schema: longSchema, rows: rows}.bytes(t) }
	in := openMem(t, map[string][]byte{
		"f0.parquet": file(longRow("A", 0, 1), longRow("B", 0, 2), longRow("A", 1, 3), longRow("B", 1, 4), longRow("C", 0, 5)),
		"f1.parquet": file(longRow("C", 1, 6), longRow("D", 0, 7)),
	}, schemas.Spec{})
	d := decodeAll(t, in)
	var got []string
	for _, s := range d.Seqs {
		got = append(got, fmt.Sprintf("%s%v", s.ID.Str, s.Values))
	}
	if want := "A[1 3] B[2 4] C[5 6] D[7]"; strings.Join(got, " ") != want || len(d.Quars) != 0 {
		t.Fatalf("got %s and %v quarantined, want %s", strings.Join(got, " "), d.Quars, want)
	}
}

// TestLongQuarantineRows checks that a long layout quarantine record says
// how many rows the sequence had, and that they were not contiguous.
func TestLongQuarantineRows(t *testing.T) {
	rows := [][]any{longRow("a", 0, 1), longRow("b", 0, nan), longRow("a", 0, 2), longRow("b", 1, 1), longRow("c", 0, 1), longRow("c", 0, 2)}
	d := decodeAll(t, openMem(t, map[string][]byte{"f": arrowFile{schema: longSchema, rows: rows}.bytes(t)}, schemas.Spec{}))
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

// longOut is what a long layout read emitted, without sources (which name
// files): sequences and quarantined ids in order, bit for bit.
type longOut struct {
	seqs  []longLine
	quars []longLine
	nulls int // null_id records
	stats Stats
}

type longLine struct {
	id   schemas.Value
	text string
}

func outOf(t testing.TB, in *Input, units []Unit) longOut {
	t.Helper()
	var o longOut
	for _, u := range units {
		st, err := in.ReadUnit(context.Background(), u, Sink{
			Sequence: func(s *schemas.Sequence) error {
				var b strings.Builder
				fmt.Fprintf(&b, "%+v len %d dim %d pass %+v:", s.ID, s.Len, s.Dim, s.Pass)
				for _, v := range s.Values {
					fmt.Fprintf(&b, " %08x", math.Float32bits(v))
				}
				o.seqs = append(o.seqs, longLine{s.ID, b.String()})
				return nil
			},
			Quarantine: func(q schemas.Quarantine) error {
				if q.IDNull {
					o.nulls++
				} else {
					var id schemas.Value
					if in.IDField().Kind == schemas.String {
						id.Str = q.ID
					} else {
						fmt.Sscan(q.ID, &id.Int)
					}
					o.quars = append(o.quars, longLine{id, q.ID + " " + string(q.Reason)})
				}
				return nil
			},
		})
		if err != nil {
			t.Fatalf("ReadUnit(%s): %v", u, err)
		}
		o.stats.Add(st)
	}
	return o
}

// TestLongAnySplit is the property that a long table's reading does not
// depend on how it was cut into files: its rows, shuffled and dealt at
// random to k = 1..8 files of random row groups (Snappy pages; the one
// file's are ZSTD), read whole or in shards (whose union is taken in id
// order), with or without spilling, give what the table in one file in its
// first order gives, bit for bit and in the same order (which is the order
// sequences reach training in).
func TestLongAnySplit(t *testing.T) {
	strSchema := arrow.NewSchema([]arrow.Field{field("id", strType), field("t", i64Type), field("v", f32), field("w", f64), field("site", strType)}, nil)
	intSchema := arrow.NewSchema([]arrow.Field{field("id", i64Type), field("t", i64Type), field("v", f32), field("w", f64), field("site", strType)}, nil)
	snappy := compress.Codecs.Snappy
	trials := 8
	if raceEnabled {
		trials = 2
	}
	for trial := range trials {
		rng := rand.New(rand.NewPCG(uint64(trial), 8))
		schema, strIDs := strSchema, trial%2 == 0
		if !strIDs {
			schema = intSchema
		}
		var rows [][]any
		for i := range 1 + rng.IntN(20) {
			var id any = int64(rng.IntN(1000) - 500)
			if strIDs {
				id = fmt.Sprintf("s%d", rng.IntN(1000))
			}
			orders := rng.Perm(40)
			for k := range 1 + rng.IntN(12) {
				var o any = int64(orders[k] - 20)
				var v any = rng.Float64()*2 - 1
				switch rng.IntN(60) {
				case 0:
					o = nil
				case 1:
					v = math.NaN()
				case 2:
					v = nil
				case 3:
					o = int64(orders[0] - 20) // a repeated order value
				case 4:
					id = nil // a null id from here on
				}
				rows = append(rows, []any{id, o, v, float64(i) + rng.NormFloat64(), fmt.Sprintf("site-%d-%d", i, k)})
			}
		}
		spec := schemas.Spec{Layout: schemas.Long, Order: "t", Pass: []string{"site"}, SpillDir: t.TempDir()}
		one := openMem(t, map[string][]byte{"one.parquet": arrowFile{schema: schema, rows: rows}.bytes(t)}, spec)
		want := outOf(t, one, one.Units())
		if want.stats.Rows != int64(len(rows)) || len(want.seqs) == 0 && len(want.quars) == 0 && want.nulls == 0 {
			t.Fatalf("trial %d: the one-file read gave %+v of %d rows", trial, want, len(rows))
		}
		for k := 1; k <= 8; k++ {
			shuffled := slices.Clone(rows)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			parts := make([][][]any, min(k, len(shuffled)))
			for i, r := range shuffled {
				p := i // each file gets a row, then the rest at random
				if i >= len(parts) {
					p = rng.IntN(len(parts))
				}
				parts[p] = append(parts[p], r)
			}
			// The cut files' pages are Snappy, the one file's ZSTD: arrow's
			// writer makes a new ZSTD encoder for every page, which was most
			// of this test's time.
			files := map[string][]byte{}
			for i, p := range parts {
				files[fmt.Sprintf("f%d.parquet", i)] = arrowFile{schema: schema, rows: p, groupRows: 3 + rng.IntN(40), compression: &snappy}.bytes(t)
			}
			spec := spec
			if rng.IntN(2) == 0 {
				spec.GroupBudget = int64(1<<10 + rng.IntN(16<<10)) // spills, in up to tens of runs
			}
			shards := 1 + rng.IntN(3)
			in := openMem(t, files, spec)
			var got longOut
			if shards == 1 {
				got = outOf(t, in, in.Units())
			} else {
				for i := range shards {
					o := outOf(t, in, in.Shard(i, shards))
					got.seqs = append(got.seqs, o.seqs...)
					got.quars = append(got.quars, o.quars...)
					got.nulls += o.nulls
					got.stats.Add(o.stats)
				}
				byID := func(a, b longLine) int { return cmpIDs(a.id, b.id, strIDs) }
				slices.SortStableFunc(got.seqs, byID)
				slices.SortStableFunc(got.quars, byID)
			}
			name := fmt.Sprintf("trial %d, %d rows in %d files, %d shards, budget %d", trial, len(rows), len(parts), shards, spec.GroupBudget)
			if !slices.Equal(got.seqs, want.seqs) || !slices.Equal(got.quars, want.quars) || got.nulls != want.nulls || got.stats != want.stats {
				t.Fatalf("%s: got\n%v\n%v %d nulls %+v\nwant\n%v\n%v %d nulls %+v", name,
					got.seqs, got.quars, got.nulls, got.stats, want.seqs, want.quars, want.nulls, want.stats)
			}
		}
		if entries, _ := os.ReadDir(spec.SpillDir); len(entries) != 0 {
			t.Fatalf("trial %d: the spill folder holds %d entries after the reads", trial, len(entries))
		}
	}
}

// TestShardOf checks the shard hash against FNV-1a of the id's canonical
// encoding (so that runs of one version and the next agree on which shard
// owns an id), and that it spreads ids evenly.
func TestShardOf(t *testing.T) {
	ref := func(tag byte, b []byte, n int) int {
		h := fnv.New64a()
		h.Write(append([]byte{tag}, b...))
		return int(h.Sum64() % uint64(n))
	}
	counts := make([]int, 7)
	for i := range 7000 {
		s := fmt.Sprintf("s%05d", i)
		n := ShardOf(schemas.Value{Str: s}, schemas.String, 7)
		if want := ref('s', []byte(s), 7); n != want {
			t.Fatalf("ShardOf(%q) = %d, want %d", s, n, want)
		}
		counts[n]++
		v := int64(i*7919 - 3000000)
		want := ref('i', binary.LittleEndian.AppendUint64(nil, uint64(v)), 7)
		for _, k := range []schemas.Kind{schemas.Int32, schemas.Int64} {
			if got := ShardOf(schemas.Value{Int: v}, k, 7); got != want {
				t.Fatalf("ShardOf(%d, %s) = %d, want %d", v, k, got, want)
			}
		}
	}
	for i, c := range counts {
		if c < 850 || c > 1150 {
			t.Errorf("shard %d of 7 has %d of 7000 ids", i, c)
		}
	}
}

// TestSinkErrorsUnwrapped checks that an error of the caller's sink comes
// back as it is, not dressed as an input error.
func TestSinkErrorsUnwrapped(t *testing.T) {
	stop := errors.New("disk full")
	for _, g := range goldenInputs() {
		in := openMem(t, map[string][]byte{"f.parquet": g.file.bytes(t)}, g.spec)
		_, err := in.ReadUnit(context.Background(), in.Units()[0], Sink{Sequence: func(*schemas.Sequence) error { return stop }, Quarantine: func(schemas.Quarantine) error { return stop }})
		if err != stop {
			t.Errorf("%s: got %v, want the sink's error unwrapped", g.name, err)
		}
	}
}

type longBenchRow struct {
	ID   string  `parquet:"id"`
	T    int64   `parquet:"t"`
	V    float32 `parquet:"v"`
	W    float32 `parquet:"w"`
	Site string  `parquet:"site"`
}

// writeLongFile writes a long layout file of rows rows of ids ids, the ids
// interleaved (each id's rows spread over the whole file), and returns its
// path.
func writeLongFile(tb testing.TB, dir string, rows, ids int) string {
	tb.Helper()
	path := filepath.Join(dir, fmt.Sprintf("long-%d-%d.parquet", rows, ids))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := parquet.NewGenericWriter[longBenchRow](f, parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(64<<10))
	rng := rand.New(rand.NewPCG(uint64(rows), uint64(ids)))
	batch := make([]longBenchRow, 1024)
	for n := 0; n < rows; n += len(batch) {
		k := min(len(batch), rows-n)
		for i := range batch[:k] {
			r := n + i
			batch[i] = longBenchRow{ID: fmt.Sprintf("sensor-%08d", r%ids), T: int64(r / ids), V: rng.Float32(), W: rng.Float32(), Site: fmt.Sprintf("site-%d", r%ids%97)}
		}
		if _, err := w.Write(batch[:k]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// groupLong reads the long file at path with the budget, dropping what it
// decodes, and returns the sequences decoded, the heap's peak (in use)
// over its start and the spill files seen while emitting.
func groupLong(tb testing.TB, path, spillDir string, budget int64) (seqs int64, grown int64, runs int) {
	tb.Helper()
	ctx := context.Background()
	in, err := Open(ctx, storage.Local{}, []string{path}, schemas.Spec{Pass: []string{"site"}, GroupBudget: budget, SpillDir: spillDir})
	if err != nil {
		tb.Fatal(err)
	}
	runtime.GC()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := heaptest.Peaks()
	_, err = in.ReadUnit(ctx, in.Units()[0], Sink{
		Sequence: func(*schemas.Sequence) error {
			if seqs == 0 {
				m, _ := filepath.Glob(filepath.Join(spillDir, spillPrefix+"*", "run-*"))
				runs = len(m)
			}
			seqs++
			return nil
		},
		Quarantine: func(q schemas.Quarantine) error { return fmt.Errorf("quarantined: %v", q) },
	})
	peak, _ := stop()
	if err != nil {
		tb.Fatal(err)
	}
	return seqs, int64(peak) - int64(base.HeapAlloc), runs
}

// TestLongSpillHeapFlat groups a long input of about 10 times the group
// budget (as the grouper counts it): it spills, and the heap's peak stays
// within a small multiple of the budget plus the pages in flight, where
// grouping it in memory takes about the input's size.
func TestLongSpillHeapFlat(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("writes and groups 400k rows (and the race detector's allocations are not the program's)")
	}
	const rows, ids, budget = 400000, 20000, 4 << 20
	dir := t.TempDir()
	path := writeLongFile(t, dir, rows, ids)
	defer debug.SetGCPercent(debug.SetGCPercent(10)) // the heap in use stays near the live heap
	spill := t.TempDir()
	seqs, grown, runs := groupLong(t, path, spill, budget)
	_, inMemory, none := groupLong(t, path, spill, 1<<30)
	t.Logf("%d rows of %d ids: heap peak %.1f MiB over the start with a budget of %d MiB (%d runs spilled), %.1f MiB in memory",
		rows, ids, float64(grown)/(1<<20), budget>>20, runs, float64(inMemory)/(1<<20))
	if seqs != ids || none != 0 || runs < 10 {
		t.Fatalf("got %d sequences, %d and %d runs, want %d sequences, none spilled in memory and at least 10 runs within the budget", seqs, none, runs, ids)
	}
	if grown > 3*budget+12<<20 || inMemory < 4*grown {
		t.Fatalf("heap peak grew %d bytes with a budget of %d (%d in memory)", grown, budget, inMemory)
	}
	if entries, _ := os.ReadDir(spill); len(entries) != 0 {
		t.Fatalf("%d entries left in the spill folder", len(entries))
	}
}

// BenchmarkGroup measures grouping a long layout file of interleaved ids
// (1M rows of 50k ids, 2 features and a pass-through column) in memory and
// spilling (a 16 MiB budget), in rows/s.
func BenchmarkGroup(b *testing.B) {
	const rows, ids = 1000000, 50000
	path := writeLongFile(b, b.TempDir(), rows, ids)
	for _, c := range []struct {
		name   string
		budget int64
	}{{"memory", 1 << 30}, {"spill", 16 << 20}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			in, err := Open(ctx, storage.Local{}, []string{path}, schemas.Spec{Pass: []string{"site"}, GroupBudget: c.budget, SpillDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				st, err := in.ReadUnit(ctx, in.Units()[0], Sink{Sequence: func(*schemas.Sequence) error { return nil }, Quarantine: func(schemas.Quarantine) error { return nil }})
				if err != nil || st.Sequences != ids {
					b.Fatalf("%+v, %v", st, err)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
