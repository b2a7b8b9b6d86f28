package read

import (
	"encoding/binary"
	"fmt"
	_ "unsafe" // for go:linkname

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"

	"github.com/seqae/seqae/schemas"
)

// parquetCodecs is parquet-go's table of the codecs it decodes pages with,
// indexed by codec. parquet-go (v0.32) has no way to register a codec, so
// init replaces its LZ4_RAW, ZSTD and SNAPPY entries through this name, and
// fills its empty LZ4 entry (the deprecated codec parquet-go cannot read);
// init checks the table is where and what it expects, and TestCodecs reads
// files of every codec.
//
//go:linkname parquetCodecs github.com/parquet-go/parquet-go.compressionCodecs
var parquetCodecs [format.Lz4Raw + 1]compress.Codec

func init() {
	if parquetCodecs[format.Snappy] != &parquet.Snappy || parquetCodecs[format.Zstd] != &parquet.Zstd || parquetCodecs[format.Lz4Raw] != &parquet.Lz4Raw {
		panic("schemas: parquet-go's codec table is not laid out as this package expects; see codecs.go")
	}
	if parquetCodecs[format.Lz4] != nil {
		panic("schemas: parquet-go now has an LZ4 codec; see codecs.go")
	}
	parquetCodecs[format.Lz4Raw] = lz4Raw{}
	parquetCodecs[format.Lz4] = hadoopLZ4{}
	parquetCodecs[format.Zstd] = boundedZstd{}
	parquetCodecs[format.Snappy] = boundedSnappy{}
}

// Every page decoder is handed dst with the length the page header declares
// uncompressed (parquet-go sizes its page buffer so); the decoders below
// never make the page larger than that, whatever the compressed bytes claim.

// lz4Raw is the LZ4_RAW codec, decoding a page's block into dst and never
// more. parquet-go's own decoder guesses three times the compressed size
// and doubles it while decoding fails: a damaged page grows it without
// bound, and a valid page decoded into a buffer it reallocated to exactly
// the page's size is dropped (parquet-go then reads the buffer it had
// passed in, which holds whatever was there before).
type lz4Raw struct{}

func (lz4Raw) String() string { return "LZ4_RAW" }

func (lz4Raw) CompressionCodec() format.CompressionCodec { return format.Lz4Raw }

func (lz4Raw) Encode(dst, src []byte) ([]byte, error) { return parquet.Lz4Raw.Encode(dst, src) }

func (lz4Raw) Decode(dst, src []byte) ([]byte, error) {
	n, err := lz4.UncompressBlock(src, dst)
	if err != nil {
		return dst[:0], fmt.Errorf("LZ4_RAW page of %d bytes does not decode into its declared %d: %w: %v", len(src), len(dst), schemas.ErrCorrupt, err)
	}
	return dst[:n], nil
}

// hadoopLZ4 is the deprecated LZ4 codec (5), read as Arrow C++ and
// parquet-mr read it: a page is a sequence of Hadoop frames, each a 4-byte
// big-endian decompressed size, a 4-byte big-endian compressed size and an
// LZ4 block of that size; a page whose frames do not parse exactly (every
// byte consumed, every block decoding to its frame's size) is one LZ4 block
// (Arrow's fallback, for files early Parquet C++ wrote). Either way it
// decodes into dst and never more. dst may be longer than the page's
// decoded bytes: a data page v2 declares its size with its uncompressed
// levels counted.
type hadoopLZ4 struct{}

func (hadoopLZ4) String() string { return "LZ4" }

func (hadoopLZ4) CompressionCodec() format.CompressionCodec { return format.Lz4 }

// Encode writes src as one Hadoop frame, as Arrow C++ does.
func (hadoopLZ4) Encode(dst, src []byte) ([]byte, error) {
	block, err := parquet.Lz4Raw.Encode(nil, src)
	if err != nil {
		return dst[:0], err
	}
	dst = binary.BigEndian.AppendUint32(dst[:0], uint32(len(src)))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(block)))
	return append(dst, block...), nil
}

func (hadoopLZ4) Decode(dst, src []byte) ([]byte, error) {
	if n, ok := decodeHadoopFrames(dst, src); ok {
		return dst[:n], nil
	}
	n, err := lz4.UncompressBlock(src, dst)
	if err != nil {
		return dst[:0], fmt.Errorf("LZ4 page of %d bytes is neither Hadoop frames nor a block of at most its declared %d: %w: %v", len(src), len(dst), schemas.ErrCorrupt, err)
	}
	return dst[:n], nil
}

// decodeHadoopFrames decodes src's Hadoop frames into dst, and reports how
// many bytes they filled and whether they parsed exactly.
func decodeHadoopFrames(dst, src []byte) (int, bool) {
	n := 0
	for len(src) >= 8 {
		size, csize := binary.BigEndian.Uint32(src), binary.BigEndian.Uint32(src[4:])
		src = src[8:]
		if uint64(csize) > uint64(len(src)) || uint64(size) > uint64(len(dst)-n) {
			return 0, false
		}
		m, err := lz4.UncompressBlock(src[:csize], dst[n:n+int(size)])
		if err != nil || m != int(size) {
			return 0, false
		}
		n += m
		src = src[csize:]
	}
	return n, len(src) == 0
}

// boundedZstd is parquet-go's ZSTD decoder behind a check of the frame's
// declared content size, which the decoder would otherwise allocate (up to
// 64 GiB) before finding the frame damaged.
type boundedZstd struct{}

func (boundedZstd) String() string { return "ZSTD" }

func (boundedZstd) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (boundedZstd) Encode(dst, src []byte) ([]byte, error) { return parquet.Zstd.Encode(dst, src) }

func (boundedZstd) Decode(dst, src []byte) ([]byte, error) {
	var h zstd.Header
	if err := h.Decode(src); err != nil {
		return dst[:0], fmt.Errorf("ZSTD page: %w: %v", schemas.ErrCorrupt, err)
	}
	if h.HasFCS && h.FrameContentSize > uint64(len(dst)) {
		return dst[:0], fmt.Errorf("ZSTD page declares %d bytes, its header %d: %w", h.FrameContentSize, len(dst), schemas.ErrCorrupt)
	}
	return parquet.Zstd.Decode(dst, src)
}

// boundedSnappy is parquet-go's SNAPPY decoder behind a check of the
// block's declared length (up to 4 GiB, allocated before decoding).
type boundedSnappy struct{}

func (boundedSnappy) String() string { return "SNAPPY" }

func (boundedSnappy) CompressionCodec() format.CompressionCodec { return format.Snappy }

func (boundedSnappy) Encode(dst, src []byte) ([]byte, error) { return parquet.Snappy.Encode(dst, src) }

func (boundedSnappy) Decode(dst, src []byte) ([]byte, error) {
	n, err := snappy.DecodedLen(src)
	if err != nil {
		return dst[:0], fmt.Errorf("SNAPPY page: %w: %v", schemas.ErrCorrupt, err)
	}
	if n > len(dst) {
		return dst[:0], fmt.Errorf("SNAPPY page declares %d bytes, its header %d: %w", n, len(dst), schemas.ErrCorrupt)
	}
	return parquet.Snappy.Decode(dst, src)
}
