package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/read"
	"github.com/seqae/seqae/schemas/write"
	"github.com/seqae/seqae/storage"
)

// InspectOptions tune Inspect.
type InspectOptions struct {
	Rows int // rows (or sequences) to show; default 3
	// Layout and Spec columns for reading an input table; the zero Spec
	// detects them.
	Spec schemas.Spec
}

// Inspect describes the file or folder at path on w:
//   - a Parquet table: its size, rows, row groups, columns and seqae
//     metadata; for an input table also its layout, sequence count,
//     quarantined rows and length histogram; and a few rows;
//   - a model file (.safetensors): its sizes, parameter count, file size,
//     model id and metadata (normaliser, boundaries, run, version);
//   - a partition folder: its manifest and files;
//   - another folder of Parquet files: its files, and their layout,
//     sequence count, quarantined rows and length histogram read together
//     as a job whose input is the folder would read them.
func Inspect(ctx context.Context, store storage.Store, path string, w io.Writer, opt InspectOptions) error {
	if opt.Rows <= 0 {
		opt.Rows = 3
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if names := inputFiles(ctx, store, path); len(names) > 0 {
			return inspectInputFolder(ctx, store, path, names, w, opt)
		}
		return inspectFolder(path, w)
	}
	if storage.IsURL(path) {
		if ok, err := inspectBlobPartition(ctx, store, path, w); ok || err != nil {
			return err
		}
	}
	obj, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer obj.Close()
	var magic [4]byte
	if _, err := obj.ReadAt(magic[:], 0); err != nil && err != io.EOF {
		return fmt.Errorf("%s: %w", path, err)
	}
	if string(magic[:]) == "PAR1" {
		return inspectParquet(ctx, store, obj, w, opt)
	}
	if strings.HasSuffix(path, ".safetensors") {
		return inspectModel(ctx, store, path, w)
	}
	return fmt.Errorf("%s: neither a Parquet file nor a .safetensors model", path)
}

func inspectModel(ctx context.Context, store storage.Store, path string, w io.Writer) error {
	mf, err := ReadModel(ctx, store, path)
	if err != nil {
		return err
	}
	c := mf.Model.Config
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "model\t%s\n", path)
	fmt.Fprintf(tw, "model id\t%s\n", mf.Model.ID())
	fmt.Fprintf(tw, "file size\t%d bytes\n", mf.Bytes)
	fmt.Fprintf(tw, "sizes\tinput %d, latent %d, decoder hidden %d, head %s\n", c.InputDim, c.LatentDim, c.DecoderHidden, c.Head)
	fmt.Fprintf(tw, "parameters\t%d\n", c.NumParams())
	for _, t := range c.Layout() {
		fmt.Fprintf(tw, "  %s\t%v\n", t.Name, t.Shape)
	}
	fmt.Fprintf(tw, "normaliser mean\t%s\n", floats(mf.Norm.Mean))
	fmt.Fprintf(tw, "normaliser std\t%s\n", floats(mf.Norm.Std))
	if len(mf.Boundaries) > 0 {
		fmt.Fprintf(tw, "padded boundaries\t%v\n", mf.Boundaries)
	}
	for _, k := range slices.Sorted(maps.Keys(mf.Meta)) {
		if k == MetaNormalizer || k == MetaBoundaries || k == MetaJobConfig {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\n", k, mf.Meta[k])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if cfg := mf.Meta[MetaJobConfig]; cfg != "" {
		fmt.Fprintf(w, "job config:\n%s", indent(cfg))
	}
	return nil
}

func inspectParquet(ctx context.Context, store storage.Store, obj storage.Object, w io.Writer, opt InspectOptions) error {
	name := obj.Name()
	f, err := parquet.OpenFile(obj, obj.Size())
	if err != nil {
		return fmt.Errorf("%s: not a readable Parquet file: %w", name, err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "table\t%s\n", name)
	fmt.Fprintf(tw, "file size\t%d bytes\n", obj.Size())
	fmt.Fprintf(tw, "rows\t%d\n", f.NumRows())
	var groups []string
	for _, g := range f.RowGroups() {
		groups = append(groups, fmt.Sprint(g.NumRows()))
	}
	fmt.Fprintf(tw, "row groups\t%d (rows: %s)\n", len(groups), shorten(groups, 12))
	fmt.Fprintf(tw, "columns\t\n")
	for _, fld := range f.Schema().Fields() {
		fmt.Fprintf(tw, "  %s\t%s\n", fld.Name(), typeName(fld))
	}
	meta := map[string]string{}
	for _, kv := range f.Metadata().KeyValueMetadata {
		if strings.HasPrefix(kv.Key, "seqae.") {
			meta[kv.Key] = kv.Value
		}
	}
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		if k != write.MetaConfig {
			fmt.Fprintf(tw, "%s\t%s\n", k, meta[k])
		}
	}
	if len(meta) == 0 {
		if err := describeInput(ctx, store, []string{name}, tw, opt); err != nil {
			return err
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return firstRows(f, w, opt.Rows)
}

// inputFiles returns the files a job whose input is dir reads, when dir is
// not a partition (it has no manifest) and some of them are Parquet files.
func inputFiles(ctx context.Context, store storage.Store, dir string) []string {
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
		return nil
	}
	names, err := store.List(ctx, dir)
	if err != nil || !slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, ".parquet") }) {
		return nil
	}
	return names
}

// inspectInputFolder describes the input files under dir together.
func inspectInputFolder(ctx context.Context, store storage.Store, dir string, names []string, w io.Writer, opt InspectOptions) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "folder\t%s\n", dir)
	var bytes int64
	var lines []string
	for _, name := range names {
		obj, err := store.Open(ctx, name)
		if err != nil {
			return err
		}
		bytes += obj.Size()
		rel, err := filepath.Rel(dir, name)
		if err != nil {
			rel = name
		}
		lines = append(lines, fmt.Sprintf("  %s\t%d bytes", rel, obj.Size()))
		obj.Close()
	}
	fmt.Fprintf(tw, "input files\t%d, %d bytes\n", len(names), bytes)
	if len(lines) > 12 {
		lines = append(lines[:12], fmt.Sprintf("  …\t%d in all", len(names)))
	}
	for _, l := range lines {
		fmt.Fprintln(tw, l)
	}
	if err := describeInput(ctx, store, names, tw, opt); err != nil {
		return err
	}
	return tw.Flush()
}

// describeInput reads input tables together, as a job would, to describe
// their sequences.
func describeInput(ctx context.Context, store storage.Store, names []string, w io.Writer, opt InspectOptions) error {
	in, err := read.Open(ctx, store, names, opt.Spec)
	if err != nil {
		fmt.Fprintf(w, "layout\tnot a seqae input as it stands: %v\n", err)
		return nil
	}
	spec := in.Spec()
	fmt.Fprintf(w, "layout\t%s\n", in.Layout())
	fmt.Fprintf(w, "id\t%s (%s)\n", spec.ID, in.IDField().Kind)
	switch in.Layout() {
	case schemas.Nested:
		fmt.Fprintf(w, "sequence\t%s, %d features per step\n", spec.Sequence, in.Dim())
	case schemas.Long:
		fmt.Fprintf(w, "order\t%s\n", spec.Order)
		fmt.Fprintf(w, "features\t%s\n", strings.Join(spec.Features, ", "))
	default:
		fmt.Fprintf(w, "features\t%s\n", strings.Join(spec.Features, ", "))
	}
	hist := map[int]int64{}
	reasons := map[schemas.Reason]int64{}
	var valid, quarantined int64
	dedup := read.NewDedup(in.IDField().Kind)
	var rows int64
	for _, u := range in.Units() {
		st, err := in.ReadUnit(ctx, u, read.Sink{
			Sequence: func(s *schemas.Sequence) error {
				if q, dup := dedup.Check(s); dup {
					reasons[q.Reason]++
					quarantined++
					return nil
				}
				hist[s.Len]++
				valid++
				return nil
			},
			Quarantine: func(q schemas.Quarantine) error { reasons[q.Reason]++; quarantined++; return nil },
		})
		if err != nil {
			return err
		}
		rows += st.Rows
	}
	if len(names) > 1 {
		fmt.Fprintf(w, "rows\t%d in all\n", rows)
	}
	fmt.Fprintf(w, "sequences\t%d valid, %d quarantined as a run would%s\n", valid, quarantined, ReasonList(reasons))
	if len(hist) > 0 {
		fmt.Fprintf(w, "lengths\t\n")
		writeHistogram(w, hist)
	}
	return nil
}

// ReasonList writes quarantine counts by reason as " (reason n, ...)",
// sorted by reason; "" when there are none.
func ReasonList(reasons map[schemas.Reason]int64) string {
	if len(reasons) == 0 {
		return ""
	}
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(reasons)) {
		parts = append(parts, fmt.Sprintf("%s %d", r, reasons[r]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
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

// firstRows prints the first n rows, long lists shortened.
func firstRows(f *parquet.File, w io.Writer, n int) error {
	if n <= 0 || f.NumRows() == 0 {
		return nil
	}
	fmt.Fprintf(w, "first rows:\n")
	shown := 0
	for _, g := range f.RowGroups() {
		rows := g.Rows()
		buf := make([]parquet.Row, min(int64(n-shown), g.NumRows()))
		k, err := rows.ReadRows(buf)
		rows.Close()
		if err != nil && err != io.EOF {
			return err
		}
		for _, row := range buf[:k] {
			m := map[string]any{}
			if err := f.Schema().Reconstruct(&m, row); err != nil {
				return err
			}
			var cells []string
			for _, fld := range f.Schema().Fields() {
				cells = append(cells, fld.Name()+"="+formatCell(fld, m[fld.Name()]))
			}
			fmt.Fprintf(w, "  %s\n", strings.Join(cells, " "))
			shown++
		}
		if shown == n {
			break
		}
	}
	return nil
}

// formatCell renders a top-level cell, timestamps as times.
func formatCell(f parquet.Field, v any) string {
	ts, ok := v.(int64)
	if lt := f.Type().LogicalType(); ok && lt != nil && strings.HasPrefix(lt.String(), "TIMESTAMP") {
		t := lt.String()
		switch {
		case strings.Contains(t, "MILLIS"):
			return time.UnixMilli(ts).UTC().Format(time.RFC3339Nano)
		case strings.Contains(t, "MICROS"):
			return time.UnixMicro(ts).UTC().Format(time.RFC3339Nano)
		case strings.Contains(t, "NANOS"):
			return time.Unix(0, ts).UTC().Format(time.RFC3339Nano)
		}
	}
	return formatValue(v, 0)
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

func typeName(f parquet.Field) string {
	var b strings.Builder
	if f.Optional() {
		b.WriteString("optional ")
	}
	if f.Leaf() {
		b.WriteString(f.Type().String())
		return b.String()
	}
	if lt := f.Type().LogicalType(); lt != nil && lt.String() == "LIST" && len(f.Fields()) == 1 && len(f.Fields()[0].Fields()) == 1 {
		b.WriteString("list<" + strings.TrimPrefix(typeName(f.Fields()[0].Fields()[0]), "optional ") + ">")
		return b.String()
	}
	b.WriteString("group")
	return b.String()
}

func inspectFolder(dir string, w io.Writer) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	m, err := ReadManifest(filepath.Join(dir, ManifestFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "folder\t%s\n", dir)
	if m != nil {
		_, serr := os.Stat(filepath.Join(dir, SuccessFile))
		fmt.Fprintf(tw, "complete (_SUCCESS)\t%v\n", serr == nil)
		fmt.Fprintf(tw, "table\t%s, date %s, phase %s\n", m.Table, m.Date, m.Phase)
		fmt.Fprintf(tw, "run\t%s (seqae %s), shards %d\n", m.RunID, m.Version, m.ShardCount)
		fmt.Fprintf(tw, "model id\t%s\n", m.ModelID)
		c := m.Counts
		fmt.Fprintf(tw, "counts\t%d sequences in, %d out, %d quarantined%s\n", c.Sequences, c.Encoded, c.Quarantined, ReasonList(c.Reasons))
		var in int64
		for _, f := range m.Inputs {
			in += f.Bytes
		}
		fmt.Fprintf(tw, "inputs\t%d files, %d bytes\n", len(m.Inputs), in)
	}
	if consistency, pending, ok := dateStatus(dir); ok {
		fmt.Fprintf(tw, "date\t%s\n", consistency)
		if pending != "" {
			fmt.Fprintf(tw, "pending commit\t%s\n", pending)
		}
	}
	fmt.Fprintf(tw, "files\t\n")
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			fmt.Fprintf(tw, "  %s\t%d bytes\n", e.Name(), info.Size())
		}
	}
	return tw.Flush()
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
