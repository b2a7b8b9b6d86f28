package stages

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas"
)

// TestTrainerMatchesSerialStep: a Trainer's step, its parts' gradients
// summed and its Adam update computed chunk by chunk on several goroutines,
// gives the bits of the serial step (each part's Forward and BackwardPart,
// the gradients added in part order, nn.Adam.Step), whatever the number of
// workers, on a model of several nn.NormChunk chunks with clipping active.
// A batch that nn.PairPays takes is one part, paired on two or more
// workers: the same bits again.
func TestTrainerMatchesSerialStep(t *testing.T) {
	for _, c := range []struct {
		cfg  nn.Config
		lens []int
	}{
		{nn.Config{InputDim: 5, LatentDim: 96, DecoderHidden: 96, Head: nn.HeadLinear}, []int{9, 4, 9, 7, 1, 9, 3}},
		{nn.Config{InputDim: 5, LatentDim: 128, DecoderHidden: 128, Head: nn.HeadLinear}, []int{9, 4, 9}},
	} {
		testTrainerMatchesSerialStep(t, c.cfg, c.lens)
	}
}

func testTrainerMatchesSerialStep(t *testing.T, cfg nn.Config, lens []int) {
	const clip = 0.05
	parts := 3
	if nn.PairPays(cfg, len(lens)) {
		parts = 1
	}
	rng := rand.New(rand.NewPCG(7, 7))
	b := &Batch{}
	for i, n := range lens {
		s := &schemas.Sequence{Len: n, Dim: cfg.InputDim, ID: schemas.Value{Int: int64(i)}}
		for range n * cfg.InputDim {
			s.Values = append(s.Values, float32(rng.NormFloat64()))
		}
		b.Seqs = append(b.Seqs, s)
		b.Steps += n
		b.T = max(b.T, n)
	}
	start, err := nn.NewModel(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if c := (len(start.Params) + nn.NormChunk - 1) / nn.NormChunk; c < 3 {
		t.Fatalf("the model has %d parameters, %d chunks; the test needs at least 3", len(start.Params), c)
	}

	// The serial step, by hand.
	want := start.Clone()
	opt := nn.NewAdam(len(want.Params), DefaultLR)
	opt.ClipNorm = clip
	ws := nn.NewWorkspace(cfg)
	grads := make([]float32, len(want.Params))
	var norms []float64
	for range 3 {
		clear(want.Grads)
		for k := range parts {
			p := Batch{}
			for i := k; i < len(b.Seqs); i += parts {
				p.Seqs = append(p.Seqs, b.Seqs[i])
				p.Steps += b.Seqs[i].Len
				p.T = max(p.T, b.Seqs[i].Len)
			}
			// The padded form of nn's input, where the Trainer hands
			// nn each sequence's own values.
			x := make([]float32, len(p.Seqs)*p.T*cfg.InputDim)
			var lens []int
			for i, s := range p.Seqs {
				copy(x[i*p.T*cfg.InputDim:], s.Values)
				lens = append(lens, s.Len)
			}
			ws.Forward(want, x, lens, p.T)
			clear(grads)
			ws.BackwardPart(want, grads, b.Steps)
			for i, g := range grads {
				want.Grads[i] += g
			}
		}
		norms = append(norms, opt.Step(want.Params, want.Grads))
	}
	if norms[0] <= clip {
		t.Fatalf("gradient norm %v: the test needs clipping active (clip %v)", norms[0], clip)
	}

	for _, workers := range []int{1, 2, 5} {
		m := start.Clone()
		tr := NewTrainer(m, DefaultLR, clip, 3, workers)
		for step := range 3 {
			tr.Step(b)
			if tr.GradNorm != norms[step] {
				t.Errorf("L=%d, %d sequences, %d workers, step %d: gradient norm %v, want %v", cfg.LatentDim, len(lens), workers, step, tr.GradNorm, norms[step])
			}
		}
		if i := slices.IndexFunc(m.Params, func(v float32) bool { return math.IsNaN(float64(v)) }); i >= 0 {
			t.Fatalf("%d workers: parameter %d is NaN", workers, i)
		}
		for i := range m.Params {
			if m.Params[i] != want.Params[i] {
				t.Errorf("L=%d, %d sequences, %d workers: parameter %d after 3 steps is %v, want %v (the serial step's bits)", cfg.LatentDim, len(lens), workers, i, m.Params[i], want.Params[i])
				break
			}
		}
	}
}

// BenchmarkTrainerSmallBatch prices a Trainer's step (two parts, two
// workers, as Train runs) on batches of 3 to 8 sequences of 100 steps at
// L=H=256: those nn.PairPays takes run as one part paired, the others as
// two parts, one on each goroutine. Rerun with nn's pairRows changed to
// price the other choice.
func BenchmarkTrainerSmallBatch(b *testing.B) {
	cfg := nn.Config{InputDim: 8, LatentDim: 256, DecoderHidden: 256, Head: nn.HeadLinear}
	m, _ := nn.NewModel(cfg, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rows := range []int{3, 4, 5, 6, 7, 8} {
		x := &Batch{T: 100}
		for i := range rows {
			s := &schemas.Sequence{ID: schemas.Value{Int: int64(i)}, Len: 100, Dim: cfg.InputDim}
			for range 100 * cfg.InputDim {
				s.Values = append(s.Values, float32(rng.NormFloat64()))
			}
			x.Seqs = append(x.Seqs, s)
			x.Steps += 100
		}
		b.Run(fmt.Sprintf("rows=%d/paired=%v", rows, nn.PairPays(cfg, rows)), func(b *testing.B) {
			tr := NewTrainer(m.Clone(), DefaultLR, 0, 2, 2)
			for b.Loop() {
				tr.Step(x)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(rows), "µs/seq")
		})
	}
}
