package stages

import "github.com/seqae/seqae/nn"

// Encoded is a batch's results, in the batch's order.
type Encoded struct {
	Batch   *Batch
	Latents []float32   // (B, L)
	Losses  [][]float32 // sequence b's step losses, one per real step
	Scores  []float32   // (B) mean of each sequence's step losses
}

// Latent returns sequence b's latent.
func (e *Encoded) Latent(b int) []float32 {
	L := len(e.Latents) / len(e.Scores)
	return e.Latents[b*L : (b+1)*L]
}

// Encoder runs normalised batches through a model for latents and step
// losses. Each goroutine needs its own; they may share the model.
type Encoder struct {
	model *nn.Model
	ws    *nn.Workspace
	x     []float32
	lens  []int
}

// NewEncoder returns an encoder for m.
func NewEncoder(m *nn.Model) *Encoder {
	return &Encoder{model: m, ws: nn.NewWorkspace(m.Config)}
}

// Encode runs b and returns its results in memory of their own.
func (e *Encoder) Encode(b *Batch) *Encoded {
	e.x, e.lens = b.Pack(e.x, e.lens, e.model.Config.InputDim)
	e.ws.Encode(e.model, e.x, e.lens, b.T)
	B := len(b.Seqs)
	out := &Encoded{
		Batch:   b,
		Latents: append([]float32(nil), e.ws.Latents()...),
		Losses:  make([][]float32, B),
		Scores:  make([]float32, B),
	}
	flat := make([]float32, 0, b.Steps)
	for i := range B {
		steps := e.ws.StepLosses(i)
		flat = append(flat, steps...)
		out.Losses[i] = flat[len(flat)-len(steps) : len(flat) : len(flat)]
		out.Scores[i] = mean(steps)
	}
	return out
}

func mean(v []float32) float32 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return float32(s / float64(len(v)))
}

// Trainer takes Adam steps on a model, one batch at a time.
type Trainer struct {
	Model *nn.Model
	Opt   *nn.Adam
	ws    *nn.Workspace
	x     []float32
	lens  []int
}

// NewTrainer returns a trainer for m with Adam at learning rate lr,
// clipping the gradient's global norm to clip when clip > 0.
func NewTrainer(m *nn.Model, lr, clip float64) *Trainer {
	opt := nn.NewAdam(len(m.Params), lr)
	opt.ClipNorm = clip
	return &Trainer{Model: m, Opt: opt, ws: nn.NewWorkspace(m.Config)}
}

// Step trains on b: forward, backward, one Adam step. It returns the
// batch's loss before the step.
func (t *Trainer) Step(b *Batch) float32 {
	t.x, t.lens = b.Pack(t.x, t.lens, t.Model.Config.InputDim)
	t.Model.ZeroGrad()
	loss := t.ws.Forward(t.Model, t.x, t.lens, b.T)
	t.ws.Backward(t.Model, t.Model.Grads)
	t.Opt.Step(t.Model.Params, t.Model.Grads)
	return loss
}

// Eval returns the sum of b's step losses and its real steps, without
// training.
func (t *Trainer) Eval(b *Batch) (sum float64, steps int) {
	t.x, t.lens = b.Pack(t.x, t.lens, t.Model.Config.InputDim)
	t.ws.Encode(t.Model, t.x, t.lens, b.T)
	return t.ws.LossSum(), b.Steps
}
