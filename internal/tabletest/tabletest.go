// Package tabletest reads seqae's output tables back in tests: the rows of
// latents, step_losses and quarantine as Go structs, through parquet-go's
// generic reader (which matches columns by name), and writes the objects
// tests read (Put).
package tabletest

import (
	"bytes"
	"context"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/storage"
)

// Latent is a row of the latents table with the examples' pass-through
// column machine (nil where the table has none).
type Latent struct {
	ID      string    `parquet:"id"`
	Length  int32     `parquet:"length"`
	Latent  []float32 `parquet:"latent,list"`
	Score   float32   `parquet:"score"`
	Machine *string   `parquet:"machine,optional"`
	// Percentile and Anomaly are nil where null (an uncalibrated model).
	Percentile    *float32  `parquet:"percentile,optional"`
	Anomaly       *bool     `parquet:"anomaly,optional"`
	FeatureScores []float32 `parquet:"feature_scores,list"`
}

// StepLoss is a row of the step_losses table.
type StepLoss struct {
	ID   string  `parquet:"id"`
	Step int32   `parquet:"step"`
	Loss float32 `parquet:"loss"`
	// FeatureLoss is empty without output.feature_losses.
	FeatureLoss []float32 `parquet:"feature_loss,list"`
}

// Quarantine is a row of the quarantine table.
type Quarantine struct {
	SourceFile string  `parquet:"source_file"`
	Row        int64   `parquet:"row"`
	ID         *string `parquet:"id,optional"`
	Reason     string  `parquet:"reason"`
	Detail     string  `parquet:"detail"`
}

// Read decodes a Parquet file's bytes into rows of T.
func Read[T any](t testing.TB, data []byte) []T {
	t.Helper()
	rows, err := parquet.Read[T](bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// ReadFile decodes a Parquet file into rows of T.
func ReadFile[T any](t testing.TB, path string) []T {
	t.Helper()
	rows, err := parquet.ReadFile[T](path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// Put writes data to the named object of store, or fails the test.
func Put(tb testing.TB, store storage.Store, name string, data []byte) {
	tb.Helper()
	w, err := store.Create(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}
