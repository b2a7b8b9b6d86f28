package jobs

import (
	"fmt"
	"slices"
	"strings"

	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/stages"
)

// The settings that take one word from a fixed list are types that parse
// and check themselves (encoding.TextUnmarshaler): the job file, the
// SEQAE_* variables, --set, the dedicated flags (pflag's TextVar) and
// every error message take the list from the type, and the list is made
// of the constants of the package that uses the value.

// RunMode is what a job runs (the key run).
type RunMode string

// What a job runs.
const (
	RunTrain          RunMode = "train"             // fit a model, write models and metrics
	RunEncode         RunMode = "encode"            // encode with an existing model
	RunTrainAndEncode RunMode = "train-then-encode" // both, encoding with the model just trained
)

func (RunMode) choices() []RunMode { return []RunMode{RunTrain, RunEncode, RunTrainAndEncode} }

// UnmarshalText reads one of train, encode or train-then-encode.
func (m *RunMode) UnmarshalText(b []byte) error { return unmarshalChoice(m, b) }

// MarshalText writes m as it is.
func (m RunMode) MarshalText() ([]byte, error) { return []byte(m), nil }

// Layout is an input table's shape (input.layout, schemas.Layout); empty
// detects it from the files.
type Layout string

func (Layout) choices() []Layout {
	return []Layout{Layout(schemas.Nested), Layout(schemas.Columns), Layout(schemas.Long)}
}

// UnmarshalText reads one of nested, columns or long, or nothing (detect).
func (l *Layout) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*l = ""
		return nil
	}
	return unmarshalChoice(l, b)
}

// MarshalText writes l as it is.
func (l Layout) MarshalText() ([]byte, error) { return []byte(l), nil }

// Duplicates says what becomes of repeated ids (input.duplicates,
// schemas.DuplicatePolicy).
type Duplicates string

func (Duplicates) choices() []Duplicates {
	return []Duplicates{Duplicates(schemas.QuarantineDuplicates), Duplicates(schemas.KeepDuplicates)}
}

// UnmarshalText reads quarantine or keep.
func (d *Duplicates) UnmarshalText(b []byte) error { return unmarshalChoice(d, b) }

// MarshalText writes d as it is.
func (d Duplicates) MarshalText() ([]byte, error) { return []byte(d), nil }

// Head is the model's output head (model.head, nn.Head).
type Head string

func (Head) choices() []Head { return []Head{Head(nn.HeadLinear), Head(nn.HeadNone)} }

// UnmarshalText reads linear or none.
func (h *Head) UnmarshalText(b []byte) error { return unmarshalChoice(h, b) }

// MarshalText writes h as it is.
func (h Head) MarshalText() ([]byte, error) { return []byte(h), nil }

// BatchMode is how sequences are batched (batching.mode, stages.Mode).
type BatchMode string

func (BatchMode) choices() []BatchMode {
	return []BatchMode{BatchMode(stages.Exact), BatchMode(stages.Padded)}
}

// UnmarshalText reads exact or padded.
func (m *BatchMode) UnmarshalText(b []byte) error { return unmarshalChoice(m, b) }

// MarshalText writes m as it is.
func (m BatchMode) MarshalText() ([]byte, error) { return []byte(m), nil }

// Format is the output tables' file format (output.format, schemas.Format).
type Format string

func (Format) choices() []Format { return []Format{Format(schemas.Parquet), Format(schemas.Arrow)} }

// UnmarshalText reads parquet or arrow.
func (f *Format) UnmarshalText(b []byte) error { return unmarshalChoice(f, b) }

// MarshalText writes f as it is.
func (f Format) MarshalText() ([]byte, error) { return []byte(f), nil }

// choice is a setting that takes one word from its type's list.
type choice[T any] interface {
	~string
	choices() []T
}

// Choices lists the words a choice setting takes, for help texts:
// Choices[Format]() is "parquet or arrow".
func Choices[T choice[T]]() string {
	var zero T
	words := words(zero.choices())
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// checkChoice reports whether v is one of its type's words.
func checkChoice[T choice[T]](v T) error {
	if slices.Contains(v.choices(), v) {
		return nil
	}
	return fmt.Errorf("must be one of %s, got %q", strings.Join(words(v.choices()), ", "), string(v))
}

func unmarshalChoice[T choice[T]](p *T, b []byte) error {
	v := T(b)
	if err := checkChoice(v); err != nil {
		return err
	}
	*p = v
	return nil
}

func words[T ~string](list []T) []string {
	out := make([]string, len(list))
	for i, w := range list {
		out[i] = string(w)
	}
	return out
}
