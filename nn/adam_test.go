package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The moments' weights 1-beta1 and 1-beta2 are PyTorch's: computed in
// float64, then rounded. Taken as 1-float32(beta2) the second moment is
// 1.3e-5 too small, and the parameters of a 20-step trajectory drift by 2/3
// of the reference tolerance (TestTrajectory in stages).
func TestAdamMomentWeights(t *testing.T) {
	for _, tt := range []struct {
		beta1, beta2 float64
		g            float32
	}{
		{0.9, 0.999, 1},
		{0.9, 0.999, -3},
		{0.8, 0.99, 0.5},
	} {
		opt := NewAdam(1, 1e-3)
		opt.Beta1, opt.Beta2 = tt.beta1, tt.beta2
		opt.Step([]float32{0}, []float32{tt.g})
		wantM := float32(1-tt.beta1) * tt.g
		wantV := float32(1-tt.beta2) * tt.g * tt.g
		if opt.M[0] != wantM || opt.V[0] != wantV {
			t.Errorf("betas %g, %g, gradient %g: got moments %.9g and %.9g, want %.9g and %.9g",
				tt.beta1, tt.beta2, tt.g, opt.M[0], opt.V[0], wantM, wantV)
		}
	}
}

// adamUpdate's vector loop, where the CPU has one, gives the Go loop's bits
// on every element, the tail past the last full vector included, NaN and
// infinite gradients too.
func TestAdamVecMatchesGo(t *testing.T) {
	if adamVec == nil {
		t.Skip("no vector Adam loop on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{8, 13, 64, 1001} {
		p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range n {
			p[i], g[i], m[i], v[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()*3), float32(rng.NormFloat64()*0.1), rng.Float32()*0.01
		}
		g[n/2] = float32(math.NaN())
		g[n-1] = float32(math.Inf(1))
		p2, m2, v2 := slices.Clone(p), slices.Clone(m), slices.Clone(v)
		b1, w1, b2, w2 := float32(0.9), float32(1-0.9), float32(0.999), float32(1-0.999)
		adamUpdate(p, g, m, v, b1, w1, b2, w2, 1e-3, 0.7, 1e-8)
		adamGo(p2, g, m2, v2, b1, w1, b2, w2, 1e-3, 0.7, 1e-8)
		for i := range n {
			if math.Float32bits(p[i]) != math.Float32bits(p2[i]) || math.Float32bits(m[i]) != math.Float32bits(m2[i]) || math.Float32bits(v[i]) != math.Float32bits(v2[i]) {
				t.Fatalf("n %d, element %d: vector p, m, v = %g, %g, %g; Go loop %g, %g, %g", n, i, p[i], m[i], v[i], p2[i], m2[i], v2[i])
			}
		}
	}
}
