package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/stages"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// observe reads a partition folder as a reader would, through one handle
// on the folder, so it sees one folder even while folders are swapped. It
// returns "absent", the one generation every file holds, or what is wrong;
// "" when the folder it read is no longer the live one (a reader retries).
func observe(live string) string {
	root, err := os.OpenRoot(live)
	if errors.Is(err, fs.ErrNotExist) {
		return "absent"
	}
	if err != nil {
		return err.Error()
	}
	defer root.Close()
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		return ""
	}
	gens := map[string]bool{}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		b, err := fs.ReadFile(root.FS(), e.Name())
		if err != nil {
			return ""
		}
		gens[string(b)] = true
	}
	if here, err := root.Stat("."); err != nil {
		return ""
	} else if now, err := os.Stat(live); err != nil || !os.SameFile(here, now) {
		return ""
	}
	if want := []string{SuccessFile, "a", "b", "c"}; !slices.Equal(names, want) || len(gens) != 1 {
		return fmt.Sprintf("partial: files %v of %d generations", names, len(gens))
	}
	for g := range gens {
		return g
	}
	return ""
}

// Publishing swaps the partition whole, with the atomic exchange and with
// the fallback where the file system has none: a reader watching the
// whole time sees a complete generation, or, in the fallback only, no
// partition; never a partial one. Nothing is left beside the partition,
// and the fallback's aside folder is under the run's staging.
func TestPublishDir(t *testing.T) {
	for _, c := range []struct {
		name        string
		fallback    bool
		mayBeAbsent bool
	}{{"exchange", false, false}, {"fallback", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			if c.fallback {
				exchange = func(a, b string) error { return errNoExchange }
				t.Cleanup(func() { exchange = exchangeDirs })
			}
			out := t.TempDir()
			live := filepath.Join(out, "latents", "dt="+day1)
			if err := os.MkdirAll(filepath.Dir(live), 0o755); err != nil {
				t.Fatal(err)
			}
			stage := func(gen int) (staged, aside string) {
				run := filepath.Join(out, stagingDir, fmt.Sprintf("r%d", gen))
				staged = filepath.Join(run, "latents", "dt="+day1)
				os.MkdirAll(staged, 0o755)
				for _, f := range []string{"a", "b", "c", SuccessFile} {
					os.WriteFile(filepath.Join(staged, f), []byte(fmt.Sprint(gen)), 0o644)
				}
				return staged, filepath.Join(run, previousDir, "latents", "dt="+day1)
			}
			staged, aside := stage(0)
			if err := publishDir(staged, live, aside, discard); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			var seen []string
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if o := observe(live); o != "" && (len(seen) == 0 || seen[len(seen)-1] != o) {
						seen = append(seen, o)
					}
				}
			})
			const gens = 30
			for gen := 1; gen <= gens; gen++ {
				staged, aside := stage(gen)
				if err := publishDir(staged, live, aside, discard); err != nil {
					t.Fatal(err)
				}
				if exists(staged) || exists(aside) {
					t.Errorf("generation %d: staged %v, aside %v left; want both gone", gen, exists(staged), exists(aside))
				}
				time.Sleep(time.Millisecond)
			}
			close(stop)
			wg.Wait()
			for _, o := range seen {
				if o == "absent" && c.mayBeAbsent {
					continue
				}
				if _, err := fmt.Sscan(o, new(int)); err != nil {
					t.Errorf("a reader saw %q, want a whole generation%s", o, map[bool]string{true: " or none"}[c.mayBeAbsent])
				}
			}
			if got := observe(live); got != fmt.Sprint(gens) {
				t.Errorf("live holds %q, want generation %d", got, gens)
			}
			var left []string
			filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
				if !d.IsDir() && !strings.HasPrefix(p, live) {
					left = append(left, p)
				}
				return nil
			})
			if entries, _ := os.ReadDir(filepath.Dir(live)); len(entries) != 1 || len(left) != 0 {
				t.Errorf("the table folder holds %d entries and %v are left elsewhere; want just the partition", len(entries), left)
			}
		})
	}
}

// longData writes n long-layout files of 40 traces each into a new folder
// and returns their paths.
func longData(t *testing.T, n int) []string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "long")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var files []string
	for i := range n {
		seqs := synth.Sensors(synth.Options{N: 40, MinLen: 4, MaxLen: 12, Dim: 3, Noise: 0.05, Seed: uint64(20 + i)})
		for j := range seqs {
			seqs[j].ID = fmt.Sprintf("f%d-%s", i, seqs[j].ID)
		}
		var buf bytes.Buffer
		if err := synth.WriteLong(&buf, seqs, 200); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, fmt.Sprintf("part-%d.parquet", i))
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	return files
}

// logTo is a logger writing text lines to b.
func logTo(b *bytes.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// A sharded date gets _SUCCESS only when every shard saw the same inputs
// (names and sizes), settings, format and model; otherwise a warning
// names what differs and the date stays incomplete.
func TestShardFingerprints(t *testing.T) {
	cases := []struct {
		name string
		// before runs between shard 0 and shard 1 and returns the sets
		// shard 1 runs with.
		before func(t *testing.T, files []string, out string) []string
		differ string // "" when the date must be complete
	}{
		{"same", func(*testing.T, []string, string) []string { return nil }, ""},
		{"an input added", func(t *testing.T, files []string, _ string) []string {
			b, _ := os.ReadFile(files[2])
			os.WriteFile(filepath.Join(filepath.Dir(files[0]), "part-9.parquet"), b, 0o644)
			return nil
		}, "inputs"},
		{"an input rewritten", func(t *testing.T, files []string, _ string) []string {
			b, _ := os.ReadFile(files[2])
			os.WriteFile(files[0], b, 0o644)
			return nil
		}, "inputs"},
		{"another format", func(*testing.T, []string, string) []string {
			return []string{"output.format=arrow"}
		}, "format"},
		{"other settings", func(*testing.T, []string, string) []string { return []string{"input.pass="} }, "settings"},
		{"another model", func(t *testing.T, files []string, out string) []string {
			mustRun(t, longJob(t, files, out, "run=train", "training.seed=2"), Options{Date: day2})
			return []string{"model.path=" + filepath.Join(out, TableModels, "dt="+day2, ModelFileName)}
		}, "model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := longData(t, 3)
			out := filepath.Join(t.TempDir(), "out")
			mustRun(t, longJob(t, files, out, "run=train"), Options{Date: day1})
			live := filepath.Join(out, TableLatents, "dt="+day1)
			mustRun(t, longJob(t, files, out, "run=encode"), Options{Date: day1, Shard: Shard{0, 2}})
			sets := c.before(t, files, out)
			var log bytes.Buffer
			mustRun(t, longJob(t, files, out, append([]string{"run=encode"}, sets...)...), Options{Date: day1, Shard: Shard{1, 2}, Logger: logTo(&log)})
			complete := exists(filepath.Join(live, SuccessFile))
			warned := strings.Contains(log.String(), "shards differ in "+c.differ+":")
			if c.differ == "" && (!complete || strings.Contains(log.String(), "differ")) {
				t.Errorf("_SUCCESS %v, log:\n%s\nwant the date complete and no warning", complete, log.String())
			}
			if c.differ != "" && (complete || exists(filepath.Join(live, ManifestFile)) || !warned) {
				t.Errorf("_SUCCESS %v, log:\n%s\nwant no markers and a warning that the shards differ in %s", complete, log.String(), c.differ)
			}
		})
	}
}

// longJob is a quick encode or train job over the long files, writing to out.
func longJob(t *testing.T, files []string, out string, sets ...string) *Config {
	t.Helper()
	base := []string{"inputs=" + filepath.Dir(files[0]), "output.dir=" + out, "input.layout=long", "input.order=ts", "input.pass=machine",
		"model.latent=4", "model.hidden=4", "training.epochs=1", "batching.batch_size=16"}
	cfg, err := Load("", nil, append(base, sets...), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Rerunning a shard of a complete date with another fingerprint takes the
// markers away before its part lands: a run that stops between landing its
// part and writing its manifest (here the manifest cannot be written)
// leaves the date incomplete, not complete with a part nobody checked.
func TestShardRerunUncompletesFirst(t *testing.T) {
	files := longData(t, 2)
	out := filepath.Join(t.TempDir(), "out")
	mustRun(t, longJob(t, files, out, "run=train"), Options{Date: day1})
	for i := range 2 {
		mustRun(t, longJob(t, files, out, "run=encode"), Options{Date: day1, Shard: Shard{i, 2}})
	}
	live := filepath.Join(out, TableQuarantine, "dt="+day1)
	if !exists(filepath.Join(live, SuccessFile)) {
		t.Fatal("both shards landed, no _SUCCESS")
	}
	// The shard's manifest cannot be written: a folder holds its name.
	manifest := filepath.Join(live, shardsDir, "part-00001-of-00002.json")
	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(manifest, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), longJob(t, files, out, "run=encode", "input.pass="), Options{Date: day1, Shard: Shard{1, 2}})
	if err == nil {
		t.Fatal("the shard's manifest could not be written, yet the run succeeded")
	}
	if got := []bool{exists(filepath.Join(live, SuccessFile)), exists(filepath.Join(live, ManifestFile))}; got[0] || got[1] {
		t.Errorf("_SUCCESS, _manifest.json present: %v; want neither once a part with another fingerprint has landed", got)
	}
}

// Shards commit to a table one at a time: while another process holds the
// table's commit lock, a shard that has finished encoding lands nothing.
func TestShardsTakeTurns(t *testing.T) {
	in, ids := smallData(t)
	cfg := smallJob(t, in, "run=train")
	mustRun(t, cfg, Options{Date: day1})
	enc := *cfg
	enc.Run = RunEncode
	mustRun(t, &enc, Options{Date: day1, Shard: Shard{0, 2}})

	l, err := openTableLock(filepath.Join(cfg.Output.Dir, TableQuarantine))
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	unlock, err := l.lock()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	var mu sync.Mutex
	done := make(chan error)
	go func() {
		_, err := Run(context.Background(), &enc, Options{Date: day1, Shard: Shard{1, 2}, Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &log}, nil))})
		done <- err
	}()
	// Shard 1 is made to wait once it blocks on the lock (a waiter on the
	// lock file in /proc/locks); finishing first means it did not wait.
	live := filepath.Join(cfg.Output.Dir, TableQuarantine, "dt="+day1)
	var landed bool
	waiting := false
	for deadline := time.Now().Add(20 * time.Second); !waiting; time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("shard 1 finished (error %v) while another process held the quarantine table's commit lock", err)
		default:
		}
		if waiting = flockWaiters(t, l.f) > 0; waiting {
			landed = exists(filepath.Join(live, "part-00001-of-00002.parquet")) || exists(filepath.Join(live, SuccessFile))
		} else if time.Now().After(deadline) {
			mu.Lock()
			t.Fatalf("shard 1 never waited for the commit lock; its log:\n%s", log.String())
		}
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if landed {
		t.Errorf("shard 1 landed in quarantine while another process held the table's commit lock")
	}
	latents := filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1)
	if !exists(filepath.Join(live, SuccessFile)) || len(readIDs(t, latents)) != len(ids) {
		t.Errorf("after the lock was released: want both shards landed and the date complete")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// Shards that land at once all land, and the date completes once.
func TestShardsLandTogether(t *testing.T) {
	in, ids := smallData(t)
	cfg := smallJob(t, in, "run=train")
	mustRun(t, cfg, Options{Date: day1})
	enc := *cfg
	enc.Run = RunEncode
	const n = 4
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := Run(context.Background(), &enc, Options{Date: day1, Shard: Shard{i, n}})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range []string{TableQuarantine, TableStepLosses, TableLatents} {
		live := filepath.Join(cfg.Output.Dir, table, "dt="+day1)
		m, err := ReadManifest(filepath.Join(live, ManifestFile))
		if err != nil || !exists(filepath.Join(live, SuccessFile)) || len(m.Shards) != n {
			t.Errorf("%s: manifest %v, _SUCCESS %v; want complete with %d shards", table, err, exists(filepath.Join(live, SuccessFile)), n)
		}
	}
	if got := readIDs(t, filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1)); len(got) != len(ids) {
		t.Errorf("%d ids, want %d", len(got), len(ids))
	}
}

// The commit lock lets one holder in at a time, by flock or, where the
// file system has none, by a lock folder; a lock folder left by a killed
// run fails the commit after lockWait, naming it.
func TestCommitLock(t *testing.T) {
	for _, c := range []struct {
		name string
		lock func(t *testing.T, dir string) (func(), error)
	}{
		{"flock", func(t *testing.T, dir string) (func(), error) {
			l, err := openTableLock(dir)
			if err != nil {
				return nil, err
			}
			t.Cleanup(l.close)
			return l.lock()
		}},
		{"lock folder", func(t *testing.T, dir string) (func(), error) { return lockByDir(filepath.Join(dir, lockName+".d")) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			unlock, err := c.lock(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			second := make(chan func())
			go func() {
				u, err := c.lock(t, dir)
				if err != nil {
					t.Error(err)
				}
				second <- u
			}()
			select {
			case <-second:
				t.Fatal("a second holder got the lock while the first held it")
			case <-time.After(100 * time.Millisecond):
			}
			unlock()
			select {
			case u := <-second:
				u()
			case <-time.After(5 * time.Second):
				t.Fatal("the second holder did not get the lock once it was released")
			}
		})
	}
	lockWait = 50 * time.Millisecond
	t.Cleanup(func() { lockWait = time.Minute })
	name := filepath.Join(t.TempDir(), lockName+".d")
	os.Mkdir(name, 0o755) // left by a killed run
	if _, err := lockByDir(name); err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("got %v, want an error naming the lock folder to remove", err)
	}
}

// A commit that cannot make a table's folder fails before any table is
// committed; one that fails after committing some says which.
func TestCommitFailure(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, out string) // before the second run
		want  []string                       // in the error
		// newTables are the tables the second run committed.
		newTables []string
	}{
		{"a table folder cannot be made", func(t *testing.T, out string) {
			os.RemoveAll(filepath.Join(out, TableLatents))
			os.WriteFile(filepath.Join(out, TableLatents), nil, 0o644)
		}, []string{"preparing to commit OUT/latents/dt=" + day1 + ": mkdir OUT/latents: not a directory; nothing committed"}, nil},
		{"the fourth exchange fails", func(t *testing.T, out string) {
			exchange = func(a, b string) error {
				if strings.Contains(b, TableStepLosses) {
					return errors.New("disk on fire")
				}
				return exchangeDirs(a, b)
			}
			t.Cleanup(func() { exchange = exchangeDirs })
		}, []string{"committing OUT/step_losses/dt=" + day1 + ": disk on fire (already committed: OUT/models/dt=" + day1 +
			", OUT/metrics/dt=" + day1 + ", OUT/quarantine/dt=" + day1 + ";"}, []string{TableModels, TableMetrics, TableQuarantine}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, _ := smallData(t)
			cfg := smallJob(t, in)
			first := mustRun(t, cfg, Options{Date: day1})
			c.setup(t, cfg.Output.Dir)
			var log bytes.Buffer
			_, err := Run(context.Background(), cfg, Options{Date: day1, Logger: logTo(&log)})
			if err == nil {
				t.Fatal("the run succeeded")
			}
			for _, w := range c.want {
				if w = strings.ReplaceAll(w, "OUT", cfg.Output.Dir); !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if len(c.newTables) > 0 && !strings.Contains(log.String(), "commit failed part-way") {
				t.Errorf("log:\n%s\nwant an error line listing what was committed", log.String())
			}
			for _, table := range tables {
				dir := filepath.Join(cfg.Output.Dir, table, "dt="+day1)
				if table == TableLatents && c.newTables == nil {
					continue // its folder is a file now
				}
				m := readManifest(t, dir)
				if isNew := m.RunID != first.RunID; isNew != slices.Contains(c.newTables, table) {
					t.Errorf("%s: from the second run %v, want %v", table, isNew, slices.Contains(c.newTables, table))
				}
			}
		})
	}
}

// A rerun replaces the tables it owns whole: those it no longer writes are
// removed (for a shard, its part of them), and an encode-only run leaves
// the date's model alone.
func TestRerunRemovesTablesNotWritten(t *testing.T) {
	cases := []struct {
		name        string
		first       []string // the first run's settings
		shards      int      // the first encoding's shards
		second      []string
		shard       Shard
		gone        []string // tables whose partition the rerun removed
		kept        []string // tables still from the first runs
		incomplete  []string // tables left without _SUCCESS
		wantRemoved []string
	}{
		{name: "step_losses turned off", second: []string{"output.step_losses=false"},
			gone: []string{TableStepLosses}, wantRemoved: []string{TableStepLosses}},
		{name: "a train-only rerun", second: []string{"run=train"},
			gone: []string{TableStepLosses, TableLatents, TableDrift}, wantRemoved: []string{TableStepLosses, TableLatents, TableDrift}},
		{name: "an encode-only rerun keeps the model", second: []string{"run=encode", "output.step_losses=false"},
			gone: []string{TableStepLosses}, kept: []string{TableModels, TableMetrics}, wantRemoved: []string{TableStepLosses}},
		{name: "a shard turns step_losses off", first: []string{"run=train"}, shards: 2, second: []string{"run=encode", "output.step_losses=false"},
			shard: Shard{1, 2}, kept: []string{TableModels, TableMetrics}, incomplete: []string{TableStepLosses}, wantRemoved: []string{TableStepLosses}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, _ := smallData(t)
			cfg := smallJob(t, in, c.first...)
			first := mustRun(t, cfg, Options{Date: day1})
			runs := map[string]bool{first.RunID: true}
			for i := range c.shards {
				enc := *cfg
				enc.Run = RunEncode
				runs[mustRun(t, &enc, Options{Date: day1, Shard: Shard{i, c.shards}}).RunID] = true
			}
			second := smallJob(t, in, append(c.second, "output.dir="+cfg.Output.Dir)...)
			res := mustRun(t, second, Options{Date: day1, Shard: c.shard})
			var removed []string
			for _, p := range res.Removed {
				removed = append(removed, filepath.Base(filepath.Dir(p)))
			}
			if !slices.Equal(removed, c.wantRemoved) {
				t.Errorf("removed %v, want %v", removed, c.wantRemoved)
			}
			for _, table := range c.gone {
				if dir := filepath.Join(cfg.Output.Dir, table, "dt="+day1); exists(dir) {
					t.Errorf("%s: the partition is still there", table)
				}
			}
			for _, table := range c.kept {
				if m := readManifest(t, filepath.Join(cfg.Output.Dir, table, "dt="+day1)); !runs[m.RunID] {
					t.Errorf("%s: from run %s, want the first runs' partition kept", table, m.RunID)
				}
			}
			for _, table := range c.incomplete {
				dir := filepath.Join(cfg.Output.Dir, table, "dt="+day1)
				if exists(filepath.Join(dir, SuccessFile)) || exists(filepath.Join(dir, partName(c.shard, ".parquet"))) ||
					exists(filepath.Join(dir, shardsDir, partName(c.shard, ".json"))) {
					t.Errorf("%s: _SUCCESS or the shard's part or manifest remain; want them removed", table)
				}
			}
		})
	}
}

// Staging folders are judged by the time in their run id, not their
// modification time, and a run that still holds its _run.lock keeps its
// folder however old it is.
func TestCleanStaging(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	old, young := newRunID(now.Add(-25*time.Hour)), newRunID(now.Add(-time.Hour))
	cases := []struct {
		name    string
		id      string
		held    bool      // the run is alive
		mtime   time.Time // zero: now
		removed bool
	}{
		{"a killed run's, a day old", old, false, time.Time{}, true},
		{"a killed run's, touched recently", old, false, now, true},
		{"a run in progress for more than a day", old, true, time.Time{}, false},
		{"a young run's with an old mtime", young, false, now.Add(-48 * time.Hour), false},
		{"not a run id", "notes", false, now.Add(-48 * time.Hour), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			dir := filepath.Join(out, stagingDir, c.id)
			release, err := holdStaging(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !c.held {
				release()
			} else {
				defer release()
			}
			aside := filepath.Join(dir, previousDir, TableLatents, "dt="+day1)
			os.MkdirAll(aside, 0o755)
			os.WriteFile(filepath.Join(aside, "part-00000-of-00001.parquet"), []byte("old"), 0o644)
			if !c.mtime.IsZero() {
				os.Chtimes(dir, c.mtime, c.mtime)
			}
			cleanStaging(out, now, discard)
			if got := !exists(dir); got != c.removed {
				t.Errorf("removed %v, want %v", got, c.removed)
			}
		})
	}
}

// A pass that lost rows anywhere is not committed.
func TestCheckCounts(t *testing.T) {
	good := stages.Counts{Rows: 10, Sequences: 10, Encoded: 8, Quarantined: 2, StepRows: 50}
	written := func(q, s, l int64) map[string]int64 {
		return map[string]int64{TableQuarantine: q, TableStepLosses: s, TableLatents: l}
	}
	cases := []struct {
		name     string
		counts   stages.Counts
		unitRows int64
		written  map[string]int64
		want     string // "" for no error
	}{
		{"all agree", good, 10, written(2, 50, 8), ""},
		{"long layout: no unit rows", good, -1, written(2, 50, 8), ""},
		{"training: no tables but quarantine", good, 10, map[string]int64{TableQuarantine: 2}, ""},
		{"unbalanced", stages.Counts{Rows: 10, Sequences: 10, Encoded: 7, Quarantined: 2}, 10, nil, "sequences in 10 != out 7 + quarantined 2"},
		{"a row not read", good, 11, written(2, 50, 8), "read 10 rows, but the inputs' metadata says 11"},
		{"a latent lost", good, 10, written(2, 50, 7), "the latents table holds 7 rows, but 8 sequences out were counted"},
		{"a quarantined row lost", good, 10, written(1, 50, 8), "the quarantine table holds 1 rows, but 2 rows quarantined were counted"},
		{"a step loss lost", good, 10, written(2, 49, 8), "the step_losses table holds 49 rows, but 50 step losses were counted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkCounts("encoding", c.counts, c.unitRows, c.written)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// Once the new partition is live, failing to delete the previous one is a
// warning, not a failed commit.
func TestPublishWarnsWhenTheOldCannotBeDeleted(t *testing.T) {
	exchange = func(a, b string) error { return nil } // exchanged, leaving the old partition at a
	t.Cleanup(func() { exchange = exchangeDirs })
	var log bytes.Buffer
	undeletable := "old\x00partition" // RemoveAll fails on it
	if err := publishDir(undeletable, filepath.Join(t.TempDir(), "dt="+day1), "", logTo(&log)); err != nil {
		t.Errorf("got %v, want the commit to succeed", err)
	}
	if !strings.Contains(log.String(), "level=WARN msg=\"could not delete a replaced partition") {
		t.Errorf("log:\n%s\nwant a warning", log.String())
	}
}

// Where folders cannot be exchanged, reruns still replace the date whole
// and leave nothing behind: no aside folder beside the partitions, nothing
// in staging.
func TestFallbackRerunLeavesNothing(t *testing.T) {
	exchange = func(a, b string) error { return errNoExchange }
	t.Cleanup(func() { exchange = exchangeDirs })
	in, ids := smallData(t)
	cfg := smallJob(t, in)
	mustRun(t, cfg, Options{Date: day1})
	// A reader listing the table folders all through the reruns.
	stop := make(chan struct{})
	strays := map[string]bool{}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, table := range tables {
				entries, _ := os.ReadDir(filepath.Join(cfg.Output.Dir, table))
				for _, e := range entries {
					if e.Name() != lockName && e.Name() != "dt="+day1 {
						strays[filepath.Join(table, e.Name())] = true
					}
				}
			}
		}
	})
	var second *Result
	for range 3 {
		second = mustRun(t, cfg, Options{Date: day1})
	}
	close(stop)
	wg.Wait()
	if len(strays) > 0 {
		t.Errorf("readers saw %v beside the partitions, want nothing", slices.Sorted(maps.Keys(strays)))
	}
	for _, table := range tables {
		entries, _ := os.ReadDir(filepath.Join(cfg.Output.Dir, table))
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if want := []string{lockName, "dt=" + day1}; !slices.Equal(names, want) {
			t.Errorf("%s holds %v, want %v", table, names, want)
		}
		if m := readManifest(t, filepath.Join(cfg.Output.Dir, table, "dt="+day1)); m.RunID != second.RunID {
			t.Errorf("%s: run %s, want the rerun's", table, m.RunID)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(cfg.Output.Dir, stagingDir)); len(entries) != 0 {
		t.Errorf("staging holds %d entries, want none", len(entries))
	}
	if got := readIDs(t, filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1)); len(got) != len(ids) {
		t.Errorf("%d ids, want %d", len(got), len(ids))
	}
}
