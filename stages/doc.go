// Package stages holds seqae's stages (docs/design.md §2, §4): reading and
// checking input, normalising, bucketing by length, training and encoding,
// and writing the output tables.
//
// The work itself lives in plain types with no channel or pipeline types in
// their signatures, so that any runner can call them: Normalizer, Batcher,
// Encoder, Trainer, Split. Encode and Train wire them into an in-process
// pipeline (package pipeline) over Parquet input (package schemas).
//
// It is how seqae works inside, not a stable Go API: see docs/design.md §7.
package stages
