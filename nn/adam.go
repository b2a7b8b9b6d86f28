package nn

import (
	"fmt"
	"math"
)

// Adam is PyTorch's torch.optim.Adam (no weight decay, no AMSGrad), with
// optional global-norm gradient clipping as torch.nn.utils.clip_grad_norm_.
// Its moments use the parameters' flat layout.
type Adam struct {
	LR       float64   // learning rate
	Beta1    float64   // first-moment decay, 0.9
	Beta2    float64   // second-moment decay, 0.999
	Eps      float64   // added to the denominator, 1e-8
	ClipNorm float64   // if > 0, scale gradients whose global norm exceeds it down to it
	M        []float32 // first moments, laid out as the parameters
	V        []float32 // second moments, laid out as the parameters
	Steps    int       // steps taken
}

// NewAdam returns Adam with PyTorch's defaults for n parameters.
func NewAdam(n int, lr float64) *Adam {
	return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, M: make([]float32, n), V: make([]float32, n)}
}

// Step updates params with grads (clipped first in place, when ClipNorm is
// set) and returns the gradients' global L2 norm before clipping.
func (a *Adam) Step(params, grads []float32) float64 {
	if len(params) != len(grads) || len(params) != len(a.M) || len(a.M) != len(a.V) {
		panic(fmt.Sprintf("nn: Adam: %d params, %d grads, %d and %d moments: all must be equal",
			len(params), len(grads), len(a.M), len(a.V)))
	}
	var ss float64
	for _, g := range grads {
		ss += float64(g) * float64(g)
	}
	norm := math.Sqrt(ss)
	if a.ClipNorm > 0 {
		if coef := a.ClipNorm / (norm + 1e-6); coef < 1 {
			c := float32(coef)
			for i := range grads {
				grads[i] *= c
			}
		}
	}
	a.Steps++
	bc1 := 1 - math.Pow(a.Beta1, float64(a.Steps))
	bc2 := 1 - math.Pow(a.Beta2, float64(a.Steps))
	stepSize := float32(a.LR / bc1)
	bc2Sqrt := float32(math.Sqrt(bc2))
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	w1, w2 := float32(1-a.Beta1), float32(1-a.Beta2)
	eps := float32(a.Eps)
	adamUpdate(params, grads, a.M, a.V, b1, w1, b2, w2, stepSize, bc2Sqrt, eps)
	return norm
}

// adamUpdate is one Adam step on every element, in PyTorch's order of
// operations, with w1 = 1-b1 and w2 = 1-b2 rounded from float64 as PyTorch
// does (1-float32(0.999) is 1.3e-5 off 0.001):
//
//	m = b1 m + w1 g;  v = b2 v + w2 g²;  p -= step · m / (sqrt(v)/bc2Sqrt + eps)
func adamUpdate(p, g, m, v []float32, b1, w1, b2, w2, step, bc2Sqrt, eps float32) {
	for i, gi := range g {
		mi := b1*m[i] + w1*gi
		vi := b2*v[i] + w2*gi*gi
		m[i], v[i] = mi, vi
		p[i] -= step * mi / (float32(math.Sqrt(float64(vi)))/bc2Sqrt + eps)
	}
}
