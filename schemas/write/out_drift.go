package write

import (
	"context"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
)

// DriftRow is one encode run's comparison of its scores with a baseline.
type DriftRow struct {
	RunID        string
	ModelID      string
	Baseline     string // "training" (the model's calibration scores), "latents" (an earlier date's) or "none"
	BaselineDate string // the earlier date; empty for the validation scores
	Sequences    int64
	PSI          float64 // population stability index of the scores
	HasPSI       bool    // false writes psi as null (no baseline)
	AnomalyShare float64 // share of sequences with anomaly true
	HasAnomaly   bool    // false writes anomaly_share as null (an uncalibrated model)
	ScoreMean    float64
	ScoreStd     float64
	LatentMean   []float32 // per latent dimension
	LatentStd    []float32
}

// DriftWriter writes the drift table: run_id, model_id, baseline,
// baseline_date (nullable), sequences int64, psi float64 (nullable),
// anomaly_share float64 (nullable), score_mean, score_std float64,
// latent_mean, latent_std list<float32>.
type DriftWriter struct{ *table }

// NewDriftWriter starts writing the drift table to name.
func NewDriftWriter(ctx context.Context, store storage.Store, name string, format Format, meta Meta, opt WriteOptions) (*DriftWriter, error) {
	cols := []outCol{{name: "run_id", kind: schemas.String}, {name: "model_id", kind: schemas.String}, {name: "baseline", kind: schemas.String},
		{name: "baseline_date", kind: schemas.String, nullable: true}, {name: "sequences", kind: schemas.Int64},
		{name: "psi", kind: schemas.Float64, nullable: true}, {name: "anomaly_share", kind: schemas.Float64, nullable: true},
		{name: "score_mean", kind: schemas.Float64}, {name: "score_std", kind: schemas.Float64},
		{name: "latent_mean", list: true}, {name: "latent_std", list: true}}
	t, err := newTable(ctx, store, name, format, cols, meta, opt)
	if err != nil {
		return nil, err
	}
	return &DriftWriter{t}, nil
}

// Write appends one row.
func (w *DriftWriter) Write(r DriftRow) error {
	w.row[0] = cell{v: schemas.Value{Str: r.RunID}}
	w.row[1] = cell{v: schemas.Value{Str: r.ModelID}}
	w.row[2] = cell{v: schemas.Value{Str: r.Baseline}}
	w.row[3] = cell{v: schemas.Value{Str: r.BaselineDate, Null: r.BaselineDate == ""}}
	w.row[4] = cell{v: schemas.Value{Int: r.Sequences}}
	w.row[5] = cell{v: schemas.Value{Float: r.PSI, Null: !r.HasPSI}}
	w.row[6] = cell{v: schemas.Value{Float: r.AnomalyShare, Null: !r.HasAnomaly}}
	w.row[7] = cell{v: schemas.Value{Float: r.ScoreMean}}
	w.row[8] = cell{v: schemas.Value{Float: r.ScoreStd}}
	w.row[9] = cell{list: r.LatentMean}
	w.row[10] = cell{list: r.LatentStd}
	return w.put()
}
