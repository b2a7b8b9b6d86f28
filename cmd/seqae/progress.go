package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/seqae/seqae/jobs"
)

// bars draws a run's progress on a terminal: a bar of rows read for each
// pass over the input, and one of epochs while training.
type bars struct {
	w   io.Writer
	key string
	cur *progressbar.ProgressBar
}

func (b *bars) event(e jobs.Event) {
	if m := e.Epoch; m != nil {
		b.show(e.Phase+" epochs", int64(e.Epochs), e.Phase+": epochs")
		desc := fmt.Sprintf("train: epoch %d, loss %.4f", m.Epoch, m.TrainLoss)
		if m.HasVal {
			desc += fmt.Sprintf(", val %.4f", m.ValLoss)
		}
		b.cur.Describe(desc)
		b.cur.Set(m.Epoch)
		return
	}
	total := e.TotalRows
	if total == 0 {
		total = -1 // a spinner
	}
	b.show(e.Phase+" rows", total, e.Phase+": rows read")
	b.cur.Set64(e.Rows)
}

// show makes the bar for key the current one.
func (b *bars) show(key string, total int64, desc string) {
	if b.key == key {
		return
	}
	b.done()
	b.key = key
	b.cur = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.w) }),
	)
}

// done leaves the current bar where it got to (an early stop does not fill
// the epochs bar).
func (b *bars) done() {
	if b.cur == nil {
		return
	}
	if !b.cur.IsFinished() {
		b.cur.Exit()
		fmt.Fprintln(b.w)
	}
	b.cur, b.key = nil, ""
}

// logProgress logs progress events as lines (epochs are logged by the job
// itself).
func logProgress(log *slog.Logger) func(jobs.Event) {
	return func(e jobs.Event) {
		if e.Epoch != nil {
			return
		}
		attrs := []any{"phase", e.Phase, "rows", e.Rows, "elapsed_s", e.Snapshot.Elapsed.Round(time.Millisecond).Seconds()}
		if e.TotalRows > 0 {
			attrs = append(attrs, "total_rows", e.TotalRows)
		}
		log.Info("progress", attrs...)
	}
}
