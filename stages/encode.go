package stages

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/pipeline"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/read"
	"github.com/seqae/seqae/schemas/write"
)

// Counts are a run's row accounting, as its manifest reports it. Sequences
// (input rows for the nested and columns layouts, ids for the long layout)
// always equal Encoded + Quarantined once a run has finished.
type Counts struct {
	Rows        int64                    `json:"rows_in"`        // input rows read
	Sequences   int64                    `json:"sequences_in"`   // input sequences
	Encoded     int64                    `json:"sequences_out"`  // rows written to latents (or used for training)
	Quarantined int64                    `json:"quarantined"`    // rows written to quarantine
	StepRows    int64                    `json:"step_loss_rows"` // rows written to step_losses
	Reasons     map[schemas.Reason]int64 `json:"quarantined_by"` // quarantined rows by reason
	Batches     int64                    `json:"batches"`        // batches run through the model
	PaddedSteps int64                    `json:"padded_steps"`   // batch cells that were padding (B*T - real steps)
	// MaxHeld is the most valid sequences held at once between reading and
	// writing: bounded by the batching and the read-ahead, not by the input.
	MaxHeld int64 `json:"max_sequences_held"`
	// Examples are the first quarantined rows (at most MaxExamples), to
	// say why in an error.
	Examples []schemas.Quarantine `json:"-"`
}

// MaxExamples is the most quarantined rows Counts.Examples keeps.
const MaxExamples = 5

// Quarantine counts a quarantined row.
func (c *Counts) Quarantine(q schemas.Quarantine) {
	if c.Reasons == nil {
		c.Reasons = map[schemas.Reason]int64{}
	}
	c.Quarantined++
	c.Reasons[q.Reason]++
	if len(c.Examples) < MaxExamples {
		c.Examples = append(c.Examples, q)
	}
}

// Balanced reports whether every input sequence was accounted for.
func (c Counts) Balanced() bool { return c.Sequences == c.Encoded+c.Quarantined }

// Source says what to read and how to check it.
type Source struct {
	Input      *read.Input
	Units      []read.Unit          // the units to read, e.g. a shard of Input.Units()
	Duplicates read.DuplicatePolicy // quarantine (default) or keep repeated ids
	Readers    int                  // decoding goroutines; default 2; the output does not depend on it
}

// EncodeJob is everything Encode needs.
type EncodeJob struct {
	Source
	Model    *nn.Model
	Norm     Normalizer
	Batching BatchConfig
	Workers  int // encoding goroutines, each with its own workspace; default 1

	Latents    *write.LatentsWriter
	StepLosses *write.StepLossesWriter // nil: no step_losses table
	Quarantine *write.QuarantineWriter

	// Calibration places each score among the model's validation scores
	// (LatentRow.Percentile); nil leaves percentile and anomaly null.
	// AnomalyPercentile is the percentile from which a sequence is an
	// anomaly; default 99.
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

// readStage adds the read and validate stages: decoded rows in unit order,
// then duplicates found, quarantine records written (when q is not nil) and
// counted; valid sequences come out in input order.
//
// held, when not nil, counts the valid sequences read and not yet released
// by the caller; counts.MaxHeld tracks its peak.
func readStage(p *pipeline.Pipeline, src Source, q *write.QuarantineWriter, counts *Counts, held *atomic.Int64) *pipeline.Stream[*schemas.Sequence] {
	readers := src.Readers
	if readers <= 0 {
		readers = 2
	}
	rows := pipeline.AddSource(p, "read", 1, pipeline.Generate(func(ctx context.Context, emit func(Row) error) error {
		return ReadOrdered(ctx, src.Input, src.Units, readers, func(c Chunk) error {
			for _, r := range c.Rows {
				if r.Seq != nil && held != nil {
					counts.MaxHeld = max(counts.MaxHeld, held.Add(1))
				}
				if err := emit(r); err != nil {
					return err
				}
			}
			if c.Stats != nil {
				counts.Rows += c.Stats.Rows
				counts.Sequences += c.Stats.Groups
			}
			return nil
		})
	}))
	dedup := read.NewDedup(src.Input.IDField().Kind)
	keep := src.Duplicates == read.KeepDuplicates
	counts.Reasons = map[schemas.Reason]int64{}
	return pipeline.AddStage(p, "validate", 1, rows, pipeline.FlatMap(func(ctx context.Context, r Row, emit func(*schemas.Sequence) error) error {
		rec := r.Quarantine
		if rec == nil && !keep {
			if dup, isDup := dedup.Check(r.Seq); isDup {
				rec = &dup
			}
		}
		if rec == nil {
			return emit(r.Seq)
		}
		if r.Seq != nil && held != nil {
			held.Add(-1)
		}
		pipeline.Quarantine(ctx)
		counts.Quarantine(*rec)
		if q == nil {
			return nil
		}
		if err := q.Write(*rec); err != nil {
			return pipeline.Errorf(rec.Src, "writing quarantine: %w", err)
		}
		return nil
	}, nil))
}

// normaliseStage applies norm to every sequence, in place.
func normaliseStage(p *pipeline.Pipeline, in *pipeline.Stream[*schemas.Sequence], norm Normalizer) *pipeline.Stream[*schemas.Sequence] {
	return pipeline.AddStage(p, "normalise", 1, in, pipeline.Map(func(_ context.Context, s *schemas.Sequence) (*schemas.Sequence, error) {
		norm.Apply(s.Values)
		return s, nil
	}))
}

// bucketStage cuts sequences into batches; each batch takes a token
// before it leaves.
func bucketStage(p *pipeline.Pipeline, in *pipeline.Stream[*schemas.Sequence], b *Batcher, tokens chan struct{}) *pipeline.Stream[*Batch] {
	return pipeline.AddStage(p, "bucket", 1, in, func(ctx context.Context, in <-chan *schemas.Sequence, out chan<- *Batch) error {
		emit := func(x *Batch) error {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			return pipeline.Send(ctx, out, x)
		}
		for s := range pipeline.Receive(ctx, in) {
			if err := b.Add(s, emit); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return b.Flush(emit)
	})
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
	seqs := readStage(p, job.Source, job.Quarantine, &counts, &held)
	// Batches leaving the bucket stage take a token, in batch order, that the
	// writer returns, so that the writer's reordering holds a bounded number
	// of batches however unequal their costs.
	workers := max(job.Workers, 1)
	tokens := make(chan struct{}, 4*workers)
	batches := bucketStage(p, normaliseStage(p, seqs, job.Norm), batcher, tokens)
	encoded := pipeline.AddStage(p, "encode", workers, batches, func(ctx context.Context, in <-chan *Batch, out chan<- *Encoded) error {
		enc := NewEncoder(job.Model)
		enc.SetFeatureLosses(job.FeatureLosses)
		for b := range pipeline.Receive(ctx, in) {
			if err := pipeline.Send(ctx, out, enc.Encode(b)); err != nil {
				return err
			}
		}
		return nil
	})
	idKind := job.Input.IDField().Kind
	threshold := job.AnomalyPercentile
	if threshold <= 0 {
		threshold = 99
	}
	pending := map[int64]*Encoded{}
	var next int64
	write := func(e *Encoded) error {
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
		<-tokens
		return nil
	}
	pipeline.AddSink(p, "write", 1, encoded, pipeline.ForEach(func(_ context.Context, e *Encoded) error {
		pending[e.Batch.Index] = e
		for e := pending[next]; e != nil; e = pending[next] {
			delete(pending, next)
			next++
			if err := write(e); err != nil {
				return err
			}
		}
		return nil
	}))
	err = p.Wait()
	return counts, p.Snapshot(), err
}
