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
	"syscall"
	"time"

	"github.com/seqae/seqae/storage"
)

// The markers of a committed partition, and the names seqae gives its
// own files beside the tables.
const (
	SuccessFile  = "_SUCCESS"        // empty; present once the partition is complete
	ManifestFile = "_manifest.json"  // what the partition holds and how it was made; "_" hides it from table readers
	shardsDir    = "_shards"         // a sharded partition's per-shard manifests
	stagingDir   = "_staging"        // under the output folder: runs' work in progress
	lockName     = "_commit.lock"    // in each table's folder: commits to the table take turns on it
	holderName   = "holder.json"     // in a lock folder (lockByDir): who holds it
	runLockName  = "_run.lock"       // in a run's staging folder: held while the run is alive
	runMarker    = "_seqae_run.json" // in a run's staging folder: seqae made it, for which run and process
	intentName   = "_intent.json"    // in a run's staging folder: the commit in progress
	previousDir  = "_previous"       // in a run's staging folder: partitions it replaced or removed, until deleted
)

// staleStaging is, where the file system has no flock, how old a run of
// another host (by its staging folder's marker) must be before a later
// run takes it for killed and reclaims its staging folder.
const staleStaging = 24 * time.Hour

// lockExpiry is, where the file system has no flock, how long a lock
// folder (lockByDir) or a commit in progress may stand before another run
// takes its holder for killed: a commit is a few renames. A holder on the
// same host is taken for killed sooner, as soon as its process is gone.
var lockExpiry = 5 * time.Minute

// lockWait is how long a commit waits for a table's lock folder before
// giving up: longer than lockExpiry, so that a killed holder's lock
// expires first. Tests shorten both.
var lockWait = lockExpiry + time.Minute

var (
	errNoExchange = errors.New("the file system cannot exchange folders atomically")
	errNoLock     = errors.New("the file system does not support flock")
	errLocked     = errors.New("locked by another process")
)

// fileOps are the changes the commit makes to the output folder, each one
// step that a crash leaves done or not done. fsys is what the commit, its
// recovery and staging cleanup use; tests replace it to fail, or to stop
// as a killed process would, at any step.
type fileOps interface {
	Rename(from, to string) error
	// Exchange swaps two existing folders in one step; it returns
	// errNoExchange where the file system cannot.
	Exchange(a, b string) error
	Mkdir(name string) error
	MkdirAll(name string) error
	Remove(name string) error
	RemoveAll(name string) error
	// WriteFile publishes name holding data in one step, synced.
	WriteFile(ctx context.Context, name string, data []byte) error
}

var fsys fileOps = osOps{}

// osOps are the operating system's fileOps.
type osOps struct{}

func (osOps) Rename(from, to string) error { return os.Rename(from, to) }
func (osOps) Exchange(a, b string) error   { return exchangeDirs(a, b) }
func (osOps) Mkdir(name string) error      { return os.Mkdir(name, 0o755) }
func (osOps) MkdirAll(name string) error   { return os.MkdirAll(name, 0o755) }
func (osOps) Remove(name string) error     { return os.Remove(name) }
func (osOps) RemoveAll(name string) error  { return os.RemoveAll(name) }

// WriteFile writes aside and renames (storage.Local), syncing the file.
func (osOps) WriteFile(ctx context.Context, name string, data []byte) error {
	return writeTo(ctx, storage.Local{}, name, data)
}

// flock is lockFile; tests replace it to take the paths of file systems
// without flock.
var flock = lockFile

// selfPID and selfHost name this process in holder records; tests change
// selfPID to play a process that has since died.
var (
	selfPID     = os.Getpid()
	selfHost, _ = os.Hostname()
)

// holder says which run and process holds a staging folder, a lock folder
// or a commit in progress, and since when.
type holder struct {
	Run  string    `json:"run_id"`
	PID  int       `json:"pid"`
	Host string    `json:"host"`
	Time time.Time `json:"time"`
}

func (r *runner) holder() holder {
	return holder{Run: r.runID, PID: selfPID, Host: selfHost, Time: time.Now().UTC()}
}

// dead reports whether h's process is certainly gone: a process of this
// host that no longer exists, or a holder older than expiry.
func (h holder) dead(now time.Time, expiry time.Duration) bool {
	if h.Host == selfHost && h.PID > 0 && !processAlive(h.PID) {
		return true
	}
	return now.Sub(h.Time) > expiry
}

func (h holder) String() string {
	return fmt.Sprintf("run %s (pid %d on %s, since %s)", h.Run, h.PID, h.Host, h.Time.Format(time.RFC3339))
}

func readHolder(name string) (holder, error) {
	var h holder
	b, err := os.ReadFile(name)
	if err == nil {
		err = json.Unmarshal(b, &h)
	}
	return h, err
}

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
	if err := fsys.MkdirAll(dir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &tableLock{dir: dir, f: f}, nil
}

// lock waits for the table's lock. Where a lock folder stands in for
// flock, h says who holds it and scratch is a folder of the holder's in
// the output folder (its staging folder) to build and dismantle it in.
func (l *tableLock) lock(h holder, scratch string) (unlock func(), err error) {
	unlock, err = flock(l.f, true)
	if errors.Is(err, errNoLock) {
		return lockByDir(filepath.Join(l.dir, lockName+".d"), scratch, h)
	}
	return unlock, err
}

func (l *tableLock) close() { l.f.Close() }

// lockByDir is the commit lock where the file system has no flock: a folder
// name holding a record of its holder. It is built in scratch, then
// renamed to name, which fails while name exists (a folder with files in
// it), so it appears with its record, in one step; it is renamed back into
// scratch to unlock. A run killed while holding it leaves it behind; a
// later run takes it over once its holder is dead (holder.dead: a process
// of this host that no longer exists, or a holder older than lockExpiry).
// scratch must be on the file system of name; what a killed run leaves in
// it goes with its staging folder.
func lockByDir(name, scratch string, h holder) (unlock func(), err error) {
	deadline := time.Now().Add(lockWait)
	d := dirLock{scratch: scratch, h: h}
	for {
		err := d.place(name)
		if err == nil {
			if _, dead := lockHolder(name + ".break"); dead {
				d.remove(name+".break", "expired") // left by a run killed taking over
			}
			return func() { d.remove(name, "released") }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("commit lock %s: %w", name, err)
		}
		other, dead := lockHolder(name)
		if dead && d.takeOver(name) {
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("waited %v for the commit lock %s, held by %s: another run is committing to this table; a killed holder's lock is taken over %v after it was taken, or at once on its own host",
				lockWait, name, other, lockExpiry)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dirLock makes and removes the folders of lockByDir for holder h, in
// scratch.
type dirLock struct {
	scratch string
	h       holder
}

// aside names a new folder in scratch.
func (d dirLock) aside(name, what string) string {
	return filepath.Join(d.scratch, fmt.Sprintf("%s-%s-%d", filepath.Base(name), what, time.Now().UnixNano()))
}

// place makes the folder name holding h's record, in one step; it fails
// with fs.ErrExist while name exists.
func (d dirLock) place(name string) error {
	mine := d.aside(name, "new")
	if err := fsys.MkdirAll(mine); err != nil {
		return err
	}
	if err := writeJSON(context.Background(), filepath.Join(mine, holderName), d.h); err != nil {
		fsys.RemoveAll(mine)
		return err
	}
	err := fsys.Rename(mine, name)
	if err != nil {
		fsys.RemoveAll(mine)
	}
	return err
}

// remove takes the folder name away in one step (renamed into scratch,
// then deleted), reporting whether it was there to take.
func (d dirLock) remove(name, why string) bool {
	gone := d.aside(name, why)
	if fsys.Rename(name, gone) != nil {
		return false
	}
	fsys.RemoveAll(gone)
	return true
}

// takeOver takes away the lock folder name, whose holder was judged dead.
// Runs that find the same dead lock take it over one at a time, each
// holding name+".break" (a folder placed like the lock, for as long as a
// rename takes) and judging the holder again under it: otherwise a run
// that judged the old holder dead could take away the lock another run
// had just taken over. A .break folder left by a run killed in that
// moment is taken away once its holder is dead, as a lock is, by the next
// run that needs it or takes the lock. takeOver
// reports whether it is worth trying to lock again at once.
func (d dirLock) takeOver(name string) bool {
	brk := name + ".break"
	if err := d.place(brk); err != nil {
		_, dead := lockHolder(brk)
		return dead && d.remove(brk, "expired")
	}
	defer d.remove(brk, "released")
	if _, dead := lockHolder(name); dead {
		d.remove(name, "expired")
	}
	return true
}

// lockHolder reads a lock folder's holder and judges whether it is dead.
func lockHolder(name string) (holder, bool) {
	h, err := readHolder(filepath.Join(name, holderName))
	if err != nil {
		// Gone meanwhile (try again), or a folder this version of seqae did
		// not make: judged by its age.
		st, serr := os.Stat(name)
		if serr != nil {
			return h, false
		}
		h = holder{Run: "unknown (no holder record)", Time: st.ModTime()}
	}
	return h, h.dead(time.Now(), lockExpiry)
}

// intent is a commit in progress, written to the run's staging folder
// (intentName) before the first table is touched and removed after the
// last. A later run that finds it while its run is dead finishes the
// commit (finishCommit).
type intent struct {
	holder
	Date   string        `json:"date"`
	Tables []intentTable `json:"tables"`
}

// intentTable is one table's step of a commit. Paths are relative to the
// output folder.
type intentTable struct {
	Table  string `json:"table"`
	Live   string `json:"live"`             // the partition folder
	Staged string `json:"staged,omitempty"` // the staged partition; "" for a removal
	Aside  string `json:"aside"`            // where the previous partition goes until deleted
	// Existed and Before are the live partition's state before the commit:
	// whether it existed and its run (partitionRun), or, sharded, the run
	// of this shard's manifest (shardRun).
	Existed bool   `json:"existed"`
	Before  string `json:"before"`
	// Shard and Manifest are set for one shard's part of a partition:
	// the shard, and its manifest (nil for a removal). Unsharded are the
	// files of an unsharded live partition not named as parts, which the
	// shard's commit removes (unshardedFiles).
	Shard     *Shard    `json:"shard,omitempty"`
	Manifest  *Manifest `json:"manifest,omitempty"`
	Unsharded []string  `json:"unsharded,omitempty"`
}

// commit publishes parts: every table's partition, or its removal, as one
// commit. Before touching any table it makes every table folder and lock
// file and writes every whole partition's markers into staging, so that an
// unwritable output fails the run with nothing committed; then it takes
// every table's lock, in table order, checks that each partition it
// replaces holds only seqae's files, and writes the intent record. A run
// killed from then on leaves the record, and the next run finishes the
// commit. A failure on a table leaves the record too, unless no table had
// changed: the error names the tables committed. It returns the
// partitions committed and those removed.
func (r *runner) commit(ctx context.Context, parts []*partition) (committed, removed []string, err error) {
	out := r.cfg.Output.Dir
	var locks []*tableLock
	defer func() {
		for _, l := range locks {
			l.close()
		}
	}()
	var plan []intentTable
	for _, p := range parts {
		live := r.live(p.table)
		dir := filepath.Dir(live)
		if p.removes() {
			if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
				continue // no such table: nothing to remove
			}
		}
		l, err := openTableLock(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("preparing to commit %s: %w; nothing committed", live, err)
		}
		locks = append(locks, l)
		if !p.sharded && !p.removes() {
			if err := stageMarkers(ctx, p); err != nil {
				return nil, nil, fmt.Errorf("preparing to commit %s: %w; nothing committed", live, err)
			}
		}
		e := intentTable{Table: p.table, Live: rel(out, live), Aside: rel(out, filepath.Join(r.staging, previousDir, p.table, filepath.Base(live)))}
		if !p.removes() {
			e.Staged = rel(out, p.staged)
		}
		if p.sharded {
			s := r.opt.Shard
			e.Shard, e.Manifest = &s, p.manifest
		}
		plan = append(plan, e)
	}
	h := r.holder()
	unlock, err := lockTables(locks, h, r.staging)
	if err != nil {
		return nil, nil, fmt.Errorf("%w; nothing committed", err)
	}
	defer unlock()
	for i, e := range plan {
		live := filepath.Join(out, e.Live)
		if err := checkOwnFiles(live); err != nil {
			return nil, nil, fmt.Errorf("%w; nothing committed", err)
		}
		if e.Shard != nil {
			plan[i].Before, plan[i].Existed, plan[i].Unsharded = shardRun(live, *e.Shard), true, unshardedFiles(live)
		} else {
			plan[i].Before, plan[i].Existed = partitionRun(live)
		}
	}
	record := filepath.Join(r.staging, intentName)
	if err := writeJSON(ctx, record, &intent{holder: h, Date: r.date, Tables: plan}); err != nil {
		return nil, nil, fmt.Errorf("recording the commit in %s: %w; nothing committed", record, err)
	}
	syncDir(r.staging)
	var done []string // committed and removed, in order
	for _, e := range plan {
		live := filepath.Join(out, e.Live)
		gone, err := applyTable(ctx, out, r.runID, e, r.log)
		if err != nil {
			if len(done) == 0 && unchanged(out, e) {
				fsys.Remove(record)
				return nil, nil, fmt.Errorf("committing %s: %w; nothing committed", live, err)
			}
			r.log.Error("commit failed part-way: the date mixes this run's tables with earlier runs' until the next run on the output folder finishes the commit",
				"failed", live, "committed", committed, "removed", removed, "record", record, "error", err)
			return nil, nil, fmt.Errorf("committing %s: %w (already committed: %s; the date mixes this run's tables with earlier runs' until the next seqae run on %s finishes the commit recorded in %s)",
				live, err, strings.Join(done, ", "), out, record)
		}
		switch {
		case e.Staged != "":
			r.log.Info("committed", "table", e.Table, "partition", live)
			committed, done = append(committed, live), append(done, live)
		case gone:
			r.log.Info("removed: this run does not write the table", "table", e.Table, "partition", live)
			removed, done = append(removed, live), append(done, live+" (removed)")
		}
	}
	if err := fsys.Remove(record); err != nil {
		r.log.Warn("could not remove the record of a finished commit; the next run removes it", "record", record, "error", err)
	}
	syncDir(r.staging)
	return committed, removed, nil
}

// lockTables takes the locks in order (every commit takes them in table
// order, so two never wait on each other); h and scratch are as for
// tableLock.lock. unlock releases them.
func lockTables(locks []*tableLock, h holder, scratch string) (unlock func(), err error) {
	var held []func()
	unlock = func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i]()
		}
	}
	for _, l := range locks {
		u, err := l.lock(h, scratch)
		if err != nil {
			unlock()
			return nil, fmt.Errorf("waiting for the commit lock of %s: %w", l.dir, err)
		}
		held = append(held, u)
	}
	return unlock, nil
}

// unchanged reports whether a table step that failed left the live
// partition as it was, with nothing set aside.
func unchanged(out string, e intentTable) bool {
	live := filepath.Join(out, e.Live)
	if e.Shard != nil {
		return false // a shard's step changes several files: leave it to the next run
	}
	run, existed := partitionRun(live)
	return run == e.Before && existed == e.Existed && !pathExists(filepath.Join(out, e.Aside))
}

// applyTable takes one table's step of the commit of run, from whatever
// state a run killed during it left: the staged partition published, or
// the live one removed; it reports whether a removal found something to
// remove. A live partition that another run has committed since the
// commit began is left alone. Every step is safe to repeat.
func applyTable(ctx context.Context, out, run string, e intentTable, log *slog.Logger) (gone bool, err error) {
	live, aside := filepath.Join(out, e.Live), filepath.Join(out, e.Aside)
	var staged string
	if e.Staged != "" {
		staged = filepath.Join(out, e.Staged)
	}
	if e.Shard != nil {
		if cur := shardRun(live, *e.Shard); cur != e.Before && cur != run {
			log.Warn("left a shard's part that another run has committed since", "partition", live, "shard", e.Shard.String(), "run", cur)
			return false, nil
		}
		return commitShard(ctx, &partition{table: e.Table, staged: staged, sharded: true, manifest: e.Manifest}, live, *e.Shard, e.Unsharded, log)
	}
	cur, exists := partitionRun(live)
	switch {
	case exists && cur == run && staged != "":
		// Published; what is left at staged (exchanged) or aside is the
		// previous partition.
		removeOld(staged, log)
		removeOld(aside, log)
		return false, nil
	case exists && (!e.Existed || cur != e.Before):
		log.Warn("left a partition that another run has committed since", "partition", live, "run", cur)
		return false, nil
	case staged == "" && !exists:
		removeOld(aside, log) // removed, if it was there
		return false, nil
	case staged == "":
		return removeDir(live, aside, log)
	}
	if err := publishDir(staged, live, aside, log); err != nil {
		return false, err
	}
	if pathExists(aside) {
		removeOld(aside, log) // the fallback's previous partition, set aside by a run killed before it published
	}
	return false, nil
}

// partitionRun is the run a live partition comes from: its manifest's run,
// or, for a sharded partition, its shards' runs joined by "+" (runKey); ""
// where it has neither. exists reports whether the folder exists.
func partitionRun(live string) (run string, exists bool) {
	if _, err := os.Stat(live); err != nil {
		return "", false
	}
	if m, err := ReadManifest(filepath.Join(live, ManifestFile)); err == nil {
		return runKey(m), true
	}
	entries, _ := os.ReadDir(filepath.Join(live, shardsDir))
	var shards []*Manifest
	for _, e := range entries {
		if m, err := ReadManifest(filepath.Join(live, shardsDir, e.Name())); err == nil {
			shards = append(shards, m)
		}
	}
	if len(shards) == 0 {
		return "", true
	}
	return runKey(&Manifest{Shards: shards}), true
}

// runKey names the run, or runs, that wrote a partition: its manifest's
// run, or its shards' sorted and joined by "+".
func runKey(m *Manifest) string {
	if m.RunID != "" || len(m.Shards) == 0 {
		return m.RunID
	}
	var runs []string
	for _, s := range m.Shards {
		runs = append(runs, s.RunID)
	}
	slices.Sort(runs)
	return strings.Join(slices.Compact(runs), "+")
}

// shardRun is the run of a shard's manifest in a live partition; "" where
// there is none.
func shardRun(live string, s Shard) string {
	m, err := ReadManifest(filepath.Join(live, shardsDir, partName(s, ".json")))
	if err != nil {
		return ""
	}
	return m.RunID
}

// tempRE matches storage.Local's temporary files, ".NAME.tmp-SUFFIX".
var tempRE = regexp.MustCompile(`^\..+\.tmp-[0-9a-z]+$`)

// checkOwnFiles fails, naming the file, if the partition folder live holds
// a file seqae did not write. A run replaces or removes a partition only if
// it is absent or empty, or holds its _manifest.json (or, for a sharded
// one, its _shards folder) and nothing but the files the manifest lists,
// part files (sharded), seqae's markers and temporary files.
func checkOwnFiles(live string) error {
	entries, err := os.ReadDir(live)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || err == nil && len(entries) == 0 {
		return nil // nothing there (a file where a folder should be fails the commit's preparation)
	}
	if err != nil {
		return err
	}
	known := map[string]bool{SuccessFile: true, ManifestFile: true, shardsDir: true}
	m, merr := ReadManifest(filepath.Join(live, ManifestFile))
	if merr == nil {
		for _, f := range m.Files {
			known[f.Name] = true
		}
	}
	shards, serr := os.ReadDir(filepath.Join(live, shardsDir))
	sharded := serr == nil
	for _, s := range shards {
		if !partRE.MatchString(s.Name()) && !tempRE.MatchString(s.Name()) {
			return foreign(filepath.Join(live, shardsDir, s.Name()))
		}
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case merr != nil && !sharded && name != ManifestFile:
			return foreign(filepath.Join(live, name)) // no manifest: not a partition seqae wrote
		case known[name] && (name != shardsDir || e.IsDir()), tempRE.MatchString(name), sharded && partRE.MatchString(name):
		default:
			return foreign(filepath.Join(live, name))
		}
	}
	if merr != nil && !sharded {
		return fmt.Errorf("%s: %w: seqae replaces a partition only if it can read its manifest", filepath.Join(live, ManifestFile), merr)
	}
	return nil
}

func foreign(name string) error {
	return fmt.Errorf("%s was not written by seqae: a run replaces or removes a partition only when it is empty or holds nothing but the files its %s lists; move the file out of the output folder, or write to another output folder",
		name, ManifestFile)
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
// run's staging folder, recorded in the commit's intent, so that the next
// run finishes a commit killed in between), leaving the date absent, not
// partial, for the instant before the staged one is renamed in. The
// previous partition is deleted after; failing to delete it is only a
// warning (the run's staging is removed again at its end, or by a later
// run).
func publishDir(staged, live, aside string, log *slog.Logger) error {
	parent := filepath.Dir(live)
	defer syncDir(parent)
	err := fsys.Exchange(staged, live)
	switch {
	case err == nil:
		// staged now holds the previous partition.
		removeOld(staged, log)
		return nil
	case errors.Is(err, fs.ErrNotExist):
		// No live partition yet: a plain rename publishes it whole.
		return fsys.Rename(staged, live)
	case !errors.Is(err, errNoExchange):
		return err
	}
	if err := fsys.MkdirAll(filepath.Dir(aside)); err != nil {
		return err
	}
	if err := fsys.Rename(live, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fsys.Rename(staged, live)
		}
		return fmt.Errorf("moving the previous partition aside: %w", err)
	}
	syncDir(parent)
	if err := fsys.Rename(staged, live); err != nil {
		if rerr := fsys.Rename(aside, live); rerr != nil {
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
	if err := fsys.MkdirAll(filepath.Dir(aside)); err != nil {
		return false, err
	}
	if err := fsys.Rename(live, aside); err != nil {
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
	if err := fsys.RemoveAll(dir); err != nil {
		log.Warn("could not delete a replaced partition; it is under the run's staging folder, which is removed at the run's end or by a later run",
			"folder", dir, "error", err)
	}
}

// rel is name relative to the output folder out.
func rel(out, name string) string {
	r, err := filepath.Rel(out, name)
	if err != nil {
		panic(fmt.Sprintf("jobs: %s is not under the output folder %s", name, out)) // every path the commit records is
	}
	return r
}

func pathExists(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
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
//     agree. Then the parts of another number of shards go, and the
//     files of an unsharded partition not named as parts (unsharded).
//  2. The shard's part file is renamed into the live folder, replacing the
//     shard's previous part, if any, in one step.
//  3. The shard's manifest is written to _shards/part-i-of-n.json.
//  4. If every shard's part and manifest are now present, and their
//     fingerprints (inputs, settings, format, model) are all equal, the
//     merged _manifest.json and then _SUCCESS are written.
//
// A removal (a table the run no longer writes) takes the shard's part and
// manifest away instead of 2 and 3, and leaves the date incomplete. Every
// step is safe to repeat, so the next run can finish the commit of a shard
// killed part-way (applyTable).
//
// So while the shards of a new date land, a reader sees their parts appear
// one by one, each whole, with no _SUCCESS until the last; a rerun of a
// shard of a complete date with the same fingerprint swaps that shard's
// part in one step and the date stays complete (the same inputs, settings
// and model make the same rows). It reports whether anything was removed.
func commitShard(ctx context.Context, p *partition, live string, shard Shard, unsharded []string, log *slog.Logger) (bool, error) {
	n := shard.count()
	own := partName(shard, "")
	var files []string // the shard's part files, as its manifest lists them
	if p.removes() {
		if _, err := os.Stat(live); errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
	} else {
		for _, f := range p.manifest.Files {
			files = append(files, f.Name)
		}
		if err := fsys.MkdirAll(filepath.Join(live, shardsDir)); err != nil {
			return false, err
		}
	}
	var stale []string // files of the live partition this shard takes away
	entries, err := os.ReadDir(live)
	if err != nil {
		return false, err
	}
	foreignCount := false
	for _, f := range unsharded {
		stale, foreignCount = append(stale, filepath.Join(live, f)), true
	}
	for _, e := range entries {
		m := partRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if of, _ := strconv.Atoi(m[2]); of != n {
			stale, foreignCount = append(stale, filepath.Join(live, e.Name())), true
		} else if strings.HasPrefix(e.Name(), own) && !slices.Contains(files, e.Name()) {
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
		if err := fsys.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	if p.removes() {
		// Drop the folder if no shard's part is left in it.
		fsys.Remove(filepath.Join(live, shardsDir))
		fsys.Remove(live)
		syncDir(filepath.Dir(live))
		return len(stale) > 0, nil
	}
	for _, f := range files {
		to := filepath.Join(live, f)
		if err := fsys.Rename(filepath.Join(p.staged, f), to); err != nil {
			if errors.Is(err, fs.ErrNotExist) && pathExists(to) {
				continue // landed by a run killed after it
			}
			return false, fmt.Errorf("publish %s: %w", to, err)
		}
	}
	syncDir(live)
	if err := writeJSON(ctx, filepath.Join(live, shardsDir, own+".json"), p.manifest); err != nil {
		return false, err
	}
	return false, completeShards(ctx, live, n, log)
}

// unshardedFiles are the files of an unsharded live partition (by its
// manifest) that are not named as parts, such as a report's index.html:
// a shard replacing the partition removes them with its parts.
func unshardedFiles(live string) []string {
	m, err := ReadManifest(filepath.Join(live, ManifestFile))
	if err != nil || m.ShardCount > 1 {
		return nil
	}
	var names []string
	for _, f := range m.Files {
		if !partRE.MatchString(f.Name) {
			names = append(names, f.Name)
		}
	}
	return names
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

// begin readies the output folder for a run, before the run reads any
// input: it refuses an output folder that is a file system's root or that
// holds, or is read as, the inputs; finishes any commit a killed run left
// part-way (recoverCommits); fails, naming the file, if a partition the
// run would replace or remove holds a file seqae did not write; then makes
// and holds the run's staging folder and reclaims killed runs' staging
// (cleanStaging). release lets go of the staging folder and removes it
// (and the staging folder of the output, once empty), unless it holds the
// record of a commit left part-way, which the next run finishes from it.
func (r *runner) begin(ctx context.Context, now time.Time) (release func(), err error) {
	out := r.cfg.Output.Dir
	if r.blobOut() {
		// An object store: staged in a local temporary folder, committed
		// by commitBlob, which checks each partition again under its lock.
		s := r.store.(objectStore) // checkBlobOut made sure
		for _, p := range r.withRemovals(nil) {
			live := r.live(p.table)
			objs, err := s.ListAll(ctx, live)
			if err == nil {
				err = checkOwnObjects(live, objs)
			}
			if err != nil {
				return nil, fmt.Errorf("%w; nothing changed", err)
			}
		}
		hold, err := holdStaging(ctx, r.staging, r.holder())
		if err != nil {
			return nil, err
		}
		return func() { fsys.RemoveAll(r.staging); hold() }, nil
	}
	if err := checkOutputDir(out, r.cfg.Inputs, r.date); err != nil {
		return nil, err
	}
	if err := recoverCommits(ctx, out, r.log); err != nil {
		return nil, err
	}
	for _, p := range r.withRemovals(nil) {
		if err := checkOwnFiles(r.live(p.table)); err != nil {
			return nil, fmt.Errorf("%w; nothing changed", err)
		}
	}
	hold, err := holdStaging(ctx, r.staging, r.holder())
	if err != nil {
		return nil, fmt.Errorf("output folder %s: %w", out, err)
	}
	cleanStaging(out, r.runID, now, r.log)
	return func() {
		if !pathExists(filepath.Join(r.staging, intentName)) {
			removeStaging(r.staging)
			fsys.Remove(filepath.Dir(r.staging)) // if no other run's is left
		}
		hold()
	}, nil
}

// checkOutputDir refuses, as the output folder out, a file system's root,
// a folder that holds an input (its tables and staging would sit among
// the inputs), and a folder an input pattern reads (the next run would
// read the outputs as inputs). Inputs in object stores (URLs) are not
// local folders and are skipped.
func checkOutputDir(out string, inputs []string, date string) error {
	o, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("output folder %s: %w", out, err)
	}
	if filepath.Dir(o) == o {
		return fmt.Errorf("output folder %s is a file system's root: seqae writes its tables and staging into the output folder; give it a folder of its own", out)
	}
	o = resolve(o)
	for _, pattern := range inputs {
		if strings.Contains(pattern, "://") {
			continue
		}
		p, err := filepath.Abs(strings.ReplaceAll(pattern, "{date}", date))
		if err != nil {
			continue
		}
		static := p // the part before the first wildcard
		if i := strings.IndexAny(p, "*?["); i >= 0 {
			static = filepath.Dir(p[:i])
		}
		if within(resolve(static), o) {
			return fmt.Errorf("output folder %s holds the input %s: give the outputs a folder that holds no inputs", out, pattern)
		}
		if within(o, resolve(static)) && readsFolder(p, static, o) {
			return fmt.Errorf("output folder %s is inside the input %s, so later runs would read its outputs as inputs: give the outputs a folder outside the inputs", out, pattern)
		}
	}
	return nil
}

// readsFolder reports whether the input pattern p, whose part before the
// first wildcard is static, lists files under the folder dir (within
// static): storage.Local.List reads a folder it names, or its glob
// matches, whole.
func readsFolder(p, static, dir string) bool {
	if p == static {
		return true // a folder: read whole
	}
	for d := dir; within(d, static) && d != static; d = filepath.Dir(d) {
		if ok, _ := filepath.Match(p, d); ok {
			return true
		}
	}
	return false
}

// within reports whether name is dir or inside it.
func within(name, dir string) bool {
	r, err := filepath.Rel(dir, name)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator))
}

// resolve follows links in the longest part of name that exists.
func resolve(name string) string {
	if r, err := filepath.EvalSymlinks(name); err == nil {
		return r
	}
	if parent := filepath.Dir(name); parent != name {
		return filepath.Join(resolve(parent), filepath.Base(name))
	}
	return name
}

// holdStaging makes a run's staging folder, holds its _run.lock for the
// run's life, so that other runs leave it alone however long the run
// takes, and writes the run marker (runMarker) that says seqae made it.
// release lets go of it.
func holdStaging(ctx context.Context, dir string, h holder) (release func(), err error) {
	var f *os.File
	for try := 0; f == nil; try++ {
		if err := fsys.MkdirAll(dir); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(filepath.Join(dir, runLockName), os.O_RDWR|os.O_CREATE, 0o644)
		if errors.Is(err, fs.ErrNotExist) && try < 3 {
			continue // removed as a killed run's empty folder (cleanStaging) meanwhile
		}
		if err != nil {
			return nil, err
		}
	}
	unlock, err := flock(f, false)
	if err != nil && !errors.Is(err, errNoLock) {
		f.Close()
		return nil, err
	}
	release = func() {
		if unlock != nil {
			unlock()
		}
		f.Close()
	}
	if err := writeJSON(ctx, filepath.Join(dir, runMarker), h); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// cleanStaging reclaims the staging folders of killed runs, other than the
// run own's: those that hold seqae's run marker and no commit record
// (recoverCommits finishes those first), and whose run is dead
// (claimRun); and those a run killed before it wrote its marker left
// holding nothing but an empty _run.lock that nobody holds (emptyStaging).
// Folders holding anything else without the marker are not seqae's and are
// left alone.
func cleanStaging(out, own string, now time.Time, log *slog.Logger) {
	dir := filepath.Join(out, stagingDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		folder := filepath.Join(dir, e.Name())
		if e.Name() == own || pathExists(filepath.Join(folder, intentName)) {
			continue
		}
		h, err := readHolder(filepath.Join(folder, runMarker))
		if err != nil {
			if emptyStaging(folder) {
				log.Info("removed an empty staging folder a killed run left", "folder", folder)
			}
			continue
		}
		release, dead := claimRun(folder, h, now, staleStaging)
		if !dead {
			log.Debug("left the staging folder of a run in progress", "folder", folder, "holder", h.String())
			continue
		}
		removeStaging(folder)
		release()
		log.Info("reclaimed a killed run's staging folder", "folder", folder, "holder", h.String())
	}
}

// emptyStaging removes a folder that holds nothing, or only an empty
// _run.lock that nobody holds, or a run marker's temporary file: a run
// killed before it wrote its marker. Nothing but empty files and the
// marker's temporary files is removed, and the folder only once empty.
// Where the file system has no flock, a temporary marker is taken for a
// killed run's only once the folder is older than lockExpiry: a run in
// progress may be writing it. It reports whether it removed the folder.
func emptyStaging(folder string) bool {
	entries, err := os.ReadDir(folder)
	if err != nil {
		return false
	}
	writing := false // a marker's temporary file
	for _, e := range entries {
		info, err := e.Info()
		marker := strings.HasPrefix(e.Name(), "."+runMarker+".tmp-")
		if err != nil || !info.Mode().IsRegular() || !(e.Name() == runLockName && info.Size() == 0 || marker) {
			return false
		}
		writing = writing || marker
	}
	if f, err := os.Open(filepath.Join(folder, runLockName)); err == nil {
		defer f.Close()
		unlock, err := flock(f, false)
		if errors.Is(err, errLocked) {
			return false
		}
		if st, serr := os.Stat(folder); errors.Is(err, errNoLock) && writing && (serr != nil || time.Since(st.ModTime()) < lockExpiry) {
			return false
		}
		if unlock != nil {
			defer unlock()
		}
	}
	for _, e := range entries {
		fsys.Remove(filepath.Join(folder, e.Name()))
	}
	return fsys.Remove(folder) == nil
}

// claimRun judges whether the run of the staging folder is dead, and if so
// holds its _run.lock until release, so that no other run reclaims or
// recovers it at the same time. Where the file system has flock, a run is
// dead once its _run.lock is free; elsewhere once its holder record h is
// dead (holder.dead, with expiry).
func claimRun(folder string, h holder, now time.Time, expiry time.Duration) (release func(), dead bool) {
	if f, err := os.Open(filepath.Join(folder, runLockName)); err == nil {
		unlock, err := flock(f, false)
		switch {
		case err == nil:
			return func() { unlock(); f.Close() }, true
		case errors.Is(err, errLocked):
			f.Close()
			return nil, false
		}
		f.Close()
	}
	return func() {}, h.dead(now, expiry)
}

// removeStaging removes a run's staging folder, its run marker last, so
// that a run killed while removing it leaves a folder the next run still
// knows for seqae's.
func removeStaging(folder string) {
	entries, _ := os.ReadDir(folder)
	for _, e := range entries {
		if e.Name() != runMarker && e.Name() != runLockName {
			fsys.RemoveAll(filepath.Join(folder, e.Name()))
		}
	}
	fsys.RemoveAll(folder)
}

// recoverCommits finishes every commit that a dead run left part-way in the
// output folder out (a staging folder holding an intent record whose run
// is dead, claimRun with lockExpiry), whatever its date: each table's
// partition is published or removed as the record says (applyTable),
// then the record and the run's staging folder are removed. A commit
// whose run is alive is left to it.
func recoverCommits(ctx context.Context, out string, log *slog.Logger) error {
	dir := filepath.Join(out, stagingDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		folder := filepath.Join(dir, e.Name())
		record := filepath.Join(folder, intentName)
		b, err := os.ReadFile(record)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		var in intent
		if err == nil {
			err = json.Unmarshal(b, &in)
		}
		if err != nil {
			return fmt.Errorf("reading the record of an interrupted commit %s: %w", record, err)
		}
		release, dead := claimRun(folder, in.holder, time.Now(), lockExpiry)
		if !dead {
			log.Info("a commit is in progress", "record", record, "holder", in.holder.String())
			continue
		}
		err = finishCommit(ctx, out, record, &in, log)
		if err == nil {
			removeStaging(folder)
		}
		release()
		if err != nil {
			return fmt.Errorf("finishing the commit of dt=%s that run %s left part-way (%s): %w; fix the cause and run again: each run first finishes it",
				in.Date, in.Run, record, err)
		}
	}
	return nil
}

// finishCommit finishes the commit recorded in a dead run's intent record,
// under the tables' locks.
func finishCommit(ctx context.Context, out, record string, in *intent, log *slog.Logger) error {
	var locks []*tableLock
	defer func() {
		for _, l := range locks {
			l.close()
		}
	}()
	for _, e := range in.Tables {
		l, err := openTableLock(filepath.Dir(filepath.Join(out, e.Live)))
		if err != nil {
			return err
		}
		locks = append(locks, l)
	}
	unlock, err := lockTables(locks, holder{Run: in.Run + " (finishing its commit)", PID: selfPID, Host: selfHost, Time: time.Now().UTC()}, filepath.Dir(record))
	if err != nil {
		return err
	}
	defer unlock()
	var tables []string
	for _, e := range in.Tables {
		if _, err := applyTable(ctx, out, in.Run, e, log); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(out, e.Live), err)
		}
		tables = append(tables, e.Table)
	}
	if err := fsys.Remove(record); err != nil {
		return err
	}
	syncDir(filepath.Dir(record))
	log.Warn("finished a commit that a killed run left part-way", "run_id", in.Run, "date", in.Date, "tables", tables)
	return nil
}

// explainNoSpace adds to an error caused by a full disk the staging
// folders under the output folder, other than the run own's, with their
// sizes: those of killed runs, which the next run reclaims, and those of
// runs in progress.
func explainNoSpace(out, own string, err error) error {
	if !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	dir := filepath.Join(out, stagingDir)
	entries, _ := os.ReadDir(dir)
	var killed, running []string
	for _, e := range entries {
		folder := filepath.Join(dir, e.Name())
		h, herr := readHolder(filepath.Join(folder, runMarker))
		if e.Name() == own || herr != nil {
			continue
		}
		var size int64
		filepath.WalkDir(folder, func(_ string, d fs.DirEntry, err error) error {
			if info, ierr := d.Info(); err == nil && ierr == nil && !d.IsDir() {
				size += info.Size()
			}
			return nil
		})
		item := fmt.Sprintf("%s (%d bytes)", folder, size)
		if release, dead := claimRun(folder, h, time.Now(), staleStaging); dead {
			release()
			killed = append(killed, item)
		} else {
			running = append(running, item)
		}
	}
	if len(killed) > 0 {
		err = fmt.Errorf("%w; reclaimable: the staging folders of killed runs %s, which the next run removes (or remove them by hand)", err, strings.Join(killed, ", "))
	}
	if len(running) > 0 {
		err = fmt.Errorf("%w; the staging folders of runs in progress hold %s", err, strings.Join(running, ", "))
	}
	return err
}

// runIDTime is the layout of the time that starts a run id.
const runIDTime = "20060102T150405Z"

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

// writeFile publishes name with data in one step.
func writeFile(ctx context.Context, name string, data []byte) error {
	return fsys.WriteFile(ctx, name, data)
}

// syncDir makes renames in dir durable where the platform allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// DateStatus describes whether the date of the partition folder live
// (OUT/TABLE/dt=DATE) is consistent across the output folder's tables:
// the training tables (models, metrics) come from one run, the encoding
// tables (quarantine, step_losses, latents; quarantine with the training
// tables when a train-only run wrote it) from one run, and no commit to
// the date is pending. pending names a commit record for the date, or a
// table's object-store commit lock held for the date ("" for none). ok is
// false where live is not a table's partition.
func DateStatus(live string) (consistency, pending string, ok bool) {
	live = filepath.Clean(live)
	table, date := filepath.Base(filepath.Dir(live)), filepath.Base(live)
	if !slices.Contains(tables, table) || !strings.HasPrefix(date, "dt=") {
		return "", "", false
	}
	out := filepath.Dir(filepath.Dir(live))
	records, _ := filepath.Glob(filepath.Join(out, stagingDir, "*", intentName))
	for _, record := range records {
		b, err := os.ReadFile(record)
		var in intent
		if err == nil && json.Unmarshal(b, &in) == nil && "dt="+in.Date == date {
			pending = fmt.Sprintf("%s (%s): a commit in progress, or left part-way by a killed run; the next seqae run on %s finishes it", in.holder, record, out)
		}
	}
	// An output committed as an object store (file:// locations) has no
	// commit record; a table's commit lock stands for one.
	for _, t := range tables {
		lock := filepath.Join(out, t, blobLockName)
		var l blobLockBody
		if b, err := os.ReadFile(lock); err == nil && json.Unmarshal(b, &l) == nil && (l.Date == "" || "dt="+l.Date == date) {
			pending = fmt.Sprintf("run %s holds %s until %s: a commit in progress, or left part-way by a killed run (the date may mix runs' tables); rerun the date", l.RunID, lock, l.Expires.Format(time.RFC3339))
			break
		}
	}
	type group struct {
		tables []string
		run    string
	}
	var groups []group // in table order, one per run
	mixed := false
	runs := map[string]string{} // "train" and "encode": the run of the phase's tables
	for _, t := range tables {
		dir := filepath.Join(out, t, date)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		run := "no manifest"
		phase := "encode"
		if m, err := ReadManifest(filepath.Join(dir, ManifestFile)); err == nil {
			run, phase = "run "+runKey(m), m.Phase
		} else {
			mixed = true // incomplete
		}
		if t == TableModels || t == TableMetrics {
			phase = "train"
		}
		if prev, seen := runs[phase]; seen && prev != run {
			mixed = true
		}
		runs[phase] = run
		if i := slices.IndexFunc(groups, func(g group) bool { return g.run == run }); i >= 0 {
			groups[i].tables = append(groups[i].tables, t)
		} else {
			groups = append(groups, group{[]string{t}, run})
		}
	}
	var parts []string
	for _, g := range groups {
		parts = append(parts, strings.Join(g.tables, ", ")+" from "+g.run)
	}
	consistency = "consistent: " + strings.Join(parts, "; ")
	if mixed || pending != "" {
		consistency = "NOT consistent: " + strings.Join(parts, "; ")
	}
	return consistency, pending, true
}
