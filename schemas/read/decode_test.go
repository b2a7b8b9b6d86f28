package read

import (
	"errors"
	"strings"
	"testing"

	"github.com/seqae/seqae/schemas"
)

// TestCorruptLevels feeds level streams no valid file holds: the decoders
// must return an error naming the column, not panic or quarantine.
func TestCorruptLevels(t *testing.T) {
	tests := []struct {
		name       string
		reps, defs []byte
		want       string
	}{
		{"starts mid-row", []byte{1, 0}, []byte{5, 5}, "row starts at repetition level 1"},
		{"definition too high", []byte{0}, []byte{6}, "definition level 6 over the maximum 5"},
		{"repetition too high", []byte{0, 3}, []byte{5, 5}, "repetition level 3 over the maximum 2"},
		{"repeats an undefined list", []byte{0, 2}, []byte{5, 1}, "repeated entry at level 2 with definition level 1"},
		{"no rows", nil, nil, "no more rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals := make([]float64, len(tt.reps))
			s := streamOf(tt.reps, tt.defs, vals, nestedOptional)
			var p problem
			_, _, _, err := nestedRow(s, &nestedOptional, "seq", 0, 0, nil, &p)
			if !errors.Is(err, schemas.ErrCorrupt) || !strings.Contains(err.Error(), `column "seq"`) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a corrupt-column error containing %q", err, tt.want)
			}
		})
	}
}
