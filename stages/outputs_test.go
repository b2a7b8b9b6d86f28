package stages

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas/write"
	"github.com/seqae/seqae/storage"
)

// failing is a store that refuses to create one name and fails every
// write to another.
type failing struct {
	*storage.Mem
	create, write string
}

func (s failing) Create(ctx context.Context, name string) (storage.Writer, error) {
	if name == s.create {
		return nil, errors.New("refused")
	}
	w, err := s.Mem.Create(ctx, name)
	if name == s.write {
		return failWrites{w}, err
	}
	return w, err
}

type failWrites struct{ storage.Writer }

func (failWrites) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// Encode and Train own their output writers: they publish every table
// they write, holding the rows they report, only when they succeed, and
// publish nothing when they fail.
func TestStagesPublishOnlyOnSuccess(t *testing.T) {
	in, _ := nestedInput(t, withBadRows(synth.Sensors(synth.Options{N: 40, MinLen: 3, MaxLen: 9, Dim: 3, Seed: 2})), 16)
	m, err := nn.NewModel(nn.Config{InputDim: 3, LatentDim: 4, DecoderHidden: 4, Head: nn.HeadLinear}, 1)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	encode := func(ctx context.Context, store storage.Store) (Written, Counts, error) {
		// Small record batches make the writers write as they go.
		res, err := Encode(ctx, EncodeJob{ReadSpec: ReadSpec{Input: in, Units: in.Units()}, Model: m, Norm: Identity(3),
			Batching: BatchConfig{BatchSize: 8},
			Outputs: Outputs{Store: store, Format: write.Arrow, Options: write.WriteOptions{BatchRows: 64},
				Latents: "l", StepLosses: "s", Quarantine: "q"}})
		return res.Written, res.Counts, err
	}
	train := func(ctx context.Context, store storage.Store) (Written, Counts, error) {
		job := trainJob(in, 1)
		job.Train.Epochs = 2
		job.Outputs = Outputs{Store: store, Format: write.Parquet, Latents: "unused", Quarantine: "q"}
		job.OnEpoch = func(EpochMetrics) error {
			if ctx.Value(stop) != nil {
				return stop
			}
			return nil
		}
		res, err := Train(ctx, job)
		if err != nil {
			return Written{}, Counts{}, err
		}
		return res.Written, res.Counts, nil
	}
	cases := []struct {
		name          string
		run           func(context.Context, storage.Store) (Written, Counts, error)
		stop          bool     // Train: stop after the first epoch
		create, write string   // the table that cannot be created, that cannot be written
		want          []string // the files published
	}{
		{"encode", encode, false, "", "", []string{"l", "q", "s"}},
		{"encode: step_losses cannot be written", encode, false, "", "s", nil},
		{"encode: step_losses cannot be created", encode, false, "s", "", nil},
		{"train", train, false, "", "", []string{"q"}},
		{"train stopped after an epoch", train, true, "", "", nil},
		{"train: quarantine cannot be created", train, false, "q", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := storage.NewMem()
			ctx := context.Background()
			if c.stop {
				ctx = context.WithValue(ctx, stop, true)
			}
			w, counts, err := c.run(ctx, failing{mem, c.create, c.write})
			if fail := c.stop || c.create != "" || c.write != ""; (err != nil) != fail {
				t.Fatalf("got error %v, want one: %v", err, fail)
			}
			got, _ := mem.List(context.Background(), "*")
			if !slices.Equal(got, c.want) {
				t.Errorf("published %q, want %q", got, c.want)
			}
			if err != nil {
				return
			}
			want := Written{Quarantine: counts.Quarantined, StepLosses: counts.StepRows}
			if slices.Contains(c.want, "l") {
				want.Latents = counts.Encoded
			}
			if w != want || counts.Quarantined == 0 {
				t.Errorf("wrote %+v, want the rows counted %+v, some quarantined", w, want)
			}
		})
	}
}
