package storage

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// stores returns each Store under test with a root to put names under.
func stores(t *testing.T) map[string]struct {
	s    Store
	root string
} {
	return map[string]struct {
		s    Store
		root string
	}{
		"local": {Local{}, t.TempDir()},
		"mem":   {NewMem(), "bucket"},
	}
}

func readAll(t *testing.T, s Store, name string) string {
	t.Helper()
	o, err := s.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	defer o.Close()
	b, err := io.ReadAll(io.NewSectionReader(o, 0, o.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, s Store, name, data string) {
	t.Helper()
	w, err := s.Create(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPublishOnClose(t *testing.T) {
	for kind, st := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			name := st.root + "/out/a.parquet"
			w, err := st.s.Create(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, "hello")
			if _, err := st.s.Open(ctx, name); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Open before Close: got %v, want ErrNotFound", err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, st.s, name); got != "hello" {
				t.Fatalf("got %q, want %q", got, "hello")
			}
			if err := w.Abort(); err != nil {
				t.Fatalf("Abort after Close: %v", err)
			}
			if got := readAll(t, st.s, name); got != "hello" {
				t.Fatalf("after Abort got %q, want the published %q", got, "hello")
			}
			write(t, st.s, name, "replaced")
			if got := readAll(t, st.s, name); got != "replaced" {
				t.Fatalf("got %q, want %q", got, "replaced")
			}
		})
	}
}

func TestAbortAndCancelLeaveNothing(t *testing.T) {
	for kind, st := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			name := st.root + "/out/b.parquet"
			w, err := st.s.Create(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, "partial")
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			w, err = st.s.Create(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, "partial")
			cancel()
			if err := w.Close(); !errors.Is(err, context.Canceled) {
				t.Fatalf("Close after cancel: got %v, want context.Canceled", err)
			}
			if _, err := st.s.Open(context.Background(), name); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Open: got %v, want ErrNotFound", err)
			}
			if kind == "local" {
				left, _ := os.ReadDir(filepath.Join(st.root, "out"))
				if len(left) != 0 {
					t.Fatalf("files left in the folder: %v", left)
				}
			}
		})
	}
}

func TestList(t *testing.T) {
	for kind, st := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			r := st.root
			for _, n := range []string{"in/a.parquet", "in/b.parquet", "in/sub/c.parquet", "in/_SUCCESS", "in/.hidden", "in/_tmp/d.parquet", "in/.staging/f.parquet", "_out/g.parquet", "other/e.parquet"} {
				write(t, st.s, r+"/"+n, n)
			}
			w, _ := st.s.Create(ctx, r+"/in/pending.parquet")
			defer w.Abort()
			io.WriteString(w, "x")
			tests := []struct {
				pattern string
				want    []string
			}{
				{"in", []string{"in/a.parquet", "in/b.parquet", "in/sub/c.parquet"}},
				{"in/a.parquet", []string{"in/a.parquet"}},
				{"in/*.parquet", []string{"in/a.parquet", "in/b.parquet"}},
				{"*/*.parquet", []string{"in/a.parquet", "in/b.parquet", "other/e.parquet"}},
				{"in/s*", []string{"in/sub/c.parquet"}},
				// A wildcard does not match a hidden name; a name written
				// in the pattern does.
				{"in/*/*.parquet", []string{"in/sub/c.parquet"}},
				{"in/*", []string{"in/a.parquet", "in/b.parquet", "in/sub/c.parquet"}},
				{"*/*/*.parquet", []string{"in/sub/c.parquet"}},
				{"in/_tmp/*.parquet", []string{"in/_tmp/d.parquet"}},
				{"in/.st*/*.parquet", []string{"in/.staging/f.parquet"}},
				{"_out/*", []string{"_out/g.parquet"}},
				{"in/_*", []string{"in/_SUCCESS", "in/_tmp/d.parquet"}},
			}
			for _, tt := range tests {
				got, err := st.s.List(ctx, r+"/"+tt.pattern)
				if err != nil {
					t.Fatalf("List(%s): %v", tt.pattern, err)
				}
				var want []string
				for _, n := range tt.want {
					want = append(want, r+"/"+n)
				}
				if !slices.Equal(got, want) {
					t.Errorf("List(%s): got %v, want %v", tt.pattern, got, want)
				}
			}
			for _, p := range []string{"missing", "in/*.csv"} {
				if _, err := st.s.List(ctx, r+"/"+p); !errors.Is(err, ErrNotFound) {
					t.Errorf("List(%s): got %v, want ErrNotFound", p, err)
				}
			}
			if err := st.s.Delete(ctx, r+"/in/a.parquet"); err != nil {
				t.Fatal(err)
			}
			if err := st.s.Delete(ctx, r+"/in/a.parquet"); err != nil {
				t.Fatalf("Delete of a missing object: %v", err)
			}
			got, _ := st.s.List(ctx, r+"/in/*.parquet")
			if want := []string{r + "/in/b.parquet"}; !slices.Equal(got, want) {
				t.Errorf("after Delete: got %v, want %v", got, want)
			}
		})
	}
}

func TestOpenFolderIsAnError(t *testing.T) {
	if _, err := (Local{}).Open(context.Background(), t.TempDir()); err == nil {
		t.Fatal("Open of a folder: got nil error")
	}
}

// TestCloseResults checks that Close returns the same result every time:
// nil after a publish, the first error after a failed one, and an error
// after Abort (nothing was published).
func TestCloseResults(t *testing.T) {
	for kind, st := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			w, err := st.s.Create(context.Background(), st.root+"/ok")
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, "x")
			for i := 0; i < 2; i++ {
				if err := w.Close(); err != nil {
					t.Fatalf("Close %d after a publish: %v", i+1, err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			w, err = st.s.Create(ctx, st.root+"/failed")
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, "x")
			cancel()
			first := w.Close()
			if !errors.Is(first, context.Canceled) {
				t.Fatalf("Close after cancel: got %v, want context.Canceled", first)
			}
			if again := w.Close(); again == nil || again.Error() != first.Error() {
				t.Fatalf("second Close after a failed one: got %v, want %v", again, first)
			}
			w, err = st.s.Create(context.Background(), st.root+"/aborted")
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, "x")
			w.Abort()
			if err := w.Close(); err == nil || !strings.Contains(err.Error(), "aborted") {
				t.Fatalf("Close after Abort: got %v, want an error saying it was aborted", err)
			}
			for _, n := range []string{"/failed", "/aborted"} {
				if _, err := st.s.Open(context.Background(), st.root+n); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Open(%s): got %v, want ErrNotFound", n, err)
				}
			}
		})
	}
}

// TestLocalFileMode checks that a published file has the mode os.Create
// gives (0666 less the umask), not the temporary file's 0600.
func TestLocalFileMode(t *testing.T) {
	dir := t.TempDir()
	ref, err := os.OpenFile(filepath.Join(dir, "ref"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	ref.Close()
	want, err := os.Stat(ref.Name())
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "out", "a.parquet")
	write(t, Local{}, name, "x")
	got, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if got.Mode().Perm() != want.Mode().Perm() {
		t.Fatalf("published file mode %v, want %v (0666 less the umask)", got.Mode().Perm(), want.Mode().Perm())
	}
}

// TestLocalListSymlinks checks that links to regular files are listed in a
// folder as they are by a glob, links to folders inside a folder are not
// followed, broken links are skipped, and a named folder may be a link.
func TestLocalListSymlinks(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"data/x.parquet", "data/sub/y.parquet", "in/a.parquet"} {
		write(t, Local{}, filepath.Join(root, n), n)
	}
	links := map[string]string{
		"in/x.parquet":       "../data/x.parquet",
		"in/sub":             "../data/sub",
		"in/broken.parquet":  "../data/missing.parquet",
		"linked":             "in",
		"in/_hidden.parquet": "../data/x.parquet",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Skipf("no symbolic links here: %v", err)
		}
	}
	p := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(root, n))
		}
		return out
	}
	tests := []struct {
		pattern string
		want    []string
	}{
		{"in", p("in/a.parquet", "in/x.parquet")},
		{"in/*.parquet", p("in/a.parquet", "in/x.parquet")},
		{"linked", p("linked/a.parquet", "linked/x.parquet")},
		{"in/x.parquet", p("in/x.parquet")},
	}
	for _, tt := range tests {
		got, err := Local{}.List(context.Background(), filepath.Join(root, tt.pattern))
		if err != nil {
			t.Fatalf("List(%s): %v", tt.pattern, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("List(%s): got %v, want %v", tt.pattern, got, tt.want)
		}
	}
}
