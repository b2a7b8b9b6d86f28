package read

import (
	"hash/maphash"
	"sync"

	"github.com/seqae/seqae/schemas"
)

// DuplicatePolicy says what to do with a sequence whose id was already seen
// in the run.
type DuplicatePolicy string

// The duplicate policies.
const (
	QuarantineDuplicates DuplicatePolicy = "quarantine" // the default
	KeepDuplicates       DuplicatePolicy = "keep"
)

// Dedup finds ids seen before in a run. It keeps a 128-bit hash of each id
// (about 40 bytes an id in all), so a false duplicate needs a 128-bit hash
// collision. It is safe for concurrent use; which of two duplicates is kept
// is the one checked first, so check in Input.Units order for a
// deterministic result.
type Dedup struct {
	mu    sync.Mutex
	seeds [2]maphash.Seed
	seen  map[[2]uint64]struct{}
	kind  schemas.Kind
}

// NewDedup returns an empty Dedup for ids of the given kind.
func NewDedup(idKind schemas.Kind) *Dedup {
	return &Dedup{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, seen: map[[2]uint64]struct{}{}, kind: idKind}
}

// Check records s's id and, if it was already seen, returns the quarantine
// record for s and true.
func (d *Dedup) Check(s *schemas.Sequence) (schemas.Quarantine, bool) {
	key := [2]uint64{hashID(d.seeds[0], s.ID), hashID(d.seeds[1], s.ID)}
	d.mu.Lock()
	_, dup := d.seen[key]
	if !dup {
		d.seen[key] = struct{}{}
	}
	d.mu.Unlock()
	if !dup {
		return schemas.Quarantine{}, false
	}
	return schemas.Quarantine{Src: s.Src, ID: s.ID.Format(d.kind), Reason: schemas.DuplicateID, Detail: "id " + s.ID.Format(d.kind) + " was already seen in this run"}, true
}

// Len is the number of distinct ids seen.
func (d *Dedup) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.seen)
}

func hashID(seed maphash.Seed, v schemas.Value) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	maphash.WriteComparable(&h, v)
	return h.Sum64()
}
