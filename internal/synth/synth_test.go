package synth

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/read"
	"github.com/seqae/seqae/storage"
)

// What WriteNested and WriteLong write, schemas reads back: the same ids,
// lengths and values, in order.
func TestWrittenTablesReadBack(t *testing.T) {
	seqs := Sensors(Options{N: 60, MinLen: 3, MaxLen: 12, Dim: 3, Anomalies: 4, Noise: 0.1, Seed: 1})
	for _, tc := range []struct {
		layout schemas.Layout
		write  func(*bytes.Buffer) error
		spec   schemas.Spec
	}{
		{schemas.Nested, func(b *bytes.Buffer) error { return WriteNested(b, seqs, 16) }, schemas.Spec{Layout: schemas.Nested, Pass: []string{"machine"}}},
		{schemas.Long, func(b *bytes.Buffer) error { return WriteLong(b, seqs, 50) },
			schemas.Spec{Layout: schemas.Long, Order: "ts", Features: []string{"f0", "f1", "f2"}, Pass: []string{"machine"}}},
	} {
		t.Run(string(tc.layout), func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf); err != nil {
				t.Fatal(err)
			}
			store := storage.NewMem()
			w, _ := store.Create(context.Background(), "in.parquet")
			w.Write(buf.Bytes())
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			in, err := read.Open(context.Background(), store, []string{"in.parquet"}, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			var got []*schemas.Sequence
			for _, u := range in.Units() {
				if _, err := in.ReadUnit(context.Background(), u, read.Sink{
					Sequence:   func(s *schemas.Sequence) error { got = append(got, s); return nil },
					Quarantine: func(q schemas.Quarantine) error { t.Errorf("quarantined %v", q); return nil },
				}); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != len(seqs) {
				t.Fatalf("read %d sequences, want %d", len(got), len(seqs))
			}
			for i, s := range seqs {
				g := got[i]
				if g.ID.Str != s.ID || g.Len != len(s.Steps) || g.Pass[0].Str != s.Machine {
					t.Fatalf("sequence %d: got id %q len %d machine %q, want %q %d %q", i, g.ID.Str, g.Len, g.Pass[0].Str, s.ID, len(s.Steps), s.Machine)
				}
				if !slices.Equal(g.Values, slices.Concat(s.Steps...)) {
					t.Fatalf("sequence %s: values differ", s.ID)
				}
			}
		})
	}
}

func TestTorchWorkloadLengths(t *testing.T) {
	seqs := TorchWorkload(300, 10, 200, 8, 0)
	for i, s := range seqs {
		if want := 10 + (i*7919)%191; len(s.Steps) != want {
			t.Fatalf("sequence %d has %d steps, want %d (torch_peer.py's formula)", i, len(s.Steps), want)
		}
	}
}
