package stages

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas"
)

func seqsOfLens(lens ...int) []*schemas.Sequence {
	out := make([]*schemas.Sequence, len(lens))
	for i, n := range lens {
		out[i] = &schemas.Sequence{ID: schemas.Value{Int: int64(i)}, Len: n, Dim: 1, Values: make([]float32, n)}
	}
	return out
}

// A sequence that fills the values cap goes out alone as soon as the cap is
// passed, and does not leave the batcher over its cap, sending a batch of
// one at every Add.
func TestBatcherLargeSequence(t *testing.T) {
	b, err := NewBatcher(BatchConfig{BatchSize: 64, MaxHeldValues: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	emit := func(x *Batch) error { sizes = append(sizes, len(x.Seqs)); return nil }
	for _, s := range seqsOfLens(append([]int{1000}, slices.Repeat([]int{2}, 200)...)...) {
		if err := b.Add(s, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(emit); err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 64, 64, 64, 8}; !slices.Equal(sizes, want) {
		t.Errorf("batch sizes %v, want %v", sizes, want)
	}
}

func TestBatcher(t *testing.T) {
	lens := []int{3, 5, 3, 9, 3, 5, 12, 3, 1, 5, 3}
	cases := []struct {
		name string
		cfg  BatchConfig
		want [][]int // lengths of each batch, in emission order
	}{
		{"exact", BatchConfig{BatchSize: 3}, [][]int{{3, 3, 3}, {5, 5, 5}, {1}, {3, 3}, {9}, {12}}},
		{"exact max_steps", BatchConfig{BatchSize: 10, MaxSteps: 9}, [][]int{{9}, {3, 3, 3}, {5}, {12}, {5}, {1}, {3, 3}, {5}}},
		{"padded", BatchConfig{Mode: Padded, BatchSize: 4, Boundaries: []int{1, 4, 10}},
			[][]int{{3, 3, 3, 3}, {5, 9, 5, 5}, {1, 3}, {12}}},
		{"max_held", BatchConfig{BatchSize: 4, MaxHeld: 3}, [][]int{{3, 3}, {5, 5}, {3, 3}, {1}, {3}, {5}, {9}, {12}}},
		{"max_held_values", BatchConfig{BatchSize: 4, MaxHeldValues: 12}, [][]int{{9}, {3, 3, 3}, {12}, {5, 5}, {1}, {3, 3}, {5}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := NewBatcher(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]int
			var idx []int64
			emit := func(x *Batch) error {
				var l []int
				steps, T := 0, 0
				for _, s := range x.Seqs {
					l = append(l, s.Len)
					steps += s.Len
					T = max(T, s.Len)
				}
				if x.Steps != steps || x.T != T {
					t.Errorf("batch %v: Steps %d T %d, want %d and %d", l, x.Steps, x.T, steps, T)
				}
				got = append(got, l)
				idx = append(idx, x.Index)
				return nil
			}
			for _, s := range seqsOfLens(lens...) {
				if err := b.Add(s, emit); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Flush(emit); err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, c.want, slices.Equal) {
				t.Errorf("batches: got %v, want %v", got, c.want)
			}
			for i, x := range idx {
				if x != int64(i) {
					t.Fatalf("batch indexes %v, want 0, 1, 2, ...", idx)
				}
			}
		})
	}
}

func TestBatchConfigValidate(t *testing.T) {
	for _, c := range []BatchConfig{{Mode: "ragged"}, {BatchSize: -1}, {Mode: Padded, Boundaries: []int{1, 5, 5}}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

func TestBoundaries(t *testing.T) {
	g := GeometricBoundaries(40, 1.25)
	if want := []int{1, 2, 3, 4, 5, 7, 9, 12, 15, 19, 24, 30, 38, 48}; !slices.Equal(g, want) {
		t.Errorf("GeometricBoundaries(40, 1.25) = %v, want %v", g, want)
	}
	hist := map[int]int64{10: 100, 20: 100, 30: 100, 40: 100}
	if got, want := QuantileBoundaries(hist, 4), []int{1, 11, 21, 31}; !slices.Equal(got, want) {
		t.Errorf("QuantileBoundaries = %v, want %v", got, want)
	}
}

// The streaming statistics match a two-pass computation, also far from
// zero where a naive sum of squares loses everything, and merging two
// halves gives what one pass gives.
func TestFeatureStats(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, dim = 5000, 2
	vals := make([]float32, n*dim)
	for i := range n {
		vals[i*dim] = float32(1e4 + rng.NormFloat64()*0.01)
		vals[i*dim+1] = float32(rng.NormFloat64() * 3)
	}
	one := NewFeatureStats(dim)
	one.Add(vals)
	a, b := NewFeatureStats(dim), NewFeatureStats(dim)
	a.Add(vals[:1234*dim])
	b.Add(vals[1234*dim:])
	a.Merge(b)
	for j := range dim {
		var mean, ss float64
		for i := range n {
			mean += float64(vals[i*dim+j])
		}
		mean /= n
		for i := range n {
			d := float64(vals[i*dim+j]) - mean
			ss += d * d
		}
		sd := math.Sqrt(ss / n)
		for name, s := range map[string]*FeatureStats{"one pass": one, "merged": a} {
			got := s.Normalizer()
			if math.Abs(float64(got.Mean[j])-mean) > 1e-3*math.Abs(mean)+1e-6 || math.Abs(float64(got.Std[j])-sd)/sd > 1e-4 {
				t.Errorf("%s feature %d: mean %g std %g, want %g and %g", name, j, got.Mean[j], got.Std[j], mean, sd)
			}
		}
	}
	constant := NewFeatureStats(1)
	constant.Add([]float32{2, 2, 2})
	if nz := constant.Normalizer(); nz.Std[0] != 1 || nz.Mean[0] != 2 {
		t.Errorf("constant feature: got %+v, want mean 2 std 1", nz)
	}
	norm := Normalizer{Mean: []float32{1, -2}, Std: []float32{2, 0.5}}
	x := []float32{3, -1, 1, -2}
	norm.Apply(x)
	if want := []float32{1, 2, 0, 0}; !slices.Equal(x, want) {
		t.Errorf("Apply: got %v, want %v", x, want)
	}
	if _, err := ParseNormalizer(norm.Marshal(), 2); err != nil {
		t.Errorf("ParseNormalizer(Marshal()): %v", err)
	}
	if _, err := ParseNormalizer(`{"mean":[0],"std":[0]}`, 1); err == nil {
		t.Error("ParseNormalizer accepted a zero deviation")
	}
}

func TestSplitIsStable(t *testing.T) {
	s := Split{Fraction: 0.2, IDKind: schemas.String}
	held := 0
	for i := range 10000 {
		id := schemas.Value{Str: "id-" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))}
		if s.Validation(id) {
			held++
		}
	}
	if held < 1800 || held > 2200 {
		t.Errorf("held out %d of 10000 at fraction 0.2", held)
	}
	// A known id's fate is fixed forever: changing the hash would move
	// every user's validation set.
	if !s.Validation(schemas.Value{Str: "trace-00000"}) || s.Validation(schemas.Value{Str: "trace-00002"}) {
		t.Errorf("split of known ids changed")
	}
}

// An encoder holds a batch's real steps, not its sequences times the
// longest: 63 sequences of one step and one of 20,000 (8 features) would
// pad to 41 MB.
func TestEncoderHoldsRealSteps(t *testing.T) {
	const dim, long = 8, 20000
	m, _ := nn.NewModel(nn.Config{InputDim: dim, LatentDim: 4, DecoderHidden: 4, Head: nn.HeadLinear}, 1)
	b := &Batch{}
	for i := range 64 {
		n := 1
		if i == 40 {
			n = long
		}
		s := &schemas.Sequence{ID: schemas.Value{Int: int64(i)}, Len: n, Dim: dim, Values: make([]float32, n*dim)}
		b.Seqs = append(b.Seqs, s)
		b.Steps += n
		b.T = max(b.T, n)
	}
	e := NewEncoder(m)
	e.SetFeatureLosses(true)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out := e.Encode(b)
	runtime.ReadMemStats(&after)
	if got := len(out.Losses[40]); got != long {
		t.Fatalf("the long sequence has %d step losses, want %d", got, long)
	}
	// The real steps' inputs, feature losses and results come to about 4
	// MB; padded, the input alone is 41.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("encoding %d real steps allocated %d MB, want under 16", b.Steps, alloc>>20)
	}
}
