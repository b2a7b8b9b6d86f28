package nn

import "testing"

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
