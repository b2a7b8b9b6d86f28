package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The committed examples/data is exactly what the generator writes, so the
// data and the code that made it cannot drift apart.
func TestGeneratorReproducesCommittedData(t *testing.T) {
	dir := t.TempDir()
	if err := write(dir); err != nil {
		t.Fatal(err)
	}
	var n int
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got, _ := os.ReadFile(p)
		want, err := os.ReadFile(filepath.Join("..", "data", rel))
		if err != nil {
			t.Errorf("%s: generated but not committed: %v", rel, err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the generator writes %d bytes that differ from the committed %d (go run ./examples/gen rewrites them)", rel, len(got), len(want))
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("generated %d files, want 5 (a nested file, three long files, anomalies.json)", n)
	}
}
