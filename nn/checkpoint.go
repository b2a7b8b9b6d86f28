package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/nlpodyssey/safetensors"
)

// Checkpoint metadata keys: the model's config as JSON and a format tag.
// Callers may add their own keys (the job stores its normaliser, run id and
// so on); these two are reserved.
const (
	MetaConfig = "seqae.config"
	MetaFormat = "seqae.format"
	formatTag  = "seqae-lstm-autoencoder/1"
)

// Save writes m as a safetensors file: every parameter as an F32 tensor
// under its docs/design.md name, and in the header's __metadata__ the config as
// JSON, the format tag and meta's entries.
func Save(w io.Writer, m *Model, meta map[string]string) error {
	cfg, err := json.Marshal(m.Config)
	if err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	info := map[string]string{MetaConfig: string(cfg), MetaFormat: formatTag}
	for k, v := range meta {
		if _, reserved := info[k]; reserved {
			return fmt.Errorf("nn: save: metadata key %q is reserved", k)
		}
		info[k] = v
	}
	tensors := map[string]safetensors.TensorView{}
	for _, t := range m.Config.Layout() {
		data := make([]byte, 4*t.Size)
		for i, v := range m.Params[t.Offset : t.Offset+t.Size] {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		}
		shape := make([]uint64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = uint64(d)
		}
		view, err := safetensors.NewTensorView(safetensors.F32, shape, data)
		if err != nil {
			return fmt.Errorf("nn: save %s: %w", t.Name, err)
		}
		tensors[t.Name] = view
	}
	if err := safetensors.SerializeToWriter(tensors, info, w); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	return nil
}

// ErrCheckpoint is wrapped by every error Load returns about the file's
// content (as opposed to reading it).
var ErrCheckpoint = errors.New("not a valid seqae checkpoint")

// Load reads a checkpoint written by Save and returns the model and the
// header's metadata. A truncated or damaged file, a missing, extra or
// misshapen tensor, or a bad config is an error that says which.
func Load(r io.Reader) (*Model, map[string]string, error) {
	buf, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: load: %w", err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("nn: load: %w: %s", ErrCheckpoint, fmt.Sprintf(format, args...))
	}
	if len(buf) < 8 {
		return nil, nil, bad("file is %d bytes, too short for a safetensors header", len(buf))
	}
	if n := binary.LittleEndian.Uint64(buf); n > uint64(len(buf)-8) {
		return nil, nil, bad("header says %d bytes but only %d follow: the file is truncated or not safetensors", n, len(buf)-8)
	}
	_, header, err := safetensors.ReadMetadata(buf)
	if err != nil {
		return nil, nil, bad("%v: the file is damaged or truncated", err)
	}
	st, err := safetensors.Deserialize(buf)
	if err != nil {
		return nil, nil, bad("%v", err)
	}
	meta := header.Metadata()
	if meta == nil {
		meta = map[string]string{}
	}
	if got := meta[MetaFormat]; got != formatTag {
		return nil, nil, bad("format is %q, want %q", got, formatTag)
	}
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader([]byte(meta[MetaConfig])))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, nil, bad("config %q: %v", meta[MetaConfig], err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, bad("config: %v", err)
	}
	// Check every tensor against the config before allocating anything: a
	// damaged config must not make Load allocate what the file does not hold.
	layout := cfg.Layout()
	want := map[string]bool{}
	for _, t := range layout {
		want[t.Name] = true
		v, ok := st.Tensor(t.Name)
		if !ok {
			return nil, nil, bad("tensor %s is missing", t.Name)
		}
		if v.DType() != safetensors.F32 {
			return nil, nil, bad("tensor %s is %s, want F32", t.Name, v.DType())
		}
		shape := make([]int, len(v.Shape()))
		for i, d := range v.Shape() {
			shape[i] = int(d)
		}
		if !slices.Equal(shape, t.Shape) {
			return nil, nil, bad("tensor %s has shape %v, want %v for config %+v", t.Name, shape, t.Shape, cfg)
		}
	}
	for _, name := range st.Names() {
		if !want[name] {
			return nil, nil, bad("unexpected tensor %s for config %+v", name, cfg)
		}
	}
	m := newModel(cfg)
	for _, t := range layout {
		v, _ := st.Tensor(t.Name)
		data := v.Data()
		for i := range t.Size {
			m.Params[t.Offset+i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	}
	delete(meta, MetaConfig)
	delete(meta, MetaFormat)
	return m, meta, nil
}
