package storage

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
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
			for _, n := range []string{"in/a.parquet", "in/b.parquet", "in/sub/c.parquet", "in/_SUCCESS", "in/.hidden", "in/_tmp/d.parquet", "other/e.parquet"} {
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
