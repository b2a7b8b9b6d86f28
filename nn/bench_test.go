package nn

import (
	"maps"
	"slices"
	"testing"

	"github.com/seqae/seqae/internal/synth"
)

// torchWorkload is the fixed workload of bench/torch_peer.py:
// sequence i has length minLen + (i*7919) % (maxLen-minLen+1), values
// standard normal, I=8, L=H=hidden (64 in the fixed workload), linear
// head, batches of up to 64 sequences of one exact length, in increasing
// length.
type torchWorkload struct {
	cfg     Config
	batches []benchBatch
	seqs    int
	steps   int
}

type benchBatch struct {
	x    []float32 // (B, T, I)
	lens []int     // (B), all T
	t    int
}

func newTorchWorkload(n, hidden int) *torchWorkload {
	const batch = 64
	w := &torchWorkload{cfg: Config{InputDim: 8, LatentDim: hidden, DecoderHidden: hidden, Head: HeadLinear}, seqs: n}
	byLen := map[int][]synth.Seq{}
	for _, s := range synth.TorchWorkload(n, 10, 200, w.cfg.InputDim, 0) {
		byLen[len(s.Steps)] = append(byLen[len(s.Steps)], s)
	}
	for _, T := range slices.Sorted(maps.Keys(byLen)) {
		seqs := byLen[T]
		for k := 0; k < len(seqs); k += batch {
			bb := benchBatch{t: T}
			for _, s := range seqs[k:min(k+batch, len(seqs))] {
				bb.x = append(bb.x, slices.Concat(s.Steps...)...)
				bb.lens = append(bb.lens, T)
			}
			w.batches = append(w.batches, bb)
			w.steps += len(bb.lens) * T
		}
	}
	return w
}

// flops is the model's matrix-product work for one forward pass over the
// workload.
func (w *torchWorkload) flops() float64 {
	L, H := w.cfg.LatentDim, w.cfg.DecoderHidden
	return float64(w.steps)*float64(w.cfg.FLOPsPerStep()) + float64(w.seqs)*float64(2*4*H*L)
}

func (w *torchWorkload) report(b *testing.B, passes float64) {
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(w.seqs)*float64(b.N)/s, "seq/s")
	b.ReportMetric(passes*w.flops()*float64(b.N)/s/1e9, "GFLOP/s")
}

// BenchmarkTorchWorkloadTrain trains one epoch of torch_peer.py's workload
// (--n 4096 --mode bucketed) per op on one goroutine: forward, backward and
// an Adam step per batch.
func BenchmarkTorchWorkloadTrain(b *testing.B) { benchTrain(b, newTorchWorkload(4096, 64)) }

// BenchmarkTorchWorkloadEncode encodes torch_peer.py's workload per op on
// one goroutine: latents and step losses, no activations kept.
func BenchmarkTorchWorkloadEncode(b *testing.B) { benchEncode(b, newTorchWorkload(4096, 64)) }

// BenchmarkTorchWorkload256Train is BenchmarkTorchWorkloadTrain at
// --latent 256 --hidden 256 --n 512.
func BenchmarkTorchWorkload256Train(b *testing.B) { benchTrain(b, newTorchWorkload(512, 256)) }

// BenchmarkTorchWorkload256Encode is BenchmarkTorchWorkloadEncode at
// --latent 256 --hidden 256 --n 512.
func BenchmarkTorchWorkload256Encode(b *testing.B) { benchEncode(b, newTorchWorkload(512, 256)) }

func benchTrain(b *testing.B, w *torchWorkload) {
	m, _ := NewModel(w.cfg, 1)
	ws := NewWorkspace(w.cfg)
	opt := NewAdam(len(m.Params), 1e-3)
	for b.Loop() {
		for _, bb := range w.batches {
			m.ZeroGrad()
			ws.Forward(m, bb.x, bb.lens, bb.t)
			ws.Backward(m, m.Grads)
			opt.Step(m.Params, m.Grads)
		}
	}
	w.report(b, 3)
}

func benchEncode(b *testing.B, w *torchWorkload) {
	m, _ := NewModel(w.cfg, 1)
	ws := NewWorkspace(w.cfg)
	for b.Loop() {
		for _, bb := range w.batches {
			ws.Encode(m, bb.x, bb.lens, bb.t)
		}
	}
	w.report(b, 1)
}
