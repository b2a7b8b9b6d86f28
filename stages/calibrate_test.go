package stages

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas"
)

func TestPercentile(t *testing.T) {
	b := CalibrationScores{Samples: []float32{1, 2, 3, 4}}
	for _, c := range []struct {
		score float32
		want  float32
	}{
		{0.5, 0}, {1, 20}, {1.5, 30}, {2, 40}, {3.5, 70}, {3.99, 79.8}, {4, 100}, {9, 100}, {float32(math.NaN()), 100},
	} {
		if got := b.percentile(c.score); math.Abs(float64(got-c.want)) > 1e-4 {
			t.Errorf("percentile(%v) = %v, want %v", c.score, got, c.want)
		}
	}
}

func TestNewCalibrationBuckets(t *testing.T) {
	// 150 scores of length 5 and 60 of length 20: the padded boundaries 1,
	// 10, 30 make buckets of 150, 60 and 0; the last two together hold
	// fewer than 100, so they merge into the first.
	var scores []float32
	var lens []int
	for range 150 {
		scores, lens = append(scores, 1), append(lens, 5)
	}
	for range 60 {
		scores, lens = append(scores, 2), append(lens, 20)
	}
	c := NewCalibration(scores, lens, []int{1, 10, 30}, "validation")
	if len(c.Buckets) != 1 || c.Buckets[0].N != 210 || c.Overall.N != 210 {
		t.Fatalf("got buckets %+v, want one of 210", c.BucketCounts())
	}
	for range 100 {
		scores, lens = append(scores, 3), append(lens, 40)
	}
	c = NewCalibration(scores, lens, []int{1, 10, 30}, "validation")
	got := c.BucketCounts()
	if len(got) != 2 || got[1] != 150 || got[10] != 160 {
		t.Fatalf("got buckets %v, want 1:150 10:160", got)
	}
	if c.Bucket(3) != 0 || c.Bucket(10) != 1 || c.Bucket(500) != 1 {
		t.Errorf("buckets of 3, 10, 500: %d %d %d, want 0 1 1", c.Bucket(3), c.Bucket(10), c.Bucket(500))
	}
	if p := c.Percentile(3, 40); p != 100 {
		t.Errorf("percentile of the top score of its bucket: got %v, want 100", p)
	}
}

func TestCalibrationSamplesCapped(t *testing.T) {
	n := 5000
	scores := make([]float32, n)
	lens := make([]int, n)
	for i := range n {
		scores[i], lens[i] = float32(n-i), 10
	}
	c := NewCalibration(scores, lens, nil, "training")
	if c.BucketsFrom != "length_quantiles" || len(c.Buckets) != 1 {
		t.Fatalf("got %q with %d buckets, want length_quantiles with 1 (one length)", c.BucketsFrom, len(c.Buckets))
	}
	s := c.Buckets[0].Samples
	// Ranks round((k+1) 5001/1001): 5 (4.996) to 4996 (4996.0).
	if len(s) != CalibrationSamples || s[0] != 5 || s[len(s)-1] != 4996 {
		t.Errorf("got %d samples from %v to %v, want %d from 5 to 4996", len(s), s[0], s[len(s)-1], CalibrationSamples)
	}
	if p := c.Percentile(4500, 10); math.Abs(float64(p)-90) > 0.1 {
		t.Errorf("percentile of 4500 among 1..5000: got %v, want 90", p)
	}
	back, err := ParseCalibration(c.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if back.Percentile(4500, 10) != c.Percentile(4500, 10) || len(c.Marshal()) > 20000 {
		t.Errorf("round trip changed the percentile, or the JSON is %d bytes (want <= 20000)", len(c.Marshal()))
	}
}

func TestParseCalibrationErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"version":2}`, "version 2"},
		{`{"version":1,"buckets":[]}`, "no buckets"},
		{`{"version":1,"overall":{"samples":[1]},"buckets":[{"min_len":1,"samples":[2,1]}]}`, "sorted samples"},
		{`{"version":1,"overall":{"samples":[1]},"buckets":[{"min_len":1,"samples":[1]},{"min_len":1,"samples":[1]}]}`, "must increase"},
		{`nope`, "invalid character"},
	} {
		_, err := ParseCalibration(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseCalibration(%s): got %v, want an error with %q", c.in, err, c.want)
		}
	}
}

func TestScoreAtInvertsPercentile(t *testing.T) {
	b := CalibrationScores{Samples: []float32{1, 2, 4, 8}}
	// Plotting positions 20, 40, 60, 80; from 80 up, the highest sample.
	for _, p := range []float64{20, 30, 50, 70, 79} {
		s := b.ScoreAt(p)
		if got := b.percentile(s); math.Abs(float64(got)-p) > 1e-4 {
			t.Errorf("percentile(scoreAt(%v) = %v) = %v, want %v", p, s, got, p)
		}
	}
	if b.ScoreAt(99) != 8 || b.ScoreAt(1) != 1 {
		t.Errorf("scoreAt beyond the samples: got %v and %v, want 8 and 1", b.ScoreAt(99), b.ScoreAt(1))
	}
}

// Calibrating from the files (streamed) gives what calibrating in memory
// gives (on 3 goroutines or 1): over the validation sequences when at
// least 100 were held out, else over all of them.
func TestCalibrateStreamedMatchesCached(t *testing.T) {
	for _, c := range []struct {
		n        int
		fraction float64
		want     string
	}{
		{700, 0.2, "validation"},
		{300, 0.2, "training_and_validation"},
		{300, 0, "training_and_validation"},
	} {
		in, _ := nestedInput(t, synth.Sensors(synth.Options{N: c.n, MinLen: 4, MaxLen: 20, Dim: 3, Seed: 5}), 16)
		job := trainJob(in, 2)
		job.Train.ValFraction = c.fraction
		m, err := nn.NewModel(smallModel, 1)
		if err != nil {
			t.Fatal(err)
		}
		split := Split{Fraction: c.fraction, IDKind: in.IDField().Kind}
		var train, val []*schemas.Sequence
		err = streamPass(context.Background(), job.ReadSpec, Identity(3), func(*schemas.Sequence) bool { return true }, func(s *schemas.Sequence) error {
			if split.Validation(s.ID) {
				val = append(val, s)
			} else {
				train = append(train, s)
			}
			return nil
		}, func() error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		res := &TrainResult{Model: m, Norm: Identity(3), ValSeqs: int64(len(val))}
		job.Train.Workers = 3
		cached, err := calibrate(context.Background(), job, res, job.Batching, train, val)
		if err != nil {
			t.Fatal(err)
		}
		job.Train.Workers = 1
		serial, err := calibrate(context.Background(), job, res, job.Batching, train, val)
		if err != nil {
			t.Fatal(err)
		}
		if cached.Marshal() != serial.Marshal() {
			t.Errorf("%d sequences, fraction %v: cached calibrations differ between 3 goroutines and 1:\n%s\n%s", c.n, c.fraction, cached.Marshal(), serial.Marshal())
		}
		res.Streamed = true
		streamed, err := calibrate(context.Background(), job, res, job.Batching, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cached.Marshal() != streamed.Marshal() {
			t.Errorf("%d sequences, fraction %v: cached and streamed calibrations differ:\n%s\n%s", c.n, c.fraction, cached.Marshal(), streamed.Marshal())
		}
		n := len(val)
		if c.want != "validation" {
			n += len(train)
		}
		if cached.Source != c.want || cached.Overall.N != int64(n) {
			t.Errorf("%d sequences (%d validation), fraction %v: got source %q from %d scores, want %q from %d",
				c.n, len(val), c.fraction, cached.Source, cached.Overall.N, c.want, n)
		}
	}
}
