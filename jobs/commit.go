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
	"strings"
	"time"

	"github.com/seqae/seqae/storage"
)

// The markers of a committed partition.
const (
	SuccessFile  = "_SUCCESS"       // empty; present once the partition is complete
	ManifestFile = "_manifest.json" // what the partition holds and how it was made; "_" hides it from table readers
	shardsDir    = "_shards"        // a sharded partition's per-shard manifests
	stagingDir   = "_staging"       // under the output folder: runs' work in progress
	lockName     = "_commit.lock"   // in each table's folder: commits to the table take turns on it
	runLockName  = "_run.lock"      // in a run's staging folder: held while the run is alive
	previousDir  = "_previous"      // in a run's staging folder: partitions it replaced or removed, until deleted
)

// staleStaging is how old a run (by the time in its run id) must be before
// another run may remove its leftover staging folder, and then only if the
// run no longer holds its _run.lock (where the file system has flock).
const staleStaging = 24 * time.Hour

// lockWait is how long a commit waits for a table's lock folder (lockByDir)
// before giving up; tests shorten it.
var lockWait = time.Minute

var (
	errNoExchange = errors.New("the file system cannot exchange folders atomically")
	errNoLock     = errors.New("the file system does not support flock")
	errLocked     = errors.New("locked by another process")
)

// exchange is exchangeDirs; tests replace it to exercise the fallback.
var exchange = exchangeDirs

// partition is one table's output for the run's date: staged, then
// committed; or, with no manifest, a table the run does not write, whose
// live partition (or, sharded, this shard's part of it) the run removes.
type partition struct {
	table    string
	staged   string // the staging folder holding its files; "" when removing
	sharded  bool   // one shard's part of a date shared by several runs
	manifest *Manifest
}

func (p *partition) removes() bool { return p.manifest == nil }

// partName is the file name of shard i of n of a table.
func partName(s Shard, ext string) string {
	return fmt.Sprintf("part-%05d-of-%05d%s", s.I, s.count(), ext)
}

var partRE = regexp.MustCompile(`^part-(\d{5})-of-(\d{5})(\.[a-z]+)$`)

// tableLock serialises commits to one table's partitions, across processes:
// an flock on the table folder's _commit.lock, or, where the file system
// has no flock, lockByDir.
type tableLock struct {
	dir string
	f   *os.File
}

// openTableLock makes the table folder dir, if need be, and opens its lock
// file, so that a folder that cannot be written fails before anything is
// committed.
func openTableLock(dir string) (*tableLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &tableLock{dir: dir, f: f}, nil
}

// lock waits for the table's lock.
func (l *tableLock) lock() (unlock func(), err error) {
	unlock, err = lockFile(l.f, true)
	if errors.Is(err, errNoLock) {
		return lockByDir(filepath.Join(l.dir, lockName+".d"))
	}
	return unlock, err
}

func (l *tableLock) close() { l.f.Close() }

// lockByDir is the commit lock where the file system has no flock: a folder
// made with mkdir, which is atomic everywhere. A run killed while holding it
// (a commit holds it for a few renames) leaves it behind: the next commit
// waits lockWait, then fails naming it.
func lockByDir(name string) (unlock func(), err error) {
	deadline := time.Now().Add(lockWait)
	for {
		err := os.Mkdir(name, 0o755)
		if err == nil {
			return func() { os.Remove(name) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("waited %v for the commit lock %s: another run is committing to this table, or one was killed while committing; if no seqae run is committing, remove it", lockWait, name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// commit publishes parts in order, each under its table's lock. Before the
// first it makes every table folder and lock file and writes every whole
// partition's markers into staging, so that an unwritable output fails the
// run with nothing committed. A failure after that leaves the tables
// before it committed: the error names them. It returns the partitions
// committed and those removed.
func (r *runner) commit(ctx context.Context, parts []*partition) (committed, removed []string, err error) {
	locks := make([]*tableLock, len(parts))
	defer func() {
		for _, l := range locks {
			if l != nil {
				l.close()
			}
		}
	}()
	for i, p := range parts {
		dir := filepath.Dir(r.live(p.table))
		if p.removes() {
			if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
				continue // no such table: nothing to remove
			}
		}
		if locks[i], err = openTableLock(dir); err != nil {
			return nil, nil, fmt.Errorf("preparing to commit %s: %w; nothing committed", r.live(p.table), err)
		}
		if !p.sharded && !p.removes() {
			if err := stageMarkers(ctx, p); err != nil {
				return nil, nil, fmt.Errorf("preparing to commit %s: %w; nothing committed", r.live(p.table), err)
			}
		}
	}
	var done []string // committed and removed, in order
	for i, p := range parts {
		if locks[i] == nil {
			continue
		}
		live := r.live(p.table)
		gone, err := r.commitOne(ctx, p, live, locks[i])
		if err != nil {
			if len(done) == 0 {
				return nil, nil, fmt.Errorf("committing %s: %w; nothing committed", live, err)
			}
			r.log.Error("commit failed part-way: the date now mixes this run's tables with earlier runs'; rerun it",
				"failed", live, "committed", committed, "removed", removed, "error", err)
			return nil, nil, fmt.Errorf("committing %s: %w (already committed: %s; the date mixes this run's tables with earlier runs': rerun it)", live, err, strings.Join(done, ", "))
		}
		switch {
		case !p.removes():
			r.log.Info("committed", "table", p.table, "partition", live)
			committed, done = append(committed, live), append(done, live)
		case gone:
			r.log.Info("removed: this run does not write the table", "table", p.table, "partition", live)
			removed, done = append(removed, live), append(done, live+" (removed)")
		}
	}
	return committed, removed, nil
}

// commitOne commits or removes one partition under its table's lock. gone
// reports whether a removal found something to remove.
func (r *runner) commitOne(ctx context.Context, p *partition, live string, l *tableLock) (gone bool, err error) {
	unlock, err := l.lock()
	if err != nil {
		return false, err
	}
	defer unlock()
	aside := filepath.Join(r.staging, previousDir, p.table, filepath.Base(live))
	switch {
	case p.sharded:
		return commitShard(ctx, p, live, r.opt.Shard, r.log)
	case p.removes():
		return removeDir(live, aside, r.log)
	}
	return false, publishDir(p.staged, live, aside, r.log)
}

// stageMarkers gives a staged whole partition its manifest and _SUCCESS.
func stageMarkers(ctx context.Context, p *partition) error {
	if err := writeManifest(ctx, p.staged, p.manifest); err != nil {
		return err
	}
	return writeFile(ctx, filepath.Join(p.staged, SuccessFile), nil)
}

// publishDir makes the staged folder (with its markers) the live one, in
// one step: the two are exchanged (renameat2 RENAME_EXCHANGE), so a reader
// sees either the old partition or the new one, whole. Where the file
// system cannot exchange, the live folder is first renamed to aside (in the
// run's staging folder, so a run killed in between leaves it where staging
// cleanup finds it), leaving the date absent, not partial, for the instant
// before the staged one is renamed in. The previous partition is deleted
// after; failing to delete it is only a warning (the run's staging is
// removed again at its end, or by a later run).
func publishDir(staged, live, aside string, log *slog.Logger) error {
	parent := filepath.Dir(live)
	defer syncDir(parent)
	err := exchange(staged, live)
	switch {
	case err == nil:
		// staged now holds the previous partition.
		removeOld(staged, log)
		return nil
	case errors.Is(err, fs.ErrNotExist):
		// No live partition yet: a plain rename publishes it whole.
		return os.Rename(staged, live)
	case !errors.Is(err, errNoExchange):
		return err
	}
	if err := os.MkdirAll(filepath.Dir(aside), 0o755); err != nil {
		return err
	}
	if err := os.Rename(live, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return os.Rename(staged, live)
		}
		return fmt.Errorf("moving the previous partition aside: %w", err)
	}
	if err := os.Rename(staged, live); err != nil {
		if rerr := os.Rename(aside, live); rerr != nil {
			return fmt.Errorf("%w (and restoring the previous partition from %s: %v)", err, aside, rerr)
		}
		return err
	}
	removeOld(aside, log)
	return nil
}

// removeDir removes the live partition of a table the run does not write:
// it is renamed to aside in one step, so readers see it whole or not at
// all, then deleted. It reports whether there was one.
func removeDir(live, aside string, log *slog.Logger) (bool, error) {
	if err := os.MkdirAll(filepath.Dir(aside), 0o755); err != nil {
		return false, err
	}
	if err := os.Rename(live, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	syncDir(filepath.Dir(live))
	removeOld(aside, log)
	return true, nil
}

// removeOld deletes a partition that is no longer live.
func removeOld(dir string, log *slog.Logger) {
	if err := os.RemoveAll(dir); err != nil {
		log.Warn("could not delete a replaced partition; it is under the run's staging folder, which is removed at the run's end or by a later run",
			"folder", dir, "error", err)
	}
}

// commitShard publishes one shard's part of a partition that several runs
// (shards i/n) write together, under the table's lock, so shards landing
// at once take turns. It never touches the parts of the other shards of
// the same n:
//
//  1. If the live partition was written with another number of shards (or
//     unsharded), or its merged manifest's fingerprint differs from this
//     shard's, or this shard removes its part, _SUCCESS and _manifest.json
//     go first: the date is complete again only once all of its shards
//     agree. Then the parts of another number of shards go.
//  2. The shard's part file is renamed into the live folder, replacing the
//     shard's previous part, if any, in one step.
//  3. The shard's manifest is written to _shards/part-i-of-n.json.
//  4. If every shard's part and manifest are now present, and their
//     fingerprints (inputs, settings, format, model) are all equal, the
//     merged _manifest.json and then _SUCCESS are written.
//
// A removal (a table the run no longer writes) takes the shard's part and
// manifest away instead of 2 and 3, and leaves the date incomplete.
//
// So while the shards of a new date land, a reader sees their parts appear
// one by one, each whole, with no _SUCCESS until the last; a rerun of a
// shard of a complete date with the same fingerprint swaps that shard's
// part in one step and the date stays complete (the same inputs, settings
// and model make the same rows). It reports whether anything was removed.
func commitShard(ctx context.Context, p *partition, live string, shard Shard, log *slog.Logger) (bool, error) {
	n := shard.count()
	own := partName(shard, "")
	var files []fs.DirEntry
	if p.removes() {
		if _, err := os.Stat(live); errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
	} else {
		var err error
		if files, err = os.ReadDir(p.staged); err != nil {
			return false, err
		}
		if err := os.MkdirAll(filepath.Join(live, shardsDir), 0o755); err != nil {
			return false, err
		}
	}
	var stale []string // files of the live partition this shard takes away
	entries, err := os.ReadDir(live)
	if err != nil {
		return false, err
	}
	foreignCount := false
	for _, e := range entries {
		m := partRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if of, _ := strconv.Atoi(m[2]); of != n {
			stale, foreignCount = append(stale, filepath.Join(live, e.Name())), true
		} else if strings.HasPrefix(e.Name(), own) && !slices.ContainsFunc(files, func(f fs.DirEntry) bool { return f.Name() == e.Name() }) {
			stale = append(stale, filepath.Join(live, e.Name())) // this shard's part in another format, or one it no longer writes
		}
	}
	manifests, err := os.ReadDir(filepath.Join(live, shardsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	for _, e := range manifests {
		m := partRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if of, _ := strconv.Atoi(m[2]); of != n {
			stale, foreignCount = append(stale, filepath.Join(live, shardsDir, e.Name())), true
		} else if p.removes() && e.Name() == own+".json" {
			stale = append(stale, filepath.Join(live, shardsDir, e.Name()))
		}
	}
	if foreignCount || p.removes() || !sameFingerprint(live, p.manifest) {
		if err := removeMarkers(live); err != nil {
			return false, err
		}
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	if p.removes() {
		// Drop the folder if no shard's part is left in it.
		os.Remove(filepath.Join(live, shardsDir))
		os.Remove(live)
		syncDir(filepath.Dir(live))
		return len(stale) > 0, nil
	}
	for _, f := range files {
		if err := os.Rename(filepath.Join(p.staged, f.Name()), filepath.Join(live, f.Name())); err != nil {
			return false, fmt.Errorf("publish %s: %w", filepath.Join(live, f.Name()), err)
		}
	}
	syncDir(live)
	if err := writeJSON(ctx, filepath.Join(live, shardsDir, own+".json"), p.manifest); err != nil {
		return false, err
	}
	return false, completeShards(ctx, live, n, log)
}

// sameFingerprint reports whether the live partition is complete with the
// fingerprint of m.
func sameFingerprint(live string, m *Manifest) bool {
	cur, err := ReadManifest(filepath.Join(live, ManifestFile))
	return err == nil && cur.Fingerprint == m.Fingerprint
}

// completeShards writes a sharded partition's merged manifest and
// _SUCCESS once all n shards have landed with one fingerprint.
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
	var differ []string
	for _, m := range shards[1:] {
		for _, d := range m.Fingerprint.differences(shards[0].Fingerprint) {
			if !slices.Contains(differ, d) {
				differ = append(differ, d)
			}
		}
	}
	if len(differ) > 0 {
		var each []string
		for _, m := range shards {
			f := m.Fingerprint
			each = append(each, fmt.Sprintf("%s: %d inputs (%.12s), settings %.12s, format %s, model %s", m.Shard, len(m.Inputs), f.Inputs, f.Settings, f.Format, f.ModelID))
		}
		log.Warn("the date's shards differ in "+strings.Join(differ, ", ")+": it is not marked complete; rerun the shards that differ",
			"partition", live, "shards", each)
		return removeMarkers(live)
	}
	if err := writeManifest(ctx, live, mergeShards(shards)); err != nil {
		return err
	}
	return writeFile(ctx, filepath.Join(live, SuccessFile), nil)
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

// holdStaging makes a run's staging folder and holds its _run.lock for the
// run's life, so that cleanStaging in other runs leaves it alone however
// long the run takes. release lets go of it.
func holdStaging(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, runLockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	unlock, err := lockFile(f, false)
	if err != nil && !errors.Is(err, errNoLock) {
		f.Close()
		return nil, err
	}
	return func() {
		if unlock != nil {
			unlock()
		}
		f.Close()
	}, nil
}

// cleanStaging removes the staging folders of runs that were killed: those
// whose run id says they started more than staleStaging ago and whose
// _run.lock nobody holds (where the file system has no flock, age alone
// decides). Folders not named as run ids are left alone.
func cleanStaging(out string, now time.Time, log *slog.Logger) {
	dir := filepath.Join(out, stagingDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		started, ok := runStart(e.Name())
		if !ok || now.Sub(started) < staleStaging {
			continue
		}
		folder := filepath.Join(dir, e.Name())
		if removeDead(folder) {
			log.Info("removed a killed run's staging folder", "folder", folder, "started", started)
		} else {
			log.Debug("left the staging folder of a run still in progress", "folder", folder, "started", started)
		}
	}
}

// removeDead removes a run's staging folder unless the run still holds its
// _run.lock. It reports whether it removed it.
func removeDead(folder string) bool {
	if f, err := os.Open(filepath.Join(folder, runLockName)); err == nil {
		defer f.Close()
		unlock, err := lockFile(f, false)
		if errors.Is(err, errLocked) {
			return false
		}
		if unlock != nil {
			defer unlock()
		}
	}
	return os.RemoveAll(folder) == nil
}

// runIDTime is the layout of the time that starts a run id.
const runIDTime = "20060102T150405Z"

// runStart reads the start time from a run id (newRunID).
func runStart(id string) (time.Time, bool) {
	stamp, _, ok := strings.Cut(id, "-")
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(runIDTime, stamp)
	return t, err == nil
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
