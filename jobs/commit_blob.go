package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/seqae/seqae/storage"
)

// The commit protocol on an object store is described in doc.go.

// blobLockName is a table's commit lock object, in the table's folder.
const blobLockName = "_commit.lock.json"

// blobLockTTL is how long a commit lock holds unless its holder renews it
// (before each upload and before the manifest); a holder that died stops
// blocking the table after it. blobLockWait is how long a commit waits for
// the lock before failing. Tests shorten both.
var (
	blobLockTTL  = 10 * time.Minute
	blobLockWait = blobLockTTL + time.Minute
)

// objectStore is what committing to an object store needs of the run's
// store (cloud.Resolver has it).
type objectStore interface {
	storage.Store
	// ListAll lists every object under a folder, hidden names included.
	ListAll(ctx context.Context, dir string) ([]string, error)
	// CreateNew writes an object only if none exists (If-None-Match: *).
	CreateNew(ctx context.Context, name string) (storage.Writer, error)
}

// readStats is what a store that counts its requests has.
type readStats interface {
	ReadStats(name string) storage.Stats
}

// blobOut reports whether the output folder is a location URL, committed
// with the object store protocol rather than folder renames.
func (r *runner) blobOut() bool { return storage.IsURL(r.cfg.Output.Dir) }

// outStore is the store that holds the committed outputs.
func (r *runner) outStore() storage.Store {
	if r.blobOut() {
		return r.store
	}
	return storage.Local{}
}

// liveName is the name a staged file takes in its live partition: on an
// object store the run id goes before the extension, so that no run
// overwrites another's files.
func (r *runner) liveName(name string) string {
	if !r.blobOut() {
		return name
	}
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "-" + r.runID + ext
}

// checkBlobOut fails a run whose output is on an object store it cannot
// reach or write, before it reads any input: it writes and deletes a
// hidden probe object.
func (r *runner) checkBlobOut(ctx context.Context) error {
	s, ok := r.store.(objectStore)
	if !ok {
		return fmt.Errorf("output %s: the run's store cannot commit to an object store (use cloud.Resolver)", storage.Redact(r.cfg.Output.Dir))
	}
	probe := storage.Join(r.cfg.Output.Dir, "_write_check-"+r.runID)
	err := writeTo(ctx, s, probe, nil)
	if err == nil {
		err = s.Delete(ctx, probe)
	}
	if err != nil {
		return fmt.Errorf("output %s cannot be written: %w", storage.Redact(r.cfg.Output.Dir), err)
	}
	return nil
}

// commitBlob is commit for an output folder on an object store.
func (r *runner) commitBlob(ctx context.Context, parts []*partition) (committed, removed []string, err error) {
	s := r.store.(objectStore)
	var done []string
	for _, p := range parts {
		live := r.live(p.table)
		gone, err := r.commitBlobOne(ctx, s, p, live)
		if err != nil {
			if len(done) == 0 {
				return nil, nil, fmt.Errorf("committing %s: %w; nothing committed", storage.Redact(live), err)
			}
			r.log.Error("commit failed part-way: the date now mixes this run's tables with earlier runs'; rerun it",
				"failed", storage.Redact(live), "committed", len(committed), "removed", len(removed), "error", err)
			return nil, nil, fmt.Errorf("committing %s: %w (already committed: %s; the date mixes this run's tables with earlier runs': rerun it)",
				storage.Redact(live), err, storage.Redact(strings.Join(done, ", ")))
		}
		switch {
		case !p.removes():
			r.log.Info("committed", "table", p.table, "partition", storage.Redact(live))
			committed, done = append(committed, live), append(done, live)
		case gone:
			r.log.Info("removed: this run does not write the table", "table", p.table, "partition", storage.Redact(live))
			removed, done = append(removed, live), append(done, live+" (removed)")
		}
	}
	return committed, removed, nil
}

// commitBlobOne commits or removes one partition under its table's lock.
func (r *runner) commitBlobOne(ctx context.Context, s objectStore, p *partition, live string) (gone bool, err error) {
	objs, err := s.ListAll(ctx, live)
	if err != nil {
		return false, err
	}
	if p.removes() && len(objs) == 0 {
		return false, nil
	}
	lock, err := acquireBlobLock(ctx, s, storage.Join(r.cfg.Output.Dir, p.table, blobLockName), r.runID, r.date, r.log)
	if err != nil {
		return false, err
	}
	defer lock.release(ctx)
	if objs, err = s.ListAll(ctx, live); err != nil { // again, under the lock
		return false, err
	}
	if err := checkOwnObjects(live, objs); err != nil {
		return false, err
	}
	bp := &blobPartition{r: r, s: s, p: p, live: live, lock: lock, objs: objs}
	switch {
	case p.sharded:
		return bp.commitShard(ctx)
	case p.removes():
		return bp.remove(ctx)
	}
	return false, bp.commitWhole(ctx)
}

// uploadRE matches the live name of a file a run uploads (liveName: the
// run id before the extension), and blobTempRE the temporary file a
// fileblob write leaves when it dies before its rename (NAME.HEX.tmp).
var (
	uploadRE   = regexp.MustCompile(`^[A-Za-z0-9_.-]+-\d{8}T\d{6}Z-[0-9a-f]{8}\.[a-z]+$`)
	blobTempRE = regexp.MustCompile(`\.[0-9a-f]+\.tmp$`)
)

// checkOwnObjects fails, naming the object, if the partition live on an
// object store holds one seqae did not write, as checkOwnFiles does for a
// folder: a commit deletes every object under the partition that no
// manifest lists, so it may only meet seqae's markers and manifests, shard
// manifests, uploads (its own, a previous run's, or the orphans of a run
// that died before its manifest: all named with their run's id) and the
// temporary files of writes that died.
func checkOwnObjects(live string, objs []string) error {
	base, err := storage.ParseLocation(live)
	if err != nil {
		return err
	}
	prefix := strings.TrimSuffix(base.Key, "/") + "/"
	for _, o := range objs {
		loc, err := storage.ParseLocation(o)
		if err != nil {
			return err
		}
		rel := blobTempRE.ReplaceAllString(strings.TrimPrefix(loc.Key, prefix), "")
		dir, name := path.Split(rel)
		switch {
		case dir == "" && (name == SuccessFile || name == ManifestFile || uploadRE.MatchString(name)):
		case dir == shardsDir+"/" && partRE.MatchString(name):
		default:
			return foreign(storage.Redact(o))
		}
	}
	return nil
}

// blobPartition is one partition being committed under its lock.
type blobPartition struct {
	r    *runner
	s    objectStore
	p    *partition
	live string
	lock *blobLock
	objs []string // every object under live when the lock was taken
}

func (b *blobPartition) name(elem ...string) string { return storage.Join(b.live, elem...) }

// upload copies the staged files into the live partition under their live
// names (the lock renewed before each), and returns the manifest that
// lists them. An upload that fails leaves nothing under its name; files
// uploaded before it are deleted here or, if the run dies, by the next.
func (b *blobPartition) upload(ctx context.Context) (*Manifest, error) {
	m := *b.p.manifest
	m.Files = slices.Clone(m.Files)
	var uploaded []string
	for i, f := range m.Files {
		m.Files[i].Name = b.r.liveName(f.Name)
		dst := b.name(m.Files[i].Name)
		err := b.lock.renew(ctx)
		if err == nil {
			err = uploadFile(ctx, b.s, filepath.Join(b.p.staged, f.Name), dst)
		}
		if err != nil {
			for _, u := range uploaded {
				b.s.Delete(ctx, u)
			}
			return nil, err
		}
		uploaded = append(uploaded, dst)
	}
	return &m, b.lock.renew(ctx)
}

// commitWhole commits a whole (unsharded) partition: _SUCCESS goes, the
// files are uploaded, _manifest.json is written (the commit point), then
// every other object under the partition goes (the previous run's files,
// shard manifests, orphans), then _SUCCESS is written.
func (b *blobPartition) commitWhole(ctx context.Context) error {
	if err := b.s.Delete(ctx, b.name(SuccessFile)); err != nil {
		return err
	}
	m, err := b.upload(ctx)
	if err != nil {
		return err
	}
	if err := writeJSONTo(ctx, b.s, b.name(ManifestFile), m); err != nil {
		return err
	}
	keep := []string{b.name(ManifestFile), b.name(SuccessFile)}
	for _, f := range m.Files {
		keep = append(keep, b.name(f.Name))
	}
	if err := b.deleteExcept(ctx, keep); err != nil {
		return err
	}
	return writeTo(ctx, b.s, b.name(SuccessFile), nil)
}

// remove removes the partition of a table the run owns but does not
// write: _SUCCESS, then _manifest.json (after which no seqae reader sees
// the date), then the rest.
func (b *blobPartition) remove(ctx context.Context) (bool, error) {
	for _, n := range []string{SuccessFile, ManifestFile} {
		if err := b.s.Delete(ctx, b.name(n)); err != nil {
			return false, err
		}
	}
	return true, b.deleteExcept(ctx, nil)
}

// deleteExcept deletes every object that was under the partition when the
// lock was taken, except keep.
func (b *blobPartition) deleteExcept(ctx context.Context, keep []string) error {
	for _, o := range b.objs {
		if slices.Contains(keep, o) {
			continue
		}
		if err := b.s.Delete(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// commitShard commits one shard's part of a partition written by shards
// i/n, as commitShard does locally: _SUCCESS goes (and the merged
// manifest, unless it stays true: same shard count and fingerprint); the
// shard's files are uploaded and its manifest _shards/part-i-of-n.json
// written (its commit point); if all n shards have landed with one
// fingerprint the merged _manifest.json is written; every object that no
// current shard manifest lists goes (this shard's previous files, other
// shard counts', orphans); then, if complete, _SUCCESS. A removal takes the
// shard's manifest and files away and leaves the date incomplete.
func (b *blobPartition) commitShard(ctx context.Context) (bool, error) {
	shard := b.r.opt.Shard
	n := shard.count()
	own := b.name(shardsDir, partName(shard, ".json"))
	cur, err := ReadManifestFrom(ctx, b.s, b.name(ManifestFile))
	if err != nil {
		return false, err
	}
	withdraw := []string{SuccessFile}
	if b.p.removes() || cur == nil || cur.ShardCount != n || cur.Fingerprint != b.p.manifest.Fingerprint {
		withdraw = append(withdraw, ManifestFile)
	}
	for _, name := range withdraw {
		if err := b.s.Delete(ctx, b.name(name)); err != nil {
			return false, err
		}
	}
	if b.p.removes() {
		if err := b.s.Delete(ctx, own); err != nil {
			return false, err
		}
	} else {
		m, err := b.upload(ctx)
		if err != nil {
			return false, err
		}
		if err := writeJSONTo(ctx, b.s, own, m); err != nil {
			return false, err
		}
	}
	shards, complete, err := b.shardManifests(ctx, n)
	if err != nil {
		return false, err
	}
	keep := []string{b.name(ManifestFile), b.name(SuccessFile)}
	for i, m := range shards {
		if m != nil {
			keep = append(keep, b.name(shardsDir, partName(Shard{I: i, N: n}, ".json")))
			for _, f := range m.Files {
				keep = append(keep, b.name(f.Name))
			}
		}
	}
	if complete {
		if err := writeJSONTo(ctx, b.s, b.name(ManifestFile), mergeShards(shards)); err != nil {
			return false, err
		}
	} else if err := b.s.Delete(ctx, b.name(ManifestFile)); err != nil {
		return false, err
	}
	gone := slices.ContainsFunc(b.objs, func(o string) bool { return !slices.Contains(keep, o) })
	if err := b.deleteExcept(ctx, keep); err != nil {
		return false, err
	}
	if !complete {
		return b.p.removes() && gone, nil
	}
	return false, writeTo(ctx, b.s, b.name(SuccessFile), nil)
}

// shardManifests reads the manifests of shards 0..n-1 (nil where a shard
// has not landed) and reports whether all have, with one fingerprint.
func (b *blobPartition) shardManifests(ctx context.Context, n int) ([]*Manifest, bool, error) {
	shards := make([]*Manifest, n)
	complete := true
	for i := range n {
		m, err := ReadManifestFrom(ctx, b.s, b.name(shardsDir, partName(Shard{I: i, N: n}, ".json")))
		if err != nil {
			return nil, false, err
		}
		if m != nil && m.Shard != (Shard{I: i, N: n}).String() {
			return nil, false, fmt.Errorf("%s: the manifest of shard %s says it is %q", storage.Redact(b.live), Shard{I: i, N: n}, m.Shard)
		}
		shards[i] = m
		complete = complete && m != nil && m.Fingerprint == shards[0].Fingerprint
	}
	if !complete && !slices.Contains(shards, nil) {
		b.r.log.Warn("the date's shards differ: it is not marked complete; rerun the shards that differ", "partition", storage.Redact(b.live))
	}
	return shards, complete, nil
}

// uploadFile copies a local file to an object.
func uploadFile(ctx context.Context, s storage.Store, src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := s.Create(ctx, dst)
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := io.Copy(w, f); err != nil {
		return err
	}
	return w.Close()
}

// writeTo writes a small object in one request.
func writeTo(ctx context.Context, s storage.Store, name string, data []byte) error {
	w, err := s.Create(ctx, name)
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Close()
}

func writeJSONTo(ctx context.Context, s storage.Store, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeTo(ctx, s, name, append(b, '\n'))
}

// readObject reads a whole (small) object in one piece; nil, nil when there
// is none.
func readObject(ctx context.Context, s storage.Store, name string) ([]byte, error) {
	b, err := storage.ReadAll(ctx, s, name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return b, err
}

// ReadManifestFrom reads a manifest from a store (ReadManifest reads a
// local one); nil, nil when there is none.
func ReadManifestFrom(ctx context.Context, s storage.Store, name string) (*Manifest, error) {
	b, err := readObject(ctx, s, name)
	if b == nil || err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", storage.Redact(name), err)
	}
	return &m, nil
}

// blobLockBody is a commit lock object's content.
type blobLockBody struct {
	RunID   string    `json:"run_id"`
	Date    string    `json:"date,omitempty"` // the date the holder commits
	Expires time.Time `json:"expires"`
}

// body is the lock object's contents, expiring blobLockTTL from now.
func (l *blobLock) body() []byte {
	b, _ := json.Marshal(blobLockBody{RunID: l.runID, Date: l.date, Expires: time.Now().Add(blobLockTTL).UTC()})
	return b
}

// blobLock is a held commit lock.
type blobLock struct {
	s           objectStore
	name        string
	runID, date string
}

// acquireBlobLock takes a table's commit lock: it creates the lock object
// with a conditional write (If-None-Match: *), so that of runs racing for
// it exactly one wins. The others wait for it to go, or to expire (its
// holder died), up to blobLockWait, then fail naming the holder.
func acquireBlobLock(ctx context.Context, s objectStore, name, runID, date string, log *slog.Logger) (*blobLock, error) {
	deadline := time.Now().Add(blobLockWait)
	l := &blobLock{s: s, name: name, runID: runID, date: date}
	for {
		w, err := s.CreateNew(ctx, name)
		if err != nil {
			return nil, err
		}
		_, err = w.Write(l.body())
		if err == nil {
			err = w.Close()
		}
		w.Abort()
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, storage.ErrExist) {
			return nil, fmt.Errorf("taking the commit lock %s: %w", storage.Redact(name), err)
		}
		cur, err := readLock(ctx, s, name)
		if err != nil {
			return nil, err
		}
		switch {
		case cur == nil:
			continue // released meanwhile
		case time.Now().After(cur.Expires):
			log.Warn("removing the expired commit lock of a run that died or stalled", "lock", storage.Redact(name), "run", cur.RunID, "expired", cur.Expires)
			if err := s.Delete(ctx, name); err != nil {
				return nil, err
			}
			continue
		case time.Now().After(deadline):
			return nil, fmt.Errorf("waited %v for the commit lock %s: run %s holds it until %s (another run is committing to this table)",
				blobLockWait, storage.Redact(name), cur.RunID, cur.Expires.Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50*time.Millisecond + rand.N(50*time.Millisecond)):
		}
	}
}

func readLock(ctx context.Context, s storage.Store, name string) (*blobLockBody, error) {
	b, err := readObject(ctx, s, name)
	if b == nil || err != nil {
		return nil, err
	}
	var l blobLockBody
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("the commit lock %s: %w", storage.Redact(name), err)
	}
	return &l, nil
}

// renew checks that the lock is still this run's and extends it.
func (l *blobLock) renew(ctx context.Context) error {
	cur, err := readLock(ctx, l.s, l.name)
	if err != nil {
		return err
	}
	if cur == nil || cur.RunID != l.runID {
		return fmt.Errorf("lost the commit lock %s: it expired and another run took it", storage.Redact(l.name))
	}
	return writeTo(ctx, l.s, l.name, l.body())
}

// release deletes the lock if it is still this run's.
func (l *blobLock) release(ctx context.Context) {
	if cur, err := readLock(ctx, l.s, l.name); err == nil && cur != nil && cur.RunID == l.runID {
		l.s.Delete(ctx, l.name)
	}
}

// latestModelBlob is latestModel for an output folder on an object store:
// the model listed in the newest models partition's manifest.
func latestModelBlob(ctx context.Context, s objectStore, out, date string, orSame bool) (string, error) {
	names, err := s.ListAll(ctx, storage.Join(out, TableModels))
	if err != nil {
		return "", err
	}
	var dirs []string
	for _, n := range names {
		if storage.Base(n) == ManifestFile {
			dir := strings.TrimSuffix(n, ManifestFile)
			if i := strings.Index(n, "?"); i >= 0 {
				dir = strings.TrimSuffix(n[:i], ManifestFile) + n[i:]
			}
			dirs = append(dirs, dir)
		}
	}
	slices.Sort(dirs)
	for _, dir := range slices.Backward(dirs) {
		d := strings.TrimPrefix(storage.Base(dir), "dt=")
		if _, err := ParseDate(d); err != nil || d > date || (d == date && !orSame) {
			continue
		}
		m, err := ReadManifestFrom(ctx, s, storage.Join(dir, ManifestFile))
		if err != nil {
			return "", err
		}
		if m == nil || len(m.Files) == 0 {
			continue
		}
		return storage.Join(dir, m.Files[0].Name), nil
	}
	return "", nil
}

// latestModel is the newest model committed under the output folder for
// a date before the run's (or up to it, when orSame); "" when none.
func (r *runner) latestModel(ctx context.Context, orSame bool) (string, error) {
	if r.blobOut() {
		return latestModelBlob(ctx, r.store.(objectStore), r.cfg.Output.Dir, r.date, orSame)
	}
	return latestModel(r.cfg.Output.Dir, r.date, orSame)
}

// withReadStats copies inputs with the requests and bytes the run's store
// has read for each, where it counts them.
func (r *runner) withReadStats(inputs []InputFile) []InputFile {
	rs, ok := r.store.(readStats)
	if !ok {
		return inputs
	}
	out := slices.Clone(inputs)
	for i, in := range out {
		st := rs.ReadStats(in.Name)
		out[i].Requests, out[i].BytesRead = st.Requests, st.Bytes
	}
	return out
}
