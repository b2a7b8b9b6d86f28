package stages

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/seqae/seqae/pipeline"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/read"
	"github.com/seqae/seqae/schemas/write"
	"github.com/seqae/seqae/storage"
)

// The wiring that Encode and Train share: what to read, the row accounting,
// and the read, validate, normalise and bucket stages.

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

// ReadSpec says what to read and how to check it: the input, the units
// of it to read and the policy for repeated ids.
type ReadSpec struct {
	Input      *read.Input
	Units      []read.Unit          // the units to read, e.g. a shard of Input.Units()
	Duplicates read.DuplicatePolicy // quarantine (default) or keep repeated ids
	Readers    int                  // decoding goroutines; default DefaultReaders; the output does not depend on it
}

// Outputs says where and how a stage writes its tables: each table's file
// name in Store ("" writes no such table), in Format, with Meta in every
// file. Encode writes Latents, StepLosses and Quarantine; Train writes
// Quarantine only.
//
// The stage owns the writers: it opens them, writes them and, once it has
// written everything, closes them, which publishes the files
// (storage.Writer.Close). When it fails it aborts the writers still open
// (a failure while closing leaves those closed before it published).
// Callers that commit outputs atomically name files in a staging area that
// they commit or remove.
type Outputs struct {
	Store      storage.Store
	Format     write.Format
	Meta       write.Meta
	Options    write.WriteOptions
	Latents    string
	StepLosses string
	Quarantine string
}

// Written is the rows each table a stage wrote holds, as its writer counted
// them (0 for a table not written): callers check them against Counts.
type Written struct {
	Latents    int64
	StepLosses int64
	Quarantine int64
}

// quarantine opens the quarantine table, or returns nil when there is none.
func (o Outputs) quarantine(ctx context.Context) (*write.QuarantineWriter, error) {
	if o.Quarantine == "" {
		return nil, nil
	}
	return write.NewQuarantineWriter(ctx, o.Store, o.Quarantine, o.Format, o.Meta, o.Options)
}

// readStage adds the read and validate stages: decoded rows in unit order,
// then duplicates found, quarantine records written (when q is not nil) and
// counted; valid sequences come out in input order.
//
// held, when not nil, counts the valid sequences read and not yet released
// by the caller; counts.MaxHeld tracks its peak.
func readStage(p *pipeline.Pipeline, src ReadSpec, q *write.QuarantineWriter, counts *Counts, held *atomic.Int64) *pipeline.Stream[*schemas.Sequence] {
	readers := src.Readers
	if readers <= 0 {
		readers = DefaultReaders
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

// bucketStage cuts sequences into batches.
func bucketStage(p *pipeline.Pipeline, in *pipeline.Stream[*schemas.Sequence], b *Batcher) *pipeline.Stream[*Batch] {
	return pipeline.AddStage(p, "bucket", 1, in, func(ctx context.Context, in <-chan *schemas.Sequence, out chan<- *Batch) error {
		emit := func(x *Batch) error { return pipeline.Send(ctx, out, x) }
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

// newPipeline returns a pipeline that reports progress to progress, when
// set, about every `every` (default 1s).
func newPipeline(ctx context.Context, progress func(pipeline.Snapshot), every time.Duration) *pipeline.Pipeline {
	var opts []pipeline.Option
	if progress != nil {
		if every <= 0 {
			every = time.Second
		}
		opts = append(opts, pipeline.WithProgress(every, progress))
	}
	return pipeline.New(ctx, opts...)
}
