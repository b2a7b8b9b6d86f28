package stages

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

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

// chunkRows is the most rows a Chunk holds.
const chunkRows = 256

// ReadOrdered decodes units on `workers` goroutines and hands their output
// to emit in unit order and, within a unit, in input order, so what emit
// sees does not depend on the number of workers. emit is called from one
// goroutine at a time. Decoding runs ahead of emit by at most about
// `workers` units of a few chunks each, so memory stays bounded whatever the
// input's size.
func ReadOrdered(ctx context.Context, in *read.Input, units []read.Unit, workers int, emit func(Chunk) error) error {
	g, ctx := errgroup.WithContext(ctx)
	chans := make([]chan Chunk, len(units))
	for i := range chans {
		chans[i] = make(chan Chunk, 2)
	}
	workers = max(workers, 1)
	// A worker takes a token before it takes the next unit and the consumer
	// returns it when it has emitted a unit, so at most workers+1 units are
	// decoded and not yet emitted.
	tokens := make(chan struct{}, workers+1)
	var next atomic.Int64
	for range workers {
		g.Go(func() (err error) {
			defer recoverTo(&err)
			for {
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
					return ctx.Err()
				}
				i := int(next.Add(1) - 1)
				if i >= len(units) {
					return nil
				}
				if err := decodeUnit(ctx, in, units[i], i, chans[i]); err != nil {
					return err
				}
			}
		})
	}
	g.Go(func() (err error) {
		defer recoverTo(&err)
		for i := range units {
			for {
				var c Chunk
				var ok bool
				select {
				case c, ok = <-chans[i]:
				case <-ctx.Done():
					return ctx.Err()
				}
				if !ok {
					<-tokens
					break
				}
				if err := emit(c); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return g.Wait()
}

// decodeUnit decodes unit u into chunks sent on out, then closes out.
func decodeUnit(ctx context.Context, in *read.Input, u read.Unit, i int, out chan<- Chunk) error {
	cur := Chunk{Unit: i}
	send := func(c Chunk) error {
		select {
		case out <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	add := func(r Row) error {
		cur.Rows = append(cur.Rows, r)
		if len(cur.Rows) < chunkRows {
			return nil
		}
		c := cur
		cur = Chunk{Unit: i}
		return send(c)
	}
	st, err := in.ReadUnit(ctx, u, read.Sink{
		Sequence:   func(s *schemas.Sequence) error { return add(Row{Seq: s}) },
		Quarantine: func(q schemas.Quarantine) error { return add(Row{Quarantine: &q}) },
	})
	if err != nil {
		return err
	}
	cur.Stats = &st
	if err := send(cur); err != nil {
		return err
	}
	close(out)
	return nil
}

// recoverTo turns a panic of the calling goroutine into *err.
func recoverTo(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
	}
}
