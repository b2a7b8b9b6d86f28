package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/seqae/seqae/schemas/write"
	"github.com/seqae/seqae/stages"
	"github.com/seqae/seqae/storage"
)

// TableDrift is the drift table: one row per encode run and date.
const TableDrift = "drift"

// psiBins is the number of bins the population stability index is taken
// over: the baseline's deciles, so each bin holds a tenth of it.
const psiBins = 10

// psiFloor stands in for an empty bin's share, so that the index stays
// finite.
const psiFloor = 1e-4

// Drift is how an encode run's scores compare with a baseline: the newest
// earlier committed date encoded with the same model, or else the model's
// calibration scores (its validation scores at training). It goes to the
// drift table and the latents manifest.
type Drift struct {
	Baseline     string    `json:"baseline"`                // "latents" (an earlier date) or "training" (the calibration); "" when there is none
	BaselineDate string    `json:"baseline_date,omitempty"` // the earlier date
	Sequences    int64     `json:"sequences"`
	PSI          *float64  `json:"psi"`           // population stability index over the baseline's deciles; null without a baseline
	AnomalyShare *float64  `json:"anomaly_share"` // null for an uncalibrated model
	ScoreMean    float64   `json:"score_mean"`
	ScoreStd     float64   `json:"score_std"`
	LatentMean   []float64 `json:"latent_mean"`
	LatentStd    []float64 `json:"latent_std"`
	// WarnPSI is output.drift_warn_psi; Warn says PSI exceeded it.
	WarnPSI float64 `json:"warn_psi"`
	Warn    bool    `json:"warn"`
}

// driftStats gathers an encode run's latents rows.
type driftStats struct {
	scores     []float32
	anomalies  int64
	calibrated int64
	sum, sumSq []float64 // per latent dimension
}

func (d *driftStats) observe(r write.LatentRow) {
	d.scores = append(d.scores, r.Score)
	if r.Calibrated {
		d.calibrated++
		if r.Anomaly {
			d.anomalies++
		}
	}
	if d.sum == nil {
		d.sum, d.sumSq = make([]float64, len(r.Latent)), make([]float64, len(r.Latent))
	}
	for i, v := range r.Latent {
		d.sum[i] += float64(v)
		d.sumSq[i] += float64(v) * float64(v)
	}
}

// meanStd returns the mean and (population) standard deviation from sums.
func meanStd(sum, sumSq float64, n int64) (float64, float64) {
	if n == 0 {
		return 0, 0
	}
	m := sum / float64(n)
	return m, math.Sqrt(max(sumSq/float64(n)-m*m, 0))
}

// drift compares the gathered scores with the baseline (nil: none).
func (d *driftStats) drift(baseline []float32, kind, date string, warnPSI float64) *Drift {
	n := int64(len(d.scores))
	out := &Drift{Sequences: n, WarnPSI: warnPSI}
	var s, s2 float64
	for _, v := range d.scores {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	out.ScoreMean, out.ScoreStd = meanStd(s, s2, n)
	out.LatentMean, out.LatentStd = make([]float64, len(d.sum)), make([]float64, len(d.sum))
	for i := range d.sum {
		out.LatentMean[i], out.LatentStd[i] = meanStd(d.sum[i], d.sumSq[i], n)
	}
	if d.calibrated > 0 {
		share := float64(d.anomalies) / float64(d.calibrated)
		out.AnomalyShare = &share
	}
	if len(baseline) > 0 && n > 0 {
		p := psi(baseline, d.scores)
		out.PSI, out.Baseline, out.BaselineDate = &p, kind, date
		out.Warn = p > warnPSI
	}
	return out
}

// psi is the population stability index of actual against expected over
// the bins cut at expected's deciles: the sum over bins of (a - e) ln(a /
// e), a and e the bins' shares (at least psiFloor). Below 0.1 is usually
// read as stable, above 0.25 as a shift.
func psi(expected, actual []float32) float64 {
	e := slices.Clone(expected)
	slices.Sort(e)
	edges := make([]float32, 0, psiBins-1)
	for k := 1; k < psiBins; k++ {
		edges = append(edges, e[min(len(e)-1, k*len(e)/psiBins)])
	}
	share := func(v []float32) []float64 {
		c := make([]float64, psiBins)
		for _, x := range v {
			i, _ := slices.BinarySearch(edges, x) // bin i holds edges[i-1] <= x < edges[i]
			for i < len(edges) && edges[i] == x {
				i++
			}
			c[i]++
		}
		for i := range c {
			c[i] = max(c[i]/float64(len(v)), psiFloor)
		}
		return c
	}
	es, as := share(expected), share(actual)
	var sum float64
	for i := range es {
		sum += (as[i] - es[i]) * math.Log(as[i]/es[i])
	}
	return sum
}

// baselineScores finds the scores to compare a run's with: those of the
// newest committed latents partition before date encoded with modelID, or
// else cal's calibration scores, its validation scores at training (nil
// when the model has none).
func baselineScores(out, date, modelID string, cal *stages.Calibration) (scores []float32, kind, baseDate string, err error) {
	dirs, err := filepath.Glob(filepath.Join(out, TableLatents, "dt=*"))
	if err != nil {
		return nil, "", "", err
	}
	slices.Sort(dirs)
	for _, dir := range slices.Backward(dirs) {
		d := strings.TrimPrefix(filepath.Base(dir), "dt=")
		if _, err := ParseDate(d); err != nil || d >= date {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, SuccessFile)); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
		if err != nil {
			return nil, "", "", err
		}
		var m Manifest
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, "", "", fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
		}
		if m.ModelID != modelID {
			continue
		}
		scores, err := readScores(dir)
		if err != nil {
			return nil, "", "", err
		}
		return scores, "latents", d, nil
	}
	if cal == nil {
		return nil, "", "", nil
	}
	return cal.Overall.Samples, "training", "", nil
}

// readScores reads the score column of a latents partition.
func readScores(dir string) ([]float32, error) {
	files, err := tableFiles(dir)
	if err != nil {
		return nil, err
	}
	var scores []float32
	for _, f := range files {
		col := -1
		err := scanTable(f, func(cols []string, row []cell) error {
			if col < 0 {
				if col = slices.Index(cols, "score"); col < 0 {
					return errors.New("no score column")
				}
			}
			scores = append(scores, float32(row[col].Num))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return scores, nil
}

// driftRow is the drift table's row for d.
func driftRow(d *Drift, runID, modelID string) write.DriftRow {
	r := write.DriftRow{RunID: runID, ModelID: modelID, Baseline: d.Baseline, BaselineDate: d.BaselineDate, Sequences: d.Sequences,
		ScoreMean: d.ScoreMean, ScoreStd: d.ScoreStd, LatentMean: toFloat32(d.LatentMean), LatentStd: toFloat32(d.LatentStd)}
	if d.PSI != nil {
		r.PSI, r.HasPSI = *d.PSI, true
	}
	if d.AnomalyShare != nil {
		r.AnomalyShare, r.HasAnomaly = *d.AnomalyShare, true
	}
	if r.Baseline == "" {
		r.Baseline = "none"
	}
	return r
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// drift compares the run's scores with their baseline, logs it (a warning
// above output.drift_warn_psi) and writes the drift table's row.
func (r *runner) drift(ctx context.Context, stats *driftStats, modelID string, cal *stages.Calibration, meta write.Meta, name string) (*Drift, *write.DriftWriter, error) {
	base, kind, baseDate, err := baselineScores(r.cfg.Output.Dir, r.date, modelID, cal)
	if err != nil {
		return nil, nil, fmt.Errorf("drift baseline: %w", err)
	}
	d := stats.drift(base, kind, baseDate, r.cfg.Output.DriftWarnPSI)
	attrs := []any{"baseline", d.Baseline, "baseline_date", d.BaselineDate, "sequences", d.Sequences, "score_mean", d.ScoreMean}
	if d.PSI != nil {
		attrs = append(attrs, "psi", round(*d.PSI))
	}
	if d.AnomalyShare != nil {
		attrs = append(attrs, "anomaly_share", round(*d.AnomalyShare))
	}
	switch {
	case d.Warn:
		r.log.Warn("score drift above output.drift_warn_psi", append(attrs, "warn_psi", d.WarnPSI)...)
	case d.PSI == nil:
		r.log.Info("drift: no baseline (no earlier date encoded with this model, and the model file predates calibration)", attrs...)
	default:
		r.log.Info("drift", attrs...)
	}
	dw, err := write.NewDriftWriter(ctx, storage.Local{}, filepath.Join(r.stage(TableDrift), name), r.format, meta, write.WriteOptions{})
	if err != nil {
		return nil, nil, err
	}
	if err := dw.Write(driftRow(d, r.runID, modelID)); err != nil {
		dw.Abort()
		return nil, nil, err
	}
	return d, dw, nil
}
