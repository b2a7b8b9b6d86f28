package read

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/schemas"
)

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
				if p.col.maxPage > 0 {
					if err := checkPages(p.r, fc, p.col.maxPage); err != nil {
						return nil, fmt.Errorf("column %q: %w", p.col.name, err)
					}
				}
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

// guard turns a panic in parquet-go, which panics on some malformed pages
// (dictionary indexes or value counts out of range), into an error naming
// the column. It is deferred by the stream methods that call into
// parquet-go, so a panic of the caller's own code is not caught.
func guard(c *column, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("column %q: %w: %v", c.name, schemas.ErrCorrupt, r)
	}
}

// checkLevels checks a page against its column: one repetition and one
// definition level per value (or none, where the column has no such
// levels) and no definition level past the maximum. It returns the number
// of non-null values.
func checkLevels(pg parquet.Page, c *column) (int, error) {
	n := int(pg.NumValues())
	reps, defs := pg.RepetitionLevels(), pg.DefinitionLevels()
	if len(reps) != 0 && len(reps) != n || len(defs) != 0 && len(defs) != n {
		return 0, fmt.Errorf("column %q: page has %d values but %d repetition and %d definition levels: %w", c.name, n, len(reps), len(defs), schemas.ErrCorrupt)
	}
	if len(defs) == 0 {
		return n, nil
	}
	nonNull := 0
	for _, d := range defs {
		if d == c.lv.maxDef {
			nonNull++
		} else if d > c.lv.maxDef {
			return 0, fmt.Errorf("column %q: definition level %d over the maximum %d: %w", c.name, d, c.lv.maxDef, schemas.ErrCorrupt)
		}
	}
	return nonNull, nil
}

// checkIndexes checks a dictionary-encoded page's indexes for its nonNull
// values against the dictionary's size.
func checkIndexes(c *column, idx []int32, nonNull, size int) error {
	if len(idx) < nonNull {
		return fmt.Errorf("column %q: page has %d dictionary indexes for %d values: %w", c.name, len(idx), nonNull, schemas.ErrCorrupt)
	}
	for _, i := range idx[:nonNull] {
		if i < 0 || int(i) >= size {
			return fmt.Errorf("column %q: dictionary index %d out of range [0,%d): %w", c.name, i, size, schemas.ErrCorrupt)
		}
	}
	return nil
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
	src     pageSource
	reps    []byte
	defs    []byte
	f32     []float32
	f64     []float64
	idx     []int32 // dictionary indexes, when the page is dictionary encoded
	n, li   int     // levels in the page, current level
	vi      int     // current value (index into the dense values)
	zeros   []byte
	maxDef  byte
	dblPhys bool

	steps    []byte // the repetition levels of a valid nested row of stepsDim features a step
	stepsDim int
	defined  []byte // maxDef, over and over: a page's levels when it has none, and a valid row's
}

// stepLevels returns the repetition levels of the first n entries of a
// valid nested row of dim features a step: 0, 2, ..., 2, then 1, 2, ...,
// 2 for each later step.
func (s *floatStream) stepLevels(dim, n int) []byte {
	if s.stepsDim != dim || len(s.steps) < n {
		s.steps = slices.Grow(s.steps[:0], max(n, 2*len(s.steps)))[:max(n, 2*len(s.steps))]
		for i := range s.steps {
			s.steps[i] = 2
			if i%dim == 0 {
				s.steps[i] = 1
			}
		}
		s.steps[0], s.stepsDim = 0, dim
	}
	return s.steps[:n]
}

// definedLevels returns n definition levels of a defined value (the
// stream's buffer: the same for every call).
func (s *floatStream) definedLevels(n int) []byte {
	if len(s.defined) < n {
		s.defined = fill(s.defined, max(n, 2*len(s.defined)), s.maxDef)
	}
	return s.defined[:n]
}

func newFloatStream(c *column, r io.ReaderAt, chunks []parquet.ColumnChunk) *floatStream {
	return &floatStream{src: pageSource{col: c, r: r, chunks: chunks}, maxDef: c.lv.maxDef, dblPhys: c.phys == parquet.Double}
}

func (s *floatStream) more() (bool, error) {
	if s.li < s.n {
		return true, nil
	}
	return s.nextPage()
}

// nextPage loads pages until one has entries; false at the end.
func (s *floatStream) nextPage() (more bool, err error) {
	defer guard(s.src.col, &err)
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
	c := s.src.col
	nonNull, err := checkLevels(pg, c)
	if err != nil {
		return err
	}
	n := int(pg.NumValues())
	s.reps, s.defs = pg.RepetitionLevels(), pg.DefinitionLevels()
	if len(s.reps) == 0 {
		s.zeros = fill(s.zeros, n, 0)
		s.reps = s.zeros
	}
	if len(s.defs) == 0 {
		s.defs = s.definedLevels(n)
	}
	data := pg.Data()
	s.idx = nil
	values := data
	if dict := pg.Dictionary(); dict != nil {
		s.idx = data.Int32()
		values = dict.Page().Data()
	}
	have := 0
	if s.dblPhys {
		s.f64 = values.Double()
		have = len(s.f64)
	} else {
		s.f32 = values.Float()
		have = len(s.f32)
	}
	if s.idx != nil {
		if err := checkIndexes(c, s.idx, nonNull, have); err != nil {
			return err
		}
	} else if have < nonNull {
		return fmt.Errorf("column %q: page has %d values for %d non-null levels: %w", c.name, have, nonNull, schemas.ErrCorrupt)
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
	src  pageSource
	vr   parquet.ValueReader
	buf  []parquet.Value
	i, n int
}

func newValueStream(c *column, r io.ReaderAt, chunks []parquet.ColumnChunk) *valueStream {
	return &valueStream{src: pageSource{col: c, r: r, chunks: chunks}, buf: make([]parquet.Value, 256)}
}

func (s *valueStream) more() (bool, error) {
	if s.i < s.n {
		return true, nil
	}
	return s.fill()
}

// fill reads the next values, loading pages as needed; false at the end.
func (s *valueStream) fill() (more bool, err error) {
	c := s.src.col
	defer guard(c, &err)
	for s.i >= s.n {
		if s.vr != nil {
			n, err := s.vr.ReadValues(s.buf)
			s.i, s.n = 0, n
			if n > 0 {
				continue
			}
			if err != nil && err != io.EOF {
				return false, fmt.Errorf("column %q: %w", c.name, err)
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
		// parquet-go looks dictionary indexes up without checking them.
		nonNull, err := checkLevels(pg, c)
		if err != nil {
			return false, err
		}
		if dict := pg.Dictionary(); dict != nil {
			data := pg.Data()
			if err := checkIndexes(c, data.Int32(), nonNull, dict.Len()); err != nil {
				return false, err
			}
		}
		s.vr = pg.Values()
	}
	return true, nil
}

func (s *valueStream) rep() byte             { return byte(s.buf[s.i].RepetitionLevel()) }
func (s *valueStream) def() byte             { return byte(s.buf[s.i].DefinitionLevel()) }
func (s *valueStream) scalar() parquet.Value { return s.buf[s.i] }
func (s *valueStream) advance()              { s.i++ }
func (s *valueStream) close()                { s.src.close() }

// read reads one row of a scalar column.
func (s *valueStream) read() (schemas.Value, error) {
	c := s.src.col
	if _, _, err := scalarRow(s, &c.lv, c.name); err != nil {
		return schemas.Value{}, err
	}
	v := toValue(s.scalar(), c.kind, c.phys)
	s.advance()
	return v, nil
}

// streams are one file's column streams over some of its row groups.
type streams struct {
	id, order *valueStream   // order: long layout
	pass      []*valueStream // in Input.PassFields order
	seq       *floatStream   // nested layout
	feats     []*floatStream // columns and long layouts
}

func (f *inputFile) streams(r io.ReaderAt, groups ...int) *streams {
	vs := func(c *column) *valueStream { return newValueStream(c, r, rowGroupChunks(f.pf, c, groups...)) }
	fs := func(c *column) *floatStream { return newFloatStream(c, r, rowGroupChunks(f.pf, c, groups...)) }
	s := &streams{id: vs(f.id)}
	if f.order != nil {
		s.order = vs(f.order)
	}
	if f.seq != nil {
		s.seq = fs(f.seq)
	}
	for _, c := range f.pass {
		s.pass = append(s.pass, vs(c))
	}
	for _, c := range f.features {
		s.feats = append(s.feats, fs(c))
	}
	return s
}

func (s *streams) close() {
	s.id.close()
	if s.order != nil {
		s.order.close()
	}
	if s.seq != nil {
		s.seq.close()
	}
	for _, p := range s.pass {
		p.close()
	}
	for _, f := range s.feats {
		f.close()
	}
}

// rowGroupChunks returns one column's chunks in the given row groups.
func rowGroupChunks(pf *parquet.File, c *column, groups ...int) []parquet.ColumnChunk {
	rgs := pf.RowGroups()
	out := make([]parquet.ColumnChunk, len(groups))
	for i, g := range groups {
		out[i] = rgs[g].ColumnChunks()[c.index]
	}
	return out
}

// finite32 converts v to float32 and reports whether the result is finite
// (NaN, ±Inf and float64 values past float32's range are not).
func finite32(v float64) (float32, bool) {
	f := float32(v)
	return f, math.Float32bits(f)&0x7f800000 != 0x7f800000
}

// scalarRow reads one row of a non-repeated column.
func scalarRow(s levelReader, lv *levels, name string) (r, d byte, err error) {
	more, err := s.more()
	if err != nil {
		return 0, 0, err
	}
	if !more {
		return 0, 0, fmt.Errorf("column %q: no more rows: %w", name, schemas.ErrCorrupt)
	}
	r, d = s.rep(), s.def()
	return r, d, checkEntry(r, d, lv, name, true)
}

// checkEntry checks a level entry against a column's levels; first says
// whether it must start a row.
func checkEntry(r, d byte, lv *levels, name string, first bool) error {
	if first && r != 0 || r > lv.maxRep || d > lv.maxDef || r > 0 && d < lv.repDef[r-1] {
		return badEntry(r, d, lv, name, first)
	}
	return nil
}

func badEntry(r, d byte, lv *levels, name string, first bool) error {
	switch {
	case first && r != 0:
		return fmt.Errorf("column %q: row starts at repetition level %d: %w", name, r, schemas.ErrCorrupt)
	case r > lv.maxRep:
		return fmt.Errorf("column %q: repetition level %d over the maximum %d: %w", name, r, lv.maxRep, schemas.ErrCorrupt)
	case d > lv.maxDef:
		return fmt.Errorf("column %q: definition level %d over the maximum %d: %w", name, d, lv.maxDef, schemas.ErrCorrupt)
	}
	return fmt.Errorf("column %q: repeated entry at level %d with definition level %d: %w", name, r, d, schemas.ErrCorrupt)
}
