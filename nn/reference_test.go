package nn

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fixture is one file made by testdata/reference/torch_reference.py.
type fixture struct {
	Config Config `json:"config"`
	Adam   struct {
		LR    float64 `json:"lr"`
		Beta1 float64 `json:"beta1"`
		Beta2 float64 `json:"beta2"`
		Eps   float64 `json:"eps"`
	} `json:"adam"`
	Params    map[string]any `json:"params"`
	Lengths   []int          `json:"lengths"`
	Sequences [][][]float64  `json:"sequences"`
	Expected  struct {
		Latents     [][]float64    `json:"latents"`
		StepLosses  [][]float64    `json:"step_losses"`
		Loss        float64        `json:"loss"`
		Grads       map[string]any `json:"grads"`
		ParamsAfter map[string]any `json:"params_after_adam_step"`
	} `json:"expected"`
}

// referenceDir is where the fixtures are: $REFERENCE_DIR, else the copy in
// testdata.
func referenceDir() string {
	if d := os.Getenv("REFERENCE_DIR"); d != "" {
		return d
	}
	return filepath.Join("testdata", "reference")
}

func loadFixtures(t *testing.T) map[string]*fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(referenceDir(), "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no *.json fixtures in %s (err %v)", referenceDir(), err)
	}
	out := map[string]*fixture{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f := new(fixture)
		if err := json.Unmarshal(data, f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = f
	}
	return out
}

// flat flattens nested JSON number lists in row-major order.
func flat(v any) []float64 {
	switch v := v.(type) {
	case float64:
		return []float64{v}
	case []any:
		var out []float64
		for _, e := range v {
			out = append(out, flat(e)...)
		}
		return out
	}
	panic("fixture: not a number or list")
}

// paramBuffer lays out named tensors as the flat buffer of cfg.
func paramBuffer(t *testing.T, cfg Config, named map[string]any) []float64 {
	t.Helper()
	buf := make([]float64, cfg.NumParams())
	for _, ts := range cfg.Layout() {
		v, ok := named[ts.Name]
		if !ok {
			t.Fatalf("fixture lacks %s", ts.Name)
		}
		vals := flat(v)
		if len(vals) != ts.Size {
			t.Fatalf("fixture %s has %d values, want %d", ts.Name, len(vals), ts.Size)
		}
		copy(buf[ts.Offset:], vals)
	}
	return buf
}

func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// padded returns the fixture's sequences as a (B, T, I) batch whose padded
// cells hold NaN.
func (f *fixture) padded() ([]float32, int) {
	T := slices.Max(f.Lengths)
	I := f.Config.InputDim
	x := make([]float32, len(f.Lengths)*T*I)
	for i := range x {
		x[i] = float32(math.NaN())
	}
	for b, seq := range f.Sequences {
		for t, step := range seq {
			for j, v := range step {
				x[(b*T+t)*I+j] = float32(v)
			}
		}
	}
	return x, T
}

// closeTo tracks the worst error of one quantity against the fixture's
// tolerance |got - want| <= 1e-6 + 1e-4·|want|.
type closeTo struct {
	t     *testing.T
	name  string
	worst float64
	fails int
}

func (c *closeTo) check(what string, got float32, want float64) {
	d := math.Abs(float64(got) - want)
	if d > c.worst || math.IsNaN(d) {
		c.worst = d
	}
	if !(d <= 1e-6+1e-4*math.Abs(want)) {
		c.fails++
		if c.fails <= 5 {
			c.t.Errorf("%s %s: got %.9g, want %.9g (diff %.3g)", c.name, what, got, want, d)
		}
	}
}

func (c *closeTo) done() { c.t.Logf("%-34s worst |got-want| %.3g", c.name, c.worst) }

func TestReference(t *testing.T) {
	for name, f := range loadFixtures(t) {
		t.Run(name, func(t *testing.T) {
			cfg := f.Config
			m := newModel(cfg)
			copy(m.Params, toF32(paramBuffer(t, cfg, f.Params)))
			x, T := f.padded()
			ws := NewWorkspace(cfg)
			loss := ws.Forward(m, x, f.Lengths, T)
			ws.Backward(m, m.Grads)

			c := &closeTo{t: t, name: "loss"}
			c.check("", loss, f.Expected.Loss)
			c.done()
			c = &closeTo{t: t, name: "latents"}
			lat := ws.Latents()
			for b, row := range f.Expected.Latents {
				for j, want := range row {
					c.check("seq "+strconv.Itoa(b)+" ["+strconv.Itoa(j)+"]", lat[b*cfg.LatentDim+j], want)
				}
			}
			c.done()
			c = &closeTo{t: t, name: "step_losses"}
			for b, row := range f.Expected.StepLosses {
				got := ws.StepLosses(b)
				if len(got) != len(row) {
					t.Fatalf("sequence %d: got %d step losses, want %d", b, len(got), len(row))
				}
				for s, want := range row {
					c.check("seq "+strconv.Itoa(b)+" step "+strconv.Itoa(s), got[s], want)
				}
			}
			c.done()
			wantG := paramBuffer(t, cfg, f.Expected.Grads)
			for _, ts := range cfg.Layout() {
				c = &closeTo{t: t, name: "grad " + ts.Name}
				for i := ts.Offset; i < ts.Offset+ts.Size; i++ {
					c.check("["+strconv.Itoa(i-ts.Offset)+"]", m.Grads[i], wantG[i])
				}
				c.done()
			}

			// Adam on its own: one step from the fixture's parameters with
			// the fixture's gradients.
			params := toF32(paramBuffer(t, cfg, f.Params))
			grads := toF32(wantG)
			opt := NewAdam(len(params), f.Adam.LR)
			opt.Beta1, opt.Beta2, opt.Eps = f.Adam.Beta1, f.Adam.Beta2, f.Adam.Eps
			opt.Step(params, grads)
			wantP := paramBuffer(t, cfg, f.Expected.ParamsAfter)
			c = &closeTo{t: t, name: "params after one Adam step"}
			for i, want := range wantP {
				c.check("["+strconv.Itoa(i)+"]", params[i], want)
			}
			c.done()
		})
	}
}
