package read

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
)

func TestShard(t *testing.T) {
	units := make([]Unit, 7)
	for i := range units {
		units[i].RowGroup = i
	}
	seen := map[int]int{}
	for i := 0; i < 3; i++ {
		for _, u := range Shard(units, i, 3) {
			seen[u.RowGroup]++
			if u.RowGroup%3 != i {
				t.Errorf("shard %d/3 got unit %d", i, u.RowGroup)
			}
		}
	}
	if len(seen) != 7 {
		t.Fatalf("shards cover %d units, want 7", len(seen))
	}
}

func TestDedup(t *testing.T) {
	d := NewDedup(schemas.String)
	ids := []string{"a", "b", "a", "c", "b", "a"}
	var dups []string
	for i, id := range ids {
		q, dup := d.Check(&schemas.Sequence{ID: schemas.Value{Str: id}, Src: schemas.Loc{File: "f", Row: int64(i)}})
		if dup {
			if q.Reason != schemas.DuplicateID || q.ID != id || q.Src.Row != int64(i) {
				t.Fatalf("got %+v for row %d", q, i)
			}
			dups = append(dups, fmt.Sprint(i))
		}
	}
	if got, want := strings.Join(dups, ","), "2,4,5"; got != want || d.Len() != 3 {
		t.Fatalf("duplicates at rows %s (%d distinct), want %s (3)", got, d.Len(), want)
	}
	n := NewDedup(schemas.Int64)
	if _, dup := n.Check(&schemas.Sequence{ID: schemas.Value{Int: 1}}); dup {
		t.Fatal("first id reported duplicate")
	}
	if _, dup := n.Check(&schemas.Sequence{ID: schemas.Value{Int: 2}}); dup {
		t.Fatal("distinct int id reported duplicate")
	}
}

func longRows(interleave bool) [][]any {
	l := func(v ...any) []any { return v }
	var rows [][]any
	for id := 0; id < 6; id++ {
		for step := 4; step >= 0; step-- {
			rows = append(rows, l(fmt.Sprintf("id%d", id), int64(step), float64(10*id+step)))
		}
	}
	if interleave {
		out := make([][]any, 0, len(rows))
		for k := 0; k < 5; k++ {
			for id := 0; id < 6; id++ {
				out = append(out, rows[id*5+k])
			}
		}
		rows = out
	}
	return rows
}

// TestLongGrouping checks that ids in runs and interleaved ids give the
// same sequences, in id order, whether they are grouped in memory or
// spilled (a budget of one byte spills every row).
func TestLongGrouping(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{field("id", strType), field("t", i64Type), field("v", f32)}, nil)
	var want []string
	for id := 0; id < 6; id++ {
		want = append(want, fmt.Sprintf("id%d %v", id, []float32{float32(10 * id), float32(10*id + 1), float32(10*id + 2), float32(10*id + 3), float32(10*id + 4)}))
	}
	for _, c := range []struct {
		name       string
		interleave bool
		budget     int64
	}{{"runs", false, 0}, {"interleaved", true, 0}, {"runs spilled", false, 1}, {"interleaved spilled", true, 1}} {
		in := openMem(t, map[string][]byte{"a": arrowFile{schema: schema, rows: longRows(c.interleave), groupRows: 7}.bytes(t)}, schemas.Spec{GroupBudget: c.budget, SpillDir: t.TempDir()})
		d := decodeAll(t, in)
		var got []string
		for _, s := range d.Seqs {
			got = append(got, fmt.Sprintf("%s %v", s.ID.Str, s.Values))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", c.name, got, want)
		}
		if s := d.Seqs[1]; c.interleave && s.Src.Row != 1 {
			t.Errorf("%s: second sequence from row %d, want id1's first row, 1", c.name, s.Src.Row)
		}
	}
}

// TestParquetGoInput reads a file written by parquet-go (required columns,
// plain encoding, data page v2) and checks it decodes like the same rows
// written by Arrow's writer.
func TestParquetGoInput(t *testing.T) {
	type row struct {
		ID    int32       `parquet:"id"`
		Seq   [][]float64 `parquet:"seq,list"`
		Score *float32    `parquet:"score,optional"`
	}
	half := float32(0.5)
	rows := []row{{1, [][]float64{{1, 2}, {3, 4}}, &half}, {2, [][]float64{{5, 6}}, nil}, {3, [][]float64{}, nil}, {4, [][]float64{{1, math.NaN()}}, nil}}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.MaxRowsPerRowGroup(2))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	l := func(v ...any) []any { return v }
	schema := arrow.NewSchema([]arrow.Field{field("id", i32Type), field("seq", listOf(listOf(f64))), field("score", f32)}, nil)
	arrowRows := [][]any{l(int64(1), l(l(1.0, 2.0), l(3.0, 4.0)), 0.5), l(int64(2), l(l(5.0, 6.0)), nil), l(int64(3), l(), nil), l(int64(4), l(l(1.0, nan)), nil)}
	spec := schemas.Spec{Pass: []string{"score"}}
	a := goldenOf(openMem(t, map[string][]byte{"f": buf.Bytes()}, spec), decodeAll(t, openMem(t, map[string][]byte{"f": buf.Bytes()}, spec)))
	bIn := openMem(t, map[string][]byte{"f": arrowFile{schema: schema, rows: arrowRows, groupRows: 2}.bytes(t)}, spec)
	b := goldenOf(bIn, decodeAll(t, bIn))
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("parquet-go file decodes to\n%s\nArrow file to\n%s", ja, jb)
	}
	if a.IDField.Kind != schemas.Int32 || len(a.Sequences) != 2 || len(a.Quarantined) != 2 || a.Sequences[0].Pass[0] != "0.5" {
		t.Fatalf("unexpected decoding %+v", a)
	}
}

func TestPassThroughKinds(t *testing.T) {
	l := func(v ...any) []any { return v }
	schema := arrow.NewSchema([]arrow.Field{
		field("id", strType), field("seq", listOf(listOf(f32))),
		field("b", arrow.FixedWidthTypes.Boolean), field("i", i32Type), field("j", i64Type), field("x", f64),
		field("s", strType), field("raw", arrow.BinaryTypes.Binary), field("d", dateType), field("ts", tsType),
	}, nil)
	rows := [][]any{
		l("a", l(l(1.0)), true, int64(-3), int64(1)<<40, 2.5, "hi", "\x01\x02", int64(19000), int64(1700000000123456)),
		l("b", l(l(1.0)), nil, nil, nil, nil, nil, nil, nil, nil),
	}
	in := openMem(t, map[string][]byte{"f": arrowFile{schema: schema, rows: rows}.bytes(t)}, schemas.Spec{Pass: []string{"b", "i", "j", "x", "s", "raw", "d", "ts"}})
	var kinds []string
	for _, f := range in.PassFields() {
		kinds = append(kinds, f.Kind.String())
	}
	if got, want := strings.Join(kinds, " "), "bool int32 int64 float64 string binary date timestamp[us]"; got != want {
		t.Fatalf("kinds: got %s, want %s", got, want)
	}
	d := decodeAll(t, in)
	var got []string
	for i, v := range d.Seqs[0].Pass {
		got = append(got, v.Format(in.PassFields()[i].Kind))
	}
	if g, w := strings.Join(got, "|"), "true|-3|1099511627776|2.5|hi|0102|2022-01-08|2023-11-14T22:13:20.123456Z"; g != w {
		t.Fatalf("got %s, want %s", g, w)
	}
	for i, v := range d.Seqs[1].Pass {
		if !v.Null {
			t.Errorf("pass %d: got %+v, want null", i, v)
		}
	}
}

func TestReadErrors(t *testing.T) {
	l := func(v ...any) []any { return v }
	good := arrowFile{schema: nestedSchema(f32, strType), rows: [][]any{l("a", l(l(1.0)), "x"), l("b", l(l(2.0)), "y")}}.bytes(t)
	s, _ := memStore(t, map[string][]byte{"good.parquet": good, "short.parquet": good[:len(good)/2], "text.csv": []byte("id,seq\n")})
	ctx := context.Background()
	for _, name := range []string{"short.parquet", "text.csv", "missing.parquet"} {
		if _, err := Open(ctx, s, []string{name}, schemas.Spec{}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Open(%s): got %v, want an error naming the file", name, err)
		}
	}
	if _, err := Open(ctx, s, nil, schemas.Spec{}); err == nil {
		t.Error("Open of no files: got nil error")
	}
	var se *schemas.SpecError
	if _, err := Open(ctx, s, []string{"good.parquet"}, schemas.Spec{Dim: -1}); !errors.As(err, &se) || se.Key != "input.dim" {
		t.Errorf("Open with Dim -1: got %v, want a SpecError for input.dim", err)
	}
	in, err := Open(ctx, s, []string{"good.parquet"}, schemas.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("sink full")
	_, err = in.ReadUnit(ctx, in.Units()[0], Sink{Sequence: func(*schemas.Sequence) error { return stop }, Quarantine: func(schemas.Quarantine) error { return nil }})
	if !errors.Is(err, stop) {
		t.Fatalf("sink error: got %v, want it returned", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := in.ReadUnit(cctx, in.Units()[0], Sink{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: got %v, want context.Canceled", err)
	}
	other, _ := Open(ctx, s, []string{"good.parquet"}, schemas.Spec{})
	if _, err := other.ReadUnit(ctx, Unit{File: "x", file: 3}, Sink{}); err == nil {
		t.Fatal("foreign unit: got nil error")
	}
}

func TestLocalStoreInput(t *testing.T) {
	in, err := Open(context.Background(), storage.Local{}, []string{"testdata/nested.parquet", "testdata/nested.parquet"}, schemas.Spec{Pass: []string{"label"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(in.Units()); got != 8 {
		t.Fatalf("got %d units, want 4 row groups × 2 files", got)
	}
	d := decodeAll(t, in)
	if d.Stats.Rows != 26 || d.Stats.Sequences != 10 {
		t.Fatalf("got %+v, want 26 rows, 10 sequences", d.Stats)
	}
}

// TestParallelUnits decodes the units of several files of each layout
// concurrently, as a pipeline's workers do, and checks the result matches
// decoding in order. The long layout's one unit is decoded as 3 shards at
// once, whose union, in id order, must match.
func TestParallelUnits(t *testing.T) {
	for _, g := range goldenInputs() {
		t.Run(g.name, func(t *testing.T) {
			files := map[string][]byte{}
			for k := 0; k < 3; k++ {
				files[fmt.Sprintf("%s-%d.parquet", g.name, k)] = g.file.bytes(t)
			}
			in := openMem(t, files, g.spec)
			want := decodeAll(t, in)
			units := in.Units()
			if in.Layout() == schemas.Long {
				units = slices.Concat(in.Shard(0, 3), in.Shard(1, 3), in.Shard(2, 3))
			}
			if len(units) < 3 {
				t.Fatalf("%d units, want at least one per file", len(units))
			}
			type result struct {
				seqs  []*schemas.Sequence
				quars []schemas.Quarantine
				stats Stats
			}
			results := make([]result, len(units))
			errs := make(chan error, len(units))
			for i, u := range units {
				go func() {
					r := &results[i]
					var err error
					r.stats, err = in.ReadUnit(context.Background(), u, Sink{
						Sequence:   func(s *schemas.Sequence) error { r.seqs = append(r.seqs, s); return nil },
						Quarantine: func(q schemas.Quarantine) error { r.quars = append(r.quars, q); return nil },
					})
					errs <- err
				}()
			}
			for range units {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			var got decoded
			for _, r := range results {
				got.Seqs = append(got.Seqs, r.seqs...)
				got.Quars = append(got.Quars, r.quars...)
				got.Stats.Add(r.stats)
			}
			if in.Layout() == schemas.Long {
				for _, d := range []*decoded{&got, &want} {
					slices.SortStableFunc(d.Seqs, func(a, b *schemas.Sequence) int { return cmpIDs(a.ID, b.ID, in.IDField().Kind == schemas.String) })
					slices.SortStableFunc(d.Quars, func(a, b schemas.Quarantine) int { return strings.Compare(a.ID, b.ID) })
				}
			}
			ja, _ := json.Marshal(goldenOf(in, got))
			jb, _ := json.Marshal(goldenOf(in, want))
			if !bytes.Equal(ja, jb) {
				t.Fatalf("parallel decoding differs:\n%s\nwant\n%s", ja, jb)
			}
		})
	}
}
