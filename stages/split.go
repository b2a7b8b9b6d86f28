package stages

import (
	"hash/fnv"

	"github.com/seqae/seqae/schemas"
)

// Split holds out a fraction of sequences for validation by a stable hash
// of their id (FNV-1a of its text, then MurmurHash3's 64-bit finaliser to
// mix it), so the same ids are held out on every run, whatever the order or
// partitioning of the input.
type Split struct {
	Fraction float64 // in [0, 1): the share held out
	IDKind   schemas.Kind
}

// Validation reports whether the sequence with this id is held out.
func (s Split) Validation(id schemas.Value) bool {
	if s.Fraction <= 0 {
		return false
	}
	h := fnv.New64a()
	h.Write([]byte(id.Format(s.IDKind)))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return float64(x>>11)/(1<<53) < s.Fraction
}
