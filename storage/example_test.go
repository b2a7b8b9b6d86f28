package storage_test

import (
	"context"
	"fmt"
	"io"

	"github.com/seqae/seqae/storage"
)

func Example() {
	ctx := context.Background()
	var s storage.Store = storage.NewMem()

	w, _ := s.Create(ctx, "runs/dt=2024-01-01/latents.parquet")
	defer w.Abort() // discards the object unless Close succeeded
	io.WriteString(w, "table bytes")
	if err := w.Close(); err != nil { // publishes atomically
		fmt.Println(err)
		return
	}

	names, _ := s.List(ctx, "runs")
	fmt.Println(names)
	o, _ := s.Open(ctx, names[0])
	defer o.Close()
	buf := make([]byte, o.Size())
	o.ReadAt(buf, 0)
	fmt.Println(string(buf))
	// Output:
	// [runs/dt=2024-01-01/latents.parquet]
	// table bytes
}
