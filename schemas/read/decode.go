package read

import (
	"fmt"
	"strings"

	"github.com/seqae/seqae/schemas"
)

// entry reads the current level entry of s and checks it.
func entry(s *floatStream, lv *levels, name string, first bool) (r, d byte, err error) {
	r, d = s.rep(), s.def()
	return r, d, checkEntry(r, d, lv, name, first)
}

// nestedRow decodes one row of a list<list<float>> column (the nested
// layout), appending its values to buf while the row is valid and no longer
// than maxLen. wantDim is the required number of features per step; 0
// takes it from the row's first step. It returns the values, the number of
// steps and of features, and what is wrong with the row, if anything.
func nestedRow(s *floatStream, lv *levels, name string, wantDim, maxLen int, buf []float32, p *problem) ([]float32, int, int, error) {
	steps, dim, cur := 0, wantDim, -1
	closeStep := func() {
		if cur < 0 {
			return
		}
		switch {
		case dim == 0 && cur == 0:
			p.set(schemas.RaggedStep, "column %q: step %d has no features", name, steps-1)
		case dim == 0:
			dim = cur
		case cur != dim:
			p.set(schemas.RaggedStep, "column %q: step %d has %d features, want %d", name, steps-1, cur, dim)
		}
		cur = -1
	}
	for first := true; ; first = false {
		more, err := s.more()
		if err != nil {
			return buf, 0, 0, err
		}
		if !more {
			if first {
				return buf, 0, 0, fmt.Errorf("column %q: no more rows: %w", name, schemas.ErrCorrupt)
			}
			break
		}
		r, d, err := entry(s, lv, name, first)
		if err != nil {
			return buf, 0, 0, err
		}
		if !first && r == 0 {
			break
		}
		var val float64
		if d == lv.maxDef {
			val = s.float()
		}
		s.advance()
		if r <= 1 {
			closeStep()
			switch {
			case d < lv.parentDef[0]:
				p.set(schemas.NullSequence, "column %q is null", name)
				continue
			case d < lv.repDef[0]:
				p.set(schemas.EmptySequence, "column %q has no steps", name)
				continue
			}
			steps++
			if d < lv.parentDef[1] {
				p.set(schemas.NullStep, "column %q: step %d is null", name, steps-1)
				continue
			}
			cur = 0
			if d < lv.repDef[1] {
				continue
			}
		}
		if d < lv.maxDef {
			p.set(schemas.NullValue, "column %q: step %d feature %d is null", name, steps-1, cur)
		} else if f, ok := finite32(val); !ok {
			p.set(schemas.NonFinite, "column %q: step %d feature %d is %v", name, steps-1, cur, val)
		} else if p.ok() && (maxLen <= 0 || steps <= maxLen) {
			buf = append(buf, f)
		}
		cur++
	}
	closeStep()
	if p.ok() && maxLen > 0 && steps > maxLen {
		p.set(schemas.TooLong, "column %q: %d steps, max_len is %d", name, steps, maxLen)
	}
	return buf, steps, dim, nil
}

// listRow decodes one row of a list<float> column (one feature of the
// columns layout), appending its values to buf. It returns the values and
// the list's length; a null list sets NullSequence, an empty one nothing
// (the caller judges emptiness across features).
func listRow(s *floatStream, lv *levels, name string, maxLen int, buf []float32, p *problem) ([]float32, int, error) {
	n := 0
	for first := true; ; first = false {
		more, err := s.more()
		if err != nil {
			return buf, 0, err
		}
		if !more {
			if first {
				return buf, 0, fmt.Errorf("column %q: no more rows: %w", name, schemas.ErrCorrupt)
			}
			break
		}
		r, d, err := entry(s, lv, name, first)
		if err != nil {
			return buf, 0, err
		}
		if !first && r == 0 {
			break
		}
		var val float64
		if d == lv.maxDef {
			val = s.float()
		}
		s.advance()
		if r == 0 {
			if d < lv.parentDef[0] {
				p.set(schemas.NullSequence, "column %q is null", name)
				continue
			}
			if d < lv.repDef[0] {
				continue
			}
		}
		if d < lv.maxDef {
			p.set(schemas.NullValue, "column %q: step %d is null", name, n)
		} else if f, ok := finite32(val); !ok {
			p.set(schemas.NonFinite, "column %q: step %d is %v", name, n, val)
		} else if p.ok() && (maxLen <= 0 || n < maxLen) {
			buf = append(buf, f)
		}
		n++
	}
	return buf, n, nil
}

// columnsRow decodes one row of the columns layout from the feature
// streams: it checks that every feature list has the same length and
// interleaves them step-major into out. scratch holds one buffer per
// feature and is reused across rows.
func columnsRow(streams []*floatStream, cols []*column, maxLen int, scratch [][]float32, p *problem) ([]float32, int, error) {
	lens := make([]int, len(streams))
	for f, s := range streams {
		var err error
		scratch[f], lens[f], err = listRow(s, &cols[f].lv, cols[f].name, maxLen, scratch[f][:0], p)
		if err != nil {
			return nil, 0, err
		}
	}
	if !p.ok() {
		return nil, 0, nil
	}
	steps := lens[0]
	for f := range lens {
		if lens[f] != steps {
			p.set(schemas.RaggedStep, "column %q has %d steps, column %q has %d", cols[f].name, lens[f], cols[0].name, steps)
			return nil, 0, nil
		}
	}
	if steps == 0 {
		names := make([]string, len(cols))
		for f, c := range cols {
			names[f] = c.name
		}
		p.set(schemas.EmptySequence, "every feature column is empty (%s)", strings.Join(names, ", "))
		return nil, 0, nil
	}
	if maxLen > 0 && steps > maxLen {
		p.set(schemas.TooLong, "%d steps, max_len is %d", steps, maxLen)
		return nil, 0, nil
	}
	dim := len(streams)
	out := make([]float32, steps*dim)
	for f := range scratch {
		for t, v := range scratch[f] {
			out[t*dim+f] = v
		}
	}
	return out, steps, nil
}
