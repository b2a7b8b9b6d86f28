package schemas

// Layout is the shape of an input table.
type Layout string

// The input layouts (docs/design.md §3).
const (
	// Detect picks the layout from the first file's schema and the names
	// set in the Spec; it fails when the choice is ambiguous.
	Detect Layout = ""
	// Nested: one row per sequence, an id and one list<list<float>> column
	// (steps × features).
	Nested Layout = "nested"
	// Columns: one row per sequence, an id and one list<float> column per
	// feature, all of one length in a row.
	Columns Layout = "columns"
	// Long: one row per step, an id, an order column (integer, date or
	// timestamp) and one float column per feature.
	Long Layout = "long"
)

// DefaultGroupBudget is Spec.GroupBudget's default: 256 MiB.
const DefaultGroupBudget = 256 << 20

// Spec says how to read the input tables. Column names are top-level column
// names of the Parquet schema.
type Spec struct {
	Layout Layout
	// ID is the id column (string or integer); "id" when empty.
	ID string
	// Sequence is the nested layout's list<list<float>> column. When empty
	// and the layout is nested or detected, the one such column is used.
	Sequence string
	// Features are the columns or long layouts' feature columns, in feature
	// order. When empty: for the columns layout every list<float> column, for
	// the long layout every float column, in schema order (not counting the
	// id, order and pass-through columns).
	Features []string
	// Order is the long layout's order column. When empty the one integer,
	// date or timestamp column left over is used.
	Order string
	// Pass are the pass-through columns, copied to every output row of their
	// sequence. They must be scalar (not lists).
	Pass []string
	// Dim is the number of features per step the nested layout must have;
	// 0 takes it from the first valid row (in file and row order). Rows with
	// another count are quarantined as ragged_step.
	Dim int
	// MaxLen quarantines sequences of more steps as too_long; 0 is no limit.
	MaxLen int
	// GroupBudget bounds the memory (bytes, counted as it is used) that the
	// long layout units decoding at the same time may hold to group rows
	// by id; past it a unit spills its rows, sorted, to files under
	// SpillDir and merges them at the end. 0 means DefaultGroupBudget.
	GroupBudget int64
	// SpillDir is the local folder the long layout spills to; empty means
	// os.TempDir(). Each spilling ReadUnit makes a folder of its own there
	// and removes it when it returns (see spill.go).
	SpillDir string
}
