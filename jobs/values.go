package jobs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ByteSize is a number of bytes, written in job files as an integer or
// with a unit: 512MiB, 2GiB, 800MB (KB, MB, GB are powers of 1000; KiB,
// MiB, GiB powers of 1024).
type ByteSize int64

var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// ParseByteSize reads a ByteSize.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	factor := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, factor = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || n*float64(factor) > 1<<62 {
		return 0, fmt.Errorf("must be a size such as 512MiB, 2GiB or 1000000, got %q", s)
	}
	return ByteSize(n * float64(factor)), nil
}

// String writes b with the largest binary unit that divides it.
func (b ByteSize) String() string {
	for _, u := range []struct {
		suffix string
		factor int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.factor == 0 {
			return fmt.Sprintf("%d%s", int64(b)/u.factor, u.suffix)
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// MarshalYAML writes b as String does.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }

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

// DateLayout is the layout of a run's logical date.
const DateLayout = "2006-01-02"

// ParseDate reads a run's logical date, YYYY-MM-DD.
func ParseDate(s string) (time.Time, error) {
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want a date YYYY-MM-DD, got %q", s)
	}
	return d, nil
}
