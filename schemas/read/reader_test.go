package read

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/seqae/seqae/schemas"
)

var nan = math.NaN()

func nestedSchema(elem arrow.DataType, id arrow.DataType) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{field("id", id), field("seq", listOf(listOf(elem))), field("label", strType)}, nil)
}

// rowCase is one input row and what decoding it must give: a reason, or
// the sequence's values (T steps of len(values)/T features).
type rowCase struct {
	name   string
	row    []any
	reason schemas.Reason
	steps  int
	values []float32
	detail string // a substring the quarantine detail must contain
}

func checkCases(t *testing.T, cases []rowCase, file func(row []any) arrowFile, spec schemas.Spec) {
	t.Helper()
	for _, tc := range cases {
		for _, enc := range []struct {
			name      string
			plain, v2 bool
		}{{"dict", false, false}, {"plain", true, false}, {"v2", true, true}} {
			t.Run(tc.name+"/"+enc.name, func(t *testing.T) {
				f := file(tc.row)
				f.plain, f.v2 = enc.plain, enc.v2
				in := openMem(t, map[string][]byte{"in.parquet": f.bytes(t)}, spec)
				d := decodeAll(t, in)
				if tc.reason != "" {
					if len(d.Quars) != 1 || len(d.Seqs) != 0 {
						t.Fatalf("got %d sequences, %d quarantined (%v), want 1 quarantined", len(d.Seqs), len(d.Quars), d.Quars)
					}
					q := d.Quars[0]
					if q.Reason != tc.reason || !strings.Contains(q.Detail, tc.detail) {
						t.Fatalf("got %s %q, want %s with %q", q.Reason, q.Detail, tc.reason, tc.detail)
					}
					return
				}
				if len(d.Seqs) != 1 {
					t.Fatalf("got %d sequences, %v quarantined, want 1 sequence", len(d.Seqs), d.Quars)
				}
				s := d.Seqs[0]
				if s.Len != tc.steps || s.Len*s.Dim != len(tc.values) || !slices.Equal(s.Values, tc.values) {
					t.Fatalf("got T=%d I=%d %v, want T=%d %v", s.Len, s.Dim, s.Values, tc.steps, tc.values)
				}
			})
		}
	}
}

func TestNestedRows(t *testing.T) {
	l := func(v ...any) []any { return v }
	cases := []rowCase{
		{name: "ok", row: l("a", l(l(1.0, 2.0), l(3.0, 4.0), l(5.0, 6.0)), "x"), steps: 3, values: []float32{1, 2, 3, 4, 5, 6}},
		{name: "one step", row: l("a", l(l(1.5, -2.0)), nil), steps: 1, values: []float32{1.5, -2}},
		{name: "null id", row: l(nil, l(l(1.0, 2.0)), "x"), reason: schemas.NullID, detail: `"id"`},
		{name: "null sequence", row: l("a", nil, "x"), reason: schemas.NullSequence, detail: `"seq"`},
		{name: "empty sequence", row: l("a", l(), "x"), reason: schemas.EmptySequence},
		{name: "null step", row: l("a", l(l(1.0, 2.0), nil), "x"), reason: schemas.NullStep, detail: "step 1"},
		{name: "empty step", row: l("a", l(l(1.0, 2.0), l()), "x"), reason: schemas.RaggedStep, detail: "step 1 has 0 features, want 2"},
		{name: "ragged", row: l("a", l(l(1.0, 2.0), l(3.0)), "x"), reason: schemas.RaggedStep, detail: "step 1 has 1 features, want 2"},
		{name: "first step empty", row: l("a", l(l(), l(3.0)), "x"), reason: schemas.RaggedStep, detail: "step 0 has 0 features, want 2"},
		{name: "wide", row: l("a", l(l(1.0, 2.0, 3.0)), "x"), reason: schemas.RaggedStep, detail: "has 3 features, want 2"},
		{name: "null value", row: l("a", l(l(1.0, nil)), "x"), reason: schemas.NullValue, detail: "step 0 feature 1"},
		{name: "nan", row: l("a", l(l(1.0, 2.0), l(nan, 2.0)), "x"), reason: schemas.NonFinite, detail: "step 1 feature 0 is NaN"},
		{name: "inf", row: l("a", l(l(math.Inf(-1), 2.0)), "x"), reason: schemas.NonFinite, detail: "-Inf"},
		{name: "too long", row: l("a", l(l(1.0, 2.0), l(1.0, 2.0), l(1.0, 2.0), l(1.0, 2.0)), "x"), reason: schemas.TooLong, detail: "4 steps, max_len is 3"},
	}
	checkCases(t, cases, func(row []any) arrowFile {
		return arrowFile{schema: nestedSchema(f32, strType), rows: [][]any{row}}
	}, schemas.Spec{Dim: 2, MaxLen: 3})
	t.Run("float64 overflow", func(t *testing.T) {
		checkCases(t, []rowCase{
			{name: "big", row: l("a", l(l(1e300, 2.0)), "x"), reason: schemas.NonFinite, detail: "1e+300"},
			{name: "double", row: l("a", l(l(0.1, 2.0)), "x"), steps: 1, values: []float32{0.1, 2}},
			{name: "first step empty", row: l("a", l(l(), l(3.0)), "x"), reason: schemas.RaggedStep, detail: "step 0 has no features"},
		}, func(row []any) arrowFile {
			return arrowFile{schema: nestedSchema(f64, strType), rows: [][]any{row}}
		}, schemas.Spec{})
	})
}

func TestColumnsRows(t *testing.T) {
	l := func(v ...any) []any { return v }
	schema := arrow.NewSchema([]arrow.Field{field("id", i64Type), field("a", listOf(f32)), field("b", listOf(f64))}, nil)
	cases := []rowCase{
		{name: "ok", row: l(int64(7), l(1.0, 2.0, 3.0), l(4.0, 5.0, 6.0)), steps: 3, values: []float32{1, 4, 2, 5, 3, 6}},
		{name: "null id", row: l(nil, l(1.0), l(2.0)), reason: schemas.NullID},
		{name: "null list", row: l(int64(7), l(1.0), nil), reason: schemas.NullSequence, detail: `column "b" is null`},
		{name: "empty", row: l(int64(7), l(), l()), reason: schemas.EmptySequence},
		{name: "one empty", row: l(int64(7), l(1.0), l()), reason: schemas.RaggedStep, detail: `column "b" has 0 steps, column "a" has 1`},
		{name: "ragged", row: l(int64(7), l(1.0, 2.0), l(1.0)), reason: schemas.RaggedStep},
		{name: "null value", row: l(int64(7), l(1.0, 2.0), l(1.0, nil)), reason: schemas.NullValue, detail: `column "b": step 1 is null`},
		{name: "nan", row: l(int64(7), l(1.0, nan), l(1.0, 2.0)), reason: schemas.NonFinite, detail: `column "a": step 1 is NaN`},
		{name: "too long", row: l(int64(7), l(1.0, 2.0, 3.0, 4.0), l(1.0, 2.0, 3.0, 4.0)), reason: schemas.TooLong},
	}
	checkCases(t, cases, func(row []any) arrowFile {
		return arrowFile{schema: schema, rows: [][]any{row}}
	}, schemas.Spec{MaxLen: 3})
}

// TestEveryRowOnce checks, over files with several row groups, every
// layout and many bad rows, that each input row (each long-layout group)
// comes out exactly once, as a sequence or as a quarantine record.
func TestEveryRowOnce(t *testing.T) {
	for _, g := range goldenInputs() {
		t.Run(g.name, func(t *testing.T) {
			in := openMem(t, map[string][]byte{g.name + ".parquet": g.file.bytes(t)}, g.spec)
			d := decodeAll(t, in)
			seen := map[int64]int{}
			for _, s := range d.Seqs {
				seen[s.Src.Row]++
			}
			for _, q := range d.Quars {
				seen[q.Src.Row]++
			}
			if in.Layout() != schemas.Long {
				if int64(len(seen)) != d.Stats.Rows || d.Stats.Rows != int64(len(g.file.rows)) {
					t.Fatalf("got %d distinct rows out of %d read, want %d", len(seen), d.Stats.Rows, len(g.file.rows))
				}
			}
			for row, n := range seen {
				if n != 1 {
					t.Errorf("row %d came out %d times", row, n)
				}
			}
			if d.Stats.Groups != int64(len(d.Seqs)+len(d.Quars)) {
				t.Fatalf("stats %+v, got %d sequences and %d quarantined", d.Stats, len(d.Seqs), len(d.Quars))
			}
		})
	}
}

// A file that does not fit the Spec is a *schemas.SpecError whose message
// begins with the job key at fault and names the file; a wrong layout says
// which layout the file looks like.
func TestSchemaMismatch(t *testing.T) {
	l := func(v ...any) []any { return v }
	good := arrowFile{schema: nestedSchema(f32, strType), rows: [][]any{l("a", l(l(1.0)), "x")}}.bytes(t)
	intID := arrowFile{schema: nestedSchema(f32, i64Type), rows: [][]any{l(int64(1), l(l(1.0)), "x")}}.bytes(t)
	flat := arrowFile{schema: arrow.NewSchema([]arrow.Field{field("id", strType), field("seq", listOf(f32))}, nil), rows: [][]any{l("a", l(1.0))}}.bytes(t)
	long := arrowFile{schema: arrow.NewSchema([]arrow.Field{field("id", strType), field("t", i64Type), field("x", f32)}, nil), rows: [][]any{l("a", int64(1), 1.0)}}.bytes(t)
	twoOrders := arrowFile{schema: arrow.NewSchema([]arrow.Field{field("id", strType), field("t", i64Type), field("u", i64Type), field("x", f32)}, nil), rows: [][]any{l("a", int64(1), int64(2), 1.0)}}.bytes(t)
	tests := []struct {
		name  string
		files map[string][]byte
		spec  schemas.Spec
		key   string
		want  string
	}{
		{"missing column", map[string][]byte{"a.parquet": good}, schemas.Spec{Sequence: "values"}, "input.sequence",
			`input.sequence "values" not found in a.parquet; columns are id, seq, label`},
		{"missing id", map[string][]byte{"a.parquet": good}, schemas.Spec{ID: "sid"}, "input.id",
			`input.id "sid" not found in a.parquet; columns are id, seq, label`},
		{"wrong id type", map[string][]byte{"a.parquet": good}, schemas.Spec{ID: "seq", Sequence: "seq"}, "input.id",
			`input.id "seq" in a.parquet: want a string or integer, found list<list<float32>>`},
		{"second file differs", map[string][]byte{"a.parquet": good, "b.parquet": intID}, schemas.Spec{}, "input.id",
			`input.id "id" in b.parquet: want string like a.parquet, found int64`},
		{"nested wanted", map[string][]byte{"a.parquet": good, "b.parquet": flat}, schemas.Spec{Layout: schemas.Nested, Sequence: "seq"}, "input.layout",
			`input.layout is nested but b.parquet looks like the columns layout: input.sequence "seq" in b.parquet: want list<list<float>> or list<list<double>>, found list<float32>`},
		{"nested set, long file", map[string][]byte{"a.parquet": long}, schemas.Spec{Layout: schemas.Nested}, "input.layout",
			`input.layout is nested but a.parquet looks like the long layout: input.sequence is not set and a.parquet has not one list<list<float>> column to use (found none)`},
		{"long set, nested file", map[string][]byte{"a.parquet": good}, schemas.Spec{Layout: schemas.Long, Order: "label"}, "input.layout",
			`input.layout is long but a.parquet looks like the nested layout: input.features is not set and a.parquet has no float columns to use`},
		{"long set, nested file, order found", map[string][]byte{"a.parquet": good}, schemas.Spec{Layout: schemas.Long, Pass: []string{"label"}}, "input.layout",
			`input.layout is long but a.parquet looks like the nested layout: input.order is not set and a.parquet has not one integer or timestamp column to use (found none)`},
		{"pass list", map[string][]byte{"a.parquet": good}, schemas.Spec{Sequence: "seq", Pass: []string{"seq"}}, "input.pass",
			`input.pass "seq" in a.parquet: want a scalar`},
		{"two orders", map[string][]byte{"a.parquet": twoOrders}, schemas.Spec{Layout: schemas.Long}, "input.order",
			`input.order is not set and a.parquet has not one integer or timestamp column to use (found t, u)`},
		{"cannot tell", map[string][]byte{"a.parquet": twoOrders}, schemas.Spec{}, "input.layout",
			`input.layout is not set and a.parquet does not tell it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, names := memStore(t, tt.files)
			_, err := Open(context.Background(), s, names, tt.spec)
			var se *schemas.SpecError
			if !errors.As(err, &se) || se.Key != tt.key || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got error %v, want a SpecError of key %s beginning %q", err, tt.key, tt.want)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	l := func(v ...any) []any { return v }
	tests := []struct {
		name   string
		schema *arrow.Schema
		row    []any
		spec   schemas.Spec
		layout schemas.Layout
		check  func(schemas.Spec) bool
	}{
		{"nested", nestedSchema(f32, strType), l("a", l(l(1.0)), "x"), schemas.Spec{Pass: []string{"label"}}, schemas.Nested, func(s schemas.Spec) bool { return s.Sequence == "seq" }},
		{"columns", arrow.NewSchema([]arrow.Field{field("id", strType), field("a", listOf(f32)), field("b", listOf(f32)), field("n", i64Type)}, nil), l("a", l(1.0), l(1.0), int64(3)), schemas.Spec{}, schemas.Columns, func(s schemas.Spec) bool { return slices.Equal(s.Features, []string{"a", "b"}) }},
		{"long", arrow.NewSchema([]arrow.Field{field("id", strType), field("t", tsType), field("x", f32), field("y", f64)}, nil), l("a", int64(1), 1.0, 2.0), schemas.Spec{}, schemas.Long, func(s schemas.Spec) bool { return s.Order == "t" && slices.Equal(s.Features, []string{"x", "y"}) }},
		{"long by features", arrow.NewSchema([]arrow.Field{field("id", strType), field("t", i32Type), field("x", f32), field("y", f64)}, nil), l("a", int64(1), 1.0, 2.0), schemas.Spec{Features: []string{"y"}}, schemas.Long, func(s schemas.Spec) bool { return s.Order == "t" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := openMem(t, map[string][]byte{"a.parquet": arrowFile{schema: tt.schema, rows: [][]any{tt.row}}.bytes(t)}, tt.spec)
			if in.Layout() != tt.layout || !tt.check(in.Spec()) {
				t.Fatalf("got %s %+v, want %s", in.Layout(), in.Spec(), tt.layout)
			}
		})
	}
	ambiguous := arrow.NewSchema([]arrow.Field{field("id", strType), field("s", listOf(listOf(f32))), field("a", listOf(f32))}, nil)
	s, names := memStore(t, map[string][]byte{"a.parquet": arrowFile{schema: ambiguous, rows: [][]any{l("a", l(l(1.0)), l(1.0))}}.bytes(t)})
	if _, err := Open(context.Background(), s, names, schemas.Spec{}); err == nil || !strings.Contains(err.Error(), "cannot tell the input layout") {
		t.Fatalf("got %v, want an ambiguity error", err)
	}
}

// Rows of every kind side by side in pages of many rows, as float and
// double, dictionary-encoded, plain and in data page v2: they decode the
// same with nestedRowFast as without it (a single-row file never takes it:
// its row runs to the page's end).
func TestNestedFastRows(t *testing.T) {
	defer func(on bool) { nestedFast = on }(nestedFast)
	l := func(v ...any) []any { return v }
	odd := [][]any{
		l("n", nil, "x"), l("e", l(), "x"), l("s", l(l(1.0, 2.0), nil), "x"), l("r", l(l(1.0, 2.0), l(3.0)), "x"),
		l("w", l(l(1.0, 2.0, 3.0)), "x"), l("v", l(l(1.0, nil)), "x"), l("nan", l(l(1.0, 2.0), l(nan, 2.0)), "x"),
		l("inf", l(l(math.Inf(-1), 2.0)), "x"), l("long", l(l(1.0, 2.0), l(1.0, 2.0), l(1.0, 2.0), l(1.0, 2.0)), "x"),
		l(nil, l(l(1.0, 2.0)), "x"), l("r2", l(l(1.0), l(2.0, 3.0, 4.0)), "x"), l("r1", l(l(1.0), l(2.0)), "x"),
	}
	var rows [][]any
	for i := range 300 {
		steps := []any{}
		for k := range 1 + i%3 {
			steps = append(steps, l(float64(i)+0.25*float64(k), -float64(k)))
		}
		rows = append(rows, l(fmt.Sprintf("id%d", i), steps, "y"))
		if i%7 == 0 {
			rows = append(rows, odd[(i/7)%len(odd)])
		}
	}
	for _, elem := range []arrow.DataType{f32, f64} {
		for _, enc := range []struct {
			name      string
			plain, v2 bool
		}{{"dict", false, false}, {"plain", true, false}, {"v2", true, true}} {
			t.Run(elem.String()+"/"+enc.name, func(t *testing.T) {
				f := arrowFile{schema: nestedSchema(elem, strType), rows: rows, groupRows: 128, plain: enc.plain, v2: enc.v2}
				b := f.bytes(t)
				decode := func(fast bool) decoded {
					nestedFast = fast
					return decodeAll(t, openMem(t, map[string][]byte{"in.parquet": b}, schemas.Spec{Dim: 2, MaxLen: 3}))
				}
				fast, slow := decode(true), decode(false)
				if len(slow.Seqs) != 300 || !reflect.DeepEqual(fast, slow) {
					t.Fatalf("with nestedRowFast %d sequences, %d quarantined; without %d and %d (or the rows differ)",
						len(fast.Seqs), len(fast.Quars), len(slow.Seqs), len(slow.Quars))
				}
			})
		}
	}
}
