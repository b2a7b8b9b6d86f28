// Package schemas holds seqae's table contracts (DESIGN.md §3): the
// in-memory Sequence that flows into the model, the reason-coded Quarantine
// record, the readers of the three input layouts and the writers of the
// output tables, as Parquet (parquet-go) or Arrow IPC (arrow/go/v15).
//
// # Reading
//
// Open reads each input file's footer through a storage.Store, checks its
// schema once against the layout (detected from the first file when the
// Spec leaves it open) and plans Units: a row group of a nested or columns
// layout file, or a whole long layout file. ReadUnit decodes one unit,
// streaming one page per column (never a whole row group or file), and is
// safe to call concurrently: a pipeline fans units out to workers, a
// sharded job takes Shard(units, i, n). Bad values are not errors: each
// bad row becomes a Quarantine record with a Reason and a detail naming
// the column, step and feature. Errors are for unreadable or malformed
// files and name the file and column.
//
// Feature values may be float or double (converted to float32; a double
// beyond float32's range is non_finite); ids string or integer; any
// scalar column can be passed through. The nested layout's feature count
// is Spec.Dim or, when 0, that of the first valid row.
//
// # Accounting
//
// Every input row ends up exactly once in the output or in quarantine. The
// unit of that count is the group (Stats.Groups == Sequences +
// Quarantined): a row for the nested and columns layouts, and for the long
// layout the rows of one id in a file, or a single row whose id is null.
// Duplicate ids across a run are found by Dedup, which the caller applies
// (in unit order, for a deterministic choice of which copy is kept) under
// the run's DuplicatePolicy, turning a Sequence into a Quarantine record.
//
// # The long layout
//
// Rows of one id that are contiguous in a file (sorted by id, as Spark and
// DuckDB write them) are streamed, one sequence held at a time, across row
// group boundaries. Otherwise the file is grouped in memory, which is
// refused before anything is emitted when the estimate passes
// Spec.GroupBudget. Steps are ordered by the order column (stable); a null
// or repeated order value quarantines the sequence as bad_order; the
// pass-through values are those of the id's first row in the file. Because
// a sequence may span row groups, a long layout file is one Unit, decoded
// in order by one worker; parallelism comes from having several files.
//
// # Writing
//
// NewLatentsWriter, NewStepLossesWriter, NewQuarantineWriter and
// NewMetricsWriter stream rows to a storage.Writer: the file appears under
// its name only when Close succeeds, and Abort (or any write error, or a
// cancelled context) discards it. Parquet output is zstd-compressed with
// standard 3-level LIST encoding (the form pyarrow, polars, DuckDB and Spark
// write; the tests read it back with Arrow's own Parquet reader), cut into row groups of about WriteOptions.RowGroupBytes; Arrow
// output is an IPC file (Feather v2) of record batches. Every file carries
// Meta as key-value metadata.
package schemas
