package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/seqae/seqae/storage"
)

// The markers of a committed partition.
const (
	SuccessFile  = "_SUCCESS"       // empty; present once the partition is complete
	ManifestFile = "_manifest.json" // what the partition holds and how it was made; "_" hides it from table readers
	shardsDir    = "_shards"        // a sharded partition's per-shard manifests
	stagingDir   = "_staging"       // under the output folder: runs' work in progress
)

// staleStaging is how old a run's leftover staging folder (from a run that
// was killed) must be before another run removes it. Runs in progress,
// such as the other shards of a date, are far younger.
const staleStaging = 24 * time.Hour

var errNoExchange = errors.New("the file system cannot exchange folders atomically")

// exchange is exchangeDirs; tests replace it to exercise the fallback.
var exchange = exchangeDirs

// partition is one table's output for the run's date: staged, then
// committed.
type partition struct {
	table    string
	staged   string // the staging folder holding its files
	sharded  bool   // one shard's part of a date shared by several runs
	manifest *Manifest
}

// partName is the file name of shard i of n of a table.
func partName(s Shard, ext string) string {
	return fmt.Sprintf("part-%05d-of-%05d%s", s.I, s.count(), ext)
}

var partRE = regexp.MustCompile(`^part-(\d{5})-of-(\d{5})(\.[a-z]+)$`)

// commitWhole publishes a staged partition in place of the live one, in
// one step: the staged folder gets its manifest and _SUCCESS, then is
// exchanged with the live folder (renameat2 RENAME_EXCHANGE), so a reader
// sees either the old partition or the new one, whole. Where the file
// system cannot exchange, the live folder is first renamed aside (to a
// hidden name), leaving the date absent, not partial, for the instant
// before the staged one is renamed in. The previous partition is deleted
// after.
func commitWhole(ctx context.Context, p *partition, live, runID string) error {
	if err := writeManifest(ctx, p.staged, p.manifest); err != nil {
		return err
	}
	if err := writeFile(ctx, filepath.Join(p.staged, SuccessFile), nil); err != nil {
		return err
	}
	return publishDir(p.staged, live, runID)
}

// publishDir makes staged the live folder. Afterwards staged no longer
// exists and the previous live folder is gone.
func publishDir(staged, live, runID string) error {
	parent := filepath.Dir(live)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	defer syncDir(parent)
	err := exchange(staged, live)
	switch {
	case err == nil:
		// staged now holds the previous partition.
		return os.RemoveAll(staged)
	case errors.Is(err, fs.ErrNotExist):
		// No live partition yet: a plain rename publishes it whole.
		return os.Rename(staged, live)
	case !errors.Is(err, errNoExchange):
		return fmt.Errorf("publish %s: %w", live, err)
	}
	aside := filepath.Join(parent, "."+filepath.Base(live)+".old-"+runID)
	if err := os.Rename(live, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return os.Rename(staged, live)
		}
		return fmt.Errorf("publish %s: moving the previous partition aside: %w", live, err)
	}
	if err := os.Rename(staged, live); err != nil {
		if rerr := os.Rename(aside, live); rerr != nil {
			return fmt.Errorf("publish %s: %w (and restoring the previous partition from %s: %v)", live, err, aside, rerr)
		}
		return fmt.Errorf("publish %s: %w", live, err)
	}
	return os.RemoveAll(aside)
}

// commitShard publishes one shard's part of a partition that several runs
// (shards i/n) write together. It never touches the parts of the other
// shards of the same n:
//
//  1. If the live partition was written with another number of shards
//     (or unsharded), its _SUCCESS and _manifest.json go first, then its
//     parts: they can never be completed by this sharding.
//  2. The shard's part file is renamed into the live folder, replacing the
//     shard's previous part, if any, in one step.
//  3. The shard's manifest is written to _shards/part-i-of-n.json.
//  4. If every shard's part and manifest are now present, and they all
//     used one model, the merged _manifest.json and then _SUCCESS are
//     written. Whichever shard lands last does it; two landing together
//     both write the same thing.
//
// So while the shards of a new date land, a reader sees their parts appear
// one by one, each whole, with no _SUCCESS until the last; a rerun of a
// shard of a complete date swaps that shard's part in one step and the
// date stays complete.
func commitShard(ctx context.Context, p *partition, live string, shard Shard, log *slog.Logger) error {
	n := shard.count()
	if err := os.MkdirAll(filepath.Join(live, shardsDir), 0o755); err != nil {
		return err
	}
	files, err := os.ReadDir(p.staged)
	if err != nil {
		return err
	}
	own := partName(shard, "")
	var foreign []string
	entries, err := os.ReadDir(live)
	if err != nil {
		return err
	}
	for _, e := range entries {
		m := partRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if of, _ := strconv.Atoi(m[2]); of != n {
			foreign = append(foreign, filepath.Join(live, e.Name()))
		} else if e.Name()[:len(own)] == own && !slices.ContainsFunc(files, func(f fs.DirEntry) bool { return f.Name() == e.Name() }) {
			foreign = append(foreign, filepath.Join(live, e.Name())) // this shard's part in another format
		}
	}
	manifests, err := os.ReadDir(filepath.Join(live, shardsDir))
	if err != nil {
		return err
	}
	for _, e := range manifests {
		if m := partRE.FindStringSubmatch(e.Name()); m != nil {
			if of, _ := strconv.Atoi(m[2]); of != n {
				foreign = append(foreign, filepath.Join(live, shardsDir, e.Name()))
			}
		}
	}
	if len(foreign) > 0 {
		if err := removeMarkers(live); err != nil {
			return err
		}
		for _, f := range foreign {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	for _, f := range files {
		if err := os.Rename(filepath.Join(p.staged, f.Name()), filepath.Join(live, f.Name())); err != nil {
			return fmt.Errorf("publish %s: %w", filepath.Join(live, f.Name()), err)
		}
	}
	syncDir(live)
	if err := writeJSON(ctx, filepath.Join(live, shardsDir, own+".json"), p.manifest); err != nil {
		return err
	}
	return completeShards(ctx, live, n, log)
}

// completeShards writes a sharded partition's merged manifest and
// _SUCCESS once all n shards have landed with one model.
func completeShards(ctx context.Context, live string, n int, log *slog.Logger) error {
	shards := make([]*Manifest, n)
	for i := range n {
		m, err := ReadManifest(filepath.Join(live, shardsDir, partName(Shard{I: i, N: n}, ".json")))
		if errors.Is(err, fs.ErrNotExist) {
			return nil // not every shard has landed yet
		}
		if err != nil {
			return err
		}
		for _, f := range m.Files {
			if _, err := os.Stat(filepath.Join(live, f.Name)); err != nil {
				return nil // landing: its manifest comes after its files
			}
		}
		shards[i] = m
	}
	for _, m := range shards[1:] {
		if m.ModelID != shards[0].ModelID {
			log.Warn("shards used different models: the date is not marked complete; rerun its other shards",
				"partition", live, "model_ids", modelIDs(shards))
			return removeMarkers(live)
		}
	}
	if err := writeManifest(ctx, live, mergeShards(shards)); err != nil {
		return err
	}
	return writeFile(ctx, filepath.Join(live, SuccessFile), nil)
}

func modelIDs(ms []*Manifest) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.Shard+"="+m.ModelID)
	}
	return ids
}

// removeMarkers takes a partition's completeness away: _SUCCESS first, so
// no reader trusts a manifest being removed.
func removeMarkers(dir string) error {
	for _, name := range []string{SuccessFile, ManifestFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// cleanStaging removes staging folders left by runs that were killed.
func cleanStaging(out string, log *slog.Logger) {
	dir := filepath.Join(out, stagingDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < staleStaging {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err == nil {
			log.Info("removed a killed run's staging folder", "folder", filepath.Join(dir, e.Name()))
		}
	}
}

func writeManifest(ctx context.Context, dir string, m *Manifest) error {
	return writeJSON(ctx, filepath.Join(dir, ManifestFile), m)
}

func writeJSON(ctx context.Context, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(ctx, name, append(b, '\n'))
}

// writeFile publishes name with data in one step (storage.Local writes
// aside and renames).
func writeFile(ctx context.Context, name string, data []byte) error {
	w, err := storage.Local{}.Create(ctx, name)
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Close()
}

// syncDir makes renames in dir durable where the platform allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
