package read

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/seqae/seqae/schemas"
)

// maxPageHeader is the most bytes a page header may take (its statistics
// included) for checkPages.
const maxPageHeader = 64 << 10

// checkPages reads the page headers of a column chunk and fails on a page
// that declares more than limit bytes, compressed or not: parquet-go
// allocates what a page header declares (up to 2 GiB each) before it reads
// the page. It reads each header once, not the pages. Spec.MaxPageBytes
// turns it on.
func checkPages(r io.ReaderAt, fc *parquet.FileColumnChunk, limit int64) error {
	md, err := chunkMeta(fc)
	if err != nil {
		return err
	}
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	if start < 0 || md.TotalCompressedSize < 0 || end > fc.File().Size() {
		return fmt.Errorf("column chunk at byte %d of %d bytes outside the file of %d: %w", start, md.TotalCompressedSize, fc.File().Size(), schemas.ErrCorrupt)
	}
	buf := make([]byte, 512)
	for off := start; off < end; {
		var h format.PageHeader
		n, err := readPageHeader(r, off, end, &buf, &h)
		if err != nil {
			return fmt.Errorf("page header at byte %d: %w: %w", off, err, schemas.ErrCorrupt)
		}
		if h.UncompressedPageSize < 0 || int64(h.UncompressedPageSize) > limit || h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > limit {
			return fmt.Errorf("page at byte %d declares %d bytes compressed and %d uncompressed, over the limit of %d: %w",
				off, h.CompressedPageSize, h.UncompressedPageSize, limit, schemas.ErrCorrupt)
		}
		off += int64(n) + int64(h.CompressedPageSize)
	}
	return nil
}

// readPageHeader decodes the page header at off, reading more of the chunk
// (up to maxPageHeader bytes) while it does not fit in buf, and returns its
// length.
func readPageHeader(r io.ReaderAt, off, end int64, buf *[]byte, h *format.PageHeader) (int, error) {
	for size := int64(len(*buf)); ; size *= 2 {
		size = min(size, end-off, maxPageHeader)
		if int64(cap(*buf)) < size {
			*buf = make([]byte, size)
		}
		b := (*buf)[:size]
		if _, err := r.ReadAt(b, off); err != nil && err != io.EOF {
			return 0, err
		}
		c := thriftCheck{b: b}
		err := c.structure(0)
		if err == nil {
			return c.off, thrift.Unmarshal(&thrift.CompactProtocol{}, b[:c.off], h)
		}
		if size == end-off || size == maxPageHeader {
			return 0, err
		}
	}
}

// chunkMeta finds a column chunk's metadata in its file's footer.
func chunkMeta(fc *parquet.FileColumnChunk) (*format.ColumnMetaData, error) {
	f := fc.File()
	for i, rg := range f.RowGroups() {
		chunks := rg.ColumnChunks()
		if fc.Column() < len(chunks) && chunks[fc.Column()] == parquet.ColumnChunk(fc) {
			return &f.Metadata().RowGroups[i].Columns[fc.Column()].MetaData, nil
		}
	}
	return nil, fmt.Errorf("column chunk not in its file's row groups")
}
