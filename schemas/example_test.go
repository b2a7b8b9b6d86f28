package schemas_test

import (
	"context"
	"fmt"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
)

// Reading: Open checks the files and plans units; each unit decodes
// independently (a pipeline fans them out to workers, a sharded job takes
// schemas.Shard(units, i, n)).
func ExampleOpen() {
	ctx := context.Background()
	var store storage.Store = storage.Local{}
	files, _ := store.List(ctx, "testdata/nested.parquet")
	in, err := schemas.Open(ctx, store, files, schemas.Spec{Pass: []string{"label"}, MaxLen: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(in.Layout(), in.IDField(), in.PassFields(), "dim", in.Dim(), "units", len(in.Units()))
	var total schemas.Stats
	for _, u := range in.Units() {
		st, err := in.ReadUnit(ctx, u, schemas.Sink{
			Sequence: func(s *schemas.Sequence) error {
				if s.Src.Row == 0 {
					fmt.Println(s.ID.Str, "T", s.Len, "I", s.Dim, "step 1:", s.Step(1), "label:", s.Pass[0].Str)
				}
				return nil
			},
			Quarantine: func(q schemas.Quarantine) error {
				if q.Reason == schemas.RaggedStep {
					fmt.Println(q)
				}
				return nil
			},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		total.Add(st)
	}
	fmt.Printf("%+v\n", total)
	// Output:
	// nested {id string} [{label string}] dim 2 units 4
	// s1 T 3 I 2 step 1: [1.5 2] label: walk
	// testdata/nested.parquet row 6: ragged_step: column "seq": step 1 has 1 features, want 2
	// {Rows:13 Groups:13 Sequences:4 Quarantined:9}
}

// Writing: a writer streams rows and publishes the file atomically on Close;
// Abort (deferred) discards it on any error path.
func ExampleNewLatentsWriter() {
	ctx := context.Background()
	store := storage.NewMem()
	meta := schemas.Meta{ModelID: "sha256:1f2e", RunID: "2024-01-01T00", Version: "0.1.0", Config: "{}"}
	id := schemas.Field{Name: "id", Kind: schemas.String}
	pass := []schemas.Field{{Name: "label", Kind: schemas.String}}
	w, err := schemas.NewLatentsWriter(ctx, store, "out/latents"+schemas.Parquet.Ext(), schemas.Parquet, id, pass, meta, schemas.WriteOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Abort()
	err = w.Write(schemas.LatentRow{
		ID:     schemas.Value{Str: "s1"},
		Length: 3,
		Latent: []float32{0.1, -0.2, 0.3},
		Score:  0.05,
		Pass:   []schemas.Value{{Str: "walk"}},
	})
	if err == nil {
		err = w.Close()
	}
	names, _ := store.List(ctx, "out")
	fmt.Println(err, w.Rows(), names)
	// Output: <nil> 1 [out/latents.parquet]
}
