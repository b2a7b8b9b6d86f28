package stages

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/seqae/seqae/schemas"
)

// Mode is how the batcher groups sequences by length.
type Mode string

// The bucketing modes.
const (
	// Exact batches hold sequences of one length only: no padding at all.
	Exact Mode = "exact"
	// Padded batches hold sequences of one length range (a bucket); the
	// batch pads to its longest member and the model masks by length.
	Padded Mode = "padded"
	// Arrival batches hold consecutive sequences in input order, of any
	// lengths: one bucket for all. The model computes only real steps (it
	// runs each batch's rows longest first and drops a row after its last
	// step), and a sequence's results do not depend on its batch, so
	// encoding this way gives every sequence the same bits as Exact, in
	// input order, and starts as soon as BatchSize sequences are in.
	Arrival Mode = "arrival"
)

// BatchConfig says how to cut sequences into batches.
type BatchConfig struct {
	Mode      Mode // Exact (the default) or Padded
	BatchSize int  // most sequences in a batch; default DefaultBatchSize
	// MaxSteps caps the real steps (the sum of lengths) in a batch, so
	// batches of long sequences stay within a memory budget; 0 is no cap. A
	// single sequence longer than the cap makes a batch of its own.
	MaxSteps int
	// Boundaries are the padded mode's buckets: ascending lengths, each the
	// shortest length of its bucket; lengths below the first go to the first
	// bucket. Empty means GeometricBoundaries.
	Boundaries []int
	// MaxHeld caps the sequences waiting in open buckets; past it the bucket
	// holding most is sent early, as a partial batch. Default 64*BatchSize:
	// with the 191 lengths of bench's workload, a cap of 16*BatchSize cut
	// 3,792 batches of 40,960 sequences where 64*BatchSize cuts 1,071, and
	// encoding ran 11 % faster. (A sequence's results do not depend on its
	// batch, so this costs only throughput.)
	MaxHeld int
	// MaxHeldValues caps the values (steps times features) waiting in open
	// buckets, so that long sequences do not make MaxHeld a memory hazard:
	// past it the buckets holding the most values are sent early. Default
	// 1<<24 (64 MiB of float32). A constant, not derived from the memory
	// limit: the batches, and so a streamed training's model, must not
	// depend on the machine.
	MaxHeldValues int
}

func (c BatchConfig) withDefaults() BatchConfig {
	if c.Mode == "" {
		c.Mode = Exact
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.MaxHeld <= 0 {
		c.MaxHeld = 64 * c.BatchSize
	}
	if c.MaxHeldValues <= 0 {
		c.MaxHeldValues = 1 << 24
	}
	if c.Mode == Padded && len(c.Boundaries) == 0 {
		c.Boundaries = GeometricBoundaries(1<<20, 1.25)
	}
	return c
}

// Validate reports the first thing wrong with c.
func (c BatchConfig) Validate() error {
	switch c.Mode {
	case "", Exact, Padded, Arrival:
	default:
		return fmt.Errorf("bucketing mode must be %q, %q or %q, got %q", Exact, Padded, Arrival, c.Mode)
	}
	if c.BatchSize < 0 || c.MaxSteps < 0 || c.MaxHeld < 0 || c.MaxHeldValues < 0 {
		return fmt.Errorf("batch_size, max_steps, max_held and max_held_values must not be negative")
	}
	for i := 1; i < len(c.Boundaries); i++ {
		if c.Boundaries[i] <= c.Boundaries[i-1] {
			return fmt.Errorf("bucket boundaries must increase, got %v", c.Boundaries)
		}
	}
	return nil
}

// GeometricBoundaries returns padded-mode buckets up to maxLen whose widths
// grow by ratio: 1, 2, 3, ..., each at least one longer than the last, so a
// batch pads at most about (ratio-1) of its steps.
func GeometricBoundaries(maxLen int, ratio float64) []int {
	b := []int{1}
	for last := 1; last < maxLen; {
		last = max(last+1, int(math.Ceil(float64(last)*ratio)))
		b = append(b, last)
	}
	return b
}

// QuantileBoundaries returns padded-mode buckets cut at the quantiles of
// a length histogram (length -> sequences): about `buckets` ranges holding
// equal numbers of sequences.
func QuantileBoundaries(hist map[int]int64, buckets int) []int {
	var total int64
	for _, n := range hist {
		total += n
	}
	b := []int{1}
	if total == 0 || buckets < 2 {
		return b
	}
	k, seen := int64(1), int64(0)
	for _, l := range slices.Sorted(maps.Keys(hist)) {
		seen += hist[l]
		for k < int64(buckets) && seen >= k*total/int64(buckets) {
			if next := l + 1; next > b[len(b)-1] {
				b = append(b, next)
			}
			k++
		}
	}
	return b
}

// Batch is a group of sequences run through the model together.
type Batch struct {
	Seqs  []*schemas.Sequence
	T     int   // the longest member's length
	Steps int   // real steps: the sum of the members' lengths
	Index int64 // the order in which the batcher made it, from 0
}

// Values returns each sequence's steps, (len, dim), in dst (reused): the
// batch as nn's ForwardSeqs and EncodeSeqs take it, with no padding and no
// copy.
func (b *Batch) Values(dst [][]float32, dim int) [][]float32 {
	dst = dst[:0]
	for _, s := range b.Seqs {
		dst = append(dst, s.Values[:s.Len*dim])
	}
	return dst
}

// Batcher cuts a stream of sequences into batches by length. It holds at
// most MaxHeld sequences (past it, it sends the bucket holding the most)
// and MaxHeldValues values (past it, it sends the buckets holding the most
// values until the rest fit). It is not safe for concurrent use; its output
// depends only on the order of its input.
type Batcher struct {
	cfg    BatchConfig
	open   map[int]*Batch // by bucket
	held   int            // sequences in open buckets
	values int            // their values (steps times features)
	next   int64
}

// NewBatcher returns a batcher for cfg.
func NewBatcher(cfg BatchConfig) (*Batcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Batcher{cfg: cfg.withDefaults(), open: map[int]*Batch{}}, nil
}

// Config returns the batcher's configuration with its defaults filled in.
func (b *Batcher) Config() BatchConfig { return b.cfg }

// bucket is the key of the bucket a sequence of length n goes to.
func (b *Batcher) bucket(n int) int {
	switch b.cfg.Mode {
	case Exact:
		return n
	case Arrival:
		return 0
	}
	i, found := slices.BinarySearch(b.cfg.Boundaries, n)
	if !found {
		i--
	}
	return max(i, 0)
}

// Add puts s in its bucket and calls emit with every batch that is ready.
func (b *Batcher) Add(s *schemas.Sequence, emit func(*Batch) error) error {
	key := b.bucket(s.Len)
	cur := b.open[key]
	if cur != nil && b.cfg.MaxSteps > 0 && cur.Steps+s.Len > b.cfg.MaxSteps {
		if err := b.send(key, emit); err != nil {
			return err
		}
		cur = nil
	}
	if cur == nil {
		cur = &Batch{Seqs: make([]*schemas.Sequence, 0, b.cfg.BatchSize)}
		b.open[key] = cur
	}
	cur.Seqs = append(cur.Seqs, s)
	cur.Steps += s.Len
	cur.T = max(cur.T, s.Len)
	b.held++
	b.values += s.Len * s.Dim
	if len(cur.Seqs) == b.cfg.BatchSize || b.cfg.MaxSteps > 0 && cur.Steps >= b.cfg.MaxSteps {
		return b.send(key, emit)
	}
	if b.held > b.cfg.MaxHeld {
		return b.send(b.heaviest(func(o *Batch) int { return len(o.Seqs) }), emit)
	}
	// Past the values cap, the buckets holding the most values go until
	// the rest fit: a sequence larger than the cap goes at once.
	for b.values > b.cfg.MaxHeldValues {
		if err := b.send(b.heaviest(func(o *Batch) int { return o.Steps * o.Seqs[0].Dim }), emit); err != nil {
			return err
		}
	}
	return nil
}

// heaviest is the key of the open bucket for which weight is greatest,
// the shortest bucket among equals.
func (b *Batcher) heaviest(weight func(*Batch) int) int {
	best, bw := -1, 0
	for k, o := range b.open {
		if w := weight(o); best < 0 || w > bw || w == bw && k < best {
			best, bw = k, w
		}
	}
	return best
}

// Flush sends every open bucket's partial batch, shortest bucket first.
func (b *Batcher) Flush(emit func(*Batch) error) error {
	for _, k := range slices.Sorted(maps.Keys(b.open)) {
		if err := b.send(k, emit); err != nil {
			return err
		}
	}
	return nil
}

func (b *Batcher) send(key int, emit func(*Batch) error) error {
	cur := b.open[key]
	delete(b.open, key)
	b.held -= len(cur.Seqs)
	for _, s := range cur.Seqs {
		b.values -= s.Len * s.Dim
	}
	cur.Index = b.next
	b.next++
	return emit(cur)
}

// BatchAll cuts seqs, all in memory already, into batches in order: full
// batches, with no early partial ones.
func BatchAll(cfg BatchConfig, seqs []*schemas.Sequence) ([]*Batch, error) {
	cfg.MaxHeld = max(cfg.MaxHeld, len(seqs)+1)
	cfg.MaxHeldValues = math.MaxInt
	b, err := NewBatcher(cfg)
	if err != nil {
		return nil, err
	}
	var out []*Batch
	emit := func(x *Batch) error { out = append(out, x); return nil }
	for _, s := range seqs {
		if err := b.Add(s, emit); err != nil {
			return nil, err
		}
	}
	return out, b.Flush(emit)
}
