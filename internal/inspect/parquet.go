package inspect

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/jobs"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/read"
	"github.com/seqae/seqae/storage"
)

func describeParquet(ctx context.Context, store storage.Store, obj storage.Object, w io.Writer, opt Options) error {
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
	writeMeta(tw, meta)
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
	if _, err := os.Stat(filepath.Join(dir, jobs.ManifestFile)); err == nil {
		return nil
	}
	names, err := store.List(ctx, dir)
	if err != nil || !slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, ".parquet") }) {
		return nil
	}
	return names
}

// describeInputFolder describes the input files under dir together.
func describeInputFolder(ctx context.Context, store storage.Store, dir string, names []string, w io.Writer, opt Options) error {
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
func describeInput(ctx context.Context, store storage.Store, names []string, w io.Writer, opt Options) error {
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
	fmt.Fprintf(w, "sequences\t%d valid, %d quarantined as a run would%s\n", valid, quarantined, jobs.ReasonList(reasons))
	if len(hist) > 0 {
		fmt.Fprintf(w, "lengths\t\n")
		writeHistogram(w, hist)
	}
	return nil
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
