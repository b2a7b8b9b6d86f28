package read

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/seqae/seqae/schemas"
)

// spillingInput is a long layout input of 3000 interleaved rows whose
// grouping spills under a 4 KiB budget, into spillDir.
func spillingInput(t testing.TB, spillDir string) *Input {
	rows := make([][]any, 0, 3000)
	for k := range 3000 {
		rows = append(rows, longRow(fmt.Sprintf("id-%04d", k%500), int64(k/500), float64(k)))
	}
	return openMem(t, map[string][]byte{"f.parquet": arrowFile{schema: longSchema, rows: rows, groupRows: 1000}.bytes(t)}, schemas.Spec{GroupBudget: 4 << 10, SpillDir: spillDir})
}

// spillFolders lists the spill folders under dir.
func spillFolders(t testing.TB, dir string) []string {
	m, err := filepath.Glob(filepath.Join(dir, spillPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSpillCleanup checks that a ReadUnit's spill folder is gone when it
// returns, whether it succeeded, its sink failed, its context was
// cancelled or its sink panicked, and that it existed (with run files)
// while the unit's sequences were emitted.
func TestSpillCleanup(t *testing.T) {
	stop := errors.New("sink failed")
	cases := []struct {
		name string
		sink func(cancel func()) error // called at the first sequence
		want error
	}{
		{"success", func(func()) error { return nil }, nil},
		{"sink error", func(func()) error { return stop }, stop},
		{"cancelled", func(cancel func()) error { cancel(); return nil }, context.Canceled},
		{"panic", func(func()) error { panic("sink panicked") }, errors.New("panic: sink panicked")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			in := spillingInput(t, dir)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var during []string
			n := 0
			err := func() (err error) {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panic: %v", r)
					}
				}()
				_, err = in.ReadUnit(ctx, in.Units()[0], Sink{
					Sequence: func(*schemas.Sequence) error {
						n++
						if n > 1 {
							return nil
						}
						during, _ = filepath.Glob(filepath.Join(dir, spillPrefix+"*", "run-*"))
						return c.sink(cancel)
					},
					Quarantine: func(q schemas.Quarantine) error { return fmt.Errorf("quarantined %v", q) },
				})
				return err
			}()
			if c.want == nil && err != nil || c.want != nil && (err == nil || !errors.Is(err, c.want) && err.Error() != c.want.Error()) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if len(during) < 2 {
				t.Fatalf("%d run files while emitting, want a spill", len(during))
			}
			if c.want == nil && n != 500 {
				t.Fatalf("%d sequences, want 500", n)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Fatalf("%d entries left in the spill folder (%s), want none", len(left), left[0].Name())
			}
		})
	}
}

// TestSpillReclaim checks that a spilling ReadUnit removes the spill
// folders of dead runs (their lock free), and keeps those of live runs and
// folders without seqae's lock file.
func TestSpillReclaim(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("spill folders are not reclaimed without flock")
	}
	dir := t.TempDir()
	mk := func(name string, lock bool) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "run-000000"), []byte("old run"), 0o644)
		if lock {
			os.WriteFile(filepath.Join(d, spillLock), nil, 0o644)
		}
		return d
	}
	dead, live, foreign := mk(spillPrefix+"999999-dead", true), mk(spillPrefix+"1-live", true), mk(spillPrefix+"foreign", false)
	held, err := os.OpenFile(filepath.Join(live, spillLock), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := lockSpill(held); err != nil {
		t.Fatal(err)
	}
	decodeAll(t, spillingInput(t, dir))
	exists := func(d string) bool { _, err := os.Stat(d); return err == nil }
	if exists(dead) || !exists(live) || !exists(foreign) {
		t.Fatalf("after a spilling read: dead run's folder kept %v, live run's kept %v, foreign kept %v; want false, true, true", exists(dead), exists(live), exists(foreign))
	}
	held.Close()
	decodeAll(t, spillingInput(t, dir))
	if exists(live) {
		t.Fatal("a folder whose lock was let go was not reclaimed")
	}
}

// TestSpillKilledRun kills (SIGKILL) a process while it holds a spill
// folder, and checks that the next spilling read reclaims the folder.
func TestSpillKilledRun(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("spill folders are not reclaimed without flock")
	}
	if dir := os.Getenv("SEQAE_SPILL_HELPER"); dir != "" {
		in := spillingInput(t, dir)
		in.ReadUnit(context.Background(), in.Units()[0], Sink{
			Sequence:   func(*schemas.Sequence) error { select {} },
			Quarantine: func(schemas.Quarantine) error { return nil },
		})
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpillKilledRun$")
	cmd.Env = append(os.Environ(), "SEQAE_SPILL_HELPER="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var folders []string
	for deadline := time.Now().Add(time.Minute); len(folders) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the helper made no spill folder in a minute")
		}
		if m, _ := filepath.Glob(filepath.Join(dir, spillPrefix+"*", "run-*")); len(m) > 0 {
			folders = spillFolders(t, dir)
		}
	}
	// The helper holds its folder: a read now keeps it.
	decodeAll(t, spillingInput(t, dir))
	if got := spillFolders(t, dir); len(got) != 1 || got[0] != folders[0] {
		t.Fatalf("with the helper alive: folders %v, want %v", got, folders)
	}
	cmd.Process.Kill()
	cmd.Wait()
	decodeAll(t, spillingInput(t, dir))
	if got := spillFolders(t, dir); len(got) != 0 || !strings.Contains(folders[0], fmt.Sprint(cmd.Process.Pid)) {
		t.Fatalf("after the helper was killed: folders %v left (its was %s, pid %d)", got, folders[0], cmd.Process.Pid)
	}
}

// TestGrouperMerge adds steps in random order to a grouper whose budget
// spills every few dozen, so that more runs than maxFanIn are merged in
// passes, and checks every step comes back once, in key order.
func TestGrouperMerge(t *testing.T) {
	g := &grouper{dim: 1, npass: 1, spillTo: t.TempDir(), hold: budgetHold{sem: semaphore.NewWeighted(4 << 10), budget: 4 << 10}}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 5000
	for i := range n {
		s := step{key: key{id: schemas.Value{Int: rng.Int64N(300)}, order: rng.Int64N(50), orderNull: rng.IntN(20) == 0, at: int64(i)},
			vals: []float32{float32(i)}, pass: []schemas.Value{{Str: fmt.Sprint("p", i)}}}
		if rng.IntN(10) == 0 {
			s.bad = &problem{reason: schemas.NonFinite, detail: fmt.Sprint("row ", i)}
		}
		if err := g.add(&s); err != nil {
			t.Fatal(err)
		}
	}
	var got []step
	err := g.each(context.Background(), func(s *step) error {
		c := *s
		c.vals, c.pass = slices.Clone(s.vals), slices.Clone(s.pass)
		got = append(got, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	runs := g.sp.runs
	if err := g.close(); err != nil {
		t.Fatal(err)
	}
	if len(got) != n || runs <= maxFanIn {
		t.Fatalf("got %d steps from %d runs, want %d from more than %d", len(got), runs, n, maxFanIn)
	}
	seen := map[int64]bool{}
	for i, s := range got {
		if i > 0 && cmpKeys(&got[i-1].key, &s.key, false) >= 0 {
			t.Fatalf("step %d %+v after %+v", i, s.key, got[i-1].key)
		}
		if seen[s.at] || s.bad == nil && s.vals[0] != float32(s.at) || s.pass[0].Str != fmt.Sprint("p", s.at) {
			t.Fatalf("step %d: %+v, values %v, pass %v", i, s.key, s.vals, s.pass)
		}
		if s.bad != nil && s.bad.detail != fmt.Sprint("row ", s.at) {
			t.Fatalf("step %d: problem %+v", i, s.bad)
		}
		seen[s.at] = true
	}
	if left, _ := os.ReadDir(g.spillTo); len(left) != 0 {
		t.Fatalf("%d entries left in the spill folder", len(left))
	}
}
