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

	Latents    *write.LatentsWriter
	StepLosses *write.StepLossesWriter // nil: no step_losses table
	Quarantine *write.QuarantineWriter

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
	// feature_loss (the writers must have the columns).
	FeatureLosses bool

	// Progress, when set, is called about every ProgressEvery (default 1s)
	// and at the end with the pipeline's counters.
	Progress      func(pipeline.Snapshot)
	ProgressEvery time.Duration
}

// Encode reads the job's input, encodes every valid sequence and writes
// its latent, score and step losses; bad rows go to quarantine. It holds
// about (open buckets × batch size) sequences whatever the input's size.
// The output's row order depends only on the input and the batching, not
// on the number of goroutines. The writers are left open for the caller to
// commit or abort.
func Encode(ctx context.Context, job EncodeJob) (Counts, pipeline.Snapshot, error) {
	var counts Counts
	if err := job.Model.Config.Validate(); err != nil {
		return counts, pipeline.Snapshot{}, err
	}
	if I := job.Model.Config.InputDim; job.Input.Dim() != I || job.Norm.Dim() != I {
		return counts, pipeline.Snapshot{}, fmt.Errorf("the model takes %d features per step, the input has %d and the normaliser %d",
			I, job.Input.Dim(), job.Norm.Dim())
	}
	batcher, err := NewBatcher(job.Batching)
	if err != nil {
		return counts, pipeline.Snapshot{}, err
	}
	p := newPipeline(ctx, job.Progress, job.ProgressEvery)
	var held atomic.Int64
	seqs := readStage(p, job.ReadSpec, job.Quarantine, &counts, &held)
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
		counts.PaddedSteps += int64(len(e.Batch.Seqs)*e.Batch.T - e.Batch.Steps)
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
			if err := job.Latents.Write(row); err != nil {
				return pipeline.Errorf(s.Src.WithID(s.ID.Format(idKind)), "writing latents: %w", err)
			}
			counts.Encoded++
			if job.StepLosses == nil {
				continue
			}
			var features []float32
			if job.FeatureLosses {
				features = e.Features[i]
			}
			if err := job.StepLosses.WriteFeatures(s.ID, e.Losses[i], features); err != nil {
				return pipeline.Errorf(s.Src.WithID(s.ID.Format(idKind)), "writing step_losses: %w", err)
			}
			counts.StepRows += int64(len(e.Losses[i]))
		}
		held.Add(-int64(len(e.Batch.Seqs)))
		return nil
	}))
	err = p.Wait()
	return counts, p.Snapshot(), err
}
