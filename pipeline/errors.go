package pipeline

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Loc says where in the input something happened. Make one with [At]: the
// zero Loc claims row group 0 and row 0.
type Loc struct {
	File     string // "" when unknown
	RowGroup int    // -1 when unknown
	Row      int64  // row within the file; -1 when unknown
	ID       string // sequence id; "" when unknown
}

// At returns the location of file (which may be ""), with row group, row and
// id unknown.
func At(file string) Loc {
	return Loc{File: file, RowGroup: -1, Row: -1}
}

// WithRowGroup returns l in row group g.
func (l Loc) WithRowGroup(g int) Loc { l.RowGroup = g; return l }

// WithRow returns l at row r of its file.
func (l Loc) WithRow(r int64) Loc { l.Row = r; return l }

// WithID returns l for the sequence with the given id.
func (l Loc) WithID(id string) Loc { l.ID = id; return l }

// Wrap returns err located at l, or nil if err is nil.
func (l Loc) Wrap(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Loc: l, Err: err}
}

// Errorf formats an error as [fmt.Errorf] does (%w included) and locates it
// at l.
func (l Loc) Errorf(format string, args ...any) error {
	return l.Wrap(fmt.Errorf(format, args...))
}

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

// Error is an error from a stage, with where in the input it arose. Every
// error that [Pipeline.Wait] returns is, or wraps, an *Error: the runner fills
// in Stage on the outermost *Error a stage returned, or wraps the stage's
// error in a new one. Use [errors.As] to read it, and [errors.Is] to test the
// error it wraps.
type Error struct {
	Stage string
	Loc   Loc
	Err   error
}

// Error describes e as `stage "name": location: message`, leaving out
// what is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Stage != "" {
		fmt.Fprintf(&b, "stage %q: ", e.Stage)
	}
	if loc := e.Loc.String(); loc != "" {
		b.WriteString(loc + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the error e wraps.
func (e *Error) Unwrap() error { return e.Err }

// PanicError is what a worker's panic becomes.
type PanicError struct {
	Value any    // the value passed to panic
	Stack string // the first frames of the panicking goroutine's stack
}

// Error gives the panic's value, then the stack excerpt.
func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic's value if it is an error, so that [errors.Is]
// sees through the panic.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// tag attributes err to stage.
func tag(stage string, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[*Error](err); ok && e.Stage == "" {
		e.Stage = stage
		return err
	}
	return &Error{Stage: stage, Loc: At(""), Err: err}
}
