package stages

import (
	"context"

	"github.com/seqae/seqae/pipeline"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/read"
)

// Row is one decoded input row (for the long layout, one id's rows): a
// valid sequence or a quarantine record.
type Row struct {
	Seq        *schemas.Sequence
	Quarantine *schemas.Quarantine
}

// Chunk is a piece of one unit's decoded output, in input order.
type Chunk struct {
	Unit  int // index into the units given to ReadOrdered
	Rows  []Row
	Stats *read.Stats // set on the unit's last chunk: the unit's counts
}

// chunkRows is the most rows a Chunk holds: a default batch's worth, so
// that the model starts on the first batch as soon as its rows are
// decoded (with 256, the workload's first batch of 64 waited 4 to 20 ms
// for the rest of its chunk).
const chunkRows = DefaultBatchSize

// ReadOrdered decodes units on `workers` goroutines and hands their output
// to emit in unit order and, within a unit, in input order
// (pipeline.Ordered), so what emit sees does not depend on the number of
// workers. emit is called from one goroutine at a time. Decoding runs ahead
// of emit by at most workers+1 units of a few chunks each, so memory stays
// bounded whatever the input's size.
func ReadOrdered(ctx context.Context, in *read.Input, units []read.Unit, workers int, emit func(Chunk) error) error {
	indexes := make(chan int, len(units))
	for i := range units {
		indexes <- i
	}
	close(indexes)
	return pipeline.Ordered(ctx, workers, indexes, func(ctx context.Context, _ int, i int, emit func(Chunk) error) error {
		return decodeUnit(ctx, in, units[i], i, emit)
	}, emit)
}

// decodeUnit decodes unit u, the i'th, into chunks of up to chunkRows rows,
// handed to emit in input order; the last carries the unit's counts.
func decodeUnit(ctx context.Context, in *read.Input, u read.Unit, i int, emit func(Chunk) error) error {
	cur := Chunk{Unit: i}
	add := func(r Row) error {
		cur.Rows = append(cur.Rows, r)
		if len(cur.Rows) < chunkRows {
			return nil
		}
		c := cur
		cur = Chunk{Unit: i}
		return emit(c)
	}
	st, err := in.ReadUnit(ctx, u, read.Sink{
		Sequence:   func(s *schemas.Sequence) error { return add(Row{Seq: s}) },
		Quarantine: func(q schemas.Quarantine) error { return add(Row{Quarantine: &q}) },
	})
	if err != nil {
		return err
	}
	cur.Stats = &st
	return emit(cur)
}
