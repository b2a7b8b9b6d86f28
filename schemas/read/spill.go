package read

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/seqae/seqae/schemas"
)

// Spill folders. A ReadUnit of the long layout whose rows pass its share
// of the group budget writes sorted runs to a folder of its own under
// Spec.SpillDir, named seqae-spill-<pid>-<random>, holding a lock file on
// which it keeps an exclusive flock from before the folder has its name
// until after the folder is removed. ReadUnit removes the folder on every
// return, error, cancellation or panic; a process killed meanwhile leaves
// it, and the next spilling ReadUnit on the machine removes every such
// folder whose lock is free. (Where flock is not available, left-over
// folders are not reclaimed.)

const (
	spillPrefix = "seqae-spill-"
	spillLock   = "lock"
	// spillBuffer is the buffer of each run file being written or merged.
	spillBuffer = 64 << 10
	// maxFanIn is the most runs merged at once; more are merged in passes.
	maxFanIn = 64
)

// spillDir is one ReadUnit's spill folder, locked while it exists.
type spillDir struct {
	path string
	lock *os.File
	runs int // run files created so far, for their names
}

// newSpillDir reclaims the spill folders of dead runs under parent
// (os.TempDir() when empty) and makes a locked folder of its own there.
func newSpillDir(parent string) (*spillDir, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	reclaimSpill(parent)
	tmp, err := os.MkdirTemp(parent, ".seqae-spill-new-*")
	if err != nil {
		return nil, fmt.Errorf("spill folder: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(tmp, spillLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		if lerr := lockSpill(lock); !errors.Is(lerr, errors.ErrUnsupported) {
			err = lerr
		}
	}
	var b [6]byte
	rand.Read(b[:])
	d := &spillDir{path: filepath.Join(parent, fmt.Sprintf("%s%d-%s", spillPrefix, os.Getpid(), hex.EncodeToString(b[:]))), lock: lock}
	if err == nil {
		err = os.Rename(tmp, d.path)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("spill folder: %w", err)
	}
	return d, nil
}

// remove deletes the folder, then lets go of its lock.
func (d *spillDir) remove() error {
	err := os.RemoveAll(d.path)
	d.lock.Close()
	if err != nil {
		return fmt.Errorf("removing the spill folder: %w", err)
	}
	return nil
}

// reclaimSpill removes the spill folders under parent whose lock no
// process holds. It is best effort: a folder it cannot remove is left.
func reclaimSpill(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), spillPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		f, err := os.OpenFile(filepath.Join(dir, spillLock), os.O_RDWR, 0)
		if err != nil {
			continue // not a folder of seqae's making, or gone
		}
		if lockSpill(f) == nil {
			os.RemoveAll(dir)
		}
		f.Close()
	}
}

// A run file holds steps sorted by cmpKeys, each encoded as:
//
//	id        uvarint length and bytes (string ids) or varint (integer ids)
//	flags     byte: 1 the order is null, 2 the row has a problem
//	order     varint, unless null
//	at        uvarint
//	problem   reason and detail, each an uvarint length and bytes; or,
//	          when the row has none, dim float32s (little-endian bits)
//	pass      per value a byte of flags (1 null, 2 Int, 4 Float, 8 Str
//	          set) and the fields set: varint, float64 bits, uvarint
//	          length and bytes

// runWriter writes one run file.
type runWriter struct {
	f    *os.File
	w    *bufio.Writer
	buf  []byte
	strs bool
}

func (d *spillDir) create(strIDs bool) (*runWriter, error) {
	name := filepath.Join(d.path, fmt.Sprintf("run-%06d", d.runs))
	d.runs++
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	return &runWriter{f: f, w: bufio.NewWriterSize(f, spillBuffer), strs: strIDs}, nil
}

func (rw *runWriter) write(s *step) error {
	b := rw.buf[:0]
	if rw.strs {
		b = binary.AppendUvarint(b, uint64(len(s.id.Str)))
		b = append(b, s.id.Str...)
	} else {
		b = binary.AppendVarint(b, s.id.Int)
	}
	var flags byte
	if s.orderNull {
		flags |= 1
	}
	if s.bad != nil {
		flags |= 2
	}
	b = append(b, flags)
	if !s.orderNull {
		b = binary.AppendVarint(b, s.order)
	}
	b = binary.AppendUvarint(b, uint64(s.at))
	if s.bad != nil {
		b = appendString(b, string(s.bad.reason))
		b = appendString(b, s.bad.detail)
	} else {
		for _, v := range s.vals {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	for _, v := range s.pass {
		var f byte
		if v.Null {
			f |= 1
		}
		if v.Int != 0 {
			f |= 2
		}
		if v.Float != 0 || math.Signbit(v.Float) {
			f |= 4
		}
		if v.Str != "" {
			f |= 8
		}
		b = append(b, f)
		if f&2 != 0 {
			b = binary.AppendVarint(b, v.Int)
		}
		if f&4 != 0 {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float))
		}
		if f&8 != 0 {
			b = appendString(b, v.Str)
		}
	}
	rw.buf = b
	if _, err := rw.w.Write(b); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// close flushes and closes the file, returning its name.
func (rw *runWriter) close() (string, error) {
	err := rw.w.Flush()
	if cerr := rw.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("spill: %w", err)
	}
	return rw.f.Name(), nil
}

// runReader reads a run file's steps in order into cur.
type runReader struct {
	f    *os.File
	r    *bufio.Reader
	cur  step
	strs bool
	buf  []byte
}

func openRun(name string, strIDs bool, dim, npass int) (*runReader, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	rr := &runReader{f: f, r: bufio.NewReaderSize(f, spillBuffer), strs: strIDs}
	rr.cur.vals = make([]float32, dim)
	rr.cur.pass = make([]schemas.Value, npass)
	return rr, nil
}

func (rr *runReader) close() { rr.f.Close() }

// next reads the next step into cur; false at the end of the file.
func (rr *runReader) next() (bool, error) {
	ok, err := rr.decode()
	if err != nil {
		return false, fmt.Errorf("spill file %s: %w", rr.f.Name(), err)
	}
	return ok, nil
}

func (rr *runReader) decode() (bool, error) {
	s := &rr.cur
	if _, err := rr.r.Peek(1); err == io.EOF {
		return false, nil
	}
	var err error
	if rr.strs {
		if s.id.Str, err = rr.string(); err != nil {
			return false, err
		}
	} else if s.id.Int, err = binary.ReadVarint(rr.r); err != nil {
		return false, unexpected(err)
	}
	flags, err := rr.r.ReadByte()
	if err != nil {
		return false, unexpected(err)
	}
	s.orderNull, s.order = flags&1 != 0, 0
	if !s.orderNull {
		if s.order, err = binary.ReadVarint(rr.r); err != nil {
			return false, unexpected(err)
		}
	}
	at, err := binary.ReadUvarint(rr.r)
	if err != nil {
		return false, unexpected(err)
	}
	s.at = int64(at)
	s.bad = nil
	if flags&2 != 0 {
		var p problem
		reason, err := rr.string()
		if err != nil {
			return false, err
		}
		if p.detail, err = rr.string(); err != nil {
			return false, err
		}
		p.reason = schemas.Reason(reason)
		s.bad = &p
	} else {
		b, err := rr.bytes(4 * len(s.vals))
		if err != nil {
			return false, err
		}
		for i := range s.vals {
			s.vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	}
	for i := range s.pass {
		f, err := rr.r.ReadByte()
		if err != nil {
			return false, unexpected(err)
		}
		v := schemas.Value{Null: f&1 != 0}
		if f&2 != 0 {
			if v.Int, err = binary.ReadVarint(rr.r); err != nil {
				return false, unexpected(err)
			}
		}
		if f&4 != 0 {
			b, err := rr.bytes(8)
			if err != nil {
				return false, err
			}
			v.Float = math.Float64frombits(binary.LittleEndian.Uint64(b))
		}
		if f&8 != 0 {
			if v.Str, err = rr.string(); err != nil {
				return false, err
			}
		}
		s.pass[i] = v
	}
	return true, nil
}

func (rr *runReader) bytes(n int) ([]byte, error) {
	if cap(rr.buf) < n {
		rr.buf = make([]byte, n)
	}
	b := rr.buf[:n]
	if _, err := io.ReadFull(rr.r, b); err != nil {
		return nil, unexpected(err)
	}
	return b, nil
}

func (rr *runReader) string() (string, error) {
	n, err := binary.ReadUvarint(rr.r)
	if err != nil {
		return "", unexpected(err)
	}
	if n > 1<<30 {
		return "", fmt.Errorf("a length of %d bytes: %w", n, schemas.ErrCorrupt)
	}
	b, err := rr.bytes(int(n))
	return string(b), err
}

// unexpected turns an end of file inside a step into an error.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// step is one long layout row whose id is not null.
type step struct {
	key
	bad  *problem  // the row's first problem; nil when it has none
	vals []float32 // dim features; meaningless when bad is set
	pass []schemas.Value
}

// key is what steps are sorted by.
type key struct {
	id        schemas.Value
	order     int64
	orderNull bool
	// at is the row's place in the unit: the rows of the files before its
	// file, plus its row index in its file.
	at int64
}
