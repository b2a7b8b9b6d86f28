package stages

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/schemas"
)

// The validation set is chosen by id, not by row position, and the same
// in cached and streamed training: with weights that do not move (a
// learning rate of 1e-30) the first epoch's validation loss depends only
// on which sequences are held out, and it is the same cached, streamed,
// and on the same rows in reverse order; the held-out count is the ids
// Split picks.
func TestSplitByIDCachedAndStreamed(t *testing.T) {
	seqs := synth.Sensors(synth.Options{N: 200, MinLen: 4, MaxLen: 20, Dim: 3, Noise: 0.05, Seed: 11})
	reversed := slices.Clone(seqs)
	slices.Reverse(reversed)
	const fraction = 0.3
	split := Split{Fraction: fraction, IDKind: schemas.String}
	var wantVal int64
	for _, s := range seqs {
		if split.Validation(schemas.Value{Str: s.ID}) {
			wantVal++
		}
	}
	cases := []struct {
		name   string
		seqs   []synth.Seq
		budget int64 // training.memory_budget: 1000 streams
	}{
		{"cached", seqs, 0},
		{"streamed", seqs, 1000},
		{"reversed, cached", reversed, 0},
		{"reversed, streamed", reversed, 1000},
	}
	var ref float64
	for i, c := range cases {
		in, _ := nestedInput(t, c.seqs, 16)
		job := trainJob(in, 2)
		job.Train.Epochs, job.Train.LR, job.Train.ValFraction, job.Train.MemoryBudget = 1, 1e-30, fraction, c.budget
		res, err := Train(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		got := res.Epochs[0]
		t.Logf("%s: %d train, %d validation sequences, validation loss %.9f", c.name, res.TrainSeqs, res.ValSeqs, got.ValLoss)
		if res.Streamed != (c.budget > 0) || res.ValSeqs != wantVal || res.TrainSeqs != int64(len(seqs))-wantVal || !got.HasVal {
			t.Errorf("%s: streamed %v, %d validation and %d training sequences; want streamed %v, %d and %d",
				c.name, res.Streamed, res.ValSeqs, res.TrainSeqs, c.budget > 0, wantVal, int64(len(seqs))-wantVal)
		}
		if i == 0 {
			ref = got.ValLoss
		} else if math.Abs(got.ValLoss-ref) > 1e-6*ref {
			t.Errorf("%s: validation loss %.9f, want %.9f as in %s", c.name, got.ValLoss, ref, cases[0].name)
		}
	}
}
