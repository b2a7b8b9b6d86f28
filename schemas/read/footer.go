package read

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
)

// openOptions read only the footer of a file: page indexes and bloom
// filters are not needed, and pages are read in 1 MiB pieces.
var openOptions = []parquet.FileOption{parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(1 << 20)}

// openFooter reads a file's footer. parquet-go trusts the footer's length
// and its lists' lengths (it allocates what they claim: a 2 KiB file can
// ask for gigabytes, which is a fatal out-of-memory, not an error) and
// panics on some malformed footers, so the footer is checked first and
// panics are recovered into errors.
func openFooter(obj storage.Object, name string) (pf *parquet.File, err error) {
	if err := checkFooter(obj, obj.Size()); err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", name, err)
	}
	defer func() {
		if r := recover(); r != nil {
			pf, err = nil, fmt.Errorf("%s: not a readable Parquet file: %w: %v", name, schemas.ErrCorrupt, r)
		}
	}()
	pf, err = parquet.OpenFile(obj, obj.Size(), openOptions...)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", name, err)
	}
	return pf, nil
}

// checkFooter checks the magic numbers at both ends of a file, that the
// footer length fits in the file, and that the footer is well-formed
// Thrift whose lengths fit in the footer.
func checkFooter(r io.ReaderAt, size int64) error {
	const magic = "PAR1"
	if size < 12 {
		return fmt.Errorf("%d bytes is too short for a Parquet file: %w", size, schemas.ErrCorrupt)
	}
	var head [4]byte
	var tail [8]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return err
	}
	if _, err := r.ReadAt(tail[:], size-8); err != nil && err != io.EOF {
		return err
	}
	if string(head[:]) != magic || string(tail[4:]) != magic {
		return fmt.Errorf("no %s magic number at its start and end: %w", magic, schemas.ErrCorrupt)
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n+12 > size {
		return fmt.Errorf("footer of %d bytes in a file of %d: %w", n, size, schemas.ErrCorrupt)
	}
	footer := make([]byte, n)
	if _, err := r.ReadAt(footer, size-8-n); err != nil && err != io.EOF {
		return err
	}
	c := thriftCheck{b: footer}
	if err := c.structure(0); err != nil {
		return fmt.Errorf("footer at byte %d: %w: %w", c.off, err, schemas.ErrCorrupt)
	}
	return nil
}
