package write

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
)

// Format is an output file format.
type Format string

// The output formats.
const (
	Parquet Format = "parquet" // zstd-compressed, standard 3-level LIST encoding
	Arrow   Format = "arrow"   // Arrow IPC file (Feather v2), zstd-compressed buffers
)

// Ext is the file name extension for the format.
func (f Format) Ext() string {
	if f == Arrow {
		return ".arrow"
	}
	return ".parquet"
}

// Meta is the key-value metadata written in every output file (the Parquet
// footer, the Arrow schema's metadata) under the keys seqae.model_id,
// seqae.run_id, seqae.version and seqae.config, plus Extra as given.
type Meta struct {
	ModelID string // hash of the model's weights
	RunID   string
	Version string // seqae's version
	Config  string // the job's configuration (e.g. its YAML or JSON)
	Extra   map[string]string
}

// The metadata keys.
const (
	MetaModelID = "seqae.model_id"
	MetaRunID   = "seqae.run_id"
	MetaVersion = "seqae.version"
	MetaConfig  = "seqae.config"
)

// Pairs returns the metadata as sorted key-value pairs.
func (m Meta) Pairs() [][2]string {
	kv := map[string]string{}
	maps.Copy(kv, m.Extra)
	kv[MetaModelID] = m.ModelID
	kv[MetaRunID] = m.RunID
	kv[MetaVersion] = m.Version
	kv[MetaConfig] = m.Config
	out := make([][2]string, 0, len(kv))
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		out = append(out, [2]string{k, kv[k]})
	}
	return out
}

// WriteOptions tune the writers; the zero value gives the defaults.
type WriteOptions struct {
	// RowGroupBytes cuts a Parquet row group once about this many bytes
	// (uncompressed) are buffered; default 64 MiB. The writer holds about
	// one row group.
	RowGroupBytes int64
	// BatchRows is the most rows per Arrow record batch; default 65536.
	BatchRows int
	// BatchBytes ends an Arrow record batch early once about this many
	// bytes are buffered; default 16 MiB. The writer holds about one batch.
	BatchBytes int64
	// FeatureLosses adds the per-feature columns: feature_scores to
	// latents, feature_loss to step_losses.
	FeatureLosses bool
}

func (o WriteOptions) withDefaults() WriteOptions {
	if o.RowGroupBytes <= 0 {
		o.RowGroupBytes = 64 << 20
	}
	if o.BatchRows <= 0 {
		o.BatchRows = 1 << 16
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 16 << 20
	}
	return o
}

// outCol is one output column: a scalar of a Kind, or (list) a list of
// float32.
type outCol struct {
	name     string
	kind     schemas.Kind
	list     bool
	nullable bool
}

// cell is one value of a row being written.
type cell struct {
	v    schemas.Value
	list []float32
}

// backend writes rows of a table in one format.
type backend interface {
	write(row []cell) error
	close() error
	abort()
}

// stepWriter is a backend that writes step_losses rows (without feature
// losses) from a sequence's losses, without cells.
type stepWriter interface {
	writeSteps(id schemas.Value, losses []float32) error
}

// table is the format-independent half of every writer.
type table struct {
	cols   []outCol
	be     backend // nil once closed or aborted
	w      storage.Writer
	row    []cell
	err    error // stops writes: the first error, or that the writer is done
	result error // what Close returns once the writer is done
	rows   int64
}

func newTable(ctx context.Context, store storage.Store, name string, format Format, cols []outCol, meta Meta, opt WriteOptions) (*table, error) {
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c.name] {
			return nil, fmt.Errorf("%s: two columns named %q", name, c.name)
		}
		seen[c.name] = true
	}
	w, err := store.Create(ctx, name)
	if err != nil {
		return nil, err
	}
	opt = opt.withDefaults()
	t := &table{cols: cols, w: w, row: make([]cell, len(cols))}
	switch format {
	case Parquet:
		t.be, err = newParquetBackend(w, cols, meta, opt)
	case Arrow:
		t.be, err = newArrowBackend(w, cols, meta, opt)
	default:
		err = fmt.Errorf("unknown output format %q", format)
	}
	if err != nil {
		w.Abort()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

// fail records a rejected row: the file is then discarded by Close, so a
// caller that ignores the error cannot publish a table missing rows.
func (t *table) fail(err error) error {
	if t.err == nil {
		t.err = err
	}
	return err
}

func (t *table) put() error {
	if t.err != nil {
		return t.err
	}
	if t.err = t.be.write(t.row); t.err != nil {
		return t.err
	}
	t.rows++
	return nil
}

// Close finishes the file and publishes it. After an earlier error it
// discards the file and returns that error. Calling it again returns what
// the first call returned; after Abort it returns an error.
func (t *table) Close() error {
	if t.be == nil {
		return t.result
	}
	t.result = t.finish()
	t.be = nil
	t.err = t.result
	if t.result == nil {
		t.err = errors.New("writer is closed")
	}
	return t.result
}

func (t *table) finish() error {
	if t.err != nil {
		t.be.abort()
		t.w.Abort()
		return t.err
	}
	if err := t.be.close(); err != nil {
		t.w.Abort()
		return err
	}
	return t.w.Close()
}

// Abort discards the file; it does nothing after Close, so it can be
// deferred.
func (t *table) Abort() {
	if t.be == nil {
		return
	}
	t.be.abort()
	t.be = nil
	t.w.Abort()
	t.err = errors.New("writer is aborted")
	t.result = t.err
}

// Rows is the number of rows written so far.
func (t *table) Rows() int64 { return t.rows }

// LatentRow is one row of the latents table.
type LatentRow struct {
	ID     schemas.Value
	Length int32
	Latent []float32
	Score  float32
	Pass   []schemas.Value // in the order of the pass Fields the writer was made with
	// Percentile (0..100) places Score among the model's validation scores
	// of its length; Anomaly is Percentile >= the job's threshold. Both are
	// null when Calibrated is false (a model without calibration).
	Percentile float32
	Anomaly    bool
	Calibrated bool
	// FeatureScores is the mean squared error per feature over the
	// sequence; written when the writer has WriteOptions.FeatureLosses.
	FeatureScores []float32
}

// LatentsWriter writes the latents table: id, length int32, latent
// list<float32>, score float32, percentile float32 (nullable), anomaly bool
// (nullable), with WriteOptions.FeatureLosses feature_scores list<float32>,
// then the pass-through columns.
type LatentsWriter struct {
	*table
	fixed int // columns before the pass-through ones
}

// NewLatentsWriter starts writing the latents table to name. id and pass
// give the id and pass-through columns (Input.IDField, Input.PassFields).
func NewLatentsWriter(ctx context.Context, store storage.Store, name string, format Format, id schemas.Field, pass []schemas.Field, meta Meta, opt WriteOptions) (*LatentsWriter, error) {
	cols := []outCol{{name: id.Name, kind: id.Kind}, {name: "length", kind: schemas.Int32}, {name: "latent", list: true}, {name: "score", kind: schemas.Float32},
		{name: "percentile", kind: schemas.Float32, nullable: true}, {name: "anomaly", kind: schemas.Bool, nullable: true}}
	if opt.FeatureLosses {
		cols = append(cols, outCol{name: "feature_scores", list: true})
	}
	fixed := len(cols)
	for _, f := range pass {
		cols = append(cols, outCol{name: f.Name, kind: f.Kind, nullable: true})
	}
	t, err := newTable(ctx, store, name, format, cols, meta, opt)
	if err != nil {
		return nil, err
	}
	return &LatentsWriter{t, fixed}, nil
}

// Write appends one row. An error (also from a bad row) makes Close
// discard the file.
func (w *LatentsWriter) Write(r LatentRow) error {
	if len(r.Pass) != len(w.cols)-w.fixed {
		return w.fail(fmt.Errorf("latents: row has %d pass-through values, want %d", len(r.Pass), len(w.cols)-w.fixed))
	}
	if r.ID.Null {
		return w.fail(errors.New("latents: null id"))
	}
	w.row[0] = cell{v: r.ID}
	w.row[1] = cell{v: schemas.Value{Int: int64(r.Length)}}
	w.row[2] = cell{list: r.Latent}
	w.row[3] = cell{v: schemas.Value{Float: float64(r.Score)}}
	w.row[4] = cell{v: schemas.Value{Float: float64(r.Percentile), Null: !r.Calibrated}}
	w.row[5] = cell{v: schemas.Value{Null: !r.Calibrated}}
	if r.Anomaly {
		w.row[5].v.Int = 1
	}
	if w.fixed > 6 {
		if len(r.FeatureScores) == 0 {
			return w.fail(errors.New("latents: row has no feature scores"))
		}
		w.row[6] = cell{list: r.FeatureScores}
	}
	for i, v := range r.Pass {
		w.row[w.fixed+i] = cell{v: v}
	}
	return w.put()
}

// StepLossesWriter writes the step_losses table: id, step int32, loss
// float32 and, with WriteOptions.FeatureLosses, feature_loss
// list<float32>; one row per real step.
type StepLossesWriter struct{ *table }

// NewStepLossesWriter starts writing the step_losses table to name.
func NewStepLossesWriter(ctx context.Context, store storage.Store, name string, format Format, id schemas.Field, meta Meta, opt WriteOptions) (*StepLossesWriter, error) {
	cols := []outCol{{name: id.Name, kind: id.Kind}, {name: "step", kind: schemas.Int32}, {name: "loss", kind: schemas.Float32}}
	if opt.FeatureLosses {
		cols = append(cols, outCol{name: "feature_loss", list: true})
	}
	t, err := newTable(ctx, store, name, format, cols, meta, opt)
	if err != nil {
		return nil, err
	}
	return &StepLossesWriter{t}, nil
}

// Write appends one row per step loss of a sequence: steps 0..len(losses)-1.
func (w *StepLossesWriter) Write(id schemas.Value, losses []float32) error {
	return w.WriteFeatures(id, losses, nil)
}

// WriteFeatures is Write with each step's per-feature losses, (steps,
// features) row-major, for a writer with WriteOptions.FeatureLosses.
func (w *StepLossesWriter) WriteFeatures(id schemas.Value, losses, features []float32) error {
	if id.Null {
		return w.fail(errors.New("step_losses: null id"))
	}
	withFeatures := len(w.cols) > 3
	if withFeatures != (features != nil) || (withFeatures && (len(losses) == 0 || len(features)%len(losses) != 0)) {
		return w.fail(fmt.Errorf("step_losses: %d feature losses for %d steps (feature columns: %v)", len(features), len(losses), withFeatures))
	}
	if sw, ok := w.be.(stepWriter); ok && !withFeatures && w.err == nil {
		// The per-step rows go straight to the Parquet columns.
		if w.err = sw.writeSteps(id, losses); w.err != nil {
			return w.err
		}
		w.rows += int64(len(losses))
		return nil
	}
	dim := 0
	if withFeatures {
		dim = len(features) / len(losses)
	}
	for t, l := range losses {
		w.row[0] = cell{v: id}
		w.row[1] = cell{v: schemas.Value{Int: int64(t)}}
		w.row[2] = cell{v: schemas.Value{Float: float64(l)}}
		if withFeatures {
			w.row[3] = cell{list: features[t*dim : (t+1)*dim]}
		}
		if err := w.put(); err != nil {
			return err
		}
	}
	return nil
}

// QuarantineWriter writes the quarantine table: source_file string, row
// int64, id string (null when unreadable), reason string, detail string.
type QuarantineWriter struct{ *table }

// NewQuarantineWriter starts writing the quarantine table to name.
func NewQuarantineWriter(ctx context.Context, store storage.Store, name string, format Format, meta Meta, opt WriteOptions) (*QuarantineWriter, error) {
	cols := []outCol{{name: "source_file", kind: schemas.String}, {name: "row", kind: schemas.Int64}, {name: "id", kind: schemas.String, nullable: true}, {name: "reason", kind: schemas.String}, {name: "detail", kind: schemas.String}}
	t, err := newTable(ctx, store, name, format, cols, meta, opt)
	if err != nil {
		return nil, err
	}
	return &QuarantineWriter{t}, nil
}

// Write appends one record.
func (w *QuarantineWriter) Write(q schemas.Quarantine) error {
	w.row[0] = cell{v: schemas.Value{Str: q.Src.File}}
	w.row[1] = cell{v: schemas.Value{Int: q.Src.Row}}
	w.row[2] = cell{v: schemas.Value{Str: q.ID, Null: q.IDNull}}
	w.row[3] = cell{v: schemas.Value{Str: string(q.Reason)}}
	w.row[4] = cell{v: schemas.Value{Str: q.Detail}}
	return w.put()
}

// MetricsRow is one epoch of training.
type MetricsRow struct {
	Epoch         int32
	TrainLoss     float64
	ValLoss       float64
	HasValLoss    bool // false writes val_loss as null (no validation split)
	SequencesPerS float64
	Seconds       float64
}

// MetricsWriter writes the metrics table: epoch int32, train_loss float64,
// val_loss float64 (nullable), sequences_per_s float64, seconds float64.
type MetricsWriter struct{ *table }

// NewMetricsWriter starts writing the metrics table to name.
func NewMetricsWriter(ctx context.Context, store storage.Store, name string, format Format, meta Meta, opt WriteOptions) (*MetricsWriter, error) {
	cols := []outCol{{name: "epoch", kind: schemas.Int32}, {name: "train_loss", kind: schemas.Float64}, {name: "val_loss", kind: schemas.Float64, nullable: true}, {name: "sequences_per_s", kind: schemas.Float64}, {name: "seconds", kind: schemas.Float64}}
	t, err := newTable(ctx, store, name, format, cols, meta, opt)
	if err != nil {
		return nil, err
	}
	return &MetricsWriter{t}, nil
}

// Write appends one row.
func (w *MetricsWriter) Write(m MetricsRow) error {
	w.row[0] = cell{v: schemas.Value{Int: int64(m.Epoch)}}
	w.row[1] = cell{v: schemas.Value{Float: m.TrainLoss}}
	w.row[2] = cell{v: schemas.Value{Float: m.ValLoss, Null: !m.HasValLoss}}
	w.row[3] = cell{v: schemas.Value{Float: m.SequencesPerS}}
	w.row[4] = cell{v: schemas.Value{Float: m.Seconds}}
	return w.put()
}
