package stages

import "github.com/seqae/seqae/nn"

// Encoded is a batch's results, in the batch's order.
type Encoded struct {
	Batch   *Batch
	Latents []float32   // (B, L)
	Losses  [][]float32 // sequence b's step losses, one per real step
	Scores  []float32   // (B) mean of each sequence's step losses
	// With feature losses (Encoder.SetFeatureLosses): sequence b's squared
	// error per feature at each real step, (len, I) row-major, and their
	// means over the steps, (I).
	Features      [][]float32
	FeatureScores [][]float32
}

// Latent returns sequence b's latent.
func (e *Encoded) Latent(b int) []float32 {
	L := len(e.Latents) / len(e.Scores)
	return e.Latents[b*L : (b+1)*L]
}

// Encoder runs normalised batches through a model for latents and step
// losses. Each goroutine needs its own; they may share the model.
type Encoder struct {
	model    *nn.Model
	ws       *nn.Workspace
	features bool
	seqs     [][]float32 // the batch, as nn takes it
}

// NewEncoder returns an encoder for m.
func NewEncoder(m *nn.Model) *Encoder {
	return &Encoder{model: m, ws: nn.NewWorkspace(m.Config)}
}

// SetFeatureLosses makes Encode return each step's loss per feature too.
func (e *Encoder) SetFeatureLosses(on bool) {
	e.features = on
	e.ws.SetFeatureLosses(on)
}

// Encode runs b and returns its results in memory of their own.
func (e *Encoder) Encode(b *Batch) *Encoded {
	e.seqs = b.Values(e.seqs, e.model.Config.InputDim)
	e.ws.EncodeSeqs(e.model, e.seqs)
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
	if e.features {
		e.featureLosses(out)
	}
	return out
}

// featureLosses copies the batch's per-feature losses into out and
// averages them over each sequence's steps.
func (e *Encoder) featureLosses(out *Encoded) {
	I := e.model.Config.InputDim
	B := len(out.Batch.Seqs)
	flat := make([]float32, 0, out.Batch.Steps*I)
	scores := make([]float32, B*I)
	out.Features, out.FeatureScores = make([][]float32, B), make([][]float32, B)
	sums := make([]float64, I)
	for i := range B {
		f := e.ws.FeatureLosses(i)
		flat = append(flat, f...)
		out.Features[i] = flat[len(flat)-len(f) : len(flat) : len(flat)]
		clear(sums)
		for k, v := range f {
			sums[k%I] += float64(v)
		}
		n := float64(len(f) / I)
		fs := scores[i*I : (i+1)*I : (i+1)*I]
		for j := range fs {
			fs[j] = float32(sums[j] / n)
		}
		out.FeatureScores[i] = fs
	}
}

func mean(v []float32) float32 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return float32(s / float64(len(v)))
}
