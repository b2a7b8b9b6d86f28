package nn

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A tensor stored transposed has the right number of values but the wrong
// shape: Load rejects it, whichever tensor it is.
func TestCheckpointRejectsTransposedTensors(t *testing.T) {
	cfg := Config{InputDim: 3, LatentDim: 4, DecoderHidden: 5, Head: HeadLinear}
	m, _ := NewModel(cfg, 1)
	var buf bytes.Buffer
	if err := Save(&buf, m, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, shape, transposed string }{
		{"encoder.weight_ih", "[16,3]", "[3,16]"},
		{"encoder.weight_hh", "[16,4]", "[4,16]"},
		{"decoder.weight_ih", "[20,4]", "[4,20]"},
		{"decoder.weight_hh", "[20,5]", "[5,20]"},
		{"head.weight", "[3,5]", "[5,3]"},
		{"encoder.bias", "[16]", "[16,1]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := rewriteHeader(buf.Bytes(), func(h string) string {
				old := `"` + c.name + `":{"dtype":"F32","shape":` + c.shape
				if !strings.Contains(h, old) {
					t.Fatalf("header %s lacks %s", h, old)
				}
				return strings.Replace(h, old, `"`+c.name+`":{"dtype":"F32","shape":`+c.transposed, 1)
			})
			_, _, err := Load(bytes.NewReader(file))
			want := "tensor " + c.name + " has shape " + strings.ReplaceAll(c.transposed, ",", " ") + ", want " + strings.ReplaceAll(c.shape, ",", " ")
			if err == nil || !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), want) {
				t.Errorf("got error %v, want an ErrCheckpoint containing %q", err, want)
			}
		})
	}
}
