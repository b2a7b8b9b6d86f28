package schemas

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/parquet-go/parquet-go"
)

// errCorrupt marks errors about malformed files (as opposed to bad values,
// which are quarantined).
var errCorrupt = errors.New("malformed parquet column")

// pageSource yields the pages of one column across consecutive column
// chunks (one chunk for a row group unit, all of a file's for the long
// layout).
type pageSource struct {
	col    *column
	r      io.ReaderAt
	chunks []parquet.ColumnChunk
	next   int
	pages  parquet.Pages
	page   parquet.Page
}

// nextPage releases the current page and returns the next one, or io.EOF
// after the last chunk.
func (p *pageSource) nextPage() (parquet.Page, error) {
	if p.page != nil {
		parquet.Release(p.page)
		p.page = nil
	}
	for {
		if p.pages == nil {
			if p.next == len(p.chunks) {
				return nil, io.EOF
			}
			ch := p.chunks[p.next]
			p.next++
			if fc, ok := ch.(*parquet.FileColumnChunk); ok && p.r != nil {
				p.pages = fc.PagesFrom(p.r)
			} else {
				p.pages = ch.Pages()
			}
		}
		pg, err := p.pages.ReadPage()
		if err == io.EOF {
			p.pages.Close()
			p.pages = nil
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", p.col.name, err)
		}
		p.page = pg
		return pg, nil
	}
}

func (p *pageSource) close() {
	if p.page != nil {
		parquet.Release(p.page)
		p.page = nil
	}
	if p.pages != nil {
		p.pages.Close()
		p.pages = nil
	}
}

// levelReader is a column's stream of (repetition level, definition
// level) entries, one value each where the definition level is the
// maximum; rows start at repetition level 0.
type levelReader interface {
	// more reports whether an entry is available, loading pages as needed.
	more() (bool, error)
	rep() byte
	def() byte
}

// floatStream reads a FLOAT or DOUBLE column straight from the pages'
// decoded buffers (levels and dense values, through the dictionary when
// there is one).
type floatStream struct {
	src      pageSource
	reps     []byte
	defs     []byte
	f32      []float32
	f64      []float64
	idx      []int32 // dictionary indexes, when the page is dictionary encoded
	n, li    int     // levels in the page, current level
	vi       int     // current value (index into the dense values)
	zeros    []byte
	full     []byte
	maxDef   byte
	dblPhys  bool
	dictSize int
}

func newFloatStream(c *column, r io.ReaderAt, chunks []parquet.ColumnChunk) *floatStream {
	return &floatStream{src: pageSource{col: c, r: r, chunks: chunks}, maxDef: c.lv.maxDef, dblPhys: c.phys == parquet.Double}
}

func (s *floatStream) more() (bool, error) {
	for s.li >= s.n {
		pg, err := s.src.nextPage()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if err := s.load(pg); err != nil {
			return false, err
		}
	}
	return true, nil
}

// fill returns b resized to n bytes of value v, reusing its storage.
func fill(b []byte, n int, v byte) []byte {
	if cap(b) < n {
		b = make([]byte, n)
	}
	b = b[:n]
	for i := range b {
		b[i] = v
	}
	return b
}

func (s *floatStream) load(pg parquet.Page) error {
	n := int(pg.NumValues())
	s.reps, s.defs = pg.RepetitionLevels(), pg.DefinitionLevels()
	if len(s.reps) == 0 {
		s.zeros = fill(s.zeros, n, 0)
		s.reps = s.zeros
	}
	if len(s.defs) == 0 {
		s.full = fill(s.full, n, s.maxDef)
		s.defs = s.full
	}
	if len(s.reps) != n || len(s.defs) != n {
		return fmt.Errorf("column %q: page has %d values but %d repetition and %d definition levels: %w", s.src.col.name, n, len(s.reps), len(s.defs), errCorrupt)
	}
	nonNull := 0
	for _, d := range s.defs {
		if d == s.maxDef {
			nonNull++
		} else if d > s.maxDef {
			return fmt.Errorf("column %q: definition level %d over the maximum %d: %w", s.src.col.name, d, s.maxDef, errCorrupt)
		}
	}
	data := pg.Data()
	s.idx = nil
	if dict := pg.Dictionary(); dict != nil {
		s.idx = data.Int32()
		dd := dict.Page().Data()
		if s.dblPhys {
			s.f64 = dd.Double()
			s.dictSize = len(s.f64)
		} else {
			s.f32 = dd.Float()
			s.dictSize = len(s.f32)
		}
		if len(s.idx) < nonNull {
			return fmt.Errorf("column %q: page has %d dictionary indexes for %d values: %w", s.src.col.name, len(s.idx), nonNull, errCorrupt)
		}
		for _, i := range s.idx[:nonNull] {
			if i < 0 || int(i) >= s.dictSize {
				return fmt.Errorf("column %q: dictionary index %d out of range [0,%d): %w", s.src.col.name, i, s.dictSize, errCorrupt)
			}
		}
	} else {
		have := 0
		if s.dblPhys {
			s.f64 = data.Double()
			have = len(s.f64)
		} else {
			s.f32 = data.Float()
			have = len(s.f32)
		}
		if have < nonNull {
			return fmt.Errorf("column %q: page has %d values for %d non-null levels: %w", s.src.col.name, have, nonNull, errCorrupt)
		}
	}
	s.n, s.li, s.vi = n, 0, 0
	return nil
}

func (s *floatStream) rep() byte { return s.reps[s.li] }
func (s *floatStream) def() byte { return s.defs[s.li] }

func (s *floatStream) float() float64 {
	i := s.vi
	if s.idx != nil {
		i = int(s.idx[i])
	}
	if s.dblPhys {
		return s.f64[i]
	}
	return float64(s.f32[i])
}

func (s *floatStream) advance() {
	if s.defs[s.li] == s.maxDef {
		s.vi++
	}
	s.li++
}

func (s *floatStream) close() { s.src.close() }

// valueStream reads any column as parquet.Values; used for the id, order
// and pass-through columns (one value per row).
type valueStream struct {
	src    pageSource
	vr     parquet.ValueReader
	buf    []parquet.Value
	i, n   int
	maxDef byte
}

func newValueStream(c *column, r io.ReaderAt, chunks []parquet.ColumnChunk) *valueStream {
	return &valueStream{src: pageSource{col: c, r: r, chunks: chunks}, buf: make([]parquet.Value, 256), maxDef: c.lv.maxDef}
}

func (s *valueStream) more() (bool, error) {
	for s.i >= s.n {
		if s.vr != nil {
			n, err := s.vr.ReadValues(s.buf)
			s.i, s.n = 0, n
			if n > 0 {
				if err := s.check(); err != nil {
					return false, err
				}
				continue
			}
			if err != nil && err != io.EOF {
				return false, fmt.Errorf("column %q: %w", s.src.col.name, err)
			}
			s.vr = nil
			continue
		}
		pg, err := s.src.nextPage()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		s.vr = pg.Values()
	}
	return true, nil
}

func (s *valueStream) check() error {
	for _, v := range s.buf[:s.n] {
		if d := byte(v.DefinitionLevel()); d > s.maxDef {
			return fmt.Errorf("column %q: definition level %d over the maximum %d: %w", s.src.col.name, d, s.maxDef, errCorrupt)
		}
	}
	return nil
}

func (s *valueStream) rep() byte             { return byte(s.buf[s.i].RepetitionLevel()) }
func (s *valueStream) def() byte             { return byte(s.buf[s.i].DefinitionLevel()) }
func (s *valueStream) scalar() parquet.Value { return s.buf[s.i] }
func (s *valueStream) advance()              { s.i++ }
func (s *valueStream) close()                { s.src.close() }

// finite32 converts v to float32 and reports whether the result is finite
// (NaN, ±Inf and float64 values past float32's range are not).
func finite32(v float64) (float32, bool) {
	f := float32(v)
	return f, math.Float32bits(f)&0x7f800000 != 0x7f800000
}
