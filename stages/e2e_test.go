package stages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/internal/tabletest"
	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/read"
	"github.com/seqae/seqae/schemas/write"
)

var sensorOpts = synth.Options{N: 2000, MinLen: 6, MaxLen: 40, Dim: 3, Anomalies: 4, Noise: 0.05, Seed: 3}

var smallModel = nn.Config{InputDim: 3, LatentDim: 16, DecoderHidden: 16, Head: nn.HeadLinear}

// Every input id appears exactly once in latents or quarantine, step_losses
// has exactly sum(lengths) rows, and exact and padded batching give the
// same latents and step losses for every sequence.
func TestEncodeAccountsForEveryRow(t *testing.T) {
	seqs := withBadRows(synth.Sensors(sensorOpts))
	in, _ := nestedInput(t, seqs, 64)
	m, _ := nn.NewModel(smallModel, 1)
	norm := Identity(3)
	exact := runEncode(t, in, m, norm, BatchConfig{BatchSize: 16}, 2, 2)
	padded := runEncode(t, in, m, norm, BatchConfig{Mode: Padded, BatchSize: 16, Boundaries: []int{1, 10, 20, 30}}, 3, 1)
	arrival := runEncode(t, in, m, norm, BatchConfig{Mode: Arrival, BatchSize: 16}, 2, 2)

	c := exact.counts
	if c.Sequences != int64(len(seqs)) || c.Encoded != int64(len(seqs)-4) || c.Quarantined != 4 || !c.Balanced() {
		t.Errorf("counts %+v: want %d in, %d out, 4 quarantined", c, len(seqs), len(seqs)-4)
	}
	wantReasons := map[schemas.Reason]int64{schemas.NonFinite: 1, schemas.EmptySequence: 1, schemas.RaggedStep: 1, schemas.DuplicateID: 1}
	for r, n := range wantReasons {
		if c.Reasons[r] != n {
			t.Errorf("quarantined as %s: %d, want %d (all: %v)", r, c.Reasons[r], n, c.Reasons)
		}
	}
	seen := map[string]int{}
	for _, l := range exact.latents {
		seen[l.ID]++
	}
	for _, q := range exact.quarantine {
		if q.ID != nil && q.Reason != string(schemas.DuplicateID) {
			seen[*q.ID]++
		}
	}
	lengths := map[string]int{}
	for _, s := range seqs[:len(seqs)-4] {
		lengths[s.ID] = len(s.Steps)
	}
	for _, s := range seqs {
		if seen[s.ID] != 1 {
			t.Errorf("id %s appears %d times in latents and quarantine, want once", s.ID, seen[s.ID])
		}
	}
	total := 0
	for _, n := range lengths {
		total += n
	}
	if len(exact.steps) != total || c.StepRows != int64(total) {
		t.Errorf("step_losses has %d rows (counted %d), want sum of lengths %d", len(exact.steps), c.StepRows, total)
	}
	perID := map[string][]float32{}
	for _, s := range exact.steps {
		if int(s.Step) != len(perID[s.ID]) {
			t.Fatalf("id %s: step %d out of order", s.ID, s.Step)
		}
		perID[s.ID] = append(perID[s.ID], s.Loss)
	}
	for id, l := range perID {
		if len(l) != lengths[id] {
			t.Errorf("id %s: %d step losses, length %d", id, len(l), lengths[id])
		}
	}

	byID := func(ls []tabletest.Latent) map[string]tabletest.Latent {
		m := map[string]tabletest.Latent{}
		for _, l := range ls {
			m[l.ID] = l
		}
		return m
	}
	// The same bits, not just within tolerance: a sequence's results do not
	// depend on its batch.
	for name, other := range map[string]encodeOutputs{"padded": padded, "arrival": arrival} {
		pl := byID(other.latents)
		for _, e := range exact.latents {
			p := pl[e.ID]
			if p.Length != e.Length || p.Score != e.Score || *p.Machine != *e.Machine || !slices.Equal(p.Latent, e.Latent) {
				t.Fatalf("id %s: %s %+v, exact %+v", e.ID, name, p, e)
			}
		}
		steps := map[[2]any]float32{}
		for _, s := range other.steps {
			steps[[2]any{s.ID, s.Step}] = s.Loss
		}
		for _, s := range exact.steps {
			if got, ok := steps[[2]any{s.ID, s.Step}]; !ok || got != s.Loss {
				t.Fatalf("id %s step %d: %s %g, exact %g", s.ID, s.Step, name, got, s.Loss)
			}
		}
	}
	// Arrival batches keep the input's order: the valid sequences' ids as
	// they were written, in 125 batches of up to 16 whatever their lengths.
	var got, want []string
	for _, l := range arrival.latents {
		got = append(got, l.ID)
	}
	for _, s := range seqs[:len(seqs)-4] {
		want = append(want, s.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("arrival latents ids %v..., want the input's order %v...", got[:5], want[:5])
	}
	if n := arrival.counts.Batches; n != int64((len(want)+15)/16) {
		t.Errorf("arrival: %d batches, want %d", n, (len(want)+15)/16)
	}
}

// The output does not depend on the number of reading or encoding
// goroutines: the files are byte-identical.
func TestEncodeOutputIndependentOfWorkers(t *testing.T) {
	in, _ := nestedInput(t, withBadRows(synth.Sensors(sensorOpts)), 37)
	m, _ := nn.NewModel(smallModel, 2)
	a := runEncode(t, in, m, Identity(3), BatchConfig{BatchSize: 8}, 1, 1)
	b := runEncode(t, in, m, Identity(3), BatchConfig{BatchSize: 8}, 4, 3)
	for name := range a.raw {
		if !bytes.Equal(a.raw[name], b.raw[name]) {
			t.Errorf("%s differs between 1 and 4 goroutines", name)
		}
	}
}

func trainJob(in *read.Input, readers int) TrainJob {
	return TrainJob{
		ReadSpec: ReadSpec{Input: in, Units: in.Units(), Readers: readers},
		Model:    smallModel,
		Batching: BatchConfig{BatchSize: 8},
		Train:    TrainConfig{Epochs: 150, LR: 1e-2, ClipNorm: 1, Patience: 10, Seed: 7, ValFraction: 0.2},
	}
}

// Training on noisy sines lowers the validation loss far below the loss of
// predicting each feature's mean (1, in normalised units), and the planted
// anomalies get the highest scores.
func TestTrainLearnsAndFindsAnomalies(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	raw := synth.Sensors(sensorOpts)
	in, _ := nestedInput(t, raw, 64)
	res, err := Train(context.Background(), trainJob(in, 2))
	if err != nil {
		t.Fatal(err)
	}
	last := res.Epochs[res.BestEpoch-1]
	t.Logf("best epoch %d of %d: train loss %.4f, val loss %.4f; %d train, %d val sequences",
		res.BestEpoch, len(res.Epochs), last.TrainLoss, last.ValLoss, res.TrainSeqs, res.ValSeqs)
	if !last.HasVal || last.ValLoss > 0.15 {
		t.Errorf("best validation loss %.4f, want below 0.15 (the mean predictor's is 1)", last.ValLoss)
	}
	if first := res.Epochs[0]; !(first.ValLoss > last.ValLoss) {
		t.Errorf("validation loss did not fall: epoch 1 %.4f, best %.4f", first.ValLoss, last.ValLoss)
	}
	out := runEncode(t, in, res.Model, res.Norm, BatchConfig{BatchSize: 32}, 2, 2)
	sort.Slice(out.latents, func(i, j int) bool { return out.latents[i].Score > out.latents[j].Score })
	var planted []string
	for _, s := range raw {
		if s.Anomaly != "" {
			planted = append(planted, s.ID)
		}
	}
	var top []string
	for _, l := range out.latents[:len(planted)] {
		top = append(top, l.ID)
	}
	slices.Sort(top)
	if !slices.Equal(top, planted) {
		t.Errorf("top %d scores are %v, want the planted anomalies %v", len(planted), top, planted)
	}
	median := out.latents[len(out.latents)/2].Score
	lowest := out.latents[len(planted)-1].Score
	t.Logf("lowest anomaly score %.3f, median score %.4f", lowest, median)
	if lowest < 5*median {
		t.Errorf("lowest anomaly score %.4f is not far above the median %.4f", lowest, median)
	}
}

// The same input, config and seed give bit-identical weights whatever the
// number of reading and training goroutines, cached or streamed from the
// files, with each batch's gradient in 2 parts or in 3 (where the order the
// parts are added in shows).
func TestTrainDeterministic(t *testing.T) {
	in, _ := nestedInput(t, withBadRows(synth.Sensors(synth.Options{N: 120, MinLen: 4, MaxLen: 20, Dim: 3, Seed: 5})), 16)
	for _, parts := range []int{2, 3} {
		t.Run(fmt.Sprintf("parts=%d", parts), func(t *testing.T) {
			run := func(readers int, budget int64) *TrainResult {
				job := trainJob(in, readers)
				job.Train.Epochs, job.Train.Patience, job.Train.MemoryBudget, job.Train.ShuffleBuffer = 3, 0, budget, 20
				job.Train.Workers, job.Train.Parts = readers, parts
				res, err := Train(context.Background(), job)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			a, b := run(1, 0), run(4, 0)
			if a.Streamed || !slices.Equal(a.Model.Params, b.Model.Params) {
				t.Errorf("cached training: weights differ between 1 and 4 goroutines (streamed %v)", a.Streamed)
			}
			c, d := run(1, 1000), run(3, 1000)
			if !c.Streamed || !slices.Equal(c.Model.Params, d.Model.Params) {
				t.Errorf("streamed training: weights differ between 1 and 3 goroutines (streamed %v)", c.Streamed)
			}
			if c.Epochs[2].TrainLoss >= c.Epochs[0].TrainLoss {
				t.Errorf("streamed training did not lower the loss: %+v", c.Epochs)
			}
		})
	}
}

// A run cancelled by its deadline returns promptly with the deadline's
// error and leaves no goroutine behind.
func TestCancelledRunsReturnPromptly(t *testing.T) {
	defer goleak.VerifyNone(t)
	in, _ := nestedInput(t, synth.Sensors(synth.Options{N: 3000, MinLen: 50, MaxLen: 200, Dim: 3, Seed: 1}), 100)
	for _, name := range []string{"train", "encode"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			var err error
			if name == "train" {
				job := trainJob(in, 2)
				job.Train.Epochs = 1000
				_, err = Train(ctx, job)
			} else {
				m, _ := nn.NewModel(nn.Config{InputDim: 3, LatentDim: 64, DecoderHidden: 64, Head: nn.HeadLinear}, 1)
				_, err = Encode(ctx, EncodeJob{ReadSpec: ReadSpec{Input: in, Units: in.Units()}, Model: m, Norm: Identity(3), Workers: 2,
					Outputs: Outputs{Store: storageMem(), Format: write.Parquet, Latents: "l.parquet"}})
			}
			took := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got error %v, want the deadline's", err)
			}
			if took > 2*time.Second {
				t.Errorf("returned %v after the deadline", took-50*time.Millisecond)
			}
		})
	}
	runtime.GC()
}

// An id repeats only when a valid row already had it: a row quarantined
// for another reason does not claim its id, so the next valid row with
// that id is encoded, and a later one is a duplicate.
func TestQuarantinedRowDoesNotClaimItsID(t *testing.T) {
	nan := float32(math.NaN())
	seqs := []synth.Seq{
		{ID: "a", Machine: "m", Steps: [][]float32{{1, 2}, {nan, 2}}},
		{ID: "a", Machine: "m", Steps: [][]float32{{1, 2}, {3, 4}}},
		{ID: "a", Machine: "m", Steps: [][]float32{{5, 6}}},
		{ID: "b", Machine: "m", Steps: [][]float32{{1, 2}}},
	}
	in, _ := nestedInput(t, seqs, 2)
	m, _ := nn.NewModel(nn.Config{InputDim: 2, LatentDim: 4, DecoderHidden: 4, Head: nn.HeadLinear}, 1)
	out := runEncode(t, in, m, Identity(2), BatchConfig{Mode: Arrival}, 1, 1)
	var ids []string
	for _, l := range out.latents {
		ids = append(ids, fmt.Sprintf("%s/%d", l.ID, l.Length))
	}
	var reasons []string
	for _, q := range out.quarantine {
		reasons = append(reasons, q.Reason)
	}
	if !slices.Equal(ids, []string{"a/2", "b/1"}) || !slices.Equal(reasons, []string{string(schemas.NonFinite), string(schemas.DuplicateID)}) {
		t.Errorf("latents %v, quarantine %v: want a/2 and b/1, then non_finite and duplicate_id", ids, reasons)
	}
}
