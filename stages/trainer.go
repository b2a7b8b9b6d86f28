package stages

import (
	"sync"

	"github.com/seqae/seqae/nn"
)

// Trainer takes Adam steps on a model, one batch at a time. Each batch's
// gradient is computed in Parts parts (sequence i of the batch goes to part
// i mod Parts), each part on its own workspace and up to Workers of them at
// once, and the parts' gradients are summed in part order: the result does
// not depend on Workers.
type Trainer struct {
	Model *nn.Model
	Opt   *nn.Adam
	// GradNorm is the last Step's gradient global norm, before clipping.
	GradNorm float64
	parts    []*trainPart
	// workers is the most parts computed at once.
	workers int
	ws      *nn.Workspace // for Eval
	x       []float32
	lens    []int
}

// trainPart is one part's workspace, input and gradient.
type trainPart struct {
	ws    *nn.Workspace
	batch Batch
	grads []float32
	x     []float32
	lens  []int
}

// NewTrainer returns a trainer for m with Adam at learning rate lr,
// clipping the gradient's global norm to clip when clip > 0, computing
// each batch's gradient in parts parts on up to workers goroutines.
func NewTrainer(m *nn.Model, lr, clip float64, parts, workers int) *Trainer {
	opt := nn.NewAdam(len(m.Params), lr)
	opt.ClipNorm = clip
	t := &Trainer{Model: m, Opt: opt, workers: max(workers, 1), ws: nn.NewWorkspace(m.Config)}
	for range max(parts, 1) {
		t.parts = append(t.parts, &trainPart{ws: nn.NewWorkspace(m.Config), grads: make([]float32, len(m.Params))})
	}
	return t
}

// Step trains on b: forward, backward, one Adam step. It returns the
// batch's loss before the step.
func (t *Trainer) Step(b *Batch) float32 {
	n := len(t.parts)
	for k, p := range t.parts {
		p.batch = Batch{Seqs: p.batch.Seqs[:0]}
		for i := k; i < len(b.Seqs); i += n {
			s := b.Seqs[i]
			p.batch.Seqs = append(p.batch.Seqs, s)
			p.batch.Steps += s.Len
			p.batch.T = max(p.batch.T, s.Len)
		}
	}
	run := func(p *trainPart) {
		clear(p.grads)
		if len(p.batch.Seqs) == 0 {
			return
		}
		p.x, p.lens = p.batch.Pack(p.x, p.lens, t.Model.Config.InputDim)
		p.ws.Forward(t.Model, p.x, p.lens, p.batch.T)
		p.ws.BackwardPart(t.Model, p.grads, b.Steps)
	}
	var wg sync.WaitGroup
	next := make(chan *trainPart, n)
	for _, p := range t.parts[1:] {
		next <- p
	}
	close(next)
	for range min(t.workers, n) - 1 {
		wg.Go(func() {
			for p := range next {
				run(p)
			}
		})
	}
	run(t.parts[0])
	for p := range next {
		run(p)
	}
	wg.Wait()

	var sum float64
	copy(t.Model.Grads, t.parts[0].grads)
	for k, p := range t.parts {
		if k > 0 {
			for i, g := range p.grads {
				t.Model.Grads[i] += g
			}
		}
		if len(p.batch.Seqs) > 0 {
			sum += p.ws.LossSum()
		}
	}
	t.GradNorm = t.Opt.Step(t.Model.Params, t.Model.Grads)
	return float32(sum / float64(b.Steps))
}

// Eval returns the sum of b's step losses and its real steps, without
// training.
func (t *Trainer) Eval(b *Batch) (sum float64, steps int) {
	t.x, t.lens = b.Pack(t.x, t.lens, t.Model.Config.InputDim)
	t.ws.Encode(t.Model, t.x, t.lens, b.T)
	return t.ws.LossSum(), b.Steps
}
