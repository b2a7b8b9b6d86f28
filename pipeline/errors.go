package pipeline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/seqae/seqae/schemas"
)

// Wrap returns err located at l, or nil if err is nil.
func Wrap(l schemas.Loc, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Loc: l, Err: err}
}

// Errorf formats an error as [fmt.Errorf] does (%w included) and locates it
// at l.
func Errorf(l schemas.Loc, format string, args ...any) error {
	return Wrap(l, fmt.Errorf(format, args...))
}

// Error is an error from a stage, with where in the input it arose. Every
// error that [Pipeline.Wait] returns is, or wraps, an *Error: the runner fills
// in Stage on the outermost *Error a stage returned, or wraps the stage's
// error in a new one. Use [errors.As] to read it, and [errors.Is] to test the
// error it wraps.
type Error struct {
	Stage string
	Loc   schemas.Loc
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
	return &Error{Stage: stage, Loc: schemas.At(""), Err: err}
}
