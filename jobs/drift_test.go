package jobs

import (
	"bytes"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqae/seqae/internal/synth"
)

func TestPSI(t *testing.T) {
	t.Parallel()
	base := make([]float32, 1000)
	for i := range base {
		base[i] = float32(i)
	}
	shifted := make([]float32, 1000)
	var half []float32
	for i := range shifted {
		shifted[i] = float32(i + 500)
		if i%2 == 0 {
			half = append(half, base[i])
		}
	}
	for _, c := range []struct {
		name     string
		actual   []float32
		min, max float64
	}{
		{"same", base, 0, 0},
		{"half shifted out", shifted, 3, 5},
		{"every other", half, 0, 0.01},
	} {
		if got := psi(base, c.actual); !(got >= c.min && got <= c.max) {
			t.Errorf("%s: psi %v, want %v..%v", c.name, got, c.min, c.max)
		}
	}
}

// writeData writes synthetic traces as a nested file in a new folder.
func writeData(t *testing.T, o synth.Options) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "in")
	var buf bytes.Buffer
	if err := synth.WriteNested(&buf, synth.Sensors(o), 30); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "part-0.parquet"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Each encode run compares its scores with the validation scores, then
// with the previous date's of the same model; a shift above
// output.drift_warn_psi warns, in the log, the manifest and the drift
// table.
func TestDrift(t *testing.T) {
	t.Parallel()
	in, ids := smallData(t)
	noisy := writeData(t, synth.Options{N: 240, MinLen: 4, MaxLen: 16, Dim: 3, Anomalies: 2, Noise: 0.6, Seed: 10})
	cfg := smallJob(t, in, "training.epochs=5")
	out := cfg.Output.Dir
	run := func(c *Config, date string) (*Drift, string) {
		t.Helper()
		var logs bytes.Buffer
		res := mustRun(t, c, Options{Date: date, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		d := res.Encode.Drift
		if d == nil {
			t.Fatalf("%s: the latents manifest has no drift", date)
		}
		var rows [][]cell
		files, err := tableFiles(filepath.Join(out, TableDrift, "dt="+date))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := scanTable(f, func(cols []string, row []cell) error {
				rows = append(rows, append([]cell(nil), row...))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		if len(rows) != 1 || rows[0][0].Text != res.RunID || rows[0][4].Num != float64(d.Sequences) ||
			(d.PSI != nil && math.Abs(rows[0][5].Num-*d.PSI) > 1e-12) || rows[0][5].Null != (d.PSI == nil) {
			t.Fatalf("%s: drift table %+v, want one row for run %s matching %+v", date, rows, res.RunID, d)
		}
		return d, logs.String()
	}
	encode := func(in string) *Config {
		c := smallJob(t, in, "run=encode", "output.format=arrow")
		c.Output.Dir = out
		return c
	}
	d1, _ := run(cfg, day1)
	if d1.Baseline != "training" || d1.PSI == nil || d1.AnomalyShare == nil || d1.Sequences != int64(len(ids)) || len(d1.LatentMean) != 4 {
		t.Errorf("day 1: got %+v, want a PSI against the calibration scores, an anomaly share, %d sequences, 4 latent means", d1, len(ids))
	}
	d2, _ := run(encode(in), day2)
	if d2.Baseline != "latents" || d2.BaselineDate != day1 || d2.PSI == nil || *d2.PSI != 0 || d2.Warn {
		t.Errorf("day 2, same data and model: got %+v, want PSI 0 against %s", d2, day1)
	}
	if d2.ScoreMean != d1.ScoreMean {
		t.Errorf("day 2: score mean %v, day 1 %v, want equal", d2.ScoreMean, d1.ScoreMean)
	}
	d3, logs := run(encode(noisy), "2026-11-26")
	if d3.BaselineDate != day2 || d3.PSI == nil || !(*d3.PSI > 0.2) || !d3.Warn || !strings.Contains(logs, "score drift above output.drift_warn_psi") {
		t.Errorf("day 3, noisy data: got %+v, want a PSI above 0.2 against %s and a warning; log:\n%s", d3, day2, logs)
	}
	t.Logf("PSI: day 1 %.4f (training), day 2 %.4f, day 3 %.4f; anomaly share day 1 %.4f, day 3 %.4f", *d1.PSI, *d2.PSI, *d3.PSI, *d1.AnomalyShare, *d3.AnomalyShare)
}
