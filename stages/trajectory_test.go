package stages

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas"
)

// trajFixture is the part of a fixture made by
// nn/testdata/reference/torch_reference.py --steps K --clip-norm C that a
// training run needs: the start, the batch and PyTorch's trajectory from it.
type trajFixture struct {
	Config     nn.Config      `json:"config"`
	Params     map[string]any `json:"params"`
	Lengths    []int          `json:"lengths"`
	Sequences  [][][]float64  `json:"sequences"`
	Trajectory *struct {
		Steps       int            `json:"steps"`
		ClipNorm    float64        `json:"clip_norm"`
		LR          float64        `json:"lr"`
		Losses      []float64      `json:"losses"`
		GradNorms   []float64      `json:"grad_norms"`
		ParamsAfter map[string]any `json:"params_after"`
	} `json:"trajectory"`
}

// trajectory is one run's figures: every step's loss and pre-clip gradient
// norm, and the parameters after the last step in the flat layout.
type trajectory struct {
	Losses    []float64
	GradNorms []float64
	Params    []float64
}

// trajectoryDir is where the fixtures are: $REFERENCE_DIR, else nn's
// testdata, as for nn's TestReference.
func trajectoryDir() string {
	if d := os.Getenv("REFERENCE_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "nn", "testdata", "reference")
}

// loadTrajectories returns the fixtures that hold a trajectory, by file
// stem.
func loadTrajectories(t *testing.T) map[string]*trajFixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(trajectoryDir(), "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no *.json fixtures in %s (err %v)", trajectoryDir(), err)
	}
	out := map[string]*trajFixture{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f := new(trajFixture)
		if err := json.Unmarshal(data, f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if f.Trajectory == nil {
			continue
		}
		tr := f.Trajectory
		if len(tr.Losses) != tr.Steps || len(tr.GradNorms) != tr.Steps {
			t.Fatalf("%s: %d losses and %d gradient norms for %d steps", p, len(tr.Losses), len(tr.GradNorms), tr.Steps)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = f
	}
	if len(out) == 0 {
		t.Fatalf("no fixture in %s has a trajectory", trajectoryDir())
	}
	return out
}

// flatten lays out named nested number lists as cfg's flat parameter
// buffer.
func flatten(cfg nn.Config, named map[string]any) ([]float64, error) {
	buf := make([]float64, cfg.NumParams())
	for _, ts := range cfg.Layout() {
		v, ok := named[ts.Name]
		if !ok {
			return nil, fmt.Errorf("no %s", ts.Name)
		}
		vals := appendNumbers(nil, v)
		if len(vals) != ts.Size {
			return nil, fmt.Errorf("%s has %d values, want %d", ts.Name, len(vals), ts.Size)
		}
		copy(buf[ts.Offset:], vals)
	}
	return buf, nil
}

func appendNumbers(dst []float64, v any) []float64 {
	switch v := v.(type) {
	case float64:
		return append(dst, v)
	case []any:
		for _, e := range v {
			dst = appendNumbers(dst, e)
		}
	}
	return dst
}

// want returns PyTorch's trajectory.
func (f *trajFixture) want(t *testing.T) trajectory {
	t.Helper()
	p, err := flatten(f.Config, f.Trajectory.ParamsAfter)
	if err != nil {
		t.Fatalf("params_after: %v", err)
	}
	return trajectory{Losses: f.Trajectory.Losses, GradNorms: f.Trajectory.GradNorms, Params: p}
}

// train runs the fixture's trajectory through the Trainer that Train uses,
// with its default parts: the whole batch every step, from the fixture's
// start.
func (f *trajFixture) train(t *testing.T, workers int) trajectory {
	t.Helper()
	start, err := flatten(f.Config, f.Params)
	if err != nil {
		t.Fatalf("params: %v", err)
	}
	m, err := nn.NewModel(f.Config, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range start {
		m.Params[i] = float32(v)
	}
	dim := f.Config.InputDim
	b := &Batch{}
	for i, seq := range f.Sequences {
		s := &schemas.Sequence{Len: len(seq), Dim: dim, ID: schemas.Value{Int: int64(i)}}
		for _, step := range seq {
			for _, v := range step {
				s.Values = append(s.Values, float32(v))
			}
		}
		b.Seqs = append(b.Seqs, s)
		b.Steps += s.Len
		b.T = max(b.T, s.Len)
	}
	tc := TrainConfig{ClipNorm: f.Trajectory.ClipNorm, LR: f.Trajectory.LR, Workers: workers}.withDefaults()
	tr := NewTrainer(m, tc.LR, tc.ClipNorm, tc.Parts, tc.Workers)
	var got trajectory
	for range f.Trajectory.Steps {
		got.Losses = append(got.Losses, float64(tr.Step(b)))
		got.GradNorms = append(got.GradNorms, tr.GradNorm)
	}
	for _, v := range m.Params {
		got.Params = append(got.Params, float64(v))
	}
	return got
}

// tolerance is the fixtures' bound on |got - want|.
func tolerance(want float64) float64 { return 1e-6 + 1e-4*math.Abs(want) }

// mismatch is one value outside the tolerance.
type mismatch struct {
	what      string
	got, want float64
}

// compareTrajectories returns every value of got outside the tolerance of
// want, and the worst |got - want| / tolerance of each quantity: "loss",
// "grad_norm" and "params_after".
func compareTrajectories(cfg nn.Config, got, want trajectory) (bad []mismatch, worst map[string]float64) {
	worst = map[string]float64{}
	cmp := func(quantity, what string, g, w float64) {
		r := math.Abs(g-w) / tolerance(w)
		if r > worst[quantity] || math.IsNaN(r) {
			worst[quantity] = r
		}
		if !(r <= 1) {
			bad = append(bad, mismatch{what, g, w})
		}
	}
	if len(got.Losses) != len(want.Losses) || len(got.Params) != len(want.Params) {
		return []mismatch{{"lengths", float64(len(got.Losses)), float64(len(want.Losses))}}, worst
	}
	for k := range want.Losses {
		cmp("loss", fmt.Sprintf("loss of step %d", k+1), got.Losses[k], want.Losses[k])
		cmp("grad_norm", fmt.Sprintf("gradient norm of step %d", k+1), got.GradNorms[k], want.GradNorms[k])
	}
	for _, ts := range cfg.Layout() {
		for i := range ts.Size {
			j := ts.Offset + i
			cmp("params_after", fmt.Sprintf("%s[%d] after the last step", ts.Name, i), got.Params[j], want.Params[j])
		}
	}
	return bad, worst
}

// TestTrajectory trains each fixture's batch for its K steps with the
// Trainer that Train uses (the batch's gradient in parts, summed in part
// order, clipped to the global norm, one Adam step) and compares every
// step's loss and pre-clip gradient norm, and every parameter after the
// last step, with PyTorch's. A new fixture must first be shown fair to
// float32 code with nn/testdata/reference/conditioning.py.
func TestTrajectory(t *testing.T) {
	for name, f := range loadTrajectories(t) {
		t.Run(name, func(t *testing.T) {
			want := f.want(t)
			clipped := 0
			for _, n := range want.GradNorms {
				if c := f.Trajectory.ClipNorm; c > 0 && n > c {
					clipped++
				}
			}
			for _, workers := range []int{1, 2} {
				got := f.train(t, workers)
				bad, worst := compareTrajectories(f.Config, got, want)
				for i, m := range bad {
					if i == 5 {
						t.Errorf("%d workers: and %d more", workers, len(bad)-i)
						break
					}
					t.Errorf("%d workers: %s: got %.9g, want %.9g (tolerance %.3g)", workers, m.what, m.got, m.want, tolerance(m.want))
				}
				t.Logf("%d steps (%d clipped to %g), %d workers: worst |got-want|/tolerance: loss %.3g, grad_norm %.3g, params_after %.3g",
					f.Trajectory.Steps, clipped, f.Trajectory.ClipNorm, workers, worst["loss"], worst["grad_norm"], worst["params_after"])
			}
		})
	}
}

// TestTrajectoryCatchesCorruption checks that the comparison TestTrajectory
// makes fails when any one loss, gradient norm or final parameter of a
// fixture is moved just past its tolerance.
func TestTrajectoryCatchesCorruption(t *testing.T) {
	for name, f := range loadTrajectories(t) {
		t.Run(name, func(t *testing.T) {
			want := f.want(t)
			got := f.train(t, 1)
			if bad, _ := compareTrajectories(f.Config, got, want); len(bad) > 0 {
				t.Fatalf("the fixture does not pass as it is: %s: got %g, want %g", bad[0].what, bad[0].got, bad[0].want)
			}
			K, P := len(want.Losses), len(want.Params)
			cases := []struct {
				name  string
				value func(*trajectory) *float64
			}{
				{"first loss", func(w *trajectory) *float64 { return &w.Losses[0] }},
				{"middle loss", func(w *trajectory) *float64 { return &w.Losses[K/2] }},
				{"last loss", func(w *trajectory) *float64 { return &w.Losses[K-1] }},
				{"first grad norm", func(w *trajectory) *float64 { return &w.GradNorms[0] }},
				{"middle grad norm", func(w *trajectory) *float64 { return &w.GradNorms[K/2] }},
				{"last grad norm", func(w *trajectory) *float64 { return &w.GradNorms[K-1] }},
				{"first parameter", func(w *trajectory) *float64 { return &w.Params[0] }},
				{"middle parameter", func(w *trajectory) *float64 { return &w.Params[P/2] }},
				{"last parameter", func(w *trajectory) *float64 { return &w.Params[P-1] }},
			}
			for _, tc := range cases {
				for _, sign := range []float64{1, -1} {
					w := trajectory{
						Losses:    append([]float64(nil), want.Losses...),
						GradNorms: append([]float64(nil), want.GradNorms...),
						Params:    append([]float64(nil), want.Params...),
					}
					v := tc.value(&w)
					*v += sign * 2.01 * tolerance(*v)
					if bad, _ := compareTrajectories(f.Config, got, w); len(bad) != 1 {
						t.Errorf("%s moved by %+.2f tolerances: got %d mismatches, want 1", tc.name, sign*2.01, len(bad))
					}
				}
			}
		})
	}
}
