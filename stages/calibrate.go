package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas"
)

// CalibrationVersion is the version of the Calibration JSON this code
// writes and reads.
const CalibrationVersion = 1

// Calibration limits.
const (
	// CalibrationSamples is the most samples a bucket keeps.
	CalibrationSamples = 1000
	// minBucketScores is the fewest scores a length bucket may hold: fewer make its upper percentiles a matter of one or two
	// sequences, so such buckets are merged with their neighbours.
	minBucketScores = 100
	// maxExactBuckets caps the length buckets cut at quantiles of length in
	// exact batching mode, where there is one per 200 scores, so that a
	// bucket's 99th percentile rests on at least two.
	maxExactBuckets = 8
)

// Calibration is the distribution of a model's scores on its validation
// sequences (see calibrate), overall and per length bucket, stored in the
// model file (as JSON, see Marshal) so that encoding can place each score
// among them.
//
// Why validation: the model has fitted its training sequences, so their
// scores run lower than those of sequences it has not seen, and a threshold
// taken from them flags too many of tonight's. The validation sequences
// were not fitted; they did pick the kept epoch, one number chosen among
// at most a few dozen, which biases their scores low by far less than the
// sampling noise below.
//
// What a percentile means: within a bucket of n validation scores, sample
// k (from 0, ascending) sits at percentile 100 (k+1)/(n+1), the Weibull
// plotting position, because the k-th smallest of n exchangeable scores
// has, on average, a fraction (k+1)/(n+1) of all scores below it. A new
// normal sequence's score therefore reaches percentile p with probability
// 1 - p/100 on average, whatever n: about 1 % at the default threshold of
// 99. (The Hazen position (k+0.5)/n runs a fraction 0.5/(n+1) higher: 1.5 %
// rather than 1 % for n = 100.) When n < 99, percentile 99 lies above the
// highest sample, only a score above all of them is flagged, and the
// expected rate is 1/(n+1), more than 1 %. Around that mean each bucket's
// rate scatters: it is Beta distributed, with a standard deviation of about
// sqrt(0.01/n), 0.7 % for n = 200 and 0.3 % for n = 1,000. Hence buckets
// of at least 100 scores (minBucketScores) and, in exact mode, one bucket
// per 200; and a validation share that gives them enough: with
// val_fraction 0.1 the example's 320 validation traces (one bucket) flagged
// 0.4 % to 2.2 % of its normal traces over training seeds 1 to 3, with 0.2
// (612 traces, three buckets) 0.4 % to 0.8 %.
//
// Each bucket keeps sorted samples rather than a quantile sketch (a
// t-digest or KLL): up to CalibrationSamples scores are kept exactly, and
// a larger bucket keeps CalibrationSamples evenly spaced order statistics
// (the ranks nearest (k+1)(n+1)/(CalibrationSamples+1)), which the
// plotting positions above then treat as CalibrationSamples exchangeable
// scores. That bounds the JSON at a few tens of KiB per bucket, resolves
// percentiles to 0.1 (enough for a threshold at 99 or 99.9), is
// deterministic and needs no library; a sketch would only pay off if the
// scores could not be held while calibrating, and they are one float per
// sequence.
type Calibration struct {
	Version int `json:"version"`
	// Source says which sequences were scored: "validation", or
	// "training_and_validation" when fewer than 100 were held out (see
	// calibrate).
	Source string `json:"source"`
	// BucketsFrom says where the buckets' lengths came from: "padded" (the
	// padded mode's boundaries) or "length_quantiles" (exact mode), before
	// buckets with fewer than 100 scores were merged.
	BucketsFrom string              `json:"buckets_from"`
	Overall     CalibrationScores   `json:"overall"`
	Buckets     []CalibrationScores `json:"buckets"` // by ascending MinLen; the first has MinLen 1
}

// CalibrationScores is one bucket's score distribution.
type CalibrationScores struct {
	MinLen  int       `json:"min_len"` // the bucket's shortest length; it ends where the next begins
	N       int64     `json:"n"`       // the scores it was made from
	Samples []float32 `json:"samples"` // sorted ascending, at most CalibrationSamples
}

// Marshal renders c as compact JSON.
func (c *Calibration) Marshal() string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("stages: marshalling a calibration: %v", err)) // only finite floats and ints
	}
	return string(b)
}

// ParseCalibration reads what Marshal wrote, checking it.
func ParseCalibration(s string) (*Calibration, error) {
	var c Calibration
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return nil, err
	}
	if c.Version != CalibrationVersion {
		return nil, fmt.Errorf("calibration version %d, this seqae reads version %d", c.Version, CalibrationVersion)
	}
	if len(c.Buckets) == 0 {
		return nil, fmt.Errorf("calibration has no buckets")
	}
	for i, b := range append([]CalibrationScores{c.Overall}, c.Buckets...) {
		if len(b.Samples) == 0 || len(b.Samples) > CalibrationSamples || !slices.IsSorted(b.Samples) {
			return nil, fmt.Errorf("calibration bucket %d: want 1 to %d sorted samples, got %d", i-1, CalibrationSamples, len(b.Samples))
		}
		if i > 1 && b.MinLen <= c.Buckets[i-2].MinLen {
			return nil, fmt.Errorf("calibration buckets' lengths must increase, got %d after %d", b.MinLen, c.Buckets[i-2].MinLen)
		}
	}
	return &c, nil
}

// Bucket returns the bucket for a sequence of length n.
func (c *Calibration) Bucket(n int) int {
	i, found := slices.BinarySearchFunc(c.Buckets, n, func(b CalibrationScores, n int) int { return b.MinLen - n })
	if found {
		return i
	}
	return max(i-1, 0)
}

// Percentile places score among the calibration scores of its length's
// bucket, from 0 to 100: sample k of n sits at 100 (k+1)/(n+1) (see
// Calibration) and a score between two is interpolated; below the lowest
// is 0 and at or above the highest is 100. A new score from the same
// distribution then reaches percentile p < 100 n/(n+1) with probability
// 1 - p/100 on average.
func (c *Calibration) Percentile(score float32, length int) float32 {
	return c.Buckets[c.Bucket(length)].percentile(score)
}

func (b CalibrationScores) percentile(score float32) float32 {
	s := b.Samples
	n := len(s)
	switch {
	case score != score: // NaN
		return 100
	case score < s[0]:
		return 0
	case score >= s[n-1]:
		return 100
	}
	// s[i-1] <= score < s[i]
	i, _ := slices.BinarySearch(s, score)
	for i < n && s[i] <= score {
		i++
	}
	lo, hi := float64(s[i-1]), float64(s[i])
	pos := float64(i)
	if hi > lo {
		pos += (float64(score) - lo) / (hi - lo)
	}
	return float32(100 * pos / float64(n+1))
}

// keepSamples returns the sorted scores, or CalibrationSamples evenly
// spaced order statistics of them: those of rank (k+1)(n+1)/(m+1), k < m,
// rounded, for m = CalibrationSamples (ranks from 1).
func keepSamples(sorted []float32) []float32 {
	n := len(sorted)
	if n <= CalibrationSamples {
		return slices.Clone(sorted)
	}
	out := make([]float32, CalibrationSamples)
	for k := range out {
		i := int(math.Round(float64(k+1)*float64(n+1)/(CalibrationSamples+1))) - 1
		out[k] = sorted[min(max(i, 0), n-1)]
	}
	return out
}

// NewCalibration builds a calibration from scores and the lengths of their
// sequences. candidates are the padded mode's boundaries; empty cuts
// buckets at quantiles of the lengths instead. Buckets with fewer than 100
// scores are merged into the next (the last into the one before).
func NewCalibration(scores []float32, lengths []int, candidates []int, source string) *Calibration {
	c := &Calibration{Version: CalibrationVersion, Source: source, BucketsFrom: "padded"}
	if len(candidates) == 0 {
		c.BucketsFrom = "length_quantiles"
		hist := map[int]int64{}
		for _, n := range lengths {
			hist[n]++
		}
		candidates = QuantileBoundaries(hist, min(maxExactBuckets, max(1, len(scores)/(2*minBucketScores))))
	}
	bucketOf := func(n int) int {
		i, found := slices.BinarySearch(candidates, n)
		if found {
			return i
		}
		return max(i-1, 0)
	}
	per := make([][]float32, len(candidates))
	for i, s := range scores {
		b := bucketOf(lengths[i])
		per[b] = append(per[b], s)
	}
	// Merge: a bucket closes once it holds enough scores.
	var merged [][]float32
	var starts []int
	var cur []float32
	start := 1
	for i, p := range per {
		if cur == nil {
			start = candidates[i]
			if i == 0 {
				start = 1
			}
		}
		cur = append(cur, p...)
		if len(cur) >= minBucketScores {
			merged, starts = append(merged, cur), append(starts, start)
			cur = nil
		}
	}
	if len(cur) > 0 || len(merged) == 0 {
		if len(merged) == 0 {
			merged, starts = append(merged, cur), append(starts, 1)
		} else {
			merged[len(merged)-1] = append(merged[len(merged)-1], cur...)
		}
	}
	for i, m := range merged {
		slices.Sort(m)
		c.Buckets = append(c.Buckets, CalibrationScores{MinLen: starts[i], N: int64(len(m)), Samples: keepSamples(m)})
	}
	all := slices.Clone(scores)
	slices.Sort(all)
	c.Overall = CalibrationScores{MinLen: 1, N: int64(len(all)), Samples: keepSamples(all)}
	return c
}

// calibrate scores the validation sequences with the kept model and
// returns their distribution (see Calibration for why them). When fewer
// than minBucketScores were held out (val_fraction 0 or a small input), a
// 99th percentile of so few would flag far more than 1 %, so it scores
// every sequence training read instead, training and validation alike:
// their scores run low, and the flags run above 1 %. Cached data is scored
// in memory; streamed data is read again.
func calibrate(ctx context.Context, job TrainJob, res *TrainResult, batching BatchConfig, train, val []*schemas.Sequence) (*Calibration, error) {
	source := "validation"
	if res.ValSeqs < minBucketScores {
		source = "training_and_validation"
	}
	var scores []float32
	var lengths []int
	if res.Streamed {
		enc := NewEncoder(res.Model)
		score := func(b *Batch) error {
			e := enc.Encode(b)
			for i, s := range b.Seqs {
				scores = append(scores, e.Scores[i])
				lengths = append(lengths, s.Len)
			}
			return nil
		}
		bt, err := NewBatcher(batching)
		if err != nil {
			return nil, err
		}
		split := Split{Fraction: job.Train.withDefaults().ValFraction, IDKind: job.Input.IDField().Kind}
		keep := func(s *schemas.Sequence) bool { return source != "validation" || split.Validation(s.ID) }
		err = streamPass(ctx, job.ReadSpec, res.Norm, keep,
			func(s *schemas.Sequence) error { return bt.Add(s, score) }, func() error { return bt.Flush(score) })
		if err != nil {
			return nil, err
		}
	} else {
		seqs := val
		if source != "validation" {
			seqs = append(train[:len(train):len(train)], val...)
		}
		batches, err := BatchAll(batching, seqs)
		if err != nil {
			return nil, err
		}
		scores, lengths = scoreCached(res.Model, batches, job.Train.withDefaults().Workers)
	}
	if len(scores) == 0 {
		return nil, fmt.Errorf("calibration: no sequences to score")
	}
	return NewCalibration(scores, lengths, res.Boundaries, source), nil
}

// scoreCached scores the batches on up to workers goroutines, each with
// its own Encoder; the scores and lengths come out in the batches' order,
// whatever the number of goroutines.
func scoreCached(m *nn.Model, batches []*Batch, workers int) (scores []float32, lengths []int) {
	perBatch := make([][]float32, len(batches))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(max(workers, 1), len(batches)) {
		wg.Go(func() {
			enc := NewEncoder(m)
			for i := next.Add(1) - 1; i < int64(len(batches)); i = next.Add(1) - 1 {
				perBatch[i] = enc.Encode(batches[i]).Scores
			}
		})
	}
	wg.Wait()
	for i, b := range batches {
		scores = append(scores, perBatch[i]...)
		for _, s := range b.Seqs {
			lengths = append(lengths, s.Len)
		}
	}
	return scores, lengths
}

// BucketCounts returns the scores each bucket was made from, by the
// bucket's shortest length.
func (c *Calibration) BucketCounts() map[int]int64 {
	out := map[int]int64{}
	for _, b := range c.Buckets {
		out[b.MinLen] = b.N
	}
	return out
}

// ScoreAt is the score at percentile p of the bucket for length n: the
// inverse of Percentile, the score from which a sequence of that length
// reaches p.
func (c *Calibration) ScoreAt(p float64, n int) float32 {
	return c.Buckets[c.Bucket(n)].ScoreAt(p)
}

// ScoreAt is the score at percentile p of the bucket: the inverse of its
// percentile, interpolating between the samples' plotting positions.
func (b CalibrationScores) ScoreAt(p float64) float32 {
	s := b.Samples
	pos := p/100*float64(len(s)+1) - 1
	switch {
	case pos <= 0:
		return s[0]
	case pos >= float64(len(s)-1):
		return s[len(s)-1]
	}
	i := int(pos)
	f := pos - float64(i)
	return float32(float64(s[i]) + f*(float64(s[i+1])-float64(s[i])))
}
