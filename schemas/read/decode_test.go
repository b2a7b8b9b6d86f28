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

// nestedRowFast takes every valid row that ends within the page, long ones
// included, and leaves any other row to nestedRow without consuming it.
func TestNestedRowFastTakesValidRows(t *testing.T) {
	row := func(steps, dim int) (reps, defs []byte) {
		for i := range steps * dim {
			r := byte(2)
			switch {
			case i == 0:
				r = 0
			case i%dim == 0:
				r = 1
			}
			reps, defs = append(reps, r), append(defs, nestedRequired.maxDef)
		}
		return reps, defs
	}
	for _, c := range []struct {
		name           string
		steps, wantDim int
		ok             bool
	}{
		{"one step", 1, 2, true}, {"three steps", 3, 2, true}, {"200 steps", 200, 2, true}, {"300 steps", 300, 2, true},
		{"dim from the first step", 200, 0, true}, {"other dim", 3, 3, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			reps, defs := row(c.steps, 2)
			next, nextDefs := row(1, 2) // the next row: this one ends in the page
			reps, defs = append(reps, next...), append(defs, nextDefs...)
			vals := make([]float64, len(reps))
			for i := range vals {
				vals[i] = float64(i) / 4
			}
			s := streamOf(reps, defs, vals, nestedRequired)
			got, steps, dim, ok := nestedRowFast(s, &nestedRequired, c.wantDim, 0, nil)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if !ok {
				if s.li != 0 || s.vi != 0 || len(got) != 0 {
					t.Fatalf("declined, but consumed entries to %d, values to %d, appended %d", s.li, s.vi, len(got))
				}
				return
			}
			if steps != c.steps || dim != 2 || len(got) != 2*c.steps || s.li != 2*c.steps || s.vi != 2*c.steps || got[len(got)-1] != float32(vals[2*c.steps-1]) {
				t.Fatalf("got %d steps of %d, %d values, at entry %d value %d", steps, dim, len(got), s.li, s.vi)
			}
		})
	}
}

// A row whose first entry is not a defined value (a null or empty list, a
// null step or value) is not the fast path's, whatever the width: with a
// width of one its levels would otherwise pass for a step.
func TestNestedRowFastDeclinesUndefinedFirst(t *testing.T) {
	for def := range nestedRequired.maxDef {
		for _, wantDim := range []int{0, 1} {
			reps, defs := []byte{0, 0, 2}, []byte{def, nestedRequired.maxDef, nestedRequired.maxDef}
			s := streamOf(reps, defs, []float64{1, 2, 3}, nestedRequired)
			if _, steps, dim, ok := nestedRowFast(s, &nestedRequired, wantDim, 0, nil); ok {
				t.Errorf("definition level %d, wantDim %d: taken as %d steps of %d", def, wantDim, steps, dim)
			}
		}
	}
}
