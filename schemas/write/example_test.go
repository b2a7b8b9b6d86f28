package write_test

import (
	"context"
	"fmt"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/write"
	"github.com/seqae/seqae/storage"
)

// Writing: a writer streams rows and publishes the file atomically on Close;
// Abort (deferred) discards it on any error path.
func ExampleNewLatentsWriter() {
	ctx := context.Background()
	store := storage.NewMem()
	meta := write.Meta{ModelID: "sha256:1f2e", RunID: "2024-01-01T00", Version: "0.1.0", Config: "{}"}
	id := schemas.Field{Name: "id", Kind: schemas.String}
	pass := []schemas.Field{{Name: "label", Kind: schemas.String}}
	w, err := write.NewLatentsWriter(ctx, store, "out/latents"+write.Parquet.Ext(), write.Parquet, id, pass, meta, write.WriteOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Abort()
	err = w.Write(write.LatentRow{
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
