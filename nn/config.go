// Package nn is seqae's LSTM autoencoder: encoder LSTM, latent at each
// sequence's last real step, the latent repeated for the sequence's own
// length, decoder LSTM, an optional linear head, a masked mean-squared step
// loss, and Adam. Float32 throughout, no allocation in the training step.
//
// Batches are held internally in packed order, as PyTorch's PackedSequence:
// sequences sorted by length (longest first), and for every step t only the
// n_t sequences still running, so padding is never computed on and never
// reaches a latent, a loss or a gradient.
package nn

import "fmt"

// Head names the output layer after the decoder.
type Head string

const (
	// HeadLinear is y_t = W h_t + b, mapping the decoder's hidden size to the
	// input size. The default.
	HeadLinear Head = "linear"
	// HeadNone is y_t = h_t; it needs DecoderHidden == InputDim.
	HeadNone Head = "none"
)

// Config holds a model's sizes. Its JSON form is stored in checkpoints and
// in the reference fixtures.
type Config struct {
	InputDim      int  `json:"input_dim"`      // I, features per step
	LatentDim     int  `json:"latent_dim"`     // L, encoder hidden size and latent size
	DecoderHidden int  `json:"decoder_hidden"` // H, decoder hidden size
	Head          Head `json:"head"`           // HeadLinear or HeadNone
}

// MaxDim bounds every size of a Config: far beyond any useful model, and
// small enough that no size computation overflows.
const MaxDim = 1 << 16

// Validate reports the first thing wrong with c.
func (c Config) Validate() error {
	for _, d := range []struct {
		name string
		v    int
	}{{"input_dim", c.InputDim}, {"latent_dim", c.LatentDim}, {"decoder_hidden", c.DecoderHidden}} {
		if d.v < 1 || d.v > MaxDim {
			return fmt.Errorf("nn: %s must be in 1..%d, got %d", d.name, MaxDim, d.v)
		}
	}
	switch c.Head {
	case HeadLinear:
	case HeadNone:
		if c.DecoderHidden != c.InputDim {
			return fmt.Errorf("nn: head %q needs decoder_hidden == input_dim, got %d and %d",
				c.Head, c.DecoderHidden, c.InputDim)
		}
	default:
		return fmt.Errorf("nn: head must be %q or %q, got %q", HeadLinear, HeadNone, c.Head)
	}
	return nil
}

// Tensor describes one named parameter: its shape and where it sits in the
// flat parameter buffer.
type Tensor struct {
	Name   string
	Shape  []int
	Offset int // first element in the flat buffer
	Size   int // number of elements
}

// Layout lists the parameters of a model with config c, in buffer order,
// under the names of docs/design.md §1 (row-major, as PyTorch stores them).
func (c Config) Layout() []Tensor {
	I, L, H := c.InputDim, c.LatentDim, c.DecoderHidden
	shapes := []Tensor{
		{Name: "encoder.weight_ih", Shape: []int{4 * L, I}},
		{Name: "encoder.weight_hh", Shape: []int{4 * L, L}},
		{Name: "encoder.bias", Shape: []int{4 * L}},
		{Name: "decoder.weight_ih", Shape: []int{4 * H, L}},
		{Name: "decoder.weight_hh", Shape: []int{4 * H, H}},
		{Name: "decoder.bias", Shape: []int{4 * H}},
	}
	if c.Head == HeadLinear {
		shapes = append(shapes,
			Tensor{Name: "head.weight", Shape: []int{I, H}},
			Tensor{Name: "head.bias", Shape: []int{I}})
	}
	off := 0
	for i := range shapes {
		n := 1
		for _, d := range shapes[i].Shape {
			n *= d
		}
		shapes[i].Offset, shapes[i].Size = off, n
		off += n
	}
	return shapes
}

// NumParams is the length of the flat parameter buffer.
func (c Config) NumParams() int {
	t := c.Layout()
	last := t[len(t)-1]
	return last.Offset + last.Size
}

// FLOPsPerStep is the multiply-add work (2 per multiply-add) of the model's
// matrix products for one real step of one sequence in the forward pass,
// the decoder's input projection excluded (it is once per sequence). The
// backward pass costs twice this.
func (c Config) FLOPsPerStep() int {
	I, L, H := c.InputDim, c.LatentDim, c.DecoderHidden
	f := 2 * (4*L*I + 4*L*L + 4*H*H)
	if c.Head == HeadLinear {
		f += 2 * H * I
	}
	return f
}
