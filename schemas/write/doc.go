// Package write writes seqae's output tables (latents, step_losses,
// quarantine, metrics, drift) as Parquet (parquet-go) or Arrow IPC
// (arrow/go/v15).
//
// NewLatentsWriter, NewStepLossesWriter, NewQuarantineWriter and
// NewMetricsWriter stream rows to a storage.Writer: the file appears under
// its name only when Close succeeds, and Abort (or any write error, or a
// cancelled context) discards it. Parquet output is zstd-compressed with
// standard 3-level LIST encoding (the form pyarrow, polars, DuckDB and Spark
// write; the tests read it back with Arrow's own Parquet reader), cut into
// row groups of about WriteOptions.RowGroupBytes; Arrow output is an IPC
// file (Feather v2) of record batches. Every file carries Meta as
// key-value metadata. Close returns the same result however often it is
// called.
//
// It is how seqae works inside, not a stable Go API: see docs/design.md §7.
package write
