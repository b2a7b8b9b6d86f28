package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An output folder seqae must not write to, or a partition holding a file
// seqae did not write, fails the run with exit 1, naming the folder or the
// file, and leaves the file where it was.
func TestForeignOutputsExit1(t *testing.T) {
	job, out := writeJob(t, quick)
	if code, _, stderr := cli(t, context.Background(), nil, "run", job, "--date", "2026-11-25"); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	notes := filepath.Join(out, "metrics", "dt=2026-11-25", "important.csv")
	if err := os.WriteFile(notes, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"--out /", []string{"--out", "/"}, "output folder / is a file system's root"},
		{"a file added to a partition", nil, notes + " was not written by seqae"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := cli(t, context.Background(), nil, append([]string{"run", job, "--date", "2026-11-25"}, c.args...)...)
			if code != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and %q", code, stderr, c.want)
			}
		})
	}
	if b, err := os.ReadFile(notes); err != nil || string(b) != "keep me\n" {
		t.Errorf("%s: %q, %v; want it kept", notes, b, err)
	}
}
