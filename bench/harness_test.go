package bench

import (
	"context"
	"testing"
)

func TestBenchRunsTheTorchWorkload(t *testing.T) {
	for _, mode := range []string{"bucketed", "padded"} {
		o := DefaultOptions()
		o.N, o.MaxLen, o.Latent, o.Hidden, o.Mode, o.Threads, o.PeakN = 300, 30, 8, 8, mode, 2, 64
		r, err := Run(context.Background(), o, "test")
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
		// The fraction is of the unrounded rates: allow for the rounding of
		// the printed ones (0.05 GFLOP/s, 0.0005).
		lo := (r.TrainGFLOPPerS-0.05)/(r.PeakGFLOPPerS+0.05) - 0.0005
		hi := (r.TrainGFLOPPerS+0.05)/(r.PeakGFLOPPerS-0.05) + 0.0005
		// The encode rate can round to 0.0 GFLOP/s on a slow machine (under
		// the race detector, say); its fraction keeps three significant
		// digits, so it stays positive.
		if r.PeakGFLOPPerS <= 0 || r.EncodeFraction <= 0 || r.TrainFraction < lo || r.TrainFraction > hi {
			t.Errorf("%s: peak %v, train %v GFLOP/s, fraction %v, encode fraction %v: want a peak, the train rate's fraction of it and a positive encode fraction",
				mode, r.PeakGFLOPPerS, r.TrainGFLOPPerS, r.TrainFraction, r.EncodeFraction)
		}
		if mode == "padded" && r.Batches != 5 {
			t.Errorf("padded: %d batches, want ceil(300/64) = 5", r.Batches)
		}
	}
	if _, err := Run(context.Background(), Options{}, "test"); err == nil {
		t.Error("zero options: no error")
	}
}
