// Package read reads seqae's input tables (the layouts of schemas.Spec)
// from Parquet files into schemas.Sequence and schemas.Quarantine records.
//
// Reading is a chain, a file per step: Open (input.go) reads every file's
// footer after checking it (footer.go), binds the Spec to its columns
// (bind.go, through resolve.go) and plans units (input.go); ReadUnit
// (unit.go) decodes a unit's pages (stream.go, through the bounded codecs
// of codecs.go and the page header check of pagecheck.go), validates each
// row (decode.go) and, for the long layout, groups rows by id (long.go,
// group.go, spill.go), then emits sequences and quarantine records to the
// caller's Sink (emit.go). Dedup (dedup.go) is applied by the caller
// across units.
//
// Open reads each input file's footer through a storage.Store, checks its
// schema once against the layout (detected from the first file when the
// Spec leaves it open) and plans Units: a row group of a nested or columns
// layout file, or for the long layout one unit of every file. ReadUnit
// decodes one unit, streaming one page per column (never a whole row group
// or file), and is safe to call concurrently: a pipeline fans units out to
// workers, a sharded job takes Input.Shard(i, n). Bad values are not errors: each bad row becomes a Quarantine record
// with a Reason and a detail naming the column, step and feature. Errors
// are for unreadable or malformed files and name the file and column; an
// error of the caller's Sink is returned as it is.
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
// layout the rows of one id, or a single row whose id is null.
// Duplicate ids across a run are found by Dedup, which the caller applies
// (in unit order, for a deterministic choice of which copy is kept) under
// the run's DuplicatePolicy, turning a Sequence into a Quarantine record.
//
// # The long layout
//
// An id's rows may be in any of the files, in any order, so the long
// layout is one unit that reads every file and groups the rows by id: in
// memory while their bytes (counted as they are held) fit in
// Spec.GroupBudget, one budget shared by every ReadUnit of the Input
// running at the time; past it the rows held are sorted and spilled to a
// run file in a folder of the ReadUnit's own under Spec.SpillDir, and the
// runs are merged at the end (more than 64 in passes). The folder is
// removed on every return, and a killed process's folder is reclaimed by
// the next spilling ReadUnit (see spill.go). A row whose id is null is
// quarantined as it is read; then sequences come out in id order (strings
// bytewise, integers by value), each id's steps in order of the order
// column, its pass-through values those of its first step. What comes out
// is the same, bit for bit and in order, however the rows were cut into
// files and ordered, and whether or not they spilled; only the sources
// (file, row) differ. A null or repeated order value quarantines the
// sequence as bad_order; a sequence with several bad rows is quarantined
// for the first of a null order, a null value, a non-finite value (then
// too_long, then a repeated order value). A quarantine record's detail
// ends with the sequence's row count, and says when its rows were not
// contiguous. Sharded, shard i of n reads every file and keeps the ids
// with ShardOf(id, kind, n) == i (and the null ids in shard 0), so that a
// sequence is never split between shards.
//
// # Corrupt files
//
// A file's footer is checked before parquet-go decodes it (its length
// against the file's, its lists' lengths against the footer's), and
// dictionary indexes against their dictionary before values are looked up,
// so that a damaged length or index is an error rather than an allocation
// of what it claims or a panic; panics that parquet-go still raises on
// malformed pages are recovered into errors naming the file, row group and
// column. Pages are decompressed by seqae's own LZ4_RAW and LZ4 decoders and behind
// checks of the sizes ZSTD and SNAPPY blocks declare (codecs.go), so that a
// page never decodes to more than its header declares. What remains is
// inside parquet-go's page reading: a damaged page header can make it
// allocate up to the 2 GiB its sizes can claim before it finds the page
// short, unless Spec.MaxPageBytes caps what a page may declare (at the cost
// of a small read per page header). The deprecated LZ4 codec is read as
// Arrow and parquet-mr read it: Hadoop frames, or failing that one raw LZ4
// block, decoded within the page's declared size.
//
// It is how seqae works inside, not a stable Go API: see docs/design.md §7.
package read
