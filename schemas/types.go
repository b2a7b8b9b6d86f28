package schemas

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of an id or pass-through column's values.
type Kind uint8

// The kinds of scalar column values seqae carries from input to output.
// Narrower integer types are widened on read: INT8/INT16 to Int32, UINT8 and
// UINT16 to Int32, UINT32 to Int64.
const (
	KindInvalid Kind = iota
	Bool
	Int32
	Int64
	Float32
	Float64
	String
	Binary
	Date           // days since 1970-01-01, in Value.Int
	TimestampMilli // UTC milliseconds since the epoch, in Value.Int
	TimestampMicro // UTC microseconds since the epoch, in Value.Int
	TimestampNano  // UTC nanoseconds since the epoch, in Value.Int
)

var kindNames = [...]string{"invalid", "bool", "int32", "int64", "float32", "float64", "string", "binary", "date", "timestamp[ms]", "timestamp[us]", "timestamp[ns]"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText writes the kind's name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if i > 0 && n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown kind %q", b)
}

// Field names a column and the kind of its values.
type Field struct {
	Name string
	Kind Kind
}

// Value is one scalar cell. Which member holds it depends on the column's
// Kind: Int for Bool (0 or 1), Int32, Int64, Date and timestamps; Float for
// Float32 and Float64; Str for String and Binary.
type Value struct {
	Null  bool
	Int   int64
	Float float64
	Str   string
}

// Format renders v for human text (quarantine ids, error messages).
func (v Value) Format(k Kind) string {
	if v.Null {
		return "null"
	}
	switch k {
	case Bool:
		return strconv.FormatBool(v.Int != 0)
	case Float32:
		return strconv.FormatFloat(v.Float, 'g', -1, 32)
	case Float64:
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	case String:
		return v.Str
	case Binary:
		return fmt.Sprintf("%x", v.Str)
	case Date:
		return time.Unix(v.Int*86400, 0).UTC().Format(time.DateOnly)
	case TimestampMilli:
		return time.UnixMilli(v.Int).UTC().Format(time.RFC3339Nano)
	case TimestampMicro:
		return time.UnixMicro(v.Int).UTC().Format(time.RFC3339Nano)
	case TimestampNano:
		return time.Unix(0, v.Int).UTC().Format(time.RFC3339Nano)
	}
	return strconv.FormatInt(v.Int, 10)
}

// Loc says where in the input a row, a sequence or an error is: the one
// location type of seqae (read fills it in for what it decodes, a pipeline
// error carries it). Make one with At: the zero Loc claims row group 0 and
// row 0.
type Loc struct {
	File string // "" when unknown
	// RowGroup is the row group holding the row (for the long layout, the
	// row group of the sequence's first row in the file); -1 when unknown.
	RowGroup int
	// Row is the 0-based row index in the file (for the long layout, the
	// index of the sequence's first row in the file); -1 when unknown.
	Row int64
	// ID is the sequence's id as text; "" when unknown, or when it is
	// carried beside the Loc (Sequence.ID, Quarantine.ID).
	ID string
}

// At returns the location of file (which may be ""), with row group, row and
// id unknown.
func At(file string) Loc { return Loc{File: file, RowGroup: -1, Row: -1} }

// WithRowGroup returns l in row group g.
func (l Loc) WithRowGroup(g int) Loc { l.RowGroup = g; return l }

// WithRow returns l at row r of its file.
func (l Loc) WithRow(r int64) Loc { l.Row = r; return l }

// WithID returns l for the sequence with the given id.
func (l Loc) WithID(id string) Loc { l.ID = id; return l }

// String describes l, leaving out what is unknown, e.g.
// `file a.parquet, row group 2, row 17, id "s-9"`.
func (l Loc) String() string {
	var parts []string
	if l.File != "" {
		parts = append(parts, "file "+l.File)
	}
	if l.RowGroup >= 0 {
		parts = append(parts, "row group "+strconv.Itoa(l.RowGroup))
	}
	if l.Row >= 0 {
		parts = append(parts, "row "+strconv.FormatInt(l.Row, 10))
	}
	if l.ID != "" {
		parts = append(parts, "id "+strconv.Quote(l.ID))
	}
	return strings.Join(parts, ", ")
}

// Sequence is one decoded, valid input sequence.
type Sequence struct {
	ID Value // of the kind Input.IDField reports
	// Len is the number of steps T (at least 1); Dim the number of features I.
	Len, Dim int
	// Values holds Len*Dim finite values, step-major: step t's features are
	// Values[t*Dim : (t+1)*Dim].
	Values []float32
	// Pass holds the pass-through values, in the order of Input.PassFields.
	Pass []Value
	Src  Loc
}

// Step returns step t's features.
func (s *Sequence) Step(t int) []float32 { return s.Values[t*s.Dim : (t+1)*s.Dim] }

// Reason is a quarantine reason code. Codes are stable strings: they are
// written to the quarantine table and can be counted by downstream jobs.
type Reason string

// The quarantine reasons.
const (
	NullID        Reason = "null_id"        // the id is null
	NullSequence  Reason = "null_sequence"  // the sequence (or one feature's list) is null
	EmptySequence Reason = "empty_sequence" // the sequence has no steps
	NullStep      Reason = "null_step"      // a step (an element of the outer list) is null
	RaggedStep    Reason = "ragged_step"    // a step has the wrong number of features
	NullValue     Reason = "null_value"     // a feature value is null
	NonFinite     Reason = "non_finite"     // a value is NaN or ±Inf (or overflows float32)
	TooLong       Reason = "too_long"       // more steps than max_len
	DuplicateID   Reason = "duplicate_id"   // the id was already seen in this run
	BadOrder      Reason = "bad_order"      // long layout: a null or repeated order value
)

// Quarantine is a bad input row (for the long layout, a bad sequence) kept
// aside with the reason it was not used.
type Quarantine struct {
	Src Loc
	// ID is the row's id rendered as text; IDNull is set when it could not be
	// read (a null id).
	ID     string
	IDNull bool
	Reason Reason
	// Detail names the column, and the step and feature where relevant.
	Detail string
}

// String is "FILE row N: reason: detail", the form quarantine summaries
// print.
func (q Quarantine) String() string {
	return fmt.Sprintf("%s row %d: %s: %s", q.Src.File, q.Src.Row, q.Reason, q.Detail)
}
