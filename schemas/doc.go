// Package schemas holds seqae's table contracts (docs/design.md §3): the
// in-memory Sequence that flows into the model, the reason-coded Quarantine
// record, Loc (where in the input a row, sequence or error is), the input
// table's Spec and the sentinel errors callers may test for. Reading the
// input tables is schemas/read; writing the output tables is
// schemas/write. Both import this package, never the reverse, and neither
// imports the other.
package schemas
