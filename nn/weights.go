package nn

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
)

// Weights are the named views of one flat buffer laid out as Config.Layout:
// the parameters, their gradients and Adam's moments all use it.
type Weights struct {
	EncWih []float32 // (4L, I) encoder input weights, gate rows i f g o
	EncWhh []float32 // (4L, L) encoder recurrent weights
	EncB   []float32 // (4L) encoder bias (PyTorch's bias_ih + bias_hh)
	DecWih []float32 // (4H, L) decoder input weights
	DecWhh []float32 // (4H, H) decoder recurrent weights
	DecB   []float32 // (4H) decoder bias
	HeadW  []float32 // (I, H) head weight; nil for head none
	HeadB  []float32 // (I) head bias; nil for head none
}

// Views cuts buf, of length c.NumParams(), into named views.
func (c Config) Views(buf []float32) Weights {
	return viewsOf(c.Layout(), buf)
}

// viewsOf cuts buf into the named views of layout, without allocating.
func viewsOf(layout []Tensor, buf []float32) Weights {
	last := layout[len(layout)-1]
	if len(buf) != last.Offset+last.Size {
		panic(fmt.Sprintf("nn: parameter buffer has %d floats, the layout %d", len(buf), last.Offset+last.Size))
	}
	var w Weights
	dst := [...]*[]float32{&w.EncWih, &w.EncWhh, &w.EncB, &w.DecWih, &w.DecWhh, &w.DecB, &w.HeadW, &w.HeadB}
	for i, t := range layout {
		*dst[i] = buf[t.Offset : t.Offset+t.Size : t.Offset+t.Size]
	}
	return w
}

// Model is the autoencoder's parameters and their gradients, each one flat
// buffer in Config.Layout order.
type Model struct {
	Config Config
	Params []float32 // all parameters
	Grads  []float32 // dLoss/dParams, accumulated by Backward, cleared by ZeroGrad
	W      Weights   // views of Params
	G      Weights   // views of Grads
}

// NewModel returns a model initialised as PyTorch initialises its layers,
// from a generator seeded with seed: the same seed gives the same bits. LSTM
// weights are uniform in ±1/sqrt(hidden); the folded bias is the sum of two
// such draws (PyTorch's bias_ih + bias_hh); the head is PyTorch's Linear
// default, uniform in ±1/sqrt(H) for weight and bias.
func NewModel(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := newModel(cfg)
	rng := rand.New(rand.NewPCG(seed, 0x5e9ae))
	uniform := func(dst []float32, bound float64, draws int) {
		for i := range dst {
			var v float64
			for range draws {
				v += bound * (2*rng.Float64() - 1)
			}
			dst[i] = float32(v)
		}
	}
	kL := 1 / math.Sqrt(float64(cfg.LatentDim))
	kH := 1 / math.Sqrt(float64(cfg.DecoderHidden))
	uniform(m.W.EncWih, kL, 1)
	uniform(m.W.EncWhh, kL, 1)
	uniform(m.W.EncB, kL, 2)
	uniform(m.W.DecWih, kH, 1)
	uniform(m.W.DecWhh, kH, 1)
	uniform(m.W.DecB, kH, 2)
	uniform(m.W.HeadW, kH, 1)
	uniform(m.W.HeadB, kH, 1)
	return m, nil
}

// newModel allocates a zero model; cfg must be valid.
func newModel(cfg Config) *Model {
	n := cfg.NumParams()
	m := &Model{Config: cfg, Params: make([]float32, n), Grads: make([]float32, n)}
	m.W = cfg.Views(m.Params)
	m.G = cfg.Views(m.Grads)
	return m
}

// Clone returns a copy of m's parameters and gradients.
func (m *Model) Clone() *Model {
	c := newModel(m.Config)
	copy(c.Params, m.Params)
	copy(c.Grads, m.Grads)
	return c
}

// ZeroGrad clears the gradient buffer.
func (m *Model) ZeroGrad() { clear(m.Grads) }

// ID identifies the model's weights and config: the first 16 hex digits of
// the SHA-256 of the config's JSON and the little-endian parameter bits.
func (m *Model) ID() string {
	h := sha256.New()
	cfg, _ := json.Marshal(m.Config)
	h.Write(cfg)
	var b [4]byte
	for _, v := range m.Params {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
