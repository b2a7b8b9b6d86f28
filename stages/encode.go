package stages

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/pipeline"
	"github.com/seqae/seqae/schemas/write"
)

// EncodeJob is everything Encode needs.
type EncodeJob struct {
	ReadSpec
	Model    *nn.Model
	Norm     Normalizer
	Batching BatchConfig
	Workers  int // encoding goroutines, each with its own workspace; default DefaultWorkers

	// Outputs are the tables Encode writes: Latents (required), StepLosses
	// ("" for none) and Quarantine ("" keeps no quarantine rows).
	Outputs Outputs

	// Calibration places each score among the model's validation scores
	// (LatentRow.Percentile); nil leaves percentile and anomaly null.
	// AnomalyPercentile is the percentile from which a sequence is an
	// anomaly; default DefaultAnomalyPercentile.
	Calibration       *Calibration
	AnomalyPercentile float64
	// Observe, when set, sees every latents row as it is written, in
	// output order.
	Observe func(write.LatentRow)
	// FeatureLosses writes latents' feature_scores and step_losses'
	// feature_loss (it sets Outputs.Options.FeatureLosses).
	FeatureLosses bool

	// Progress, when set, is called about every ProgressEvery (default 1s)
	// and at the end with the pipeline's counters.
	Progress      func(pipeline.Snapshot)
	ProgressEvery time.Duration
}

// Encode reads the job's input, encodes every valid sequence and writes
// its latent, score and step losses; bad rows go to quarantine. It holds
// at most the batcher's MaxHeld sequences and MaxHeldValues values in open
// buckets, plus the read-ahead, whatever the input's size.
// The output's row order depends only on the input and the batching, not
// on the number of goroutines. Encode owns its output writers (see
// Outputs): it closes them when it succeeds and aborts them when it fails.
func Encode(ctx context.Context, job EncodeJob) (EncodeResult, error) {
	var res EncodeResult
	if err := job.Model.Config.Validate(); err != nil {
		return res, err
	}
	if I := job.Model.Config.InputDim; job.Input.Dim() != I || job.Norm.Dim() != I {
		return res, fmt.Errorf("the model takes %d features per step, the input has %d and the normaliser %d",
			I, job.Input.Dim(), job.Norm.Dim())
	}
	batcher, err := NewBatcher(job.Batching)
	if err != nil {
		return res, err
	}
	w, err := openEncodeOutputs(ctx, job)
	if err != nil {
		return res, err
	}
	defer w.abort()
	counts := &res.Counts
	p := newPipeline(ctx, job.Progress, job.ProgressEvery)
	var held atomic.Int64
	seqs := readStage(p, job.ReadSpec, w.quarantine, counts, &held)
	// The encode stage hands the batches on in the order they came, however
	// unequal their costs, holding a bounded number (pipeline.Ordered).
	workers := job.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	batches := bucketStage(p, normaliseStage(p, seqs, job.Norm), batcher)
	encoders := make([]*Encoder, workers)
	encoded := pipeline.AddOrdered(p, "encode", workers, batches, func(_ context.Context, w int, b *Batch, emit func(*Encoded) error) error {
		if encoders[w] == nil {
			encoders[w] = NewEncoder(job.Model)
			encoders[w].SetFeatureLosses(job.FeatureLosses)
		}
		return emit(encoders[w].Encode(b))
	})
	idKind := job.Input.IDField().Kind
	threshold := job.AnomalyPercentile
	if threshold <= 0 {
		threshold = DefaultAnomalyPercentile
	}
	pipeline.AddSink(p, "write", 1, encoded, pipeline.ForEach(func(_ context.Context, e *Encoded) error {
		counts.Batches++
		for i, s := range e.Batch.Seqs {
			row := write.LatentRow{ID: s.ID, Length: int32(s.Len), Latent: e.Latent(i), Score: e.Scores[i], Pass: s.Pass}
			if job.FeatureLosses {
				row.FeatureScores = e.FeatureScores[i]
			}
			if job.Calibration != nil {
				row.Percentile = job.Calibration.Percentile(row.Score, s.Len)
				row.Anomaly, row.Calibrated = float64(row.Percentile) >= threshold, true
			}
			if job.Observe != nil {
				job.Observe(row)
			}
			if err := w.latents.Write(row); err != nil {
				return pipeline.Errorf(s.Src.WithID(s.ID.Format(idKind)), "writing latents: %w", err)
			}
			counts.Encoded++
			if w.steps == nil {
				continue
			}
			var features []float32
			if job.FeatureLosses {
				features = e.Features[i]
			}
			if err := w.steps.WriteFeatures(s.ID, e.Losses[i], features); err != nil {
				return pipeline.Errorf(s.Src.WithID(s.ID.Format(idKind)), "writing step_losses: %w", err)
			}
			counts.StepRows += int64(len(e.Losses[i]))
		}
		held.Add(-int64(len(e.Batch.Seqs)))
		return nil
	}))
	err = p.Wait()
	res.Snapshot = p.Snapshot()
	if err != nil {
		return res, err
	}
	res.Written, err = w.close()
	return res, err
}

// EncodeResult is what Encode did.
type EncodeResult struct {
	Counts   Counts
	Snapshot pipeline.Snapshot // the pipeline's counters at the end
	Written  Written           // the rows in each table written
}

// encodeWriters are Encode's open output tables; steps and quarantine are
// nil when not written.
type encodeWriters struct {
	latents    *write.LatentsWriter
	steps      *write.StepLossesWriter
	quarantine *write.QuarantineWriter
}

// openEncodeOutputs opens the job's output tables; on an error it aborts
// those it opened.
func openEncodeOutputs(ctx context.Context, job EncodeJob) (_ *encodeWriters, err error) {
	o := job.Outputs
	o.Options.FeatureLosses = job.FeatureLosses
	w := &encodeWriters{}
	defer func() {
		if err != nil {
			w.abort()
		}
	}()
	if w.latents, err = write.NewLatentsWriter(ctx, o.Store, o.Latents, o.Format, job.Input.IDField(), job.Input.PassFields(), o.Meta, o.Options); err != nil {
		return nil, err
	}
	if w.quarantine, err = o.quarantine(ctx); err != nil {
		return nil, err
	}
	if o.StepLosses != "" {
		if w.steps, err = write.NewStepLossesWriter(ctx, o.Store, o.StepLosses, o.Format, job.Input.IDField(), o.Meta, o.Options); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// close closes (publishes) the tables and returns their rows; abort
// discards those not closed, so it can be deferred.
func (w *encodeWriters) close() (Written, error) {
	var n Written
	if w.quarantine != nil {
		if err := w.quarantine.Close(); err != nil {
			return n, err
		}
		n.Quarantine = w.quarantine.Rows()
	}
	if w.steps != nil {
		if err := w.steps.Close(); err != nil {
			return n, err
		}
		n.StepLosses = w.steps.Rows()
	}
	if err := w.latents.Close(); err != nil {
		return n, err
	}
	n.Latents = w.latents.Rows()
	return n, nil
}

func (w *encodeWriters) abort() {
	if w.latents != nil {
		w.latents.Abort()
	}
	if w.steps != nil {
		w.steps.Abort()
	}
	if w.quarantine != nil {
		w.quarantine.Abort()
	}
}
