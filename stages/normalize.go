package stages

import (
	"encoding/json"
	"fmt"
	"math"
)

// FeatureStats accumulates per-feature count, mean and sum of squared
// deviations in one streaming pass (Welford's update, Chan et al.'s merge),
// in float64: numerically stable however large the values or the data.
type FeatureStats struct {
	N    int64     // steps seen
	Mean []float64 // (I) running mean
	M2   []float64 // (I) sum of squared deviations from the mean
}

// NewFeatureStats returns empty statistics for dim features.
func NewFeatureStats(dim int) *FeatureStats {
	return &FeatureStats{Mean: make([]float64, dim), M2: make([]float64, dim)}
}

// Add folds in steps, a (T, I) row-major block of values.
func (s *FeatureStats) Add(steps []float32) {
	dim := len(s.Mean)
	for t := 0; t+dim <= len(steps); t += dim {
		s.N++
		inv := 1 / float64(s.N)
		for j, v := range steps[t : t+dim] {
			d := float64(v) - s.Mean[j]
			s.Mean[j] += d * inv
			s.M2[j] += d * (float64(v) - s.Mean[j])
		}
	}
}

// Merge folds in o, as if o's steps had been added to s.
func (s *FeatureStats) Merge(o *FeatureStats) {
	if o.N == 0 {
		return
	}
	n := s.N + o.N
	for j := range s.Mean {
		d := o.Mean[j] - s.Mean[j]
		s.Mean[j] += d * float64(o.N) / float64(n)
		s.M2[j] += o.M2[j] + d*d*float64(s.N)*float64(o.N)/float64(n)
	}
	s.N = n
}

// Normalizer returns the normaliser of the steps seen: per-feature mean and
// population standard deviation. A feature that never varies (or no data)
// gets a standard deviation of 1, so it is only centred.
func (s *FeatureStats) Normalizer() Normalizer {
	n := Normalizer{Mean: make([]float32, len(s.Mean)), Std: make([]float32, len(s.Mean))}
	for j := range s.Mean {
		n.Mean[j] = float32(s.Mean[j])
		sd := 0.0
		if s.N > 0 {
			sd = math.Sqrt(s.M2[j] / float64(s.N))
		}
		if !(sd > 1e-12) || math.IsInf(sd, 0) {
			sd = 1
		}
		n.Std[j] = float32(sd)
	}
	return n
}

// Normalizer maps each feature to (x - mean) / std before the model, in
// training and in encoding. Step losses are therefore in normalised units:
// a step loss of 1 is a squared error of one standard deviation per feature
// on average.
type Normalizer struct {
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"`
}

// Identity returns the normaliser that changes nothing, for dim features.
func Identity(dim int) Normalizer {
	n := Normalizer{Mean: make([]float32, dim), Std: make([]float32, dim)}
	for j := range n.Std {
		n.Std[j] = 1
	}
	return n
}

// Dim is the number of features.
func (n Normalizer) Dim() int { return len(n.Mean) }

// Apply normalises a (T, I) block of values in place.
func (n Normalizer) Apply(steps []float32) {
	dim := len(n.Mean)
	for t := 0; t+dim <= len(steps); t += dim {
		for j := range dim {
			steps[t+j] = (steps[t+j] - n.Mean[j]) / n.Std[j]
		}
	}
}

// Marshal returns n as JSON, as stored in a checkpoint's metadata.
func (n Normalizer) Marshal() string {
	b, _ := json.Marshal(n)
	return string(b)
}

// ParseNormalizer reads a normaliser stored by Marshal and checks it has
// dim features, finite means and positive finite deviations.
func ParseNormalizer(s string, dim int) (Normalizer, error) {
	var n Normalizer
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		return n, fmt.Errorf("normaliser: %w", err)
	}
	if len(n.Mean) != dim || len(n.Std) != dim {
		return n, fmt.Errorf("normaliser: %d means and %d deviations, want %d of each", len(n.Mean), len(n.Std), dim)
	}
	for j := range dim {
		m, sd := float64(n.Mean[j]), float64(n.Std[j])
		if math.IsNaN(m) || math.IsInf(m, 0) || !(sd > 0) || math.IsInf(sd, 0) {
			return n, fmt.Errorf("normaliser: feature %d has mean %g and deviation %g", j, m, sd)
		}
	}
	return n, nil
}
