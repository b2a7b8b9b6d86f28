package jobs

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/seqae/seqae/storage"
)

// Shard is one of N copies of a job that split the input units between
// them (read.Shard): copy I of N, 0 <= I < N. The zero Shard is the
// whole input.
type Shard struct{ I, N int }

// MaxShards is the most shards: part file names give I and N five digits.
const MaxShards = 99999

// ParseShard reads "i/n", e.g. "3/8", with 0 <= i < n <= MaxShards.
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || err1 != nil || err2 != nil || n < 1 || n > MaxShards || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("want I/N with 0 <= I < N <= %d, e.g. 3/8, got %q", MaxShards, s)
	}
	return Shard{I: i, N: n}, nil
}

// Sharded reports whether s is a strict part of the input.
func (s Shard) Sharded() bool { return s.N > 1 }

// count is the number of shards, 1 for the zero Shard.
func (s Shard) count() int { return max(s.N, 1) }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.count()) }

// partName is the file name of shard i of n of a table.
func partName(s Shard, ext string) string {
	return fmt.Sprintf("part-%05d-of-%05d%s", s.I, s.count(), ext)
}

var partRE = regexp.MustCompile(`^part-(\d{5})-of-(\d{5})(\.[a-z]+)$`)

// shardsIn counts, for a sharded run, the shard manifests in each of the
// committed partitions live: the shards of the date that have landed.
func (r *runner) shardsIn(ctx context.Context, live []string) ([]int, error) {
	if !r.opt.Shard.Sharded() {
		return nil, nil
	}
	out := make([]int, len(live))
	for i, l := range live {
		var names []string
		var err error
		if r.blobOut() {
			names, err = r.store.(objectStore).ListAll(ctx, storage.Join(l, shardsDir))
		} else {
			names, err = storage.Local{}.List(ctx, filepath.Join(l, shardsDir))
		}
		if err != nil {
			return nil, fmt.Errorf("counting the shards of %s: %w", storage.Redact(l), err)
		}
		for _, n := range names {
			n, _, _ = strings.Cut(n, "?")
			if m := partRE.FindStringSubmatch(path.Base(filepath.ToSlash(n))); m != nil && m[3] == ".json" {
				out[i]++
			}
		}
	}
	return out, nil
}
