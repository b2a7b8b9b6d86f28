package stages

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/read"
	"github.com/seqae/seqae/schemas/write"
	"github.com/seqae/seqae/storage"
)

// heapPeak samples the live heap (as of the last collection) every millisecond until stop is called,
// which returns the highest reading in bytes.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// writeLocalInput writes seqs as a nested-layout file in dir and opens it
// from the local filesystem, so the input is not held in memory.
func writeLocalInput(t testing.TB, dir string, seqs []synth.Seq, rowGroup int) *read.Input {
	t.Helper()
	name := filepath.Join(dir, "in.parquet")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := synth.WriteNested(f, seqs, rowGroup); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	in, err := read.Open(context.Background(), storage.Local{}, []string{name}, schemas.Spec{Layout: schemas.Nested, Pass: []string{"machine"}})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// encodeLocal encodes in to Parquet files in dir and returns the counts.
func encodeLocal(t testing.TB, dir string, in *read.Input, m *nn.Model, workers int, batching BatchConfig) Counts {
	t.Helper()
	ctx := context.Background()
	res, err := Encode(ctx, EncodeJob{
		ReadSpec: ReadSpec{Input: in, Units: in.Units(), Readers: 2}, Model: m, Norm: Identity(in.Dim()),
		Batching: batching, Workers: workers,
		Outputs: Outputs{Store: storage.Local{}, Format: write.Parquet, Options: write.WriteOptions{RowGroupBytes: 1 << 20},
			Latents: filepath.Join(dir, "latents.parquet"), StepLosses: filepath.Join(dir, "steps.parquet"), Quarantine: filepath.Join(dir, "quarantine.parquet")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Counts
}

// Encoding holds a bounded number of sequences: about MaxHeld in open
// buckets plus the read-ahead of workers+1 units and the channel buffers,
// the same for an input ten times larger.
func TestEncodeHoldsBoundedSequences(t *testing.T) {
	m, _ := nn.NewModel(nn.Config{InputDim: 2, LatentDim: 8, DecoderHidden: 8, Head: nn.HeadLinear}, 1)
	held := map[int]int64{}
	const unit, batch, maxHeld = 100, 16, 256
	for _, n := range []int{1000, 10000} {
		dir := t.TempDir()
		in := writeLocalInput(t, dir, synth.Sensors(synth.Options{N: n, MinLen: 2, MaxLen: 60, Dim: 2, Seed: 1}), unit)
		c := encodeLocal(t, dir, in, m, 2, BatchConfig{BatchSize: batch, MaxHeld: maxHeld})
		held[n] = c.MaxHeld
		t.Logf("%5d sequences: at most %d held at once", n, c.MaxHeld)
	}
	bound := int64(maxHeld + (2+1+2)*unit + 8*batch)
	if held[10000] > bound || held[1000] > bound {
		t.Errorf("held up to %d and %d sequences, want at most %d", held[1000], held[10000], bound)
	}
}

// BenchmarkEncodeHeap encodes an input and one ten times larger from and
// to Parquet files and reports the peak live heap of each: it does not grow
// with the input. The heap is measured in one run before the timed ones,
// which run with the default GC and no sampling, for seq/s.
func BenchmarkEncodeHeap(b *testing.B) {
	m, _ := nn.NewModel(nn.Config{InputDim: 8, LatentDim: 8, DecoderHidden: 8, Head: nn.HeadLinear}, 1)
	for _, n := range []int{5000, 50000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			seqs := synth.Sensors(synth.Options{N: n, MinLen: 50, MaxLen: 200, Dim: 8, Seed: 1})
			var values int64
			for _, s := range seqs {
				values += int64(4 * 8 * len(s.Steps))
			}
			in := writeLocalInput(b, dir, seqs, 500)
			peak := func() uint64 {
				// Collect often, so the live heap is sampled as often in
				// the short run as in the long one.
				defer debug.SetGCPercent(debug.SetGCPercent(5))
				runtime.GC() // twice: what sync.Pools hold (the input writer's buffers) survives one
				runtime.GC()
				stop := heapPeak()
				encodeLocal(b, dir, in, m, 2, BatchConfig{})
				return stop()
			}()
			for b.Loop() {
				encodeLocal(b, dir, in, m, 2, BatchConfig{})
			}
			b.ReportMetric(float64(values)/(1<<20), "MiB-of-values")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "seq/s")
		})
	}
}

// BenchmarkEndToEnd runs torch_peer.py's workload (4096 sequences, I=8,
// L=H=64, batches of up to 64) from a Parquet file to Parquet outputs:
// encode (latents and step_losses) on one model goroutine and on two, and
// training; the model-only figures are nn's BenchmarkTorchWorkloadTrain and
// BenchmarkTorchWorkloadEncode.
//
// encode batches in arrival order, as a job does (64 batches of 64
// consecutive sequences); x10 is ten copies of the workload (40,960
// sequences). encode-exact batches by length, as encoding did before: the
// workload's 191 lengths never fill a batch of 64, so the batcher holds the
// whole input and the model waits for the read. train is Train with one
// epoch: the first read, the normaliser's fit, the epoch and the
// calibration pass; train-epoch is one epoch on the cached sequences alone,
// in whole batches (parts=1, as the model alone) and in Train's default two
// parts.
func BenchmarkEndToEnd(b *testing.B) {
	dir := b.TempDir()
	in := writeLocalInput(b, dir, synth.TorchWorkload(4096, 10, 200, 8, 0), 1024)
	dir10 := b.TempDir()
	in10 := sync.OnceValue(func() *read.Input {
		return writeLocalInput(b, dir10, synth.TorchWorkload(40960, 10, 200, 8, 0), 1024)
	})
	cfg := nn.Config{InputDim: 8, LatentDim: 64, DecoderHidden: 64, Head: nn.HeadLinear}
	m, _ := nn.NewModel(cfg, 1)
	arrival := BatchConfig{Mode: Arrival}
	for _, c := range []struct {
		name     string
		workers  int
		batching BatchConfig
		x10      bool
	}{
		{"encode", 1, arrival, false},
		{"encode-workers=2", 2, arrival, false},
		{"encode-x10", 1, arrival, true},
		{"encode-x10-workers=2", 2, arrival, true},
		{"encode-exact", 1, BatchConfig{}, false},
		{"encode-exact-x10", 1, BatchConfig{}, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			d, input, n := dir, in, 4096
			if c.x10 {
				d, input, n = dir10, in10(), 40960
			}
			var batches int64
			for b.Loop() {
				batches = encodeLocal(b, d, input, m, c.workers, c.batching).Batches
			}
			b.ReportMetric(float64(batches), "batches")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "seq/s")
		})
	}
	b.Run("train", func(b *testing.B) {
		for b.Loop() {
			_, err := Train(context.Background(), TrainJob{
				ReadSpec: ReadSpec{Input: in, Units: in.Units(), Readers: 2}, Model: cfg,
				Batching: BatchConfig{BatchSize: 64}, Train: TrainConfig{Epochs: 1, Workers: 1},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(4096*float64(b.N)/b.Elapsed().Seconds(), "seq/s")
	})
	for _, parts := range []int{1, 2} {
		b.Run(fmt.Sprintf("train-epoch/parts=%d", parts), func(b *testing.B) {
			seqs := torchSequences()
			tr := NewTrainer(m.Clone(), DefaultLR, 0, parts, 1)
			step := func(x *Batch) error { tr.Step(x); return nil }
			epoch := uint64(0)
			for b.Loop() {
				epoch++
				err := cachedEpoch(context.Background(), BatchConfig{BatchSize: 64}, seqs, nil, rand.New(rand.NewPCG(1, epoch)), tr.Reserve, step, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(4096*float64(b.N)/b.Elapsed().Seconds(), "seq/s")
		})
	}
}

// torchSequences is torch_peer.py's workload as the sequences a first read
// caches (the normaliser the identity).
func torchSequences() []*schemas.Sequence {
	var seqs []*schemas.Sequence
	for i, s := range synth.TorchWorkload(4096, 10, 200, 8, 0) {
		q := &schemas.Sequence{ID: schemas.Value{Int: int64(i)}, Len: len(s.Steps), Dim: 8}
		for _, st := range s.Steps {
			q.Values = append(q.Values, st...)
		}
		seqs = append(seqs, q)
	}
	return seqs
}

// BenchmarkEncodeBatches prices the batching for the model alone:
// torch_peer.py's workload encoded in the batches BatchAll cuts with
// everything in memory (191 of one length each, as nn's
// BenchmarkTorchWorkloadEncode), in those the streaming Batcher cuts
// holding 1,024 sequences, the default before it was 64 batches (478), and
// in arrival order, as a job encodes (64 of 64 consecutive sequences).
func BenchmarkEncodeBatches(b *testing.B) {
	m, _ := nn.NewModel(nn.Config{InputDim: 8, LatentDim: 64, DecoderHidden: 64, Head: nn.HeadLinear}, 1)
	seqs := torchSequences()
	all, err := BatchAll(BatchConfig{}, seqs)
	if err != nil {
		b.Fatal(err)
	}
	stream := func(cfg BatchConfig) []*Batch {
		bt, _ := NewBatcher(cfg)
		var out []*Batch
		emit := func(x *Batch) error { out = append(out, x); return nil }
		for _, s := range seqs {
			if err := bt.Add(s, emit); err != nil {
				b.Fatal(err)
			}
		}
		if err := bt.Flush(emit); err != nil {
			b.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		name    string
		batches []*Batch
	}{{"all", all}, {"streamed", stream(BatchConfig{MaxHeld: 1024})}, {"arrival", stream(BatchConfig{Mode: Arrival})}} {
		b.Run(fmt.Sprintf("%s/batches=%d", c.name, len(c.batches)), func(b *testing.B) {
			e := NewEncoder(m)
			for b.Loop() {
				for _, x := range c.batches {
					e.Encode(x)
				}
			}
			b.ReportMetric(4096*float64(b.N)/b.Elapsed().Seconds(), "seq/s")
		})
	}
	// Two goroutines taking the arrival batches in turn, each with its own
	// encoder, as Encode's two workers do: the model alone beside
	// BenchmarkEndToEnd's encode-workers=2.
	arrival := stream(BatchConfig{Mode: Arrival})
	b.Run(fmt.Sprintf("arrival-workers=2/batches=%d", len(arrival)), func(b *testing.B) {
		encoders := []*Encoder{NewEncoder(m), NewEncoder(m)}
		for b.Loop() {
			var next atomic.Int64
			var wg sync.WaitGroup
			for _, e := range encoders {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(len(arrival)); i = next.Add(1) - 1 {
						e.Encode(arrival[i])
					}
				})
			}
			wg.Wait()
		}
		b.ReportMetric(4096*float64(b.N)/b.Elapsed().Seconds(), "seq/s")
	})
}
