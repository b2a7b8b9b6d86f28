package jobs

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqae/seqae/internal/tabletest"
	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/storage"
)

// A model file from before calibration still encodes: percentile and
// anomaly are null, and the log says why once.
func TestModelWithoutCalibration(t *testing.T) {
	t.Parallel()
	in, ids := smallData(t)
	cfg := smallJob(t, in, "run=train")
	res := mustRun(t, cfg, Options{Date: day1})
	f, err := os.Open(res.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	m, meta, err := nn.Load(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := meta[MetaCalibration]; !ok {
		t.Fatalf("the trained model has no %s metadata", MetaCalibration)
	}
	delete(meta, MetaCalibration)
	var buf bytes.Buffer
	if err := nn.Save(&buf, m, meta); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(t.TempDir(), "old.safetensors")
	if err := os.WriteFile(old, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	enc := smallJob(t, in, "run=encode", "model.path="+old, "workers.encoders=2")
	mustRun(t, enc, Options{Date: day2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if n := strings.Count(logs.String(), "no calibration"); n != 1 {
		t.Errorf("the log says %d times that the model has no calibration, want 1:\n%s", n, logs.String())
	}
	rows := tabletest.ReadFile[tabletest.Latent](t, filepath.Join(enc.Output.Dir, "latents", "dt="+day2, "part-00000-of-00001.parquet"))
	if len(rows) != len(ids) {
		t.Fatalf("got %d latents, want %d", len(rows), len(ids))
	}
	for _, r := range rows {
		if r.Percentile != nil || r.Anomaly != nil {
			t.Fatalf("%s: percentile %v, anomaly %v: want null from an uncalibrated model", r.ID, r.Percentile, r.Anomaly)
		}
	}
}

// ReadModel rejects a damaged calibration and says where it is.
func TestReadModelBadCalibration(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	res := mustRun(t, smallJob(t, in, "run=train"), Options{Date: day1})
	f, err := os.Open(res.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	m, meta, err := nn.Load(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	meta[MetaCalibration] = `{"version":7}`
	var buf bytes.Buffer
	if err := nn.Save(&buf, m, meta); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadModel(context.Background(), storage.Local{}, path)
	if err == nil || !strings.Contains(err.Error(), MetaCalibration) || !strings.Contains(err.Error(), "version 7") {
		t.Errorf("got %v, want an error naming %s and version 7", err, MetaCalibration)
	}
}
