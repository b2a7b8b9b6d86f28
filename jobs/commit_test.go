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
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
				useFS(t, &stepFS{exchange: noExchange})
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
	unlock, err := l.lock(holder{}, t.TempDir())
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
// file system has none, by a lock folder.
func TestCommitLock(t *testing.T) {
	me := holder{Run: "me", PID: selfPID, Host: selfHost, Time: time.Now()}
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
			return l.lock(me, t.TempDir())
		}},
		{"lock folder", func(t *testing.T, dir string) (func(), error) {
			return lockByDir(filepath.Join(dir, lockName+".d"), t.TempDir(), me)
		}},
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
}

// deadPID is the id of a process of this host that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// A lock folder left by a killed run does not block later commits: it is
// taken over once its holder is dead (a process of this host that is gone,
// a holder older than lockExpiry, or, with no holder record, a folder
// older than that). A live holder's lock fails the commit after lockWait,
// naming the holder.
func TestLockFolderExpires(t *testing.T) {
	lockWait, lockExpiry = 300*time.Millisecond, time.Hour
	t.Cleanup(func() { lockExpiry = 5 * time.Minute; lockWait = lockExpiry + time.Minute })
	now := time.Now()
	cases := []struct {
		name   string
		holder *holder // nil: no holder record
		mtime  time.Time
		taken  bool
	}{
		{"a process of this host that is gone", &holder{Run: "killed", PID: deadPID(t), Host: selfHost, Time: now}, now, true},
		{"another host's, expired", &holder{Run: "killed", PID: 1, Host: "elsewhere", Time: now.Add(-2 * time.Hour)}, now, true},
		{"no holder record, an old folder", nil, now.Add(-2 * time.Hour), true},
		{"a live process of this host", &holder{Run: "alive", PID: selfPID, Host: selfHost, Time: now}, now, false},
		{"a live process of this host, expired", &holder{Run: "hung", PID: selfPID, Host: selfHost, Time: now.Add(-2 * time.Hour)}, now, true},
		{"another host's, fresh", &holder{Run: "alive", PID: 1, Host: "elsewhere", Time: now}, now, false},
		{"no holder record, a fresh folder", nil, now, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), lockName+".d")
			if err := os.Mkdir(name, 0o755); err != nil {
				t.Fatal(err)
			}
			if c.holder != nil {
				if err := writeJSON(context.Background(), filepath.Join(name, holderName), c.holder); err != nil {
					t.Fatal(err)
				}
			}
			os.Chtimes(name, c.mtime, c.mtime)
			unlock, err := lockByDir(name, filepath.Join(filepath.Dir(name), "scratch"), holder{Run: "next", PID: selfPID, Host: selfHost, Time: now})
			if got := err == nil; got != c.taken {
				t.Fatalf("taken over %v (error %v), want %v", got, err, c.taken)
			}
			if !c.taken {
				if want := "held by run "; !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), want) {
					t.Errorf("got %v, want an error naming %s and its holder", err, name)
				}
				return
			}
			h, err := readHolder(filepath.Join(name, holderName))
			if err != nil || h.Run != "next" {
				t.Errorf("holder %+v (%v), want the new holder's record", h, err)
			}
			unlock()
			if entries, _ := os.ReadDir(filepath.Dir(name)); len(entries) != 1 || entries[0].Name() != "scratch" {
				t.Errorf("left %v, want only the scratch folder", entries)
			}
			if entries, _ := os.ReadDir(filepath.Join(filepath.Dir(name), "scratch")); len(entries) != 0 {
				t.Errorf("left %v in the scratch folder, want nothing", entries)
			}
		})
	}
}

// A commit that cannot make a table's folder fails before any table is
// committed; one that fails after committing some says which, and the next
// run finishes it.
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
			useFS(t, &stepFS{exchange: func(a, b string) error {
				if strings.Contains(b, TableStepLosses) {
					return errors.New("disk on fire")
				}
				return exchangeDirs(a, b)
			}})
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
			if c.newTables == nil {
				return
			}
			// Once the disk is well, the next run finishes the commit.
			fsys = osOps{}
			second := readManifest(t, filepath.Join(cfg.Output.Dir, TableModels, "dt="+day1)).RunID
			mustRun(t, cfg, Options{Date: day2})
			for _, table := range tables {
				if m := readManifest(t, filepath.Join(cfg.Output.Dir, table, "dt="+day1)); m.RunID != second {
					t.Errorf("after the next run, %s: run %s, want the failed commit's %s", table, m.RunID, second)
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

// A later run reclaims the staging folder of a killed run at once: one
// whose _run.lock is free or, where the file system has no flock, whose
// process of this host is gone, or that is older than staleStaging. It
// leaves alone runs in progress, a killed run's commit record (for
// recoverCommits) and folders without seqae's run marker, whatever their
// names.
func TestCleanStaging(t *testing.T) {
	now := time.Now().UTC()
	dead := deadPID(t)
	cases := []struct {
		name    string
		id      string
		noFlock bool
		marker  *holder // nil: no run marker (not seqae's)
		held    bool    // the run is alive
		intent  bool    // it holds a commit record
		removed bool
	}{
		{"a killed run's, an hour old", newRunID(now.Add(-time.Hour)), false, &holder{PID: selfPID, Host: selfHost, Time: now.Add(-time.Hour)}, false, false, true},
		{"a run in progress for more than a day", newRunID(now.Add(-25 * time.Hour)), false, &holder{PID: selfPID, Host: selfHost, Time: now.Add(-25 * time.Hour)}, true, false, false},
		{"a killed run's commit record", newRunID(now), false, &holder{PID: selfPID, Host: selfHost, Time: now}, false, true, false},
		{"a user's folder named like a run id", "20200101T000000Z-abcd1234", false, nil, false, false, false},
		{"no flock: a process of this host that is gone", newRunID(now), true, &holder{PID: dead, Host: selfHost, Time: now}, true, false, true},
		{"no flock: another host's, 23 hours old", newRunID(now), true, &holder{PID: 1, Host: "elsewhere", Time: now.Add(-23 * time.Hour)}, true, false, false},
		{"no flock: another host's, 25 hours old", newRunID(now), true, &holder{PID: 1, Host: "elsewhere", Time: now.Add(-25 * time.Hour)}, true, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.noFlock {
				flock = noFlock
				t.Cleanup(func() { flock = lockFile })
			}
			out := t.TempDir()
			dir := filepath.Join(out, stagingDir, c.id)
			if c.marker != nil {
				release, err := holdStaging(context.Background(), dir, *c.marker)
				if err != nil {
					t.Fatal(err)
				}
				if c.held {
					defer release()
				} else {
					release()
				}
			}
			keep := filepath.Join(dir, "keep.txt")
			os.MkdirAll(dir, 0o755)
			os.WriteFile(keep, []byte("mine"), 0o644)
			if c.intent {
				os.WriteFile(filepath.Join(dir, intentName), []byte("{}"), 0o644)
			}
			cleanStaging(out, "", now, discard)
			if got := !exists(dir); got != c.removed {
				t.Errorf("removed %v, want %v", got, c.removed)
			}
			if !c.removed && !exists(keep) {
				t.Errorf("%s was deleted", keep)
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
	useFS(t, &stepFS{exchange: func(a, b string) error { return nil }}) // exchanged, leaving the old partition at a
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
	useFS(t, &stepFS{exchange: noExchange})
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

// stepFS is fileOps over the operating system's that calls step before
// each step of the commit, its recovery and staging cleanup, with the
// step's name and path: a step step fails is not taken. exchange, when
// set, stands in for the folder exchange.
type stepFS struct {
	step     func(op, name string) error
	exchange func(a, b string) error
}

func (f *stepFS) do(op, name string, take func() error) error {
	if f.step != nil {
		if err := f.step(op, name); err != nil {
			return err
		}
	}
	return take()
}

func (f *stepFS) Rename(from, to string) error {
	return f.do("rename", from+" -> "+to, func() error { return os.Rename(from, to) })
}

func (f *stepFS) Exchange(a, b string) error {
	return f.do("exchange", a+" <-> "+b, func() error {
		if f.exchange != nil {
			return f.exchange(a, b)
		}
		return exchangeDirs(a, b)
	})
}

func (f *stepFS) Mkdir(name string) error {
	return f.do("mkdir", name, func() error { return osOps{}.Mkdir(name) })
}

func (f *stepFS) MkdirAll(name string) error {
	return f.do("mkdir -p", name, func() error { return osOps{}.MkdirAll(name) })
}

func (f *stepFS) Remove(name string) error {
	return f.do("remove", name, func() error { return os.Remove(name) })
}

func (f *stepFS) RemoveAll(name string) error {
	return f.do("remove -r", name, func() error { return os.RemoveAll(name) })
}

// WriteFile writes aside and renames, as osOps does, but does not sync:
// what a kill leaves is decided by the steps, and tests run many.
func (f *stepFS) WriteFile(ctx context.Context, name string, data []byte) error {
	return f.do("write", name, func() error {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".tmp-test")
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, name)
	})
}

// useFS makes f the commit's file system for the test.
func useFS(t *testing.T, f fileOps) {
	fsys = f
	t.Cleanup(func() { fsys = osOps{} })
}

// noExchange is a file system without renameat2(RENAME_EXCHANGE).
func noExchange(string, string) error { return errNoExchange }

// noFlock is a file system without flock.
func noFlock(*os.File, bool) (func(), error) { return nil, errNoLock }

var errKilled = errors.New("killed")

// killer stops the file system at step at (from 1), as a kill -9 would:
// that step and every step after it are not taken, so nothing the run does
// afterwards (its deferred cleanup included) reaches the disk. fired
// reports whether the run got that far; steps lists what it did.
type killer struct {
	at    int
	n     int
	steps []string
}

func (k *killer) step(op, name string) error {
	k.n++
	if k.n >= k.at {
		return errKilled
	}
	k.steps = append(k.steps, op+" "+name)
	return nil
}

func (k *killer) fired() bool { return k.n >= k.at }

// copyTree copies the folder from to to, its files as hard links: seqae
// never writes a file in place (it writes aside and renames), so a link
// is as good as a copy and costs one system call.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, name)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Mkdir(filepath.Join(to, rel), 0o755)
		}
		return os.Link(name, filepath.Join(to, rel))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tinyData writes 24 short traces as a nested file and returns its folder.
func tinyData(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "in")
	seqs := synth.Sensors(synth.Options{N: 24, MinLen: 3, MaxLen: 6, Dim: 3, Noise: 0.05, Seed: 3})
	var buf bytes.Buffer
	if err := synth.WriteNested(&buf, seqs, 6); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "part-0.parquet"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tinyJob is a quick job over in, writing to out.
func tinyJob(t *testing.T, in, out string, sets ...string) *Config {
	t.Helper()
	base := []string{"inputs=" + in, "output.dir=" + out, "model.latent=2", "model.hidden=3", "training.epochs=1", "batching.batch_size=8"}
	cfg, err := Load("", nil, append(base, sets...), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// dateState says whose the date day1 is under out across tables: "old"
// when every table is as run old left it, "new" when every table is as
// one later run left it, else what is mixed. A whole table is its
// partition's run ("" when absent); a sharded one (shard set) is its
// shard's manifest's run and whether the date is complete. Every present
// partition must hold exactly the files of its manifest.
func dateState(t *testing.T, out string, old map[string]string, newTables map[string]bool, shard *Shard) string {
	t.Helper()
	got := map[string]string{}
	for _, table := range tables {
		live := filepath.Join(out, table, "dt="+day1)
		run, exists := partitionRun(live)
		if shard != nil {
			run = fmt.Sprintf("%s complete=%v", shardRun(live, *shard), exists && pathExists(filepath.Join(live, SuccessFile)))
		}
		if exists {
			if err := checkOwnFiles(live); err != nil {
				return "stray files: " + err.Error()
			}
			if m, err := ReadManifest(filepath.Join(live, ManifestFile)); err == nil {
				for _, f := range m.Files {
					if !pathExists(filepath.Join(live, f.Name)) {
						return fmt.Sprintf("%s lacks %s", live, f.Name)
					}
				}
			}
		}
		got[table] = run
	}
	if maps.Equal(got, old) {
		return "old"
	}
	newRun := ""
	for _, table := range tables {
		if _, touched := newTables[table]; !touched {
			if got[table] != old[table] {
				return fmt.Sprintf("mixed: %v", got)
			}
			continue
		}
		want := got[table]
		if !newTables[table] {
			want = ""
			if shard != nil {
				want = " complete=false"
			}
		} else if newRun == "" {
			newRun = got[table]
		}
		if got[table] != want || newTables[table] && (got[table] != newRun || got[table] == old[table]) {
			return fmt.Sprintf("mixed: %v", got)
		}
	}
	return "new"
}

// stranded lists what a killed run and the recovery left in out beyond
// the tables' partitions and lock files: anything in staging, any lock
// folder whose holder is alive, anything else beside the partitions.
func stranded(out string) []string {
	var left []string
	entries, _ := os.ReadDir(filepath.Join(out, stagingDir))
	for _, e := range entries {
		left = append(left, filepath.Join(stagingDir, e.Name()))
	}
	for _, table := range tables {
		entries, _ := os.ReadDir(filepath.Join(out, table))
		for _, e := range entries {
			name := filepath.Join(out, table, e.Name())
			switch {
			case e.Name() == lockName, e.Name() == "dt="+day1:
			case e.Name() == lockName+".d":
				// A lock folder a killed run left; harmless once its holder
				// is dead: the next commit takes it over.
				if h, dead := lockHolder(name); !dead {
					left = append(left, name+" held by "+h.String())
				}
			default:
				left = append(left, name)
			}
		}
	}
	return left
}

// killPoints are the steps (from 1) of a run, whose steps in the output
// folder out were steps, that TestCommitKilledAtEveryStep kills it at:
// every step from writing the commit record to removing it (each one
// leaves the tables in another state), and elsewhere (staging the tables,
// the lock folders, the cleanup) the first step of each kind, a kind being
// the operation and path with the run, the table and the numbers in names
// erased: a kill at staging the metrics table's manifest tests nothing
// that one at staging the models table's does not.
func killPoints(out string, steps []string) []int {
	numbers := regexp.MustCompile(`[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}|[0-9]{6,}`)
	kind := func(step string) string {
		fields := strings.Fields(strings.ReplaceAll(step, out+string(filepath.Separator), ""))
		for i, f := range fields {
			parts := strings.Split(numbers.ReplaceAllString(f, "N"), "/")
			for j, p := range parts {
				if slices.Contains(tables, p) {
					parts[j] = "TABLE"
				}
			}
			fields[i] = strings.Join(parts, "/")
		}
		return strings.Join(fields, " ")
	}
	var points []int
	seen := map[string]bool{}
	inCommit := false
	for i, step := range steps {
		record := strings.HasSuffix(step, string(filepath.Separator)+intentName)
		inCommit = inCommit || record && strings.HasPrefix(step, "write ")
		if k := kind(step); inCommit || !seen[k] {
			seen[k] = true
			points = append(points, i+1)
		}
		inCommit = inCommit && !(record && strings.HasPrefix(step, "remove "))
	}
	return points
}

// A run killed at any step of its commit (the intent record, each table's
// exchange or removal, each of the fallback's two renames), and at every
// kind of step around it (staging, the lock folders, the cleanup: see
// killPoints), leaves a date that the next run makes all old or all new
// across its tables, with nothing stranded; and so does a recovery itself
// killed at any of its steps (tried on the first kill that leaves the date
// mixed), once a later run finishes it. With the exchange, with the
// fallback (no exchange, no flock: lock folders and holder records), in a
// train-only rerun that removes tables, and for one shard of a sharded
// date.
func TestCommitKilledAtEveryStep(t *testing.T) {
	type scenario struct {
		name     string
		fallback bool                                      // no exchange, no flock
		first    func(t *testing.T, in, out string) string // the first runs, returning the run whose partitions are "old" ("" for several)
		second   []string
		shard    *Shard
		// newTables are the tables the second run replaces: true when it
		// writes them, false when it removes them.
		newTables map[string]bool
	}
	all := map[string]bool{}
	for _, table := range tables {
		all[table] = true
	}
	trainOnly := map[string]bool{TableModels: true, TableMetrics: true, TableQuarantine: true, TableStepLosses: false, TableLatents: false, TableDrift: false, TableReports: true}
	full := func(t *testing.T, in, out string) string {
		return mustRun(t, tinyJob(t, in, out), Options{Date: day1}).RunID
	}
	scenarios := []scenario{
		{name: "exchange", first: full, newTables: all},
		{name: "fallback", fallback: true, first: full, newTables: all},
		{name: "train-only rerun removes tables", first: full, second: []string{"run=train"}, newTables: trainOnly},
		{name: "a shard with another fingerprint", shard: &Shard{1, 2}, first: func(t *testing.T, in, out string) string {
			mustRun(t, tinyJob(t, in, out, "run=train"), Options{Date: day1})
			for i := range 2 {
				mustRun(t, tinyJob(t, in, out, "run=encode"), Options{Date: day1, Shard: Shard{i, 2}})
			}
			return ""
		}, second: []string{"run=encode", "input.max_len=5"},
			newTables: map[string]bool{TableQuarantine: true, TableStepLosses: true, TableLatents: true, TableDrift: true, TableReports: true}},
	}
	in := tinyData(t)
	var kills, allOld, allNew, recoveryKills int
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			base := t.TempDir()
			tmpl := filepath.Join(base, "template")
			sc.first(t, in, tmpl)
			oldState := map[string]string{}
			for _, table := range tables {
				live := filepath.Join(tmpl, table, "dt="+day1)
				oldState[table], _ = partitionRun(live)
				if sc.shard != nil {
					oldState[table] = fmt.Sprintf("%s complete=%v", shardRun(live, *sc.shard), pathExists(filepath.Join(live, SuccessFile)))
				}
			}
			opt := Options{Date: day1}
			if sc.shard != nil {
				opt.Shard = *sc.shard
			}
			if sc.fallback {
				flock = noFlock
				lockWait = 5 * time.Second // fail fast if a dead holder's lock is not taken over
				t.Cleanup(func() { flock, lockWait = lockFile, lockExpiry+time.Minute })
			}
			dead := deadPID(t)
			// nextRun plays the next run: it finishes what was left, with
			// the file system stopping at recovery step at (0: never).
			nextRun := func(out string, at int) (*killer, error) {
				k := &killer{at: math.MaxInt}
				if at > 0 {
					k.at = at
				}
				useFS(t, &stepFS{step: k.step, exchange: map[bool]func(a, b string) error{true: noExchange}[sc.fallback]})
				if at > 0 {
					selfPID = dead
				}
				err := recoverCommits(context.Background(), out, discard)
				if err == nil {
					cleanStaging(out, "", time.Now(), discard)
				}
				fsys, selfPID = osOps{}, os.Getpid()
				return k, err
			}
			// killedRun plays the second run killed at step at (never: the
			// whole run) on a copy of the template in out.
			killedRun := func(out string, at int) *killer {
				copyTree(t, tmpl, out)
				k := &killer{at: at}
				useFS(t, &stepFS{step: k.step, exchange: map[bool]func(a, b string) error{true: noExchange}[sc.fallback]})
				selfPID = dead // the killed run's holder records name a process that is gone
				Run(context.Background(), tinyJob(t, in, out, sc.second...), opt)
				selfPID = os.Getpid()
				fsys = osOps{}
				return k
			}
			whole := filepath.Join(base, "whole")
			points := killPoints(whole, killedRun(whole, math.MaxInt).steps)
			if s := dateState(t, whole, oldState, sc.newTables, sc.shard); s != "new" {
				t.Fatalf("the second run, not killed: %s", s)
			}
			t.Logf("%d kill points", len(points))
			counts := map[string]int{}
			doubled := false
			for _, at := range points {
				out := filepath.Join(base, fmt.Sprint(at))
				k := killedRun(out, at)
				if !k.fired() {
					t.Fatalf("the run took fewer than %d steps; not killed, it took more", at)
				}
				kills++
				last := "before the first step"
				if len(k.steps) > 0 {
					last = "after " + k.steps[len(k.steps)-1]
				}
				// Once, at the first kill that leaves a table changed (the
				// date mixed until recovered), the recovery is killed at each
				// of its steps in turn, then finished by a later run.
				mixed := dateState(t, out, oldState, sc.newTables, sc.shard) != "old"
				for rat := 1; mixed && !doubled; rat++ {
					rout := fmt.Sprintf("%s-recovery-%d", out, rat)
					copyTree(t, out, rout)
					rk, _ := nextRun(rout, rat)
					if !rk.fired() {
						doubled = true
						break
					}
					recoveryKills++
					if _, err := nextRun(rout, 0); err != nil {
						t.Fatalf("killed %s, recovery killed at its step %d: %v", last, rat, err)
					}
					if s := dateState(t, rout, oldState, sc.newTables, sc.shard); s != "old" && s != "new" {
						t.Errorf("killed %s, recovery killed at its step %d: %s", last, rat, s)
					}
					if left := stranded(rout); len(left) > 0 {
						t.Errorf("killed %s, recovery killed at its step %d: left %v", last, rat, left)
					}
				}
				if _, err := nextRun(out, 0); err != nil {
					t.Fatalf("killed %s: recovery: %v", last, err)
				}
				s := dateState(t, out, oldState, sc.newTables, sc.shard)
				counts[s]++
				if s != "old" && s != "new" {
					t.Errorf("killed %s: after recovery, %s", last, s)
				}
				if left := stranded(out); len(left) > 0 {
					t.Errorf("killed %s: left %v", last, left)
				}
			}
			t.Logf("after recovery: %v", counts)
			allOld += counts["old"]
			allNew += counts["new"]
			if counts["new"] == 0 || counts["old"] == 0 {
				t.Errorf("outcomes %v: want kills before the commit record to leave the date old and kills after it new", counts)
			}
		})
	}
	t.Logf("%d kill points in %d scenarios: %d all old, %d all new after recovery; %d recoveries killed part-way and finished by a later run",
		kills, len(scenarios), allOld, allNew, recoveryKills)
}

// inspectDate returns what `seqae inspect` says of a partition's date
// (DateStatus).
func inspectDate(t *testing.T, live string) string {
	t.Helper()
	consistency, pending, ok := DateStatus(live)
	if !ok {
		t.Fatalf("DateStatus(%s): not a partition", live)
	}
	if pending != "" {
		return "date " + consistency + "\npending commit " + pending
	}
	return "date " + consistency
}

// A run killed between two tables' exchanges leaves the date mixed, as
// inspect says, until the next run on the output folder, for another date,
// finishes the commit first thing: the date is then all the killed run's.
func TestNextRunFinishesCommit(t *testing.T) {
	in := tinyData(t)
	out := filepath.Join(t.TempDir(), "out")
	first := mustRun(t, tinyJob(t, in, out), Options{Date: day1})
	exchanges, killed := 0, false
	useFS(t, &stepFS{step: func(op, name string) error {
		if op == "exchange" {
			exchanges++
		}
		killed = killed || exchanges == 3 // after models and metrics
		if killed {
			return errKilled
		}
		return nil
	}})
	Run(context.Background(), tinyJob(t, in, out), Options{Date: day1})
	fsys = osOps{}
	second := readManifest(t, filepath.Join(out, TableModels, "dt="+day1)).RunID
	live := filepath.Join(out, TableLatents, "dt="+day1)
	before := inspectDate(t, live)
	for _, want := range []string{
		"date NOT consistent: models, metrics from run " + second + "; " + strings.Join(tables[2:], ", ") + " from run " + first.RunID,
		"pending commit run " + second, "the next seqae run on " + out + " finishes it",
	} {
		if !strings.Contains(before, want) {
			t.Errorf("inspect says\n%s\nwant %q", before, want)
		}
	}
	var log bytes.Buffer
	mustRun(t, tinyJob(t, in, out, "run=train"), Options{Date: day2, Logger: logTo(&log)})
	if !strings.Contains(log.String(), "finished a commit that a killed run left part-way") {
		t.Errorf("log:\n%s\nwant a line saying the commit was finished", log.String())
	}
	for _, table := range tables {
		if m := readManifest(t, filepath.Join(out, table, "dt="+day1)); m.RunID != second {
			t.Errorf("%s: run %s, want the killed run's %s", table, m.RunID, second)
		}
	}
	if got, want := inspectDate(t, live), "date consistent: "+strings.Join(tables, ", ")+" from run "+second; got != want {
		t.Errorf("inspect says\n%s\nwant\n%s", got, want)
	}
	if entries, _ := os.ReadDir(filepath.Join(out, stagingDir)); len(entries) != 0 {
		t.Errorf("staging holds %d entries, want none", len(entries))
	}
}

// tree lists every file and folder under dir with its contents, to show
// that nothing changed.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			got[p] = "folder"
			return nil
		}
		b, err := os.ReadFile(p)
		got[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A run deletes nothing seqae did not write: a partition holding a file
// its manifest does not list, or a folder without seqae's manifest, fails
// the run naming the file, with nothing changed; a folder in staging
// without seqae's run marker is left alone; the root is refused as the
// output folder.
func TestNeverDeletesWhatSeqaeDidNotWrite(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, in, out string) string // returns the foreign file
		sets  []string                                  // the run's settings
		fails bool
	}{
		{"a file added to a partition seqae wrote", func(t *testing.T, in, out string) string {
			mustRun(t, tinyJob(t, in, out), Options{Date: day1})
			name := filepath.Join(out, TableMetrics, "dt="+day1, "important.csv")
			os.WriteFile(name, []byte("a,b\n1,2\n"), 0o644)
			return name
		}, nil, true},
		{"a user's latents and a train-only run", func(t *testing.T, in, out string) string {
			name := filepath.Join(out, TableLatents, "dt="+day1, "mine.parquet")
			os.MkdirAll(filepath.Dir(name), 0o755)
			os.WriteFile(name, []byte("PAR1"), 0o644)
			return name
		}, []string{"run=train"}, true},
		{"a user's latents and a shard", func(t *testing.T, in, out string) string {
			mustRun(t, tinyJob(t, in, out, "run=train"), Options{Date: day1})
			name := filepath.Join(out, TableLatents, "dt="+day1, "mine.parquet")
			os.MkdirAll(filepath.Dir(name), 0o755)
			os.WriteFile(name, []byte("PAR1"), 0o644)
			return name
		}, []string{"run=encode", "@shard"}, true},
		{"a folder in staging named like a run id", func(t *testing.T, in, out string) string {
			name := filepath.Join(out, stagingDir, "20200101T000000Z-abcd1234", "keep.txt")
			os.MkdirAll(filepath.Dir(name), 0o755)
			os.WriteFile(name, []byte("mine"), 0o644)
			return name
		}, nil, false},
	}
	in := tinyData(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			foreign := c.setup(t, in, out)
			before := tree(t, out)
			opt := Options{Date: day1}
			if c.sets != nil && c.sets[len(c.sets)-1] == "@shard" {
				opt.Shard, c.sets = Shard{0, 2}, c.sets[:len(c.sets)-1]
			}
			_, err := Run(context.Background(), tinyJob(t, in, out, c.sets...), opt)
			if !c.fails {
				if err != nil {
					t.Fatal(err)
				}
				if b, err := os.ReadFile(foreign); err != nil || string(b) != "mine" {
					t.Errorf("%s: %q, %v; want it kept", foreign, b, err)
				}
				return
			}
			var ce *ConfigError
			if err == nil || !strings.Contains(err.Error(), foreign+" was not written by seqae") || !strings.Contains(err.Error(), "nothing changed") || errors.As(err, &ce) {
				t.Errorf("got %v, want a run error (exit 1) naming %s and saying nothing changed", err, foreign)
			}
			after := tree(t, out)
			for p, v := range before {
				if after[p] != v {
					t.Errorf("%s changed", p)
				}
			}
			for p := range after {
				if _, ok := before[p]; !ok {
					t.Errorf("%s appeared", p)
				}
			}
		})
	}
}

// The output folder may not be a root, hold an input, or be read as one.
func TestCheckOutputDir(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	cases := []struct {
		name   string
		out    string
		inputs []string
		want   string // "" for accepted
	}{
		{"the root", "/", []string{in}, "is a file system's root"},
		{"the input folder", in, []string{in}, "holds the input"},
		{"a folder above the input", dir, []string{in + "/*.parquet"}, "holds the input"},
		{"a folder above an input file", dir, []string{in + "/part-0.parquet"}, "holds the input"},
		{"inside a folder read whole", filepath.Join(in, "out"), []string{in}, "is inside the input"},
		{"inside a folder a glob reads", filepath.Join(in, "x", "out"), []string{in + "/*"}, "is inside the input"},
		{"inside a dated folder read whole", filepath.Join(in, "dt="+day1, "out"), []string{in + "/dt={date}"}, "is inside the input"},
		{"beside files a glob reads", filepath.Join(in, "out"), []string{in + "/*.parquet"}, ""},
		{"a sibling", filepath.Join(dir, "out"), []string{in}, ""},
		{"an object store input", filepath.Join(dir, "out"), []string{"s3://bucket/" + dir}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkOutputDir(c.out, c.inputs, day1)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
	cfg := tinyJob(t, tinyData(t), "/")
	if _, err := Run(context.Background(), cfg, Options{Date: day1}); err == nil || !strings.Contains(err.Error(), "output folder / is a file system's root") {
		t.Errorf("--out /: got %v, want it refused", err)
	}
}

// A full disk names the staging folders under the output folder, with
// their sizes: killed runs' as reclaimable, and runs' in progress.
func TestNoSpaceNamesStaging(t *testing.T) {
	in := tinyData(t)
	out := filepath.Join(t.TempDir(), "out")
	killed := filepath.Join(out, stagingDir, newRunID(time.Now().Add(-time.Minute)))
	running := filepath.Join(out, stagingDir, newRunID(time.Now()))
	useFS(t, &stepFS{step: func(op, name string) error {
		if op != "write" || filepath.Base(name) != intentName {
			return nil
		}
		// Runs that started after this one.
		for _, dir := range []string{killed, running} {
			release, err := holdStaging(context.Background(), dir, holder{PID: selfPID, Host: selfHost, Time: time.Now()})
			if err != nil {
				return err
			}
			if dir == killed {
				release()
			} else {
				t.Cleanup(release)
			}
			os.WriteFile(filepath.Join(dir, "big"), make([]byte, 5000), 0o644)
		}
		return &fs.PathError{Op: "write", Path: name, Err: syscall.ENOSPC}
	}})
	_, err := Run(context.Background(), tinyJob(t, in, out), Options{Date: day1})
	for _, want := range []string{"no space left on device", "reclaimable: the staging folders of killed runs " + killed + " (", "runs in progress hold " + running + " ("} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to say %q", err, want)
		}
	}
}

// A folder a run killed before writing its marker left (nothing but an
// empty _run.lock) is removed once nobody holds the lock.
func TestCleanStagingBeforeMarker(t *testing.T) {
	out := t.TempDir()
	killed, alive := filepath.Join(out, stagingDir, "a"), filepath.Join(out, stagingDir, "b")
	for _, dir := range []string{killed, alive} {
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, runLockName), nil, 0o644)
	}
	f, err := os.Open(filepath.Join(alive, runLockName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unlock, err := lockFile(f, false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	cleanStaging(out, "", time.Now(), discard)
	if got := []bool{exists(killed), exists(alive)}; got[0] || !got[1] {
		t.Errorf("killed run's folder present %v, live run's %v; want only the live run's", got[0], got[1])
	}
}

// Of several runs that find the same expired lock folder at once, one takes
// it over and the others wait for it: none takes a live lock away.
func TestLockFolderTakeoverIsExclusive(t *testing.T) {
	lockWait, lockExpiry = 20*time.Second, time.Hour
	t.Cleanup(func() { lockExpiry = 5 * time.Minute; lockWait = lockExpiry + time.Minute })
	for round := range 20 {
		dir := t.TempDir()
		name := filepath.Join(dir, lockName+".d")
		if err := os.Mkdir(name, 0o755); err != nil {
			t.Fatal(err)
		}
		old := holder{Run: "killed", PID: 1, Host: "elsewhere", Time: time.Now().Add(-2 * time.Hour)}
		if err := writeJSON(context.Background(), filepath.Join(name, holderName), old); err != nil {
			t.Fatal(err)
		}
		fsys = osOps{}
		if round%2 == 1 {
			useFS(t, slowTakeover{}) // every run judges the lock dead before any takes it away
		}
		var holding, most atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				h := holder{Run: fmt.Sprintf("run%d", i), PID: selfPID, Host: selfHost, Time: time.Now()}
				unlock, err := lockByDir(name, filepath.Join(dir, fmt.Sprintf("scratch%d", i)), h)
				if err != nil {
					t.Error(err)
					return
				}
				n := holding.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(5 * time.Millisecond)
				holding.Add(-1)
				unlock()
			}()
		}
		close(start)
		wg.Wait()
		if got := most.Load(); got != 1 {
			t.Fatalf("round %d: %d runs held the lock at once, want 1", round, got)
		}
	}
}

// slowTakeover waits before taking an expired lock folder away.
type slowTakeover struct{ osOps }

func (f slowTakeover) Rename(from, to string) error {
	if strings.Contains(filepath.Base(to), "-expired-") {
		time.Sleep(20 * time.Millisecond)
	}
	return f.osOps.Rename(from, to)
}

// A .break folder left by a run killed while taking a lock over is taken
// away once its holder is dead, as a lock is, and the dead lock is then
// taken over; a live one's makes the run wait.
func TestLockFolderStaleBreak(t *testing.T) {
	lockWait, lockExpiry = 250*time.Millisecond, time.Hour
	t.Cleanup(func() { lockExpiry = 5 * time.Minute; lockWait = lockExpiry + time.Minute })
	now := time.Now()
	for _, c := range []struct {
		breaker holder
		taken   bool
	}{
		{holder{Run: "killed", PID: deadPID(t), Host: selfHost, Time: now}, true},
		{holder{Run: "killed", PID: 1, Host: "elsewhere", Time: now.Add(-2 * time.Hour)}, true},
		{holder{Run: "taking over", PID: selfPID, Host: selfHost, Time: now}, false},
	} {
		dir := t.TempDir()
		name := filepath.Join(dir, lockName+".d")
		for d, h := range map[string]holder{name: {Run: "killed", PID: 1, Host: "elsewhere", Time: now.Add(-2 * time.Hour)}, name + ".break": c.breaker} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := writeJSON(context.Background(), filepath.Join(d, holderName), h); err != nil {
				t.Fatal(err)
			}
		}
		unlock, err := lockByDir(name, filepath.Join(dir, "scratch"), holder{Run: "next", PID: selfPID, Host: selfHost, Time: now})
		if got := err == nil; got != c.taken {
			t.Fatalf(".break held by %v: taken over %v (%v), want %v", c.breaker, got, err, c.taken)
		}
		if err == nil {
			unlock()
			if _, err := os.Stat(name + ".break"); !os.IsNotExist(err) {
				t.Errorf(".break still there (%v), want it taken away", err)
			}
		}
	}
}
