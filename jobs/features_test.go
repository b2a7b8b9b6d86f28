package jobs

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/internal/tabletest"
)

// With output.feature_losses, loss is the mean of feature_loss, score the
// mean of loss, and feature_scores each feature's mean over the steps;
// without it the columns are absent.
func TestFeatureLosses(t *testing.T) {
	t.Parallel()
	in, ids := smallData(t)
	for _, on := range []bool{true, false} {
		sets := []string{"workers.encoders=2"}
		if on {
			sets = append(sets, "output.feature_losses=true")
		}
		cfg := smallJob(t, in, sets...)
		mustRun(t, cfg, Options{Date: day1})
		part := "part-00000-of-00001.parquet"
		latents := tabletest.ReadFile[tabletest.Latent](t, filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day1, part))
		steps := tabletest.ReadFile[tabletest.StepLoss](t, filepath.Join(cfg.Output.Dir, TableStepLosses, "dt="+day1, part))
		if len(latents) != len(ids) {
			t.Fatalf("feature_losses %v: got %d latents, want %d", on, len(latents), len(ids))
		}
		for table, col := range map[string]string{TableLatents: "feature_scores", TableStepLosses: "feature_loss"} {
			data, err := os.ReadFile(filepath.Join(cfg.Output.Dir, table, "dt="+day1, part))
			if err != nil {
				t.Fatal(err)
			}
			f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			has := slices.ContainsFunc(f.Schema().Fields(), func(x parquet.Field) bool { return x.Name() == col })
			if has != on {
				t.Errorf("feature_losses %v: %s has a %s column: %v", on, table, col, has)
			}
		}
		if !on {
			continue
		}
		const dim = 3
		byID := map[string][]tabletest.StepLoss{}
		for _, s := range steps {
			if len(s.FeatureLoss) != dim {
				t.Fatalf("%s step %d: %d feature losses, want %d", s.ID, s.Step, len(s.FeatureLoss), dim)
			}
			var sum float64
			for _, v := range s.FeatureLoss {
				sum += float64(v)
			}
			if mean := sum / dim; math.Abs(mean-float64(s.Loss)) > 1e-5*(1+float64(s.Loss)) {
				t.Errorf("%s step %d: loss %v, mean of feature_loss %v", s.ID, s.Step, s.Loss, mean)
			}
			byID[s.ID] = append(byID[s.ID], s)
		}
		for _, l := range latents {
			ss := byID[l.ID]
			if len(ss) != int(l.Length) || len(l.FeatureScores) != dim {
				t.Fatalf("%s: %d steps and %d feature scores, want %d and %d", l.ID, len(ss), len(l.FeatureScores), l.Length, dim)
			}
			var sum float64
			feat := make([]float64, dim)
			for _, s := range ss {
				sum += float64(s.Loss)
				for j, v := range s.FeatureLoss {
					feat[j] += float64(v)
				}
			}
			if mean := sum / float64(len(ss)); math.Abs(mean-float64(l.Score)) > 1e-5*(1+mean) {
				t.Errorf("%s: score %v, mean of loss %v", l.ID, l.Score, mean)
			}
			for j, f := range feat {
				if mean := f / float64(len(ss)); math.Abs(mean-float64(l.FeatureScores[j])) > 1e-5*(1+mean) {
					t.Errorf("%s feature %d: feature_scores %v, mean of feature_loss %v", l.ID, j, l.FeatureScores[j], mean)
				}
			}
		}
	}
}
