package read_test

import (
	"context"
	"fmt"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/read"
	"github.com/seqae/seqae/storage"
)

// Reading: Open checks the files and plans units; each unit decodes
// independently (a pipeline fans them out to workers, a sharded job takes
// read.Shard(units, i, n) or Input.Shard(i, n)).
func ExampleOpen() {
	ctx := context.Background()
	var store storage.Store = storage.Local{}
	files, _ := store.List(ctx, "testdata/nested.parquet")
	in, err := read.Open(ctx, store, files, schemas.Spec{Pass: []string{"label"}, MaxLen: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(in.Layout(), in.IDField(), in.PassFields(), "dim", in.Dim(), "units", len(in.Units()))
	var total read.Stats
	for _, u := range in.Units() {
		st, err := in.ReadUnit(ctx, u, read.Sink{
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
