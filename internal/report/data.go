// Package report renders a seqae run (or a range of dates) as one
// self-contained HTML page: tables and inline SVG charts made with
// gonum.org/v1/plot, with no external scripts, styles, fonts or images, so
// that it reads offline and as a mail attachment.
//
// The page holds what Data holds; jobs fills Data from the committed (or
// staged) tables, so the page's numbers are the tables'.
package report

// Data is everything a report shows. A nil or empty part leaves its
// section with a note instead of charts.
type Data struct {
	Title    string // e.g. the job's name
	From, To string // the dates covered, YYYY-MM-DD
	Training *Training
	Scores   *Scores
	// Top are the highest-scoring anomalies (at most TopN), highest
	// first; PassNames name their pass-through values.
	Top       []Anomaly
	PassNames []string
	// FeatureLosses says the top anomalies carry per-feature losses.
	FeatureLosses bool
	// FeatureNames name the features (the input's feature columns), in the
	// model's order; nil or short leaves the rest "feature 0", "feature 1"...
	FeatureNames []string
	Quarantine   Quarantine
	Drift        []DriftPoint // by date
	WarnPSI      float64      // output.drift_warn_psi
	Runs         []Run        // provenance, by date
}

// TopN is the most anomalies a report shows.
const TopN = 12

// Training is a model's training history.
type Training struct {
	ModelID string
	Date    string // the date it was trained for
	Epochs  []Epoch
	Best    int // the best epoch (its weights were kept)
}

// Epoch is one row of the metrics table.
type Epoch struct {
	Epoch   int
	Train   float64
	Val     float64
	HasVal  bool
	Seconds float64
}

// Scores are the latents' scores.
type Scores struct {
	Score      []float64
	Length     []int
	Anomaly    []bool
	Calibrated bool // percentile and anomaly are set
	// Source is the sequences the model's calibration scored:
	// "validation" or "training_and_validation" ("" when unknown).
	Source    string
	Anomalies int // sequences with anomaly true
	// Percentile is the anomaly threshold (output.anomaly_percentile);
	// Thresholds the score it corresponds to in each length bucket of the
	// model's calibration, and Overall over every length (0 when
	// uncalibrated).
	Percentile float64
	Thresholds []Threshold
	Overall    float64
}

// Threshold is the anomaly score threshold for lengths from MinLen.
type Threshold struct {
	MinLen int
	Score  float64
}

// Anomaly is one of the top anomalies.
type Anomaly struct {
	Date       string
	ID         string
	Length     int
	Score      float64
	Percentile float64
	Pass       []string
	StepLoss   []float64   // per step
	Features   [][]float64 // [feature][step], with feature losses
}

// Quarantine is the quarantined rows.
type Quarantine struct {
	Total    int64
	ByReason map[string]int64
	Examples []QuarantineRow // a few
}

// QuarantineRow is a row of the quarantine table.
type QuarantineRow struct {
	Date, File string
	Row        int64
	ID, Reason string
	Detail     string
}

// DriftPoint is one row of the drift table.
type DriftPoint struct {
	Date         string
	Baseline     string
	PSI          float64
	HasPSI       bool
	AnomalyShare float64
	HasShare     bool
}

// Run is one committed partition's provenance.
type Run struct {
	Date, Table, RunID, ModelID, Phase string
	Inputs                             []string
	Counts                             [][2]string // label, value
	Config                             string
}
