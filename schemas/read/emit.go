package read

import (
	"fmt"

	"github.com/seqae/seqae/schemas"
)

// Stats counts what decoding a unit produced. Groups are the unit's
// sequences as the input defines them (a row for the nested and columns
// layouts; for the long layout the rows sharing an id, or one row whose id
// is null), and Groups == Sequences + Quarantined always holds. For the
// nested and columns layouts Rows == Groups.
type Stats struct {
	Rows, Groups, Sequences, Quarantined int64
}

// Add adds o's counts to s.
func (s *Stats) Add(o Stats) {
	s.Rows += o.Rows
	s.Groups += o.Groups
	s.Sequences += o.Sequences
	s.Quarantined += o.Quarantined
}

// Sink receives what ReadUnit decodes, in input order. The Sequence passed
// is the callee's to keep. A non-nil error stops ReadUnit, which returns it
// as it is (not wrapped, so that it does not read as an input error).
type Sink struct {
	Sequence   func(*schemas.Sequence) error
	Quarantine func(schemas.Quarantine) error
}

// sinkError carries an error of the caller's Sink out of the decoder.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }

// marked returns a Sink whose errors are marked as the caller's.
func (s Sink) marked() Sink {
	mark := func(err error) error {
		if err != nil {
			return &sinkError{err}
		}
		return nil
	}
	return Sink{
		Sequence:   func(q *schemas.Sequence) error { return mark(s.Sequence(q)) },
		Quarantine: func(q schemas.Quarantine) error { return mark(s.Quarantine(q)) },
	}
}

// atRow adds the row index to a decoding error.
func atRow(row int64, err error) error { return fmt.Errorf("row %d: %w", row, err) }

// emit passes a decoded sequence, or its quarantine record, to the sink.
func emit(sink Sink, st *Stats, p *problem, id schemas.Value, idKind schemas.Kind, src schemas.Loc, seq *schemas.Sequence) error {
	if !p.ok() {
		st.Quarantined++
		return sink.Quarantine(schemas.Quarantine{Src: src, ID: idText(id, idKind), IDNull: id.Null, Reason: p.reason, Detail: p.detail})
	}
	st.Sequences++
	return sink.Sequence(seq)
}

func idText(id schemas.Value, k schemas.Kind) string {
	if id.Null {
		return ""
	}
	return id.Format(k)
}

// problem is why a row is quarantined; the first one found in a row wins.
type problem struct {
	reason schemas.Reason
	detail string
}

func (p *problem) set(r schemas.Reason, format string, args ...any) {
	if p.reason == "" {
		p.reason = r
		p.detail = fmt.Sprintf(format, args...)
	}
}

func (p *problem) ok() bool { return p.reason == "" }
