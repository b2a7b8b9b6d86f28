package stages

import (
	"bytes"
	"context"
	"io"
	"math"
	"testing"

	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/internal/tabletest"
	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/read"
	"github.com/seqae/seqae/schemas/write"
	"github.com/seqae/seqae/storage"
)

// withBadRows appends rows every layout check must quarantine: a NaN, an
// empty sequence, a ragged step and a repeat of the first id.
func withBadRows(seqs []synth.Seq) []synth.Seq {
	nan := float32(math.NaN())
	good := seqs[0].Steps
	dim := len(good[0])
	ragged := [][]float32{make([]float32, dim), make([]float32, dim+1)}
	withNaN := [][]float32{good[0], append([]float32{nan}, good[0][1:]...)}
	return append(seqs,
		synth.Seq{ID: "bad-nan", Machine: "m00", Steps: withNaN},
		synth.Seq{ID: "bad-empty", Machine: "m00", Steps: [][]float32{}},
		synth.Seq{ID: "bad-ragged", Machine: "m00", Steps: ragged},
		synth.Seq{ID: seqs[0].ID, Machine: "m00", Steps: good},
	)
}

// nestedInput writes seqs as a nested-layout file in a new in-memory store
// and opens it.
func nestedInput(t testing.TB, seqs []synth.Seq, rowGroup int) (*read.Input, *storage.Mem) {
	t.Helper()
	var buf bytes.Buffer
	if err := synth.WriteNested(&buf, seqs, rowGroup); err != nil {
		t.Fatal(err)
	}
	store := storage.NewMem()
	tabletest.Put(t, store, "in/part-0.parquet", buf.Bytes())
	in, err := read.Open(context.Background(), store, []string{"in/part-0.parquet"},
		schemas.Spec{Layout: schemas.Nested, Pass: []string{"machine"}, Dim: len(seqs[0].Steps[0])})
	if err != nil {
		t.Fatal(err)
	}
	return in, store
}

func get(t testing.TB, store storage.Store, name string) []byte {
	t.Helper()
	obj, err := store.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(io.NewSectionReader(obj, 0, obj.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encodeOutputs are an encode run's tables, read back.
type encodeOutputs struct {
	counts     Counts
	latents    []tabletest.Latent
	steps      []tabletest.StepLoss
	quarantine []tabletest.Quarantine
	raw        map[string][]byte
}

// runEncode encodes in with model m and reads the outputs back.
func runEncode(t testing.TB, in *read.Input, m *nn.Model, norm Normalizer, batching BatchConfig, readers, workers int) encodeOutputs {
	t.Helper()
	ctx := context.Background()
	out := storage.NewMem()
	res, err := Encode(ctx, EncodeJob{
		ReadSpec: ReadSpec{Input: in, Units: in.Units(), Readers: readers},
		Model:    m,
		Norm:     norm,
		Batching: batching,
		Workers:  workers,
		Outputs: Outputs{Store: out, Format: write.Parquet,
			Latents: "latents.parquet", StepLosses: "steps.parquet", Quarantine: "quarantine.parquet"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return encodeOutputs{
		counts:     res.Counts,
		latents:    tabletest.Read[tabletest.Latent](t, get(t, out, "latents.parquet")),
		steps:      tabletest.Read[tabletest.StepLoss](t, get(t, out, "steps.parquet")),
		quarantine: tabletest.Read[tabletest.Quarantine](t, get(t, out, "quarantine.parquet")),
		raw: map[string][]byte{
			"latents": get(t, out, "latents.parquet"), "steps": get(t, out, "steps.parquet"), "quarantine": get(t, out, "quarantine.parquet"),
		},
	}
}

func storageMem() *storage.Mem { return storage.NewMem() }
