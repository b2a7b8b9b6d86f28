package read

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

type goldenInput struct {
	name string
	file arrowFile
	spec schemas.Spec
}

// goldenInputs are the small input files under testdata/, one or more per
// layout, each with good rows and every kind of bad row. `go test
// ./schemas/read -run TestGolden -update` rewrites them and their decodings.
func goldenInputs() []goldenInput {
	l := func(v ...any) []any { return v }
	inf := math.Inf(1)
	nested := goldenInput{
		name: "nested",
		spec: schemas.Spec{Pass: []string{"label", "day"}, MaxLen: 4},
		file: arrowFile{
			schema: arrow.NewSchema([]arrow.Field{field("id", strType), field("seq", listOf(listOf(f32))), field("label", strType), field("day", dateType)}, nil),
			rows: [][]any{
				l("s1", l(l(0.5, 1.0), l(1.5, 2.0), l(2.5, 3.0)), "walk", int64(19000)),
				l("s2", l(l(-1.0, 0.0)), nil, int64(19001)),
				l(nil, l(l(1.0, 1.0)), "run", nil),
				l("s4", nil, "run", int64(19002)),
				l("s5", l(), "run", int64(19003)),
				l("s6", l(l(1.0, 2.0), nil), "walk", int64(19004)),
				l("s7", l(l(1.0, 2.0), l(3.0)), "walk", int64(19005)),
				l("s8", l(l(1.0, nil)), "walk", int64(19006)),
				l("s9", l(l(1.0, 2.0), l(nan, 2.0)), "walk", int64(19007)),
				l("s10", l(l(1.0, 2.0), l(1.0, inf)), "walk", int64(19008)),
				l("s11", l(l(1.0, 2.0), l(1.0, 2.0), l(1.0, 2.0), l(1.0, 2.0), l(1.0, 2.0)), "walk", int64(19009)),
				l("s1", l(l(9.0, 9.0), l(8.0, 8.0)), "dup", int64(19010)),
				l("s13", l(l(0.25, 0.75), l(0.125, 0.5), l(1.0, 1.0), l(2.0, 2.0)), "sit", int64(19011)),
			},
			groupRows: 4,
		},
	}
	columns := goldenInput{
		name: "columns",
		spec: schemas.Spec{Layout: schemas.Columns, Features: []string{"x", "y", "z"}, Pass: []string{"weight"}},
		file: arrowFile{
			schema: arrow.NewSchema([]arrow.Field{field("id", i64Type), field("x", listOf(f32)), field("y", listOf(f64)), field("z", listOf(f32)), field("weight", f64)}, nil),
			rows: [][]any{
				l(int64(1), l(1.0, 2.0), l(3.0, 4.0), l(5.0, 6.0), 0.5),
				l(int64(2), l(1.0), l(2.0), l(3.0), nil),
				l(nil, l(1.0), l(2.0), l(3.0), 1.0),
				l(int64(4), l(1.0), nil, l(3.0), 1.0),
				l(int64(5), l(), l(), l(), 1.0),
				l(int64(6), l(1.0, 2.0), l(1.0), l(1.0, 2.0), 1.0),
				l(int64(7), l(1.0, nil), l(1.0, 2.0), l(1.0, 2.0), 1.0),
				l(int64(8), l(1.0, 2.0), l(1.0, -inf), l(1.0, 2.0), 1.0),
				l(int64(9), l(1.0, 2.0, 3.0), l(1.0, 2.0, 3.0), l(0.0, 0.0, 0.0), 2.0),
			},
			groupRows: 3,
			plain:     true,
			v2:        true,
		},
	}
	long := goldenInput{
		name: "long",
		spec: schemas.Spec{Pass: []string{"site"}, MaxLen: 5},
		file: arrowFile{
			schema: arrow.NewSchema([]arrow.Field{field("id", strType), field("t", i64Type), field("x", f32), field("y", f64), field("site", strType)}, nil),
			rows: [][]any{
				l("a", int64(2), 2.0, 20.0, "north"),
				l("a", int64(0), 0.0, 0.0, "north"),
				l("a", int64(1), 1.0, 10.0, "north"),
				l(nil, int64(0), 1.0, 1.0, "south"),
				l("b", int64(0), 5.0, 5.0, nil),
				l("b", int64(1), 6.0, 6.0, nil),
				l("c", int64(0), 1.0, 1.0, "east"),
				l("c", int64(0), 2.0, 2.0, "east"),
				l("d", int64(0), 1.0, nil, "east"),
				l("e", nil, 1.0, 1.0, "east"),
				l("f", int64(0), nan, 1.0, "west"),
				l("g", int64(0), 0.0, 0.0, "west"),
				l("g", int64(1), 0.0, 0.0, "west"),
				l("g", int64(2), 0.0, 0.0, "west"),
				l("g", int64(3), 0.0, 0.0, "west"),
				l("g", int64(4), 0.0, 0.0, "west"),
				l("g", int64(5), 0.0, 0.0, "west"),
				l("h", int64(10), 0.5, -0.5, "west"),
			},
			groupRows: 4,
		},
	}
	unsorted := goldenInput{
		name: "long_unsorted",
		spec: schemas.Spec{Layout: schemas.Long, Order: "ts", Features: []string{"v"}},
		file: arrowFile{
			schema: arrow.NewSchema([]arrow.Field{field("key", i32Type), field("ts", tsType), field("v", f64)}, nil),
			rows: [][]any{
				l(int64(3), int64(3000), 3.0),
				l(int64(1), int64(1000), 1.0),
				l(int64(3), int64(1000), 1.0),
				l(int64(2), int64(5000), 5.0),
				l(int64(1), int64(2000), 2.0),
				l(int64(3), int64(2000), 2.0),
				l(int64(2), int64(5000), 6.0),
			},
			groupRows: 3,
		},
	}
	unsorted.spec.ID = "key"
	return []goldenInput{nested, columns, long, unsorted}
}

// goldenSeq and goldenQuar are the decodings as kept in the golden files.
type goldenSeq struct {
	ID     string
	Src    string
	Len    int
	Dim    int
	Values []float32
	Pass   []string
}

type goldenQuar struct {
	ID     *string
	Src    string
	Reason schemas.Reason
	Detail string
}

type goldenOut struct {
	Layout      schemas.Layout
	Spec        schemas.Spec
	IDField     schemas.Field
	PassFields  []schemas.Field
	Stats       Stats
	Sequences   []goldenSeq
	Quarantined []goldenQuar
}

func goldenOf(in *Input, d decoded) goldenOut {
	out := goldenOut{Layout: in.Layout(), Spec: in.Spec(), IDField: in.IDField(), PassFields: in.PassFields(), Stats: d.Stats}
	for _, s := range d.Seqs {
		g := goldenSeq{ID: s.ID.Format(in.IDField().Kind), Src: fmt.Sprintf("rg%d/row%d", s.Src.RowGroup, s.Src.Row), Len: s.Len, Dim: s.Dim, Values: s.Values}
		for i, v := range s.Pass {
			g.Pass = append(g.Pass, v.Format(in.PassFields()[i].Kind))
		}
		out.Sequences = append(out.Sequences, g)
	}
	for _, q := range d.Quars {
		g := goldenQuar{Src: fmt.Sprintf("rg%d/row%d", q.Src.RowGroup, q.Src.Row), Reason: q.Reason, Detail: q.Detail}
		if !q.IDNull {
			g.ID = &q.ID
		}
		out.Quarantined = append(out.Quarantined, g)
	}
	return out
}

// TestGolden decodes each golden input file and compares the result with
// its golden JSON. It also decodes the generator's bytes, so that a change
// to goldenInputs that was not written out (with -update) fails here.
func TestGolden(t *testing.T) {
	for _, g := range goldenInputs() {
		t.Run(g.name, func(t *testing.T) {
			path := filepath.Join("testdata", g.name+".parquet")
			goldenPath := filepath.Join("testdata", g.name+".golden.json")
			generated := g.file.bytes(t)
			if *update {
				if err := os.WriteFile(path, generated, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			decode := func(store storage.Store, name string) []byte {
				in, err := Open(context.Background(), store, []string{name}, g.spec)
				if err != nil {
					t.Fatal(err)
				}
				b, err := json.MarshalIndent(goldenOf(in, decodeAll(t, in)), "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				return append(b, '\n')
			}
			got := decode(storage.Local{}, path)
			if *update {
				if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("decoding %s differs from %s (rerun with -update if the change is intended):\ngot:\n%s", path, goldenPath, got)
			}
			mem, names := memStore(t, map[string][]byte{path: generated})
			if fresh := decode(mem, names[0]); !bytes.Equal(fresh, want) {
				t.Fatalf("the generator's %s decodes differently from %s: goldenInputs changed without -update:\ngot:\n%s", g.name, goldenPath, fresh)
			}
		})
	}
}

// nestedRowFast is a shortcut through nestedRow: every golden input (valid
// rows, nulls at each level, ragged, non-finite and too long rows, float
// and double) decodes the same with it and without it.
func TestNestedFastMatchesSlow(t *testing.T) {
	defer func(on bool) { nestedFast = on }(nestedFast)
	for _, g := range goldenInputs() {
		t.Run(g.name, func(t *testing.T) {
			decode := func(fast bool) []byte {
				nestedFast = fast
				mem, names := memStore(t, map[string][]byte{g.name: g.file.bytes(t)})
				in, err := Open(context.Background(), mem, names, g.spec)
				if err != nil {
					t.Fatal(err)
				}
				b, err := json.Marshal(goldenOf(in, decodeAll(t, in)))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			if fast, slow := decode(true), decode(false); !bytes.Equal(fast, slow) {
				t.Fatalf("with nestedRowFast:\n%s\nwithout:\n%s", fast, slow)
			}
		})
	}
}
