package read

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/seqae/seqae/schemas"
)

// ReadUnit decodes one unit, passing each valid sequence and each
// quarantined row to sink in input order, and returns the unit's counts.
// Errors (unreadable files, malformed pages, a long layout unit too large
// to group) name the file and column; bad values are quarantined, not
// errors. An error of the sink is returned as it is.
func (in *Input) ReadUnit(ctx context.Context, u Unit, sink Sink) (Stats, error) {
	if u.nfiles < 1 || u.file < 0 || u.file+u.nfiles > len(in.files) || in.files[u.file].name != u.File {
		return Stats{}, fmt.Errorf("unit %s is not one of this input's", u)
	}
	var st Stats
	var err error
	if in.spec.Layout == schemas.Long {
		err = in.readLong(ctx, u, sink.marked(), &st)
	} else {
		err = in.readRowGroup(ctx, u, sink.marked(), &st)
	}
	var se *sinkError
	switch {
	case errors.As(err, &se):
		return st, se.err
	case err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		err = fmt.Errorf("%s: %w", u, err)
	}
	return st, err
}

func (in *Input) readRowGroup(ctx context.Context, u Unit, sink Sink, st *Stats) error {
	f := in.files[u.file]
	obj, err := in.store.Open(ctx, f.name)
	if err != nil {
		return err
	}
	defer obj.Close()
	s := f.streams(obj, u.RowGroup)
	defer s.close()
	scratch := make([][]float32, len(s.feats))
	var buf []float32
	for i := int64(0); i < u.Rows; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var p problem
		src := schemas.Loc{File: f.name, RowGroup: u.RowGroup, Row: u.FirstRow + i}
		id, err := s.id.read()
		if err != nil {
			return atRow(src.Row, err)
		}
		if id.Null {
			p.set(schemas.NullID, "column %q is null", f.id.name)
		}
		pv := make([]schemas.Value, len(s.pass))
		for k, ps := range s.pass {
			if pv[k], err = ps.read(); err != nil {
				return atRow(src.Row, err)
			}
		}
		var vals []float32
		var steps, dim int
		if s.seq != nil {
			buf, steps, dim, err = nestedRow(s.seq, &f.seq.lv, f.seq.name, in.dim, in.spec.MaxLen, buf[:0], &p)
			if err != nil {
				return atRow(src.Row, err)
			}
			if p.ok() {
				vals = slices.Clone(buf)
			}
		} else {
			dim = len(s.feats)
			if vals, steps, err = columnsRow(s.feats, f.features, in.spec.MaxLen, scratch, &p); err != nil {
				return atRow(src.Row, err)
			}
		}
		st.Rows++
		st.Groups++
		if err := emit(sink, st, &p, id, f.id.kind, src, &schemas.Sequence{ID: id, Len: steps, Dim: dim, Values: vals, Pass: pv, Src: src}); err != nil {
			return err
		}
	}
	return nil
}
