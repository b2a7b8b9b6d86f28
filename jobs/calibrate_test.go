package jobs_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/seqae/seqae/internal/tabletest"
	"github.com/seqae/seqae/jobs"
)

// The example job flags its planted faults and few of its normal traces.
func TestExampleAnomalies(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	cfg, err := jobs.Load("example.yaml", nil, []string{"inputs=../examples/data/nested", "output.dir=" + out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Run(context.Background(), cfg, jobs.Options{Date: "2026-11-25"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../examples/data/anomalies.json")
	if err != nil {
		t.Fatal(err)
	}
	var planted []struct{ ID string }
	if err := json.Unmarshal(data, &planted); err != nil {
		t.Fatal(err)
	}
	faults := map[string]bool{}
	for _, p := range planted {
		faults[p.ID] = true
	}
	rows := tabletest.ReadFile[tabletest.Latent](t, filepath.Join(out, "latents", "dt=2026-11-25", "part-00000-of-00001.parquet"))
	var flagged, normal, normalFlagged int
	for _, r := range rows {
		if r.Percentile == nil || r.Anomaly == nil {
			t.Fatalf("%s: percentile %v, anomaly %v: want both set", r.ID, r.Percentile, r.Anomaly)
		}
		if p := *r.Percentile; p < 0 || p > 100 || *r.Anomaly != (p >= 99) {
			t.Errorf("%s: percentile %v, anomaly %v: want 0..100, anomaly from 99", r.ID, p, *r.Anomaly)
		}
		switch {
		case faults[r.ID]:
			if *r.Anomaly {
				flagged++
			} else {
				t.Errorf("planted fault %s: anomaly false (score %v, percentile %v)", r.ID, r.Score, *r.Percentile)
			}
		default:
			normal++
			if *r.Anomaly {
				normalFlagged++
			}
		}
	}
	t.Logf("planted faults flagged: %d of %d; normal traces flagged: %d of %d", flagged, len(faults), normalFlagged, normal)
	if flagged != len(faults) {
		t.Errorf("got %d planted faults flagged, want %d", flagged, len(faults))
	}
	if normalFlagged*50 > normal {
		t.Errorf("got %d of %d normal traces flagged, want at most 2%%", normalFlagged, normal)
	}
}
