package stages

import (
	"context"

	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas"
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
func writeLocalInput(t testing.TB, dir string, seqs []synth.Seq, rowGroup int) *schemas.Input {
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
	in, err := schemas.Open(context.Background(), storage.Local{}, []string{name}, schemas.Spec{Layout: schemas.Nested, Pass: []string{"machine"}})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// encodeLocal encodes in to Parquet files in dir and returns the counts.
func encodeLocal(t testing.TB, dir string, in *schemas.Input, m *nn.Model, workers int) Counts {
	t.Helper()
	ctx := context.Background()
	opt := schemas.WriteOptions{RowGroupBytes: 1 << 20}
	lw, err := schemas.NewLatentsWriter(ctx, storage.Local{}, filepath.Join(dir, "latents.parquet"), schemas.Parquet, in.IDField(), in.PassFields(), schemas.Meta{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	sw, _ := schemas.NewStepLossesWriter(ctx, storage.Local{}, filepath.Join(dir, "steps.parquet"), schemas.Parquet, in.IDField(), schemas.Meta{}, opt)
	qw, _ := schemas.NewQuarantineWriter(ctx, storage.Local{}, filepath.Join(dir, "quarantine.parquet"), schemas.Parquet, schemas.Meta{}, opt)
	counts, _, err := Encode(ctx, EncodeJob{
		Source: Source{Input: in, Units: in.Units(), Readers: 2}, Model: m, Norm: Identity(in.Dim()),
		Batching: BatchConfig{BatchSize: 64}, Workers: workers, Latents: lw, StepLosses: sw, Quarantine: qw,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []interface{ Close() error }{lw, sw, qw} {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return counts
}

// Encoding holds a bounded number of sequences: the peak heap over an
// input ten times larger stays about the same.
func TestEncodeHeapDoesNotGrowWithInput(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and encodes 22000 sequences")
	}
	m, _ := nn.NewModel(nn.Config{InputDim: 4, LatentDim: 16, DecoderHidden: 16, Head: nn.HeadLinear}, 1)
	peaks := map[int]uint64{}
	// The first run fills the process's fixed pools (zstd encoders and the
	// like) so that the two measured runs start alike.
	for _, n := range []int{5000, 2000, 20000} {
		dir := t.TempDir()
		in := writeLocalInput(t, dir, synth.Sensors(synth.Options{N: n, MinLen: 10, MaxLen: 80, Dim: 4, Seed: 1}), 500)
		runtime.GC()
		stop := heapPeak()
		c := encodeLocal(t, dir, in, m, 2)
		peaks[n] = stop()
		if c.Encoded != int64(n) {
			t.Fatalf("encoded %d of %d", c.Encoded, n)
		}
		t.Logf("%6d sequences: peak heap %.1f MiB", n, float64(peaks[n])/(1<<20))
	}
	if float64(peaks[20000]) > 1.2*float64(peaks[2000]) {
		t.Errorf("peak heap grew from %d to %d bytes with a 10x input", peaks[2000], peaks[20000])
	}
}

// BenchmarkEndToEnd runs torch_bench.py's workload (4096 sequences, I=8,
// L=H=64, exact-length batches of up to 64) from a Parquet file to Parquet
// outputs: encode (latents and step_losses) and one training epoch, on
// one model goroutine; the model-only figures are nn's
// BenchmarkTorchWorkloadTrain and BenchmarkTorchWorkloadEncode.
func BenchmarkEndToEnd(b *testing.B) {
	dir := b.TempDir()
	in := writeLocalInput(b, dir, synth.TorchWorkload(4096, 10, 200, 8, 0), 1024)
	cfg := nn.Config{InputDim: 8, LatentDim: 64, DecoderHidden: 64, Head: nn.HeadLinear}
	m, _ := nn.NewModel(cfg, 1)
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			encodeLocal(b, dir, in, m, 1)
		}
		b.ReportMetric(4096*float64(b.N)/b.Elapsed().Seconds(), "seq/s")
	})
	b.Run("train", func(b *testing.B) {
		for b.Loop() {
			_, err := Train(context.Background(), TrainJob{
				Source: Source{Input: in, Units: in.Units(), Readers: 2}, Model: cfg,
				Batching: BatchConfig{BatchSize: 64}, Train: TrainConfig{Epochs: 1},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(4096*float64(b.N)/b.Elapsed().Seconds(), "seq/s")
	})
}
