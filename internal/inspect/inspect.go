// Package inspect describes what seqae reads and writes, for seqae
// inspect: Parquet input tables (layout, sequences, what a run would
// quarantine), seqae's output tables in Parquet or Arrow IPC, model files
// and committed partitions, local or on an object store.
package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/write"
	"github.com/seqae/seqae/storage"
)

// Options tune Describe.
type Options struct {
	Rows int // rows (or sequences) to show; default 3
	// Layout and Spec columns for reading an input table; the zero Spec
	// detects them.
	Spec schemas.Spec
}

// Describe describes the file or folder at path on w:
//   - a Parquet table: its size, rows, row groups, columns and seqae
//     metadata; for an input table also its layout, sequence count,
//     quarantined rows and length histogram; and a few rows;
//   - an Arrow IPC file (seqae's output.format arrow): its size, rows,
//     record batches, columns and seqae metadata, and a few rows;
//   - a model file (.safetensors): its sizes, parameter count, file size,
//     model id and metadata (normaliser, boundaries, run, version);
//   - a partition folder, local or on an object store: its manifest and
//     files;
//   - another folder of Parquet files: its files, and their layout,
//     sequence count, quarantined rows and length histogram read together
//     as a job whose input is the folder would read them.
func Describe(ctx context.Context, store storage.Store, path string, w io.Writer, opt Options) error {
	if opt.Rows <= 0 {
		opt.Rows = 3
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if names := inputFiles(ctx, store, path); len(names) > 0 {
			return describeInputFolder(ctx, store, path, names, w, opt)
		}
		return describeFolder(path, w)
	}
	if storage.IsURL(path) {
		if ok, err := describeBlobPartition(ctx, store, path, w); ok || err != nil {
			return err
		}
	}
	obj, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer obj.Close()
	var magic [6]byte
	n, err := obj.ReadAt(magic[:], 0)
	if err != nil && err != io.EOF {
		return fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case string(magic[:min(n, 4)]) == "PAR1":
		return describeParquet(ctx, store, obj, w, opt)
	case string(magic[:n]) == arrowMagic:
		return describeArrow(obj, w, opt)
	case strings.HasSuffix(path, ".safetensors"):
		return describeModel(ctx, store, path, w)
	}
	return fmt.Errorf("%s: neither a Parquet file, an Arrow IPC file nor a .safetensors model", path)
}

// writeMeta writes the seqae.* metadata of a table, but its job config.
func writeMeta(w io.Writer, meta map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		if k != write.MetaConfig {
			fmt.Fprintf(w, "%s\t%s\n", k, meta[k])
		}
	}
}

// formatValue renders a reconstructed cell, lists cut to a few items.
func formatValue(v any, depth int) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", x)
	case []byte:
		return fmt.Sprintf("%q", x)
	case float32:
		return fmt.Sprintf("%.4g", x)
	case float64:
		return fmt.Sprintf("%.4g", x)
	case []any:
		keep := 3
		if depth > 0 {
			keep = 4
		}
		var parts []string
		for _, e := range x[:min(keep, len(x))] {
			parts = append(parts, formatValue(e, depth+1))
		}
		if len(x) > keep {
			parts = append(parts, fmt.Sprintf("… %d in all", len(x)))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v)
}

// writeHistogram draws hist (length -> sequences) in at most 10 bins.
func writeHistogram(w io.Writer, hist map[int]int64) {
	lens := slices.Sorted(maps.Keys(hist))
	lo, hi := lens[0], lens[len(lens)-1]
	width := max(1, (hi-lo+10)/10)
	bins := make([]int64, (hi-lo)/width+1)
	var most int64
	for l, n := range hist {
		bins[(l-lo)/width] += n
	}
	for _, n := range bins {
		most = max(most, n)
	}
	for i, n := range bins {
		from := lo + i*width
		bar := strings.Repeat("#", int((40*n+most-1)/most))
		fmt.Fprintf(w, "  %d-%d\t%6d %s\n", from, min(from+width-1, hi), n, bar)
	}
}

func floats(v []float32) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func indent(s string) string {
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + line)
	}
	return b.String() + "\n"
}

func shorten(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(", … %d in all", len(items))
}
