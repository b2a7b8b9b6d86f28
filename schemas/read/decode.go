package read

import (
	"bytes"
	"fmt"
	"math"
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
	if nestedFast && p.ok() {
		if out, steps, dim, ok := nestedRowFast(s, lv, wantDim, maxLen, buf); ok {
			return out, steps, dim, nil
		}
	}
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

// nestedFast turns nestedRowFast on; tests turn it off to compare.
var nestedFast = true

// nestedRowFast decodes the common row at once: one that ends within the
// current page, with no null or empty list, every step of dim features
// (wantDim, or the first step's) and every value finite, no longer than
// maxLen. Its entries are then the repetition levels 0, 2, ..., 2, 1, 2,
// ..., all at the maximum definition level, and its values lie together in
// the page (or their dictionary indexes do), so it checks the levels as
// bytes and the values as bits, and appends them in one pass, instead of
// judging each entry. It returns ok =
// false, having consumed nothing, for any other row: nestedRow then decodes
// it (and says what is wrong with it).
func nestedRowFast(s *floatStream, lv *levels, wantDim, maxLen int, buf []float32) (_ []float32, steps, dim int, ok bool) {
	if lv.maxRep != 2 || s.li >= s.n {
		return buf, 0, 0, false
	}
	reps, defs := s.reps[s.li:s.n], s.defs[s.li:s.n]
	if reps[0] != 0 {
		return buf, 0, 0, false
	}
	// The row's end: the next entry at repetition level 0, which must lie
	// in this page (a row running to the page's end may go on in the next).
	end := bytes.IndexByte(reps[1:], 0) + 1
	if end == 0 {
		return buf, 0, 0, false
	}
	dim = wantDim
	if dim == 0 {
		for dim = 1; dim < end && reps[dim] == 2; dim++ {
		}
	}
	if end%dim != 0 {
		return buf, 0, 0, false
	}
	steps = end / dim
	if maxLen > 0 && steps > maxLen {
		return buf, 0, 0, false
	}
	// Compared as bytes with the levels such a row has (memequal, many at
	// a time), not entry by entry.
	if !bytes.Equal(reps[:end], s.stepLevels(dim, end)) || !bytes.Equal(defs[:end], s.definedLevels(end)) {
		return buf, 0, 0, false
	}
	n := len(buf)
	switch {
	case s.idx != nil && s.dblPhys:
		for _, i := range s.idx[s.vi : s.vi+end] {
			buf = append(buf, float32(s.f64[i]))
		}
	case s.idx != nil:
		for _, i := range s.idx[s.vi : s.vi+end] {
			buf = append(buf, s.f32[i])
		}
	case s.dblPhys:
		for _, v := range s.f64[s.vi : s.vi+end] {
			buf = append(buf, float32(v))
		}
	default:
		buf = append(buf, s.f32[s.vi:s.vi+end]...)
	}
	for _, v := range buf[n:] {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return buf[:n], 0, 0, false
		}
	}
	s.li += end
	s.vi += end
	return buf, steps, dim, true
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
