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

// NormChunk is how many gradient elements each partial sum of the global
// norm's squares covers: the norm adds the partials of consecutive chunks
// in order. The chunks are fixed so that the norm, and so the model, does
// not depend on how many goroutines compute them (stages' Trainer computes
// them in parallel).
const NormChunk = 1 << 14

// SumSquares returns the sum of g's squares in float64: the partial of one
// chunk of at most NormChunk gradients. It adds in four interleaved sums
// (element i into sum i mod 4), then adds those in order.
func SumSquares(g []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(g); i += 4 {
		a, b, c, d := float64(g[i]), float64(g[i+1]), float64(g[i+2]), float64(g[i+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < len(g); i++ {
		s0 += float64(g[i]) * float64(g[i])
	}
	return s0 + s1 + s2 + s3
}

// Step updates params with grads (clipped first in place, when ClipNorm is
// set) and returns the gradients' global L2 norm before clipping. It is
// Begin and Update over all of them, with the norm from SumSquares over
// NormChunk chunks.
func (a *Adam) Step(params, grads []float32) float64 {
	if len(params) != len(grads) || len(params) != len(a.M) || len(a.M) != len(a.V) {
		panic(fmt.Sprintf("nn: Adam: %d params, %d grads, %d and %d moments: all must be equal",
			len(params), len(grads), len(a.M), len(a.V)))
	}
	var ss float64
	for lo := 0; lo < len(grads); lo += NormChunk {
		ss += SumSquares(grads[lo:min(lo+NormChunk, len(grads))])
	}
	norm := math.Sqrt(ss)
	a.Update(a.Begin(norm), params, grads, 0, len(grads))
	return norm
}

// AdamStep is one step's constants: the clipping scale and the bias
// corrections. Begin makes it; Update applies it to a range of the
// parameters, so that goroutines can take one step together.
type AdamStep struct {
	clip                   bool
	coef                   float32 // the gradients' scale, when clip
	b1, w1, b2, w2         float32
	stepSize, bc2Sqrt, eps float32
}

// Begin counts a step whose gradients have global L2 norm norm (before
// clipping) and returns its constants.
func (a *Adam) Begin(norm float64) AdamStep {
	var s AdamStep
	if a.ClipNorm > 0 {
		if coef := a.ClipNorm / (norm + 1e-6); coef < 1 {
			s.clip, s.coef = true, float32(coef)
		}
	}
	a.Steps++
	bc1 := 1 - math.Pow(a.Beta1, float64(a.Steps))
	bc2 := 1 - math.Pow(a.Beta2, float64(a.Steps))
	s.stepSize = float32(a.LR / bc1)
	s.bc2Sqrt = float32(math.Sqrt(bc2))
	s.b1, s.b2 = float32(a.Beta1), float32(a.Beta2)
	s.w1, s.w2 = float32(1-a.Beta1), float32(1-a.Beta2)
	s.eps = float32(a.Eps)
	return s
}

// Update takes step s on params[lo:hi]: it clips grads[lo:hi] in place (when
// s clips) and updates those parameters and their moments. Updates of
// disjoint ranges may run at once.
func (a *Adam) Update(s AdamStep, params, grads []float32, lo, hi int) {
	if len(params) != len(grads) || len(params) != len(a.M) || len(a.M) != len(a.V) || lo < 0 || lo > hi || hi > len(grads) {
		panic(fmt.Sprintf("nn: Adam.Update [%d:%d]: %d params, %d grads, %d and %d moments: all must be equal, and the range within them",
			lo, hi, len(params), len(grads), len(a.M), len(a.V)))
	}
	g := grads[lo:hi]
	if s.clip {
		for i := range g {
			g[i] *= s.coef
		}
	}
	adamUpdate(params[lo:hi], g, a.M[lo:hi], a.V[lo:hi], s.b1, s.w1, s.b2, s.w2, s.stepSize, s.bc2Sqrt, s.eps)
}

// adamUpdate is one Adam step on every element, in PyTorch's order of
// operations, with w1 = 1-b1 and w2 = 1-b2 rounded from float64 as PyTorch
// does (1-float32(0.999) is 1.3e-5 off 0.001):
//
//	m = b1 m + w1 g;  v = b2 v + w2 g²;  p -= step · m / (sqrt(v)/bc2Sqrt + eps)
//
// It runs adamVec (the assembly loop, where the CPU has it) on the longest
// prefix it takes and adamGo on the rest: both give the same bits.
func adamUpdate(p, g, m, v []float32, b1, w1, b2, w2, step, bc2Sqrt, eps float32) {
	n := len(g)
	_, _, _ = p[:n], m[:n], v[:n]
	done := 0
	if adamVec != nil && n >= adamWidth {
		done = n - n%adamWidth
		adamVec(&p[0], &g[0], &m[0], &v[0], done, b1, w1, b2, w2, step, bc2Sqrt, eps)
	}
	adamGo(p[done:n], g[done:n], m[done:n], v[done:n], b1, w1, b2, w2, step, bc2Sqrt, eps)
}

// adamVec updates n elements, n a multiple of adamWidth, as adamGo does;
// c1 = w1 and c2 = w2. Nil where the CPU has no vector loop.
var adamVec func(p, g, m, v *float32, n int, b1, c1, b2, c2, step, bc2Sqrt, eps float32)

// adamWidth is the elements adamVec takes at a time.
const adamWidth = 8

// adamGo is adamUpdate's naive loop. The conversions round every product
// before it is added, as the assembly does: no multiply-add is fused.
func adamGo(p, g, m, v []float32, b1, w1, b2, w2, step, bc2Sqrt, eps float32) {
	for i, gi := range g {
		mi := float32(b1*m[i]) + float32(w1*gi)
		vi := float32(b2*v[i]) + float32(float32(w2*gi)*gi)
		m[i], v[i] = mi, vi
		p[i] -= float32(step*mi) / (float32(float32(math.Sqrt(float64(vi)))/bc2Sqrt) + eps)
	}
}
