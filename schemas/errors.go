package schemas

import "errors"

// ErrCorrupt marks errors about malformed input files, as opposed to bad
// values (which are quarantined): test for it with errors.Is.
var ErrCorrupt = errors.New("corrupt Parquet")

// SpecError is an input file that does not fit the Spec: a column it names
// that is missing or of the wrong shape, or a layout the file does not
// have. Key is the job file's key of the Spec field at fault (input.id,
// input.sequence, input.features, input.order, input.pass or
// input.layout), so that a caller that read the Spec from a job file can
// point at the key's line; the message begins with the key and names the
// file.
type SpecError struct {
	Key  string
	File string
	Msg  string
}

func (e *SpecError) Error() string { return e.Msg }
