package nn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// testBatch makes B sequences of the given lengths, standard normal, as a
// padded (B, T, I) buffer whose padded cells hold pad.
func testBatch(rng *rand.Rand, I int, lens []int, pad float32) ([]float32, int) {
	T := slices.Max(lens)
	x := make([]float32, len(lens)*T*I)
	for b, n := range lens {
		for t := range T {
			for j := range I {
				v := pad
				if t < n {
					v = float32(rng.NormFloat64())
				}
				x[(b*T+t)*I+j] = v
			}
		}
	}
	return x, T
}

var testConfigs = []struct {
	name string
	cfg  Config
}{
	{"linear_odd_sizes", Config{InputDim: 3, LatentDim: 5, DecoderHidden: 7, Head: HeadLinear}},
	{"linear_vector_sizes", Config{InputDim: 4, LatentDim: 8, DecoderHidden: 16, Head: HeadLinear}},
	{"head_none", Config{InputDim: 8, LatentDim: 6, DecoderHidden: 8, Head: HeadNone}},
}

// sumLoss is the sum of the last batch's step losses, in float64.
func sumLoss(ws *Workspace, B int) float64 {
	var s float64
	for b := range B {
		for _, v := range ws.StepLosses(b) {
			s += float64(v)
		}
	}
	return s
}

// Every parameter's gradient against a fourth-order central difference of
// the loss.
func TestGradientFiniteDifferences(t *testing.T) {
	for _, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 7))
			m, err := NewModel(tc.cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			lens := []int{3, 1, 4, 4}
			x, T := testBatch(rng, tc.cfg.InputDim, lens, float32(math.NaN()))
			ws := NewWorkspace(tc.cfg)
			ws.Forward(m, x, lens, T)
			ws.Backward(m, m.Grads)
			R := float64(ws.RealSteps())
			loss := func() float64 {
				ws.Encode(m, x, lens, T)
				return sumLoss(ws, len(lens)) / R
			}
			const h = 1e-2
			worst := 0.0
			for _, ts := range tc.cfg.Layout() {
				for i := ts.Offset; i < ts.Offset+ts.Size; i++ {
					p := m.Params[i]
					at := func(d float64) float64 {
						m.Params[i] = p + float32(d)
						return loss()
					}
					fd := (8*(at(h)-at(-h)) - (at(2*h) - at(-2*h))) / (12 * h)
					m.Params[i] = p
					g := float64(m.Grads[i])
					d := math.Abs(fd - g)
					worst = max(worst, d)
					if d > 2e-4+2e-3*math.Abs(g) {
						t.Errorf("%s[%d]: gradient %.6g, finite difference %.6g", ts.Name, i-ts.Offset, g, fd)
					}
				}
			}
			t.Logf("worst |gradient - finite difference| %.3g over %d parameters", worst, len(m.Params))
		})
	}
}

// A sequence's latent, step losses and gradient do not depend on the other
// sequences of its batch, on padding, or on what the padded cells hold.
func TestBatchInvariance(t *testing.T) {
	for _, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			I, L := cfg.InputDim, cfg.LatentDim
			rng := rand.New(rand.NewPCG(1, 9))
			m, _ := NewModel(cfg, 5)
			lens := []int{5, 2, 7, 2, 1, 5, 7, 3, 5}
			x, T := testBatch(rng, I, lens, float32(math.NaN()))
			seq := func(b int) []float32 { return x[b*T*I : (b*T+lens[b])*I] }
			type result struct {
				latent, steps []float32
			}
			ws := NewWorkspace(cfg)
			collect := func(into []result, ids []int) {
				for k, b := range ids {
					into[b] = result{
						latent: slices.Clone(ws.Latents()[k*L : (k+1)*L]),
						steps:  slices.Clone(ws.StepLosses(k)),
					}
				}
			}

			// (a) each alone; gradients of the summed step losses.
			alone := make([]result, len(lens))
			gAlone := make([]float32, len(m.Params))
			for b, n := range lens {
				g := make([]float32, len(m.Params))
				ws.Forward(m, seq(b), []int{n}, n)
				ws.Backward(m, g)
				for i, v := range g {
					gAlone[i] += v * float32(n)
				}
				collect(alone, []int{b})
			}
			// (b) exact-length batches.
			exact := make([]result, len(lens))
			for _, n := range []int{1, 2, 3, 5, 7} {
				var ids []int
				var xb []float32
				for b, l := range lens {
					if l == n {
						ids = append(ids, b)
						xb = append(xb, seq(b)...)
					}
				}
				ws.Forward(m, xb, slices.Repeat([]int{n}, len(ids)), n)
				collect(exact, ids)
			}
			// (c) one padded batch, NaN in the padding.
			padded := make([]result, len(lens))
			gPad := make([]float32, len(m.Params))
			ws.Forward(m, x, lens, T)
			ws.Backward(m, gPad)
			R := float32(ws.RealSteps())
			collect(padded, []int{0, 1, 2, 3, 4, 5, 6, 7, 8})

			for b := range lens {
				for name, got := range map[string]result{"exact batch": exact[b], "padded batch": padded[b]} {
					// The issue allows 1e-6; the kernels deliver the same bits.
					for j, v := range got.latent {
						if math.Float32bits(v) != math.Float32bits(alone[b].latent[j]) {
							t.Errorf("sequence %d latent[%d] in %s: got %g, alone %g", b, j, name, v, alone[b].latent[j])
						}
					}
					for s, v := range got.steps {
						if math.Float32bits(v) != math.Float32bits(alone[b].steps[s]) {
							t.Errorf("sequence %d step %d loss in %s: got %g, alone %g", b, s, name, v, alone[b].steps[s])
						}
					}
				}
			}
			var num, den float64
			for i := range gPad {
				d := float64(gPad[i]*R - gAlone[i])
				num += d * d
				den += float64(gAlone[i]) * float64(gAlone[i])
			}
			if rel := math.Sqrt(num / den); !(rel <= 1e-5) {
				t.Errorf("summed gradient, padded batch against each alone: relative difference %.3g, want <= 1e-5", rel)
			}
		})
	}
}

// Encode gives what Forward gives, without keeping activations, bit for
// bit: its fused step product sums the same terms in the same order. The
// wide case has sizes the vector kernels take and more rows than a tile.
func TestEncodeMatchesForward(t *testing.T) {
	cases := append([]struct {
		name string
		cfg  Config
	}{{"wide", Config{InputDim: 8, LatentDim: 32, DecoderHidden: 48, Head: HeadLinear}}}, testConfigs...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, 3))
			m, _ := NewModel(tc.cfg, 8)
			lens := []int{4, 9, 1, 9, 6}
			if tc.name == "wide" {
				lens = []int{4, 9, 1, 9, 6, 12, 3, 12, 8, 7, 11, 2, 5, 10, 9, 1, 12}
			}
			x, T := testBatch(rng, tc.cfg.InputDim, lens, 1e30)
			ws := NewWorkspace(tc.cfg)
			lf := ws.Forward(m, x, lens, T)
			lat := slices.Clone(ws.Latents())
			var steps [][]float32
			for b := range lens {
				steps = append(steps, slices.Clone(ws.StepLosses(b)))
			}
			// The Seqs forms take the same sequences as their own slices,
			// with no padding.
			seqs := seqsOf(x, lens, T, tc.cfg.InputDim)
			grads := make([]float32, len(m.Params))
			ws.Backward(m, grads)
			for name, run := range map[string]func() float32{
				"Encode":      func() float32 { return ws.Encode(m, x, lens, T) },
				"EncodeSeqs":  func() float32 { return ws.EncodeSeqs(m, seqs) },
				"ForwardSeqs": func() float32 { return ws.ForwardSeqs(m, seqs) },
			} {
				if le := run(); lf != le {
					t.Errorf("loss: %s %g, Forward %g", name, le, lf)
				}
				if !slices.Equal(ws.Latents(), lat) {
					t.Errorf("latents: %s %v, Forward %v", name, ws.Latents(), lat)
				}
				for b := range lens {
					if !slices.Equal(ws.StepLosses(b), steps[b]) {
						t.Errorf("sequence %d step losses: %s %v, Forward %v", b, name, ws.StepLosses(b), steps[b])
					}
				}
				if name == "ForwardSeqs" {
					got := make([]float32, len(m.Params))
					ws.Backward(m, got)
					if !slices.Equal(got, grads) {
						t.Errorf("gradient after ForwardSeqs differs from Forward's")
					}
				}
			}
		})
	}
}

// A workspace packs the weights once and keeps them while the parameters
// stay the same: after any one parameter changes, its results (Encode, and
// Forward with Backward) are those of a fresh workspace, bit for bit.
func TestPackedWeightsFollowTheModel(t *testing.T) {
	cfg := Config{InputDim: 8, LatentDim: 32, DecoderHidden: 16, Head: HeadLinear}
	rng := rand.New(rand.NewPCG(4, 4))
	m, _ := NewModel(cfg, 3)
	lens := []int{5, 9, 2, 9, 7, 1, 8}
	x, T := testBatch(rng, cfg.InputDim, lens, 0)
	ws := NewWorkspace(cfg)
	type result struct {
		enc, fwd []float32 // latents then step losses
		grads    []float32
	}
	run := func(ws *Workspace) result {
		var r result
		ws.Encode(m, x, lens, T)
		r.enc = slices.Clone(ws.Latents())
		for b := range lens {
			r.enc = append(r.enc, ws.StepLosses(b)...)
		}
		ws.Forward(m, x, lens, T)
		r.fwd = slices.Clone(ws.Latents())
		for b := range lens {
			r.fwd = append(r.fwd, ws.StepLosses(b)...)
		}
		r.grads = make([]float32, len(m.Params))
		ws.Backward(m, r.grads)
		return r
	}
	run(ws)
	for _, tn := range cfg.Layout() {
		i := tn.Offset + tn.Size - 1
		m.Params[i] = -2 * m.Params[i]
		got, want := run(ws), run(NewWorkspace(cfg))
		for _, c := range []struct {
			name      string
			got, want []float32
		}{{"Encode", got.enc, want.enc}, {"Forward", got.fwd, want.fwd}, {"Backward", got.grads, want.grads}} {
			if !slices.Equal(c.got, c.want) {
				t.Errorf("after %s[%d] changed: %s gives %v, a fresh workspace %v", tn.Name, tn.Size-1, c.name, c.got, c.want)
			}
		}
	}
}

// Backward is the gradient at the weights the last Forward ran with, even
// when the model's parameters changed in between.
func TestBackwardUsesForwardsWeights(t *testing.T) {
	cfg := Config{InputDim: 4, LatentDim: 8, DecoderHidden: 16, Head: HeadLinear}
	rng := rand.New(rand.NewPCG(6, 6))
	m, _ := NewModel(cfg, 5)
	lens := []int{3, 6, 6, 1}
	x, T := testBatch(rng, cfg.InputDim, lens, 0)
	ws := NewWorkspace(cfg)
	want := make([]float32, len(m.Params))
	ws.Forward(m, x, lens, T)
	ws.Backward(m, want)
	ws.Forward(m, x, lens, T)
	for i := range m.Params {
		m.Params[i] *= 1.5
	}
	got := make([]float32, len(m.Params))
	ws.Backward(m, got)
	if !slices.Equal(got, want) {
		t.Errorf("gradient after the parameters changed between Forward and Backward: %v, want %v", got, want)
	}
}

func TestTrainingStepAndEncodeAllocateNothing(t *testing.T) {
	cfg := Config{InputDim: 8, LatentDim: 16, DecoderHidden: 16, Head: HeadLinear}
	rng := rand.New(rand.NewPCG(1, 1))
	m, _ := NewModel(cfg, 1)
	opt := NewAdam(len(m.Params), 1e-3)
	opt.ClipNorm = 1
	ws := NewWorkspace(cfg)
	lens := []int{12, 30, 7, 30}
	x, T := testBatch(rng, cfg.InputDim, lens, 0)
	step := func() {
		m.ZeroGrad()
		ws.Forward(m, x, lens, T)
		ws.Backward(m, m.Grads)
		opt.Step(m.Params, m.Grads)
	}
	encode := func() { ws.Encode(m, x, lens, T) }
	step()
	encode()
	if n := testing.AllocsPerRun(20, step); n != 0 {
		t.Errorf("training step: %v allocations per run, want 0", n)
	}
	if n := testing.AllocsPerRun(20, encode); n != 0 {
		t.Errorf("encode: %v allocations per run, want 0", n)
	}
	ws.SetFeatureLosses(true)
	encode()
	if n := testing.AllocsPerRun(20, encode); n != 0 {
		t.Errorf("encode with feature losses: %v allocations per run, want 0", n)
	}
	seqs := seqsOf(x, lens, T, cfg.InputDim)
	for name, run := range map[string]func(){
		"EncodeSeqs": func() { ws.EncodeSeqs(m, seqs) },
		"training step with ForwardSeqs": func() {
			m.ZeroGrad()
			ws.ForwardSeqs(m, seqs)
			ws.Backward(m, m.Grads)
			opt.Step(m.Params, m.Grads)
		},
	} {
		run()
		if n := testing.AllocsPerRun(20, run); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}

// seqsOf returns the real steps of each sequence of the padded batch x,
// as ForwardSeqs and EncodeSeqs take them.
func seqsOf(x []float32, lens []int, T, I int) [][]float32 {
	var seqs [][]float32
	for b, n := range lens {
		seqs = append(seqs, x[b*T*I:(b*T+n)*I:(b*T+n)*I])
	}
	return seqs
}

// Each step's loss is the mean of its feature losses, in Encode and
// Forward alike, and those are the squared errors of the reconstruction.
func TestFeatureLosses(t *testing.T) {
	for _, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(4, 5))
			m, _ := NewModel(tc.cfg, 8)
			lens := []int{4, 9, 1, 9, 6}
			I := tc.cfg.InputDim
			x, T := testBatch(rng, I, lens, 1e30)
			ws := NewWorkspace(tc.cfg)
			ws.SetFeatureLosses(true)
			ws.Forward(m, x, lens, T)
			var forward [][]float32
			for b := range lens {
				forward = append(forward, slices.Clone(ws.FeatureLosses(b)))
			}
			ws.EncodeSeqs(m, seqsOf(x, lens, T, I))
			for b := range lens {
				if fl := ws.FeatureLosses(b); !slices.Equal(fl, forward[b]) {
					t.Errorf("sequence %d: EncodeSeqs %v, Forward %v", b, fl, forward[b])
				}
			}
			ws.Encode(m, x, lens, T)
			for b, n := range lens {
				fl := ws.FeatureLosses(b)
				if len(fl) != n*I {
					t.Fatalf("sequence %d: got %d feature losses, want %d", b, len(fl), n*I)
				}
				if !slices.Equal(fl, forward[b]) {
					t.Errorf("sequence %d: Encode %v, Forward %v", b, fl, forward[b])
				}
				for s, loss := range ws.StepLosses(b) {
					var sum float64
					for _, v := range fl[s*I : (s+1)*I] {
						if !(v >= 0) {
							t.Fatalf("sequence %d step %d: feature loss %v, want >= 0", b, s, v)
						}
						sum += float64(v)
					}
					if mean := sum / float64(I); math.Abs(mean-float64(loss)) > 1e-5*(1+float64(loss)) {
						t.Errorf("sequence %d step %d: mean of feature losses %g, step loss %g", b, s, mean, loss)
					}
				}
			}
			ws.SetFeatureLosses(false)
			ws.Encode(m, x, lens, T)
			defer func() {
				if r := recover(); r == nil {
					t.Error("FeatureLosses after SetFeatureLosses(false) did not panic")
				}
			}()
			ws.FeatureLosses(0)
		})
	}
}

func TestNewModelSeeded(t *testing.T) {
	cfg := Config{InputDim: 3, LatentDim: 4, DecoderHidden: 5, Head: HeadLinear}
	a, _ := NewModel(cfg, 42)
	b, _ := NewModel(cfg, 42)
	c, _ := NewModel(cfg, 43)
	if !slices.Equal(a.Params, b.Params) {
		t.Error("same seed gave different parameters")
	}
	if slices.Equal(a.Params, c.Params) {
		t.Error("different seeds gave the same parameters")
	}
	if a.ID() != b.ID() || a.ID() == c.ID() {
		t.Errorf("IDs: seed 42 %s and %s, seed 43 %s: want equal for equal weights only", a.ID(), b.ID(), c.ID())
	}
	// PyTorch's bounds: ±1/sqrt(hidden), the folded bias ±2/sqrt(hidden).
	for _, tt := range []struct {
		name  string
		v     []float32
		bound float64
	}{
		{"encoder.weight_hh", a.W.EncWhh, 1 / math.Sqrt(4)},
		{"encoder.bias", a.W.EncB, 2 / math.Sqrt(4)},
		{"decoder.weight_ih", a.W.DecWih, 1 / math.Sqrt(5)},
		{"head.weight", a.W.HeadW, 1 / math.Sqrt(5)},
	} {
		for _, v := range tt.v {
			if math.Abs(float64(v)) > tt.bound {
				t.Errorf("%s: %g outside ±%g", tt.name, v, tt.bound)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string // substring of the error; "" for valid
	}{
		{Config{3, 4, 5, HeadLinear}, ""},
		{Config{4, 6, 4, HeadNone}, ""},
		{Config{0, 4, 5, HeadLinear}, "input_dim"},
		{Config{3, 0, 5, HeadLinear}, "latent_dim"},
		{Config{3, 4, -1, HeadLinear}, "decoder_hidden"},
		{Config{3, MaxDim + 1, 5, HeadLinear}, "latent_dim must be in 1..65536"},
		{Config{3, 4, 5, HeadNone}, "needs decoder_hidden == input_dim"},
		{Config{3, 4, 5, "conv"}, `head must be "linear" or "none"`},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: got error %v, want one containing %q", c.cfg, err, c.want)
		}
	}
}

func TestAdamClipsGlobalNorm(t *testing.T) {
	params := []float32{1, 1}
	grads := []float32{3, 4} // norm 5
	opt := NewAdam(2, 0.1)
	opt.ClipNorm = 1
	if norm := opt.Step(params, grads); math.Abs(norm-5) > 1e-9 {
		t.Errorf("norm before clipping: got %g, want 5", norm)
	}
	want := []float32{0.6, 0.8} // scaled by 1/(5+1e-6)
	for i := range grads {
		if math.Abs(float64(grads[i]-want[i])) > 1e-6 {
			t.Errorf("clipped grads[%d]: got %g, want %g", i, grads[i], want[i])
		}
	}
	// Adam's first step moves each parameter by lr against its gradient's sign.
	for i, p := range params {
		if math.Abs(float64(p)-0.9) > 1e-6 {
			t.Errorf("params[%d] after one step: got %g, want 0.9", i, p)
		}
	}
}

// adamRef is torch.optim.Adam's update (torch/optim/adam.py, single-tensor
// path, no weight decay or AMSGrad) and clip_grad_norm_, in float64.
type adamRef struct {
	lr, b1, b2, eps, clip float64
	m, v                  []float64
	step                  int
}

func (a *adamRef) update(p, g []float64) {
	if a.clip > 0 {
		var ss float64
		for _, x := range g {
			ss += x * x
		}
		if coef := a.clip / (math.Sqrt(ss) + 1e-6); coef < 1 {
			for i := range g {
				g[i] *= coef
			}
		}
	}
	a.step++
	bc1 := 1 - math.Pow(a.b1, float64(a.step))
	bc2 := 1 - math.Pow(a.b2, float64(a.step))
	for i := range p {
		a.m[i] += (g[i] - a.m[i]) * (1 - a.b1) // exp_avg.lerp_(grad, 1-beta1)
		a.v[i] = a.v[i]*a.b2 + (1-a.b2)*g[i]*g[i]
		denom := math.Sqrt(a.v[i])/math.Sqrt(bc2) + a.eps
		p[i] -= a.lr / bc1 * a.m[i] / denom
	}
}

// Several Adam steps with changing gradients (and clipping on some of
// them) against PyTorch's algorithm in float64: the moments' decay and the
// bias corrections only show after the first step.
func TestAdamMatchesPyTorchOverSteps(t *testing.T) {
	for _, clip := range []float64{0, 0.5} {
		rng := rand.New(rand.NewPCG(4, 2))
		const n = 40
		p32 := randSlice(rng, n)
		p64 := make([]float64, n)
		for i, v := range p32 {
			p64[i] = float64(v)
		}
		opt := NewAdam(n, 3e-2)
		opt.ClipNorm = clip
		ref := &adamRef{lr: 3e-2, b1: 0.9, b2: 0.999, eps: 1e-8, clip: clip, m: make([]float64, n), v: make([]float64, n)}
		for step := range 6 {
			g32 := randSlice(rng, n)
			g64 := make([]float64, n)
			for i := range g32 {
				g32[i] *= float32(step + 1)
				if i%7 == step {
					g32[i] = 0
				}
				g64[i] = float64(g32[i])
			}
			opt.Step(p32, g32)
			ref.update(p64, g64)
			for i := range p32 {
				if d := math.Abs(float64(p32[i]) - p64[i]); !(d <= 1e-6+1e-5*math.Abs(p64[i])) {
					t.Fatalf("clip %g, step %d, param %d: got %.9g, want %.9g", clip, step+1, i, p32[i], p64[i])
				}
			}
		}
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	for _, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := NewModel(tc.cfg, 11)
			var buf bytes.Buffer
			meta := map[string]string{"run_id": "r1", "normaliser": `{"mean":[0]}`}
			if err := Save(&buf, m, meta); err != nil {
				t.Fatal(err)
			}
			got, gotMeta, err := Load(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if got.Config != m.Config {
				t.Errorf("config: got %+v, want %+v", got.Config, m.Config)
			}
			for i := range m.Params {
				if math.Float32bits(got.Params[i]) != math.Float32bits(m.Params[i]) {
					t.Fatalf("param %d: got %x, want %x", i, math.Float32bits(got.Params[i]), math.Float32bits(m.Params[i]))
				}
			}
			if len(gotMeta) != len(meta) || gotMeta["run_id"] != "r1" || gotMeta["normaliser"] != meta["normaliser"] {
				t.Errorf("metadata: got %v, want %v", gotMeta, meta)
			}
			if got.ID() != m.ID() {
				t.Errorf("ID: got %s, want %s", got.ID(), m.ID())
			}
		})
	}
}

// rewriteHeader replaces the JSON header of a safetensors file.
func rewriteHeader(file []byte, edit func(string) string) []byte {
	n := binary.LittleEndian.Uint64(file)
	h := edit(string(file[8 : 8+n]))
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), file[8+n:]...)
}

func TestCheckpointRejectsDamage(t *testing.T) {
	cfg := Config{InputDim: 3, LatentDim: 4, DecoderHidden: 5, Head: HeadLinear}
	m, _ := NewModel(cfg, 1)
	var buf bytes.Buffer
	if err := Save(&buf, m, nil); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"truncated header", good[:40], "truncated"},
		{"truncated data", good[:len(good)-10], "damaged or truncated"},
		{"extra bytes", append(slices.Clone(good), 0, 0, 0, 0), "damaged or truncated"},
		{"garbage header", rewriteHeader(good, func(h string) string { return strings.Replace(h, "{", "[", 1) }), "damaged"},
		{"not seqae", rewriteHeader(good, func(h string) string { return strings.Replace(h, formatTag, "other", 1) }), "format"},
		{"bad config", rewriteHeader(good, func(h string) string {
			return strings.Replace(h, `\"head\":\"linear\"`, `\"head\":\"lstm\"`, 1)
		}), "head must be"},
		{"config of other sizes", rewriteHeader(good, func(h string) string {
			return strings.Replace(h, `\"latent_dim\":4`, `\"latent_dim\":6`, 1)
		}), "tensor encoder.weight_ih has shape [16 3], want [24 3]"},
		{"huge config", rewriteHeader(good, func(h string) string {
			return strings.Replace(h, `\"latent_dim\":4`, `\"latent_dim\":2000000000`, 1)
		}), "latent_dim must be in 1..65536"},
		{"large config", rewriteHeader(good, func(h string) string {
			return strings.Replace(h, `\"latent_dim\":4`, `\"latent_dim\":60000`, 1)
		}), "tensor encoder.weight_ih has shape [16 3], want [240000 3]"},
		{"missing tensor", rewriteHeader(good, func(h string) string {
			return strings.Replace(h, `"head.bias"`, `"head.bias2"`, 1)
		}), "tensor head.bias is missing"},
		{"wrong dtype", rewriteHeader(good, func(h string) string {
			return strings.Replace(h, `"dtype":"F32","shape":[3]`, `"dtype":"I32","shape":[3]`, 1)
		}), "want F32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Load(bytes.NewReader(c.file))
			if err == nil || !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want an ErrCheckpoint containing %q", err, c.want)
			}
		})
	}
}

// The assembly cell must agree with the pure-Go one, including at the
// branch points and extremes of its exp and tanh.
func TestCellKernelsAgree(t *testing.T) {
	special := []float32{0, -0, 1e-30, -1e-30, 1e-5, 0.6249, 0.625, -0.625, 0.6251, 1, -3, 9, -9, 20, 40, -40, 87, -87, 88.5, -88.5, 100, -100,
		float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, hd := range []int{8, 16, 64} {
		rng := rand.New(rand.NewPCG(uint64(hd), 1))
		n := 5
		g := make([]float32, n*4*hd)
		for i := range g {
			switch i % 3 {
			case 0:
				g[i] = special[(i/3)%len(special)]
			default:
				g[i] = float32(rng.NormFloat64() * 4)
			}
		}
		cPrev := randSlice(rng, n*hd)
		for _, withPrev := range []bool{true, false} {
			cp := cPrev
			if !withPrev {
				cp = nil
			}
			g1, g2 := slices.Clone(g), slices.Clone(g)
			h1, c1, t1 := make([]float32, n*hd), make([]float32, n*hd), make([]float32, n*hd)
			h2, c2, t2 := make([]float32, n*hd), make([]float32, n*hd), make([]float32, n*hd)
			lstmCellForward(h1, c1, t1, g1, cp, n, hd, hd)
			cellForwardGo(h2, c2, t2, g2, cp, n, hd, hd)
			for name, pair := range map[string][2][]float32{"gates": {g1, g2}, "h": {h1, h2}, "c": {c1, c2}, "tanh c": {t1, t2}} {
				for i := range pair[0] {
					got, want := float64(pair[0][i]), float64(pair[1][i])
					if d := math.Abs(got - want); !(d <= 1e-7+4e-7*math.Abs(want)) {
						t.Errorf("hd=%d prev=%v %s[%d]: dispatch %g, Go %g", hd, withPrev, name, i, got, want)
					}
				}
			}
		}
	}
	// NaN stays NaN.
	g := make([]float32, 4*8)
	for i := range g {
		g[i] = float32(math.NaN())
	}
	h, c, tc := make([]float32, 8), make([]float32, 8), make([]float32, 8)
	lstmCellForward(h, c, tc, g, nil, 1, 8, 8)
	for i := range h {
		if !math.IsNaN(float64(h[i])) {
			t.Fatalf("NaN gates gave h[%d] = %g", i, h[i])
		}
	}
}

// The assembly backward cell agrees with the pure-Go one, with and without
// its optional inputs.
func TestCellBackwardKernelsAgree(t *testing.T) {
	for _, hd := range []int{8, 24, 64} {
		for _, opt := range []struct{ rec, prev, sum bool }{{true, true, true}, {false, false, false}, {true, false, true}, {false, true, false}} {
			rng := rand.New(rand.NewPCG(uint64(hd), 2))
			n := 7
			g := make([]float32, n*4*hd)
			for i := range g {
				g[i] = float32(rng.Float64())
				if (i/hd)%4 == 2 {
					g[i] = 2*g[i] - 1
				}
			}
			tc := make([]float32, n*hd)
			for i := range tc {
				tc[i] = float32(2*rng.Float64() - 1)
			}
			dh, dc := randSlice(rng, n*hd), randSlice(rng, n*hd)
			var dhRec, cPrev, sum []float32
			if opt.rec {
				dhRec = randSlice(rng, n*hd)
			}
			if opt.prev {
				cPrev = randSlice(rng, n*hd)
			}
			if opt.sum {
				sum = randSlice(rng, n*4*hd)
			}
			dg1, dg2 := make([]float32, n*4*hd), make([]float32, n*4*hd)
			dc1, dc2 := slices.Clone(dc), slices.Clone(dc)
			sum1, sum2 := slices.Clone(sum), slices.Clone(sum)
			lstmCellBackward(dg1, dc1, dh, dhRec, g, cPrev, tc, sum1, n, hd, hd)
			cellBackwardGo(dg2, dc2, dh, dhRec, g, cPrev, tc, sum2, n, hd, hd)
			for name, pair := range map[string][2][]float32{"dg": {dg1, dg2}, "dc": {dc1, dc2}, "dgSum": {sum1, sum2}} {
				for i := range pair[0] {
					got, want := float64(pair[0][i]), float64(pair[1][i])
					if d := math.Abs(got - want); !(d <= 1e-6+1e-5*math.Abs(want)) {
						t.Fatalf("hd=%d %+v %s[%d]: dispatch %g, Go %g", hd, opt, name, i, got, want)
					}
				}
			}
		}
	}
}

// A cell run in two halves of its units, as a Pair's two goroutines run
// it, gives the whole cell's bits, forward and backward, through the
// dispatch (assembly where the CPU has it) and the pure-Go cell, and
// touches nothing of the other half.
func TestCellHalvesMatchWhole(t *testing.T) {
	type cells struct {
		name string
		fwd  func(h, c, tc, g, cPrev []float32, n, hd, units int)
		bwd  func(dg, dc, dh, dhRec, g, cPrev, tc, dgSum []float32, n, hd, units int)
	}
	for _, k := range []cells{{"dispatch", lstmCellForward, lstmCellBackward}, {"go", cellForwardGo, cellBackwardGo}} {
		for _, c := range []struct{ n, hd int }{{1, 64}, {3, 64}, {2, 256}, {4, 32}, {3, 16}} {
			rng := rand.New(rand.NewPCG(uint64(c.hd), uint64(c.n)))
			n, hd, u := c.n, c.hd, c.hd/2
			g0 := randSlice(rng, n*4*hd)
			cPrev, tc0, dh, dhRec, dc0, sum0 := randSlice(rng, n*hd), randSlice(rng, n*hd), randSlice(rng, n*hd), randSlice(rng, n*hd), randSlice(rng, n*hd), randSlice(rng, n*4*hd)
			type out struct{ g, h, c, tc, dg, dc, sum []float32 }
			run := func(halves bool) out {
				o := out{g: slices.Clone(g0), h: make([]float32, n*hd), c: make([]float32, n*hd), tc: make([]float32, n*hd),
					dg: make([]float32, n*4*hd), dc: slices.Clone(dc0), sum: slices.Clone(sum0)}
				spans := [][2]int{{0, hd}}
				if halves {
					spans = [][2]int{{u, hd - u}, {0, u}}
				}
				for _, sp := range spans {
					u0, units := sp[0], sp[1]
					k.fwd(o.h[u0:], o.c[u0:], o.tc[u0:], o.g[u0:], cPrev[u0:], n, hd, units)
				}
				for _, sp := range spans {
					u0, units := sp[0], sp[1]
					k.bwd(o.dg[u0:], o.dc[u0:], dh[u0:], dhRec[u0:], o.g[u0:], cPrev[u0:], tc0[u0:], o.sum[u0:], n, hd, units)
				}
				return o
			}
			whole, halves := run(false), run(true)
			for name, p := range map[string][2][]float32{"gates": {halves.g, whole.g}, "h": {halves.h, whole.h}, "c": {halves.c, whole.c},
				"tanh c": {halves.tc, whole.tc}, "dg": {halves.dg, whole.dg}, "dc": {halves.dc, whole.dc}, "dgSum": {halves.sum, whole.sum}} {
				for i := range p[0] {
					if math.Float32bits(p[0][i]) != math.Float32bits(p[1][i]) {
						t.Fatalf("%s n=%d hd=%d %s[%d]: halves %g, whole %g", k.name, n, hd, name, i, p[0][i], p[1][i])
					}
				}
			}
			// One half alone leaves the other half's units as they were.
			h := make([]float32, n*hd)
			k.fwd(h, make([]float32, n*hd), make([]float32, n*hd), slices.Clone(g0), cPrev, n, hd, u)
			for r := range n {
				for j := u; j < hd; j++ {
					if h[r*hd+j] != 0 {
						t.Fatalf("%s n=%d hd=%d: the first half wrote h[%d][%d] = %g", k.name, n, hd, r, j, h[r*hd+j])
					}
				}
			}
		}
	}
}

// A batch's gradient is the sum of its parts' BackwardPart gradients.
func TestBackwardPartsSumToBatch(t *testing.T) {
	cfg := Config{InputDim: 3, LatentDim: 8, DecoderHidden: 8, Head: HeadLinear}
	rng := rand.New(rand.NewPCG(6, 1))
	m, _ := NewModel(cfg, 2)
	lens := []int{4, 7, 2, 7, 5}
	x, T := testBatch(rng, cfg.InputDim, lens, float32(math.NaN()))
	ws := NewWorkspace(cfg)
	whole := make([]float32, len(m.Params))
	ws.Forward(m, x, lens, T)
	ws.Backward(m, whole)
	R := ws.RealSteps()
	parts := make([]float32, len(m.Params))
	for _, p := range [][2]int{{0, 2}, {2, 5}} {
		ws.Forward(m, x[p[0]*T*cfg.InputDim:p[1]*T*cfg.InputDim], lens[p[0]:p[1]], T)
		ws.BackwardPart(m, parts, R)
	}
	var num, den float64
	for i := range whole {
		d := float64(parts[i] - whole[i])
		num += d * d
		den += float64(whole[i]) * float64(whole[i])
	}
	if rel := math.Sqrt(num / den); !(rel <= 1e-6) {
		t.Errorf("parts' gradients sum to the batch's within %.3g relative, want 1e-6", rel)
	}
}

// TestReserve: after Reserve, a fresh workspace's first training step on a
// batch within its bounds allocates nothing; a larger batch still runs.
func TestReserve(t *testing.T) {
	cfg := Config{InputDim: 8, LatentDim: 16, DecoderHidden: 16, Head: HeadLinear}
	rng := rand.New(rand.NewPCG(2, 2))
	m, _ := NewModel(cfg, 1)
	lens := []int{12, 30, 7, 30}
	x, T := testBatch(rng, cfg.InputDim, lens, 0)
	want := NewWorkspace(cfg)
	want.Forward(m, x, lens, T)
	wantGrads := make([]float32, len(m.Params))
	want.Backward(m, wantGrads)

	// The fewest allocations of five fresh workspaces' first steps: a
	// real allocation shows in every one, the runtime's own now and then.
	fewest := uint64(math.MaxUint64)
	var ws *Workspace
	grads := make([]float32, len(m.Params))
	for range 5 {
		ws = NewWorkspace(cfg)
		ws.Reserve(len(lens), T, 12+30+7+30)
		clear(grads)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ws.Forward(m, x, lens, T)
		ws.Backward(m, grads)
		runtime.ReadMemStats(&after)
		fewest = min(fewest, after.Mallocs-before.Mallocs)
	}
	if fewest != 0 {
		t.Errorf("first training step after Reserve: %d allocations, want 0", fewest)
	}
	if !slices.Equal(grads, wantGrads) {
		t.Errorf("gradient after Reserve differs from a fresh workspace's")
	}
	long := []int{40, 40, 40, 40, 40}
	x, T = testBatch(rng, cfg.InputDim, long, 0)
	ws.Forward(m, x, long, T)
	ws.Backward(m, grads)
}

// A batch whose buffer or lengths do not fit panics with a message that
// says what was wrong, padded or as sequences.
func TestBatchShapesPanic(t *testing.T) {
	cfg := Config{InputDim: 2, LatentDim: 4, DecoderHidden: 4, Head: HeadLinear}
	m, _ := NewModel(cfg, 1)
	ws := NewWorkspace(cfg)
	ws.EncodeSeqs(m, [][]float32{{1, 2}, {3, 4, 5, 6}})
	last := slices.Clone(ws.StepLosses(1))
	for _, c := range []struct {
		name string
		run  func()
		want string
	}{
		{"padded, x short", func() { ws.Encode(m, make([]float32, 2*3*2-1), []int{3, 1}, 3) }, "needs 12 floats, got 11"},
		{"padded, too long", func() { ws.Encode(m, make([]float32, 2*3*2), []int{4, 1}, 3) }, "has length 4, want 1..3"},
		{"seqs, part of a step", func() { ws.EncodeSeqs(m, [][]float32{{1, 2}, {1, 2, 3}}) }, "sequence 1 of the batch has 3 floats, not whole steps of 2 features"},
		{"seqs, empty sequence", func() { ws.EncodeSeqs(m, [][]float32{{1, 2}, {}}) }, "sequence 1 of the batch has 0 floats"},
		{"no sequences", func() { ws.EncodeSeqs(m, nil) }, "nn: empty batch"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "nn: ") || !strings.Contains(msg, c.want) {
					t.Errorf("panic %q, want one with %q", msg, c.want)
				}
			}()
			c.run()
		})
		// A batch refused changes nothing: the last one's results stay.
		if got := ws.StepLosses(1); !slices.Equal(got, last) {
			t.Fatalf("after %s: the last batch's step losses are %v, were %v", c.name, got, last)
		}
	}
}
