package jobs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seqae/seqae/internal/s3fake"
	"github.com/seqae/seqae/internal/tabletest"
	"github.com/seqae/seqae/storage"
	"github.com/seqae/seqae/storage/cloud"
)

// upload copies a local file into a store.
func uploadTo(t *testing.T, s storage.Store, src, dst string) {
	t.Helper()
	if err := uploadFile(context.Background(), s, src, dst); err != nil {
		t.Fatal(err)
	}
}

// blobPart is what a partition on an object store holds.
type blobPart struct {
	manifest *Manifest
	success  bool
	objects  []string // every object under it, relative
}

func readBlobPart(t *testing.T, s objectStore, live string) blobPart {
	t.Helper()
	ctx := context.Background()
	m, err := ReadManifestFrom(ctx, s, storage.Join(live, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.ListAll(ctx, live)
	if err != nil {
		t.Fatal(err)
	}
	p := blobPart{manifest: m}
	head, _, _ := strings.Cut(live, "?")
	for _, o := range all {
		o, _, _ = strings.Cut(o, "?")
		rel := strings.TrimPrefix(o, head+"/")
		p.objects = append(p.objects, rel)
		p.success = p.success || rel == SuccessFile
	}
	return p
}

// problems lists what is wrong with a partition: files its manifest lists
// that are missing; with clean, also objects it does not list (orphans)
// and a missing _SUCCESS.
func (p blobPart) problems(clean bool) []string {
	var out []string
	if p.manifest == nil {
		return []string{"no manifest"}
	}
	listed := []string{ManifestFile, SuccessFile}
	for _, f := range p.manifest.Files {
		listed = append(listed, f.Name)
		if !slices.Contains(p.objects, f.Name) {
			out = append(out, "missing "+f.Name)
		}
	}
	for i := range p.manifest.ShardCount {
		if p.manifest.ShardCount > 1 {
			listed = append(listed, shardsDir+"/"+partName(Shard{I: i, N: p.manifest.ShardCount}, ".json"))
		}
	}
	if clean {
		for _, o := range p.objects {
			if !slices.Contains(listed, o) {
				out = append(out, "orphan "+o)
			}
		}
		if !p.success {
			out = append(out, "no _SUCCESS")
		}
	}
	return out
}

// blobRows reads a table's rows from the files its manifest lists.
func blobRows[T any](t *testing.T, s storage.Store, live string) []T {
	t.Helper()
	m, err := ReadManifestFrom(context.Background(), s, storage.Join(live, ManifestFile))
	if err != nil || m == nil {
		t.Fatalf("%s: manifest %v, %v", live, m, err)
	}
	var rows []T
	for _, f := range m.Files {
		b, err := readObject(context.Background(), s, storage.Join(live, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, tabletest.Read[T](t, b)...)
	}
	return rows
}

// TestBlobRunMatchesLocal: the same job run from and to each object store,
// and mixing a local input with an object store output and the reverse,
// commits the rows a local run commits, with clean partitions.
func TestBlobRunMatchesLocal(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	local := smallJob(t, in)
	mustRun(t, local, Options{Date: day1})
	wantLat := tabletest.ReadFile[tabletest.Latent](t, filepath.Join(local.Output.Dir, TableLatents, "dt="+day1, "part-00000-of-00001.parquet"))
	wantLoss := tabletest.ReadFile[tabletest.StepLoss](t, filepath.Join(local.Output.Dir, TableStepLosses, "dt="+day1, "part-00000-of-00001.parquet"))
	inFile := filepath.Join(in, "part-0.parquet")
	for _, tg := range s3fake.Targets(t, "seqae") {
		remoteIn := storage.Join(tg.Base, "in", "dt="+day1)
		uploadTo(t, tg.Store, inFile, storage.Join(remoteIn, "part-0.parquet"))
		for _, c := range []struct{ name, in, out string }{
			{"to", storage.Join(tg.Base, "in", "dt={date}"), storage.Join(tg.Base, "out")},
			{"local-to", in, storage.Join(tg.Base, "out-from-local")},
			{"to-local", remoteIn, filepath.Join(t.TempDir(), "out")},
		} {
			t.Run(tg.Name+"/"+c.name, func(t *testing.T) {
				cfg := smallJob(t, c.in, "output.dir="+c.out)
				res := mustRun(t, cfg, Options{Date: day1, Store: tg.Store})
				latLive, lossLive := storage.Join(c.out, TableLatents, "dt="+day1), storage.Join(c.out, TableStepLosses, "dt="+day1)
				var gotLat []tabletest.Latent
				var gotLoss []tabletest.StepLoss
				if storage.IsURL(c.out) {
					gotLat, gotLoss = blobRows[tabletest.Latent](t, tg.Store, latLive), blobRows[tabletest.StepLoss](t, tg.Store, lossLive)
					for _, table := range tables {
						if p := readBlobPart(t, tg.Store, storage.Join(c.out, table, "dt="+day1)); len(p.problems(true)) > 0 {
							t.Errorf("%s: %v (objects %v)", table, p.problems(true), p.objects)
						}
					}
				} else {
					gotLat = tabletest.ReadFile[tabletest.Latent](t, filepath.Join(latLive, "part-00000-of-00001.parquet"))
					gotLoss = tabletest.ReadFile[tabletest.StepLoss](t, filepath.Join(lossLive, "part-00000-of-00001.parquet"))
				}
				if !reflect.DeepEqual(gotLat, wantLat) || !reflect.DeepEqual(gotLoss, wantLoss) {
					t.Errorf("rows differ from the local run's: %d latents (want %d), %d step losses (want %d)", len(gotLat), len(wantLat), len(gotLoss), len(wantLoss))
				}
				if storage.IsURL(c.in) {
					if in := res.Encode.Inputs; len(in) != 1 || in[0].Requests == 0 || in[0].BytesRead == 0 {
						t.Errorf("manifest inputs %+v: want the requests and bytes read", in)
					}
				}
				if tmp, _ := filepath.Glob(filepath.Join(os.TempDir(), "seqae-"+res.RunID+"-*")); len(tmp) != 0 {
					t.Errorf("the run's staging folder is left: %v", tmp)
				}
			})
		}
	}
}

// TestBlobRerunAndModels: a rerun replaces the date and deletes the first
// run's files; warm start and encode-only runs find the newest model by
// manifest; inspect describes a partition.
func TestBlobRerunAndModels(t *testing.T) {
	t.Parallel()
	in, ids := smallData(t)
	tg := s3fake.Targets(t, "seqae")[0]
	out := storage.Join(tg.Base, "out")
	cfg := smallJob(t, in, "output.dir="+out)
	first := mustRun(t, cfg, Options{Date: day1, Store: tg.Store})
	second := mustRun(t, cfg, Options{Date: day1, Store: tg.Store})
	for _, table := range tables {
		p := readBlobPart(t, tg.Store, storage.Join(out, table, "dt="+day1))
		if p.manifest == nil || p.manifest.RunID != second.RunID || len(p.problems(true)) > 0 {
			t.Errorf("%s after a rerun: problems %v, objects %v; want only run %s's (first %s)", table, p.problems(true), p.objects, second.RunID, first.RunID)
		}
	}
	if got := len(blobRows[tabletest.Latent](t, tg.Store, storage.Join(out, TableLatents, "dt="+day1))); got != len(ids) {
		t.Errorf("latents: %d rows, want %d", got, len(ids))
	}
	warm := smallJob(t, in, "output.dir="+out, "training.warm_start=true", "run=train")
	res := mustRun(t, warm, Options{Date: day2, Store: tg.Store})
	if res.Train.Training.WarmStartFrom != second.ModelID {
		t.Errorf("warm start from %q, want the newest model %s", res.Train.Training.WarmStartFrom, second.ModelID)
	}
	enc := smallJob(t, in, "output.dir="+out, "run=encode")
	res = mustRun(t, enc, Options{Date: day2, Store: tg.Store})
	if !strings.Contains(res.ModelPath, "/models/dt="+day2+"/model-") {
		t.Errorf("encode used %s, want day2's model", res.ModelPath)
	}
	p := readBlobPart(t, tg.Store, storage.Join(out, TableLatents, "dt="+day2))
	if want := "part-00000-of-00001-" + res.RunID + ".parquet"; len(p.problems(true)) > 0 || p.manifest.Date != day2 ||
		len(p.manifest.Files) != 1 || p.manifest.Files[0].Name != want || p.manifest.Files[0].Rows != 240 {
		t.Errorf("day2's latents: problems %v, manifest %+v; want %s alone, 240 rows", p.problems(true), p.manifest, want)
	}
}

// TestBlobShards: shards 0/2 and 1/2 complete a date on an object store.
func TestBlobShards(t *testing.T) {
	t.Parallel()
	in, ids := smallData(t)
	for _, tg := range s3fake.Targets(t, "seqae") {
		t.Run(tg.Name, func(t *testing.T) {
			out := storage.Join(tg.Base, "out")
			mustRun(t, smallJob(t, in, "output.dir="+out, "run=train"), Options{Date: day1, Store: tg.Store})
			enc := smallJob(t, in, "output.dir="+out, "run=encode")
			live := storage.Join(out, TableLatents, "dt="+day1)
			mustRun(t, enc, Options{Date: day1, Store: tg.Store, Shard: Shard{0, 2}})
			if p := readBlobPart(t, tg.Store, live); p.manifest != nil || p.success {
				t.Errorf("after shard 0 of 2: manifest %v, _SUCCESS %v; want neither", p.manifest != nil, p.success)
			}
			for _, shard := range []Shard{{1, 2}, {0, 2}} { // the last lands, then a rerun of the first
				mustRun(t, enc, Options{Date: day1, Store: tg.Store, Shard: shard})
				p := readBlobPart(t, tg.Store, live)
				if len(p.problems(true)) > 0 || p.manifest.ShardCount != 2 || len(p.manifest.Files) != 2 {
					t.Fatalf("after shard %s: %v, objects %v", shard, p.problems(true), p.objects)
				}
				var got []string
				for _, r := range blobRows[tabletest.Latent](t, tg.Store, live) {
					got = append(got, r.ID)
				}
				slices.Sort(got)
				if n := len(got); n != len(ids) || len(slices.Compact(got)) != n {
					t.Errorf("after shard %s: %d latents, want %d distinct", shard, n, len(ids))
				}
			}
			// Unsharded again: the shards' files and manifests go.
			mustRun(t, enc, Options{Date: day1, Store: tg.Store})
			if p := readBlobPart(t, tg.Store, live); len(p.problems(true)) > 0 || p.manifest.ShardCount != 1 {
				t.Errorf("unsharded after shards: %v, objects %v", p.problems(true), p.objects)
			}
		})
	}
}

// TestBlobConcurrentRuns: two runs of one date at once take turns on each
// table's lock; every table ends whole, from one run or the other.
func TestBlobConcurrentRuns(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	tg := s3fake.Targets(t, "seqae")[0]
	out := storage.Join(tg.Base, "out")
	cfg := smallJob(t, in, "output.dir="+out)
	var wg sync.WaitGroup
	ids := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			res, err := Run(context.Background(), cfg, Options{Date: day1, Store: tg.Store})
			if err == nil {
				ids[i] = res.RunID
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("a concurrent run failed: %v", err)
		}
	}
	for _, table := range tables {
		p := readBlobPart(t, tg.Store, storage.Join(out, table, "dt="+day1))
		if len(p.problems(true)) > 0 || !slices.Contains(ids, p.manifest.RunID) {
			t.Errorf("%s: %v, objects %v", table, p.problems(true), p.objects)
		}
	}
}

// TestBlobLockWait: a run that finds a table locked by a live run waits,
// then fails naming the holder; an expired lock is taken over.
func TestBlobLockWait(t *testing.T) {
	ttl, wait := blobLockTTL, blobLockWait
	defer func() { blobLockTTL, blobLockWait = ttl, wait }()
	blobLockTTL, blobLockWait = time.Hour, 300*time.Millisecond
	in, _ := smallData(t)
	tg := s3fake.Targets(t, "seqae")[1]
	out := storage.Join(tg.Base, "out")
	ctx := context.Background()
	lock, err := acquireBlobLock(ctx, tg.Store, storage.Join(out, TableModels, blobLockName), "other-run", day1, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(ctx, smallJob(t, in, "output.dir="+out), Options{Date: day1, Store: tg.Store})
	if err == nil || !strings.Contains(err.Error(), "run other-run holds it") || !strings.Contains(err.Error(), "nothing committed") {
		t.Errorf("got %v, want a failure naming the holder, with nothing committed", err)
	}
	lock.release(ctx)
	blobLockTTL = 0
	if _, err := acquireBlobLock(ctx, tg.Store, storage.Join(out, TableModels, blobLockName), "dead-run", day1, nil); err != nil {
		t.Fatal(err)
	}
	blobLockTTL = time.Hour
	mustRun(t, smallJob(t, in, "output.dir="+out), Options{Date: day1, Store: tg.Store})
}

var errCrash = errors.New("crashed")

// crashStore is a Resolver that "crashes" at its at-th change (an object
// published or deleted): that change and every operation after it fail,
// as if the process had died there.
type crashStore struct {
	*cloud.Resolver
	at      int64
	changes atomic.Int64
	crashed atomic.Bool
}

func (c *crashStore) change() error {
	if c.changes.Add(1) > c.at {
		c.crashed.Store(true)
	}
	if c.crashed.Load() {
		return errCrash
	}
	return nil
}

func (c *crashStore) alive() error {
	if c.crashed.Load() {
		return errCrash
	}
	return nil
}

type crashWriter struct {
	storage.Writer
	c *crashStore
}

func (w crashWriter) Close() error {
	if err := w.c.change(); err != nil {
		w.Writer.Abort()
		return err
	}
	return w.Writer.Close()
}

func (c *crashStore) Create(ctx context.Context, name string) (storage.Writer, error) {
	if err := c.alive(); err != nil {
		return nil, err
	}
	w, err := c.Resolver.Create(ctx, name)
	return crashWriter{w, c}, err
}

func (c *crashStore) CreateNew(ctx context.Context, name string) (storage.Writer, error) {
	if err := c.alive(); err != nil {
		return nil, err
	}
	w, err := c.Resolver.CreateNew(ctx, name)
	return crashWriter{w, c}, err
}

func (c *crashStore) Delete(ctx context.Context, name string) error {
	if err := c.change(); err != nil {
		return err
	}
	return c.Resolver.Delete(ctx, name)
}

func (c *crashStore) Open(ctx context.Context, name string) (storage.Object, error) {
	if err := c.alive(); err != nil {
		return nil, err
	}
	return c.Resolver.Open(ctx, name)
}

func (c *crashStore) ListAll(ctx context.Context, dir string) ([]string, error) {
	if err := c.alive(); err != nil {
		return nil, err
	}
	return c.Resolver.ListAll(ctx, dir)
}

// TestBlobCrashAtEachStep: a run that dies at each change of its commit
// leaves every table's manifest whole (all the files it lists present)
// and from the old run or the new; the next run leaves every table
// all-new with no orphans and no lock.
func TestBlobCrashAtEachStep(t *testing.T) {
	ttl, wait := blobLockTTL, blobLockWait
	defer func() { blobLockTTL, blobLockWait = ttl, wait }()
	// A dead run's lock expires at once; a live one is never waited for.
	blobLockTTL, blobLockWait = 0, 5*time.Second
	in := tinyData(t) // each crash point runs three encodes: the fewer rows, the sooner
	model := smallJob(t, in, "run=train")
	mustRun(t, model, Options{Date: day1})
	modelPath := filepath.Join(model.Output.Dir, TableModels, "dt="+day1, ModelFileName)
	out := "mem://lake/out"
	enc := smallJob(t, in, "output.dir="+out, "run=encode", "model.path="+modelPath)
	encTables := []string{TableQuarantine, TableStepLosses, TableLatents, TableDrift}
	ctx := context.Background()

	// Count the changes a whole run makes.
	probe := &crashStore{Resolver: cloud.NewResolver(), at: 1 << 62}
	defer probe.Close()
	mustRun(t, enc, Options{Date: day1, Store: probe})
	base := probe.changes.Load()
	mustRun(t, enc, Options{Date: day1, Store: probe})
	steps := probe.changes.Load() - base
	var oldSeen, newSeen, orphansLeft, locksLeft int
	for at := range steps {
		s := &crashStore{Resolver: cloud.NewResolver(), at: 1 << 62}
		old := mustRun(t, enc, Options{Date: day1, Store: s})
		s.at = s.changes.Load() + at
		// The last change is releasing the last table's lock, which a
		// run that has committed does not fail for.
		if _, err := Run(ctx, enc, Options{Date: day1, Store: s}); !errors.Is(err, errCrash) && (err != nil || at != steps-1) {
			t.Fatalf("crash at change %d of %d: got %v, want the crash", at, steps, err)
		}
		s.crashed.Store(false)
		s.at = 1 << 62
		for _, table := range encTables {
			live := storage.Join(out, table, "dt="+day1)
			p := readBlobPart(t, s, live)
			if pr := p.problems(false); len(pr) > 0 {
				t.Errorf("crash at change %d: %s: %v", at, table, pr)
				continue
			}
			if p.manifest.RunID == old.RunID {
				oldSeen++
			} else {
				newSeen++
			}
			orphansLeft += len(p.problems(true))
			if o, _ := s.Open(ctx, storage.Join(out, table, blobLockName)); o != nil {
				locksLeft++
			}
		}
		next := mustRun(t, enc, Options{Date: day1, Store: s})
		for _, table := range encTables {
			p := readBlobPart(t, s, storage.Join(out, table, "dt="+day1))
			if pr := p.problems(true); len(pr) > 0 || p.manifest.RunID != next.RunID {
				t.Errorf("crash at change %d, then a run: %s: %v, objects %v", at, table, pr, p.objects)
			}
			if o, _ := s.Open(ctx, storage.Join(out, table, blobLockName)); o != nil {
				t.Errorf("crash at change %d, then a run: %s: a lock is left", at, table)
			}
		}
		s.Close()
	}
	t.Logf("%d crash points × %d tables: after the crash %d tables old, %d new (each whole by its manifest), %d orphans or missing _SUCCESS, %d locks left; after the next run none",
		steps, len(encTables), oldSeen, newSeen, orphansLeft, locksLeft)
	if oldSeen == 0 || newSeen == 0 {
		t.Errorf("old %d, new %d: want crashes both before and after commit points", oldSeen, newSeen)
	}
}

// TestBlobErrors: an unreachable output fails the run before it reads
// anything, naming the URL; a malformed URL in a job file is a config
// error with the file and line.
func TestBlobErrors(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	tg := s3fake.Targets(t, "seqae")[0]
	bad := strings.Replace(tg.Base, "lake", "nobucket", 1)
	_, err := Run(context.Background(), smallJob(t, in, "output.dir="+bad), Options{Date: day1, Store: tg.Store})
	if err == nil || !strings.Contains(err.Error(), "s3://nobucket/seqae") {
		t.Errorf("missing bucket: got %v, want an error naming it", err)
	}
	_, err = Parse("job.yaml", []byte("inputs: [data/]\noutput:\n  dir: s3://user:secret@b/out\n"))
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "job.yaml:3: output.dir:") || strings.Contains(err.Error(), "secret") {
		t.Errorf("malformed URL: got %v, want a ConfigError at job.yaml:3, without the secret", err)
	}
}

// TestBlobReadWhileReplaced: a small object read while another run
// replaces it with one of another length (a lock renewed, released and
// retaken; a manifest rewritten) reads whole, the old one or the new one,
// never a torn mix of the two.
func TestBlobReadWhileReplaced(t *testing.T) {
	t.Parallel()
	for _, tg := range s3fake.Targets(t, "seqae") {
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			name := storage.Join(tg.Base, "t", blobLockName)
			bodies := [][]byte{[]byte(`{"run_id":"a"}`), []byte(`{"run_id":"` + strings.Repeat("b", 200) + `"}`)}
			if err := writeTo(ctx, tg.Store, name, bodies[0]); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if err := writeTo(ctx, tg.Store, name, bodies[i%2]); err != nil {
						t.Error(err)
						return
					}
				}
			})
			for range 300 {
				b, err := readObject(ctx, tg.Store, name)
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if !slices.ContainsFunc(bodies, func(w []byte) bool { return string(w) == string(b) }) {
					t.Fatalf("read %q, want one of the two whole bodies", b)
				}
			}
			close(stop)
			wg.Wait()
		})
	}
}

// TestBlobNeverDeletesWhatSeqaeDidNotWrite: on an object store as in a
// folder, a partition holding an object seqae did not write fails the run
// before it reads its input, naming the object, with nothing changed; the
// uploads of a run that died before its manifest (named with its run id)
// and the temporary files of writes that died are seqae's, and go.
func TestBlobNeverDeletesWhatSeqaeDidNotWrite(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	ctx := context.Background()
	for _, tg := range s3fake.Targets(t, "seqae") {
		t.Run(tg.Name, func(t *testing.T) {
			out := storage.Join(tg.Base, "out")
			cfg := smallJob(t, in, "output.dir="+out)
			first := mustRun(t, cfg, Options{Date: day1, Store: tg.Store})
			live := storage.Join(out, TableMetrics, "dt="+day1)
			for _, name := range []string{"important.csv", "_shards/notes.txt"} {
				foreign := storage.Join(live, name)
				tabletest.Put(t, tg.Store, foreign, []byte("a,b\n"))
				_, err := Run(ctx, cfg, Options{Date: day1, Store: tg.Store})
				if err == nil || !strings.Contains(err.Error(), storage.Redact(foreign)+" was not written by seqae") || !strings.Contains(err.Error(), "nothing changed") {
					t.Errorf("%s: got %v, want an error naming it and saying nothing changed", name, err)
				}
				if b, err := readObject(ctx, tg.Store, foreign); string(b) != "a,b\n" || err != nil {
					t.Errorf("%s: %q, %v; want it kept", name, b, err)
				}
				if p := readBlobPart(t, tg.Store, live); p.manifest == nil || p.manifest.RunID != first.RunID {
					t.Errorf("%s: the partition's manifest changed: %v", name, p.manifest)
				}
				if err := tg.Store.Delete(ctx, foreign); err != nil {
					t.Fatal(err)
				}
			}
			seqaes := []string{"part-00000-of-00001-20200101T000000Z-deadbeef.parquet", "_manifest.json.18ed465d373f4638.tmp"}
			for _, name := range seqaes {
				tabletest.Put(t, tg.Store, storage.Join(live, name), []byte("x"))
			}
			mustRun(t, cfg, Options{Date: day1, Store: tg.Store})
			if p := readBlobPart(t, tg.Store, live); len(p.problems(true)) > 0 {
				t.Errorf("after a run over a dead run's upload and temporary file: %v, objects %v", p.problems(true), p.objects)
			}
		})
	}
}

// TestDateStatusSeesBlobLock: a date of an output committed as an object
// store on the local file system (file://) is not consistent while a run
// holds a table's commit lock for it (a commit in progress, or left
// part-way by a killed run); a lock held for another date does not count.
func TestDateStatusSeesBlobLock(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	ctx := context.Background()
	tg := s3fake.Targets(t, "seqae")[2]
	out := storage.Join(tg.Base, "out")
	mustRun(t, smallJob(t, in, "output.dir="+out), Options{Date: day1, Store: tg.Store})
	live := filepath.Join(strings.TrimPrefix(out, "file://"), TableLatents, "dt="+day1)
	if c, pending, _ := DateStatus(live); !strings.HasPrefix(c, "consistent") || pending != "" {
		t.Fatalf("after the run: %q, pending %q; want consistent, nothing pending", c, pending)
	}
	for _, c := range []struct {
		date string
		held bool
	}{{"2020-01-01", false}, {day1, true}} {
		lock, err := acquireBlobLock(ctx, tg.Store, storage.Join(out, TableQuarantine, blobLockName), "dead-run", c.date, nil)
		if err != nil {
			t.Fatal(err)
		}
		consistency, pending, _ := DateStatus(live)
		if got := strings.HasPrefix(consistency, "NOT consistent") && strings.Contains(pending, "run dead-run holds"); got != c.held {
			t.Errorf("a lock held for %s: %q, pending %q; want it pending: %v", c.date, consistency, pending, c.held)
		}
		lock.release(ctx)
	}
}
