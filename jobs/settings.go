package jobs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/read"
	"github.com/seqae/seqae/schemas/write"
	"github.com/seqae/seqae/stages"
)

// The types of settings that parse and check themselves
// (encoding.TextUnmarshaler): ByteSize, and those that take one word from a
// fixed list. The job file, the SEQAE_* variables, --set, the dedicated
// flags (cmd/seqae's textFlag) and every error message take the list from
// the type, and the list is made of the constants of the package that uses
// the value (schemas, nn, stages).

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
// read.DuplicatePolicy).
type Duplicates string

func (Duplicates) choices() []Duplicates {
	return []Duplicates{Duplicates(read.QuarantineDuplicates), Duplicates(read.KeepDuplicates)}
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

// Format is the output tables' file format (output.format, write.Format).
type Format string

func (Format) choices() []Format { return []Format{Format(write.Parquet), Format(write.Arrow)} }

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

// ByteSize is a number of bytes, written in job files as an integer or
// with a unit: 512MiB, 2GiB, 800MB (KB, MB, GB are powers of 1000; KiB,
// MiB, GiB powers of 1024).
type ByteSize int64

var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// ParseByteSize reads a ByteSize.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	factor := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, factor = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || n*float64(factor) > 1<<62 {
		return 0, fmt.Errorf("must be a size such as 512MiB, 2GiB or 1000000, got %q", s)
	}
	return ByteSize(n * float64(factor)), nil
}

// String writes b with the largest binary unit that divides it.
func (b ByteSize) String() string {
	for _, u := range []struct {
		suffix string
		factor int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.factor == 0 {
			return fmt.Sprintf("%d%s", int64(b)/u.factor, u.suffix)
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// UnmarshalText reads b as ParseByteSize does.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalYAML writes b as String does.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }
