package stages

import (
	"math"
	"runtime"

	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas"
)

// Trainer takes Adam steps on a model, one batch at a time. Each batch's
// gradient is computed in Parts parts (sequence i of the batch goes to part
// i mod Parts), each part on its own workspace and up to Workers of them at
// once, and the parts' gradients are summed in part order: the result does
// not depend on Workers. A batch of a few sequences of a large model
// (nn.PairPays) is one part instead, computed on two goroutines at once
// (nn.Pair) when Workers allows, with the same bits as on one.
type Trainer struct {
	Model *nn.Model
	Opt   *nn.Adam
	// GradNorm is the last Step's gradient global norm, before clipping.
	GradNorm float64
	parts    []*trainPart
	crew     crew          // workers-1 helpers: the most parts computed at once is workers
	pair     *nn.Pair      // the crew's first two goroutines, for small batches; nil for one worker
	ws       *nn.Workspace // for Eval
	seqs     [][]float32   // Eval's batch, as nn takes it
	ss       []float64     // (ceil(params/nn.NormChunk),) each gradient chunk's sum of squares
}

// trainPart is one part's workspace, input and gradient.
type trainPart struct {
	ws    *nn.Workspace
	batch Batch
	grads []float32
	seqs  [][]float32 // batch, as nn takes it
}

// NewTrainer returns a trainer for m with Adam at learning rate lr,
// clipping the gradient's global norm to clip when clip > 0, computing
// each batch's gradient in parts parts on up to workers goroutines.
func NewTrainer(m *nn.Model, lr, clip float64, parts, workers int) *Trainer {
	opt := nn.NewAdam(len(m.Params), lr)
	opt.ClipNorm = clip
	t := &Trainer{Model: m, Opt: opt, crew: crew{helpers: max(workers, 1) - 1}, ws: nn.NewWorkspace(m.Config),
		ss: make([]float64, (len(m.Params)+nn.NormChunk-1)/nn.NormChunk)}
	// Pairing needs two threads: on one, each step's meeting would be a
	// park and a wake.
	if t.crew.helpers > 0 && runtime.GOMAXPROCS(0) >= 2 {
		t.pair = nn.NewPair(func(f func(half int)) { t.crew.runSplit(2, f) })
	}
	for range max(parts, 1) {
		t.parts = append(t.parts, &trainPart{ws: nn.NewWorkspace(m.Config), grads: make([]float32, len(m.Params))})
	}
	return t
}

// Step trains on b: forward, backward, one Adam step. It returns the
// batch's loss before the step.
func (t *Trainer) Step(b *Batch) float32 {
	n := len(t.parts)
	small := nn.PairPays(t.Model.Config, len(b.Seqs))
	if small {
		n = 1
	}
	for k, p := range t.parts[:n] {
		p.batch = b.part(k, n, p.batch.Seqs[:0])
	}
	// One part's gradient goes straight into the model's.
	part := func(k int) {
		p, grads := t.parts[k], t.parts[k].grads
		if n == 1 {
			grads = t.Model.Grads
		}
		clear(grads)
		if len(p.batch.Seqs) == 0 {
			return
		}
		p.seqs = p.batch.Values(p.seqs, t.Model.Config.InputDim)
		p.ws.ForwardSeqs(t.Model, p.seqs)
		p.ws.BackwardPart(t.Model, grads, b.Steps)
	}
	if small {
		t.parts[0].ws.SetPair(t.pair)
		part(0)
	} else {
		t.parts[0].ws.SetPair(nil)
		t.crew.run(n, part)
	}
	parts := t.parts[:n]
	var sum float64
	for _, p := range parts {
		if len(p.batch.Seqs) > 0 {
			sum += p.ws.LossSum()
		}
	}

	// The parts' gradients summed in part order, and the squares of each
	// nn.NormChunk of the sum, chunks spread over the workers; then the
	// norm from the chunks in order, as nn.Adam.Step computes it, and the
	// Adam update, chunks spread over the workers again.
	params, grads := t.Model.Params, t.Model.Grads
	chunk := func(c int) (lo, hi int) { return c * nn.NormChunk, min((c+1)*nn.NormChunk, len(grads)) }
	t.crew.run(len(t.ss), func(c int) {
		lo, hi := chunk(c)
		g := grads[lo:hi]
		if n > 1 {
			copy(g, parts[0].grads[lo:hi])
		}
		for _, p := range parts[1:] {
			for i, pg := range p.grads[lo:hi] {
				g[i] += pg
			}
		}
		t.ss[c] = nn.SumSquares(g)
	})
	var ss float64
	for _, s := range t.ss {
		ss += s
	}
	t.GradNorm = math.Sqrt(ss)
	step := t.Opt.Begin(t.GradNorm)
	t.crew.run(len(t.ss), func(c int) {
		lo, hi := chunk(c)
		t.Opt.Update(step, params, grads, lo, hi)
	})
	return float32(sum / float64(b.Steps))
}

// Reserve sizes each part's buffers for the largest share of any of
// batches that Step would give it (see nn.Workspace.Reserve), so that an
// epoch of batches that grow (the bench's workload, by ascending length)
// allocates them once.
func (t *Trainer) Reserve(batches []*Batch) {
	var seqs []*schemas.Sequence
	var B, T, R int
	for _, b := range batches {
		n := len(t.parts)
		if nn.PairPays(t.Model.Config, len(b.Seqs)) {
			n = 1
		}
		for k := range n {
			p := b.part(k, n, seqs[:0])
			seqs = p.Seqs
			B, T, R = max(B, len(p.Seqs)), max(T, p.T), max(R, p.Steps)
		}
	}
	if B == 0 {
		return
	}
	for _, p := range t.parts {
		p.ws.Reserve(B, T, R)
		if cap(p.seqs) < B {
			p.seqs = make([][]float32, 0, B)
		}
	}
}

// part returns part k of n of b: its sequences i with i mod n = k, in
// seqs (reused).
func (b *Batch) part(k, n int, seqs []*schemas.Sequence) Batch {
	p := Batch{Seqs: seqs}
	for i := k; i < len(b.Seqs); i += n {
		s := b.Seqs[i]
		p.Seqs = append(p.Seqs, s)
		p.Steps += s.Len
		p.T = max(p.T, s.Len)
	}
	return p
}

// Eval returns the sum of b's step losses and its real steps, without
// training.
func (t *Trainer) Eval(b *Batch) (sum float64, steps int) {
	t.seqs = b.Values(t.seqs, t.Model.Config.InputDim)
	t.ws.EncodeSeqs(t.Model, t.seqs)
	return t.ws.LossSum(), b.Steps
}
