package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/stages"
)

// Options are the flags of bench/torch_peer.py, the PyTorch peer
// benchmark, with its defaults, and the size of the product that measures
// the machine's peak.
type Options struct {
	N        int    `json:"n"`
	MinLen   int    `json:"min_len"`
	MaxLen   int    `json:"max_len"`
	InputDim int    `json:"input_dim"`
	Latent   int    `json:"latent"`
	Hidden   int    `json:"hidden"`
	Batch    int    `json:"batch"`
	Epochs   int    `json:"epochs"`
	Mode     string `json:"mode"`    // "bucketed" (exact-length batches) or "padded"
	Threads  int    `json:"threads"` // goroutines: for a batch's two gradient parts (or a small batch's hidden units) in training, for batches in encoding
	PeakN    int    `json:"peak_n"`  // the peak is measured on (PeakN, PeakN) products; 0 skips it
}

// DefaultOptions are torch_peer.py's defaults, and a peak measured on
// products of 2048.
func DefaultOptions() Options {
	return Options{N: 4096, MinLen: 10, MaxLen: 200, InputDim: 8, Latent: 64, Hidden: 64, Batch: 64, Epochs: 1, Mode: "bucketed", Threads: 2, PeakN: 2048}
}

// Result has torch_peer.py's output fields, so the two compare line
// for line, and where seqae stands against the machine: the model's GFLOP/s
// and their fraction of the peak the package's own matrix multiply reaches
// on a large product with as many goroutines.
type Result struct {
	Peer            string  `json:"peer"`
	Mode            string  `json:"mode"`
	Threads         int     `json:"threads"`
	N               int     `json:"n"`
	Batches         int     `json:"batches"`
	RealSteps       int     `json:"real_steps"`
	TrainSeqPerS    float64 `json:"train_seq_per_s"`
	EncodeSeqPerS   float64 `json:"encode_seq_per_s"`
	TrainS          float64 `json:"train_s"`
	EncodeS         float64 `json:"encode_s"`
	TrainGFLOPPerS  float64 `json:"train_gflop_per_s"`
	EncodeGFLOPPerS float64 `json:"encode_gflop_per_s"`
	PeakGFLOPPerS   float64 `json:"peak_gflop_per_s,omitempty"`
	TrainFraction   float64 `json:"train_fraction_of_peak,omitempty"`
	EncodeFraction  float64 `json:"encode_fraction_of_peak,omitempty"`
}

// Run runs torch_peer.py's fixed workload in memory: the same lengths,
// sizes and batching (bucketed: batches of one exact length; padded:
// sorted by length, cut into batches, masked), Epochs of training with Adam
// at lr 1e-3, then one encoding pass over the same batches. Then, unless
// PeakN is 0, it measures the peak: Threads goroutines multiplying
// (PeakN, PeakN) matrices for about a second.
func Run(ctx context.Context, o Options, version string) (Result, error) {
	if o.N < 1 || o.MinLen < 1 || o.MaxLen < o.MinLen || o.Batch < 1 || o.Epochs < 1 || o.Threads < 1 || o.PeakN < 0 {
		return Result{}, fmt.Errorf("bench: need n, min-len, batch, epochs and threads >= 1, max-len >= min-len and peak-n >= 0, got %+v", o)
	}
	cfg := nn.Config{InputDim: o.InputDim, LatentDim: o.Latent, DecoderHidden: o.Hidden, Head: nn.HeadLinear}
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	var batches []*stages.Batch
	seqs := synth.TorchWorkload(o.N, o.MinLen, o.MaxLen, o.InputDim, 0)
	steps := 0
	all := make([]*schemas.Sequence, len(seqs))
	for i, s := range seqs {
		v := make([]float32, 0, len(s.Steps)*o.InputDim)
		for _, st := range s.Steps {
			v = append(v, st...)
		}
		all[i] = &schemas.Sequence{ID: schemas.Value{Int: int64(i)}, Len: len(s.Steps), Dim: o.InputDim, Values: v}
		steps += len(s.Steps)
	}
	switch o.Mode {
	case "bucketed":
		b, err := stages.BatchAll(stages.BatchConfig{BatchSize: o.Batch}, all)
		if err != nil {
			return Result{}, err
		}
		batches = b
	case "padded":
		sorted := make([]*schemas.Sequence, len(all))
		copy(sorted, all)
		slices.SortStableFunc(sorted, func(a, b *schemas.Sequence) int { return a.Len - b.Len })
		for i := 0; i < len(sorted); i += o.Batch {
			b := &stages.Batch{Seqs: sorted[i:min(i+o.Batch, len(sorted))], Index: int64(len(batches))}
			for _, s := range b.Seqs {
				b.Steps += s.Len
				b.T = max(b.T, s.Len)
			}
			batches = append(batches, b)
		}
	default:
		return Result{}, fmt.Errorf("bench: mode must be bucketed or padded, got %q", o.Mode)
	}

	m, err := nn.NewModel(cfg, 0)
	if err != nil {
		return Result{}, err
	}
	tr := stages.NewTrainer(m, 1e-3, 0, 2, o.Threads)
	start := time.Now()
	tr.Reserve(batches) // as Train does with an epoch's batches: inside the timing
	for range o.Epochs {
		for _, b := range batches {
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
			tr.Step(b)
		}
	}
	trainS := time.Since(start).Seconds()

	start = time.Now()
	work := make(chan *stages.Batch)
	var wg sync.WaitGroup
	for range o.Threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := stages.NewEncoder(m)
			for b := range work {
				enc.Encode(b)
			}
		}()
	}
	for _, b := range batches {
		if ctx.Err() != nil {
			break
		}
		work <- b
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	encodeS := time.Since(start).Seconds()
	// A forward pass's products; training runs forward and backward (twice
	// the forward's work) every epoch.
	forward := float64(steps)*float64(cfg.FLOPsPerStep()) + float64(o.N)*float64(2*4*o.Hidden*o.Latent)
	trainRate := 3 * forward * float64(o.Epochs) / trainS / 1e9
	encodeRate := forward / encodeS / 1e9
	res := Result{
		Peer: "seqae " + version, Mode: o.Mode, Threads: o.Threads, N: o.N, Batches: len(batches), RealSteps: steps,
		TrainSeqPerS:    round1(float64(o.N*o.Epochs) / trainS),
		EncodeSeqPerS:   round1(float64(o.N) / encodeS),
		TrainS:          round3(trainS),
		EncodeS:         round3(encodeS),
		TrainGFLOPPerS:  round1(trainRate),
		EncodeGFLOPPerS: round1(encodeRate),
	}
	if o.PeakN > 0 {
		peak := nn.PeakGFLOPS(o.PeakN, o.Threads, time.Second)
		res.PeakGFLOPPerS = round1(peak)
		res.TrainFraction = roundSig3(trainRate / peak)
		res.EncodeFraction = roundSig3(encodeRate / peak)
	}
	return res, nil
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

// roundSig3 rounds v to three significant digits, so that a small positive
// fraction stays positive (and in the JSON line) on a slow or busy machine.
func roundSig3(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return r
}
