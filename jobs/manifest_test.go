package jobs

import (
	"testing"

	"github.com/seqae/seqae/schemas"
)

func TestReasonList(t *testing.T) {
	t.Parallel()
	cases := []struct {
		reasons map[schemas.Reason]int64
		want    string
	}{
		{nil, ""},
		{map[schemas.Reason]int64{"non_finite": 1}, " (non_finite 1)"},
		{map[schemas.Reason]int64{"non_finite": 1, "duplicate_id": 2, "empty_sequence": 3}, " (duplicate_id 2, empty_sequence 3, non_finite 1)"},
	}
	for _, c := range cases {
		if got := ReasonList(c.reasons); got != c.want {
			t.Errorf("ReasonList(%v) = %q, want %q", c.reasons, got, c.want)
		}
	}
}
