package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/stages"
	"github.com/seqae/seqae/storage"
)

// The metadata keys seqae adds to a model file (besides nn's own
// seqae.config, the model's sizes, and seqae.format).
const (
	MetaNormalizer = "seqae.normalizer" // per-feature mean and std, as stages.Normalizer.Marshal
	MetaBoundaries = "seqae.boundaries" // padded mode's buckets, JSON; absent in exact mode
	MetaModelID    = "seqae.model_id"
	MetaRunID      = "seqae.run_id"
	MetaVersion    = "seqae.version"
	MetaDate       = "seqae.date"
	MetaJobConfig  = "seqae.job_config" // the job's configuration, YAML
	MetaWarmStart  = "seqae.warm_start_from"
	// MetaCalibration is the validation score distribution, JSON
	// (stages.Calibration); absent in models from before it existed.
	MetaCalibration = "seqae.calibration"
	// MetaFeatures names the input's feature columns, JSON (a list of
	// strings); absent for the nested layout, whose features have none,
	// and in models from before it existed.
	MetaFeatures = "seqae.features"
)

// ModelFileName is the model's file name in its partition.
const ModelFileName = "model.safetensors"

// ModelFile is a model read from a checkpoint with what seqae stored
// beside it.
type ModelFile struct {
	Path        string
	Bytes       int64
	Model       *nn.Model
	Norm        stages.Normalizer
	Boundaries  []int               // padded mode's buckets, if trained padded
	Calibration *stages.Calibration // nil for models from before calibration
	Meta        map[string]string   // the checkpoint's metadata
}

// ReadModel reads a model file written by seqae.
func ReadModel(ctx context.Context, store storage.Store, path string) (*ModelFile, error) {
	obj, err := store.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	defer obj.Close()
	m, meta, err := nn.Load(io.NewSectionReader(obj, 0, obj.Size()))
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	mf := &ModelFile{Path: path, Bytes: obj.Size(), Model: m, Meta: meta}
	raw, ok := meta[MetaNormalizer]
	if !ok {
		return nil, fmt.Errorf("model %s: no %s metadata: it was not written by seqae's train", path, MetaNormalizer)
	}
	if mf.Norm, err = stages.ParseNormalizer(raw, m.Config.InputDim); err != nil {
		return nil, fmt.Errorf("model %s: %s: %w", path, MetaNormalizer, err)
	}
	if raw, ok := meta[MetaBoundaries]; ok {
		if err := json.Unmarshal([]byte(raw), &mf.Boundaries); err != nil {
			return nil, fmt.Errorf("model %s: %s: %w", path, MetaBoundaries, err)
		}
	}
	if raw, ok := meta[MetaCalibration]; ok {
		if mf.Calibration, err = stages.ParseCalibration(raw); err != nil {
			return nil, fmt.Errorf("model %s: %s: %w", path, MetaCalibration, err)
		}
	}
	return mf, nil
}

// saveModel writes the model file into dir.
func saveModel(ctx context.Context, dir string, m *nn.Model, meta map[string]string) (OutputFile, error) {
	var buf bytes.Buffer
	if err := nn.Save(&buf, m, meta); err != nil {
		return OutputFile{}, err
	}
	name := filepath.Join(dir, ModelFileName)
	if err := writeFile(ctx, name, buf.Bytes()); err != nil {
		return OutputFile{}, err
	}
	return OutputFile{Name: ModelFileName, Bytes: int64(buf.Len())}, nil
}

// latestModel finds the newest committed model under out/models/ for a
// date before date (or up to it, when orSame). It returns "" when there is
// none.
func latestModel(out, date string, orSame bool) (string, error) {
	dirs, err := filepath.Glob(filepath.Join(out, "models", "dt=*"))
	if err != nil {
		return "", err
	}
	slices.Sort(dirs)
	for _, dir := range slices.Backward(dirs) {
		d := strings.TrimPrefix(filepath.Base(dir), "dt=")
		if _, err := ParseDate(d); err != nil || d > date || (d == date && !orSame) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, SuccessFile)); errors.Is(err, fs.ErrNotExist) {
			continue // not committed
		}
		return filepath.Join(dir, ModelFileName), nil
	}
	return "", nil
}
