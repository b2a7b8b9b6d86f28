package inspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/seqae/seqae/jobs"
	"github.com/seqae/seqae/storage"
)

// describeFolder describes a local folder: a partition's manifest, whether
// its date is consistent across the tables, and its files.
func describeFolder(dir string, w io.Writer) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	m, err := jobs.ReadManifest(filepath.Join(dir, jobs.ManifestFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "folder\t%s\n", dir)
	if m != nil {
		_, serr := os.Stat(filepath.Join(dir, jobs.SuccessFile))
		describeManifest(tw, m, serr == nil)
	}
	if consistency, pending, ok := jobs.DateStatus(dir); ok {
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

// describeBlobPartition describes a partition on an object store from its
// manifest. It reports false when path holds no manifest.
func describeBlobPartition(ctx context.Context, s storage.Store, path string, w io.Writer) (bool, error) {
	m, err := jobs.ReadManifestFrom(ctx, s, storage.Join(path, jobs.ManifestFile))
	if m == nil || err != nil {
		return false, err
	}
	success, err := s.Open(ctx, storage.Join(path, jobs.SuccessFile))
	if err == nil {
		success.Close()
	} else if !errors.Is(err, storage.ErrNotFound) {
		return true, err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "folder\t%s\n", storage.Redact(path))
	describeManifest(tw, m, err == nil)
	fmt.Fprintf(tw, "files (from the manifest)\t\n")
	for _, f := range m.Files {
		fmt.Fprintf(tw, "  %s\t%d bytes, %d rows\n", f.Name, f.Bytes, f.Rows)
	}
	return true, tw.Flush()
}

// describeManifest writes what a partition's manifest says, and whether
// the partition is complete, as rows of tw; the requests to an object
// store only when its inputs were read from one.
func describeManifest(tw io.Writer, m *jobs.Manifest, complete bool) {
	fmt.Fprintf(tw, "complete (_SUCCESS)\t%v\n", complete)
	fmt.Fprintf(tw, "table\t%s, date %s, phase %s\n", m.Table, m.Date, m.Phase)
	fmt.Fprintf(tw, "run\t%s (seqae %s), shards %d\n", m.RunID, m.Version, m.ShardCount)
	fmt.Fprintf(tw, "model id\t%s\n", m.ModelID)
	c := m.Counts
	fmt.Fprintf(tw, "counts\t%d sequences in, %d out, %d quarantined%s\n", c.Sequences, c.Encoded, c.Quarantined, jobs.ReasonList(c.Reasons))
	var in, requests int64
	for _, f := range m.Inputs {
		in, requests = in+f.Bytes, requests+f.Requests
	}
	if requests > 0 {
		fmt.Fprintf(tw, "inputs\t%d files, %d bytes, %d requests\n", len(m.Inputs), in, requests)
	} else {
		fmt.Fprintf(tw, "inputs\t%d files, %d bytes\n", len(m.Inputs), in)
	}
}
