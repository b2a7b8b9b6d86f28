package stages

import (
	"context"
	"math"
	"testing"
)

func TestBenchRunsTheTorchWorkload(t *testing.T) {
	for _, mode := range []string{"bucketed", "padded"} {
		o := DefaultBenchOptions()
		o.N, o.MaxLen, o.Latent, o.Hidden, o.Mode, o.Threads, o.PeakN = 300, 30, 8, 8, mode, 2, 64
		r, err := Bench(context.Background(), o, "test")
		if err != nil {
			t.Fatal(err)
		}
		steps := 0
		for i := range o.N {
			steps += o.MinLen + (i*7919)%(o.MaxLen-o.MinLen+1)
		}
		if r.RealSteps != steps || r.N != 300 || r.Mode != mode || r.TrainSeqPerS <= 0 || r.EncodeSeqPerS <= 0 {
			t.Errorf("%s: got %+v, want %d real steps and positive rates", mode, r, steps)
		}
		if r.PeakGFLOPPerS <= 0 || r.EncodeGFLOPPerS <= 0 || math.Abs(r.TrainFraction-r.TrainGFLOPPerS/r.PeakGFLOPPerS) > 0.002 {
			t.Errorf("%s: peak %v, train %v GFLOP/s, fraction %v: want a peak and the train rate's fraction of it", mode, r.PeakGFLOPPerS, r.TrainGFLOPPerS, r.TrainFraction)
		}
		if mode == "padded" && r.Batches != 5 {
			t.Errorf("padded: %d batches, want ceil(300/64) = 5", r.Batches)
		}
	}
	if _, err := Bench(context.Background(), BenchOptions{}, "test"); err == nil {
		t.Error("zero options: no error")
	}
}
