package read

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/parquet-go/parquet-go"
	pqcompress "github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/format"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
)

// The codec golden files under testdata/codecs hold one nested table,
// compressed with each codec by DuckDB (tools/duckcheck/codecs writes
// duckdb-*.parquet), by Arrow's Parquet writer (arrow-*.parquet; Arrow Go
// has no LZ4) and by parquet-go's (parquet-go-lz4_raw.parquet, and
// hadoop-lz4.parquet: the deprecated LZ4 codec in Hadoop frames of at most
// 4 KiB, several to a page, as parquet-mr writes it, through the test codec
// hadoopFrames); `go test ./schemas/read -run TestCodecs -update` rewrites all
// but DuckDB's. Row i has
// id s%04d and 1 + i%15 steps of 3 features, step j's feature k being
// ((7919i + 104729j + 1299709k) mod 1000003) / 1024: exact in float32, and
// irregular enough that pages compress less than 3:1, where parquet-go's
// own LZ4_RAW decoder loses them (see codecs.go).
const codecRows = 1000

func codecValue(i, j, k int) float32 {
	return float32(float64((7919*i+104729*j+1299709*k)%1000003) / 1024)
}

func codecTableRows() [][]any {
	rows := make([][]any, codecRows)
	for i := range rows {
		steps := make([]any, 1+i%15)
		for j := range steps {
			steps[j] = []any{float64(codecValue(i, j, 0)), float64(codecValue(i, j, 1)), float64(codecValue(i, j, 2))}
		}
		rows[i] = []any{fmt.Sprintf("s%04d", i), steps}
	}
	return rows
}

// codecRow is the table's row for parquet-go's writer.
type codecRow struct {
	ID  string      `parquet:"id"`
	Seq [][]float32 `parquet:"seq,list"`
}

// hadoopFrames is the deprecated LZ4 codec writing a page as Hadoop frames
// of at most size bytes each, with damage applied to the page it returns
// (nil: none).
type hadoopFrames struct {
	size   int
	damage func([]byte) []byte
}

func (hadoopFrames) String() string { return "LZ4" }

func (hadoopFrames) CompressionCodec() format.CompressionCodec { return format.Lz4 }

func (h hadoopFrames) Encode(dst, src []byte) ([]byte, error) {
	dst = dst[:0]
	for lo := 0; lo < len(src) || lo == 0; lo += h.size {
		block, err := parquet.Lz4Raw.Encode(nil, src[lo:min(lo+h.size, len(src))])
		if err != nil {
			return dst, err
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(min(h.size, len(src)-lo)))
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(block)))
		dst = append(dst, block...)
	}
	if h.damage != nil {
		dst = h.damage(dst)
	}
	return dst, nil
}

func (hadoopFrames) Decode(dst, src []byte) ([]byte, error) { return hadoopLZ4{}.Decode(dst, src) }

// writeCodecFiles rewrites the Arrow- and parquet-go-written files.
func writeCodecFiles(t *testing.T, dir string) {
	schema := arrow.NewSchema([]arrow.Field{field("id", strType), field("seq", listOf(listOf(f32)))}, nil)
	for name, c := range map[string]compress.Compression{"snappy": compress.Codecs.Snappy, "gzip": compress.Codecs.Gzip, "zstd": compress.Codecs.Zstd} {
		f := arrowFile{schema: schema, rows: codecTableRows(), groupRows: 300, compression: &c}
		if err := os.WriteFile(filepath.Join(dir, "arrow-"+name+".parquet"), f.bytes(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]pqcompress.Codec{"parquet-go-lz4_raw": &parquet.Lz4Raw, "hadoop-lz4": hadoopFrames{size: 4 << 10}} {
		if err := os.WriteFile(filepath.Join(dir, name+".parquet"), parquetGoCodecFile(t, c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// parquetGoCodecFile is the table written by parquet-go with codec, in row
// groups of 300 rows and pages of 16 KiB.
func parquetGoCodecFile(t *testing.T, codec pqcompress.Codec) []byte {
	rows := make([]codecRow, codecRows)
	for i := range rows {
		rows[i].ID = fmt.Sprintf("s%04d", i)
		for j := range 1 + i%15 {
			rows[i].Seq = append(rows[i].Seq, []float32{codecValue(i, j, 0), codecValue(i, j, 1), codecValue(i, j, 2)})
		}
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[codecRow](&buf, parquet.Compression(codec), parquet.PageBufferSize(16<<10))
	for lo := 0; lo < len(rows); lo += 300 {
		if _, err := w.Write(rows[lo:min(lo+300, len(rows))]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Every codec's file reads back as the table, whoever wrote it.
func TestCodecs(t *testing.T) {
	dir := filepath.Join("testdata", "codecs")
	if *update {
		writeCodecFiles(t, dir)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil || len(names) != 9 {
		t.Fatalf("codec files %v (%v), want 9", names, err)
	}
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			codec := strings.TrimSuffix(name[strings.LastIndex(name, "-")+1:], ".parquet")
			if strings.HasSuffix(name, "duckdb-lz4.parquet") {
				codec = "lz4_raw" // DuckDB's lz4 is LZ4_RAW
			}
			in, err := Open(context.Background(), storage.Local{}, []string{name}, schemas.Spec{Layout: schemas.Nested})
			if err != nil {
				t.Fatal(err)
			}
			var codecs []string
			for _, rg := range in.files[0].pf.Metadata().RowGroups {
				for _, c := range rg.Columns {
					codecs = append(codecs, strings.ToLower(c.MetaData.Codec.String()))
				}
			}
			if slices.ContainsFunc(codecs, func(c string) bool { return c != codec }) {
				t.Errorf("column chunks compressed with %v, want %s", codecs, codec)
			}
			d := decodeAll(t, in)
			if len(d.Seqs) != codecRows || len(d.Quars) != 0 {
				t.Fatalf("%d sequences, %d quarantined; want %d and 0", len(d.Seqs), len(d.Quars), codecRows)
			}
			for i, s := range d.Seqs {
				if id := fmt.Sprintf("s%04d", i); s.ID.Str != id || s.Len != 1+i%15 || s.Dim != 3 {
					t.Fatalf("sequence %d: id %s, %d steps of %d; want %s, %d of 3", i, s.ID.Str, s.Len, s.Dim, id, 1+i%15)
				}
				for j := range s.Len {
					for k := range 3 {
						if got, want := s.Values[3*j+k], codecValue(i, j, k); got != want {
							t.Fatalf("%s step %d feature %d: got %v, want %v", s.ID.Str, j, k, got, want)
						}
					}
				}
			}
		})
	}
}

// A damaged LZ4_RAW page is an error naming the file, row group and column,
// and decoding it allocates little more than the page's declared size
// (parquet-go's own decoder doubled its buffer until the process ran out
// of memory). DuckDB's file is damaged: parquet-go's has page checksums,
// which catch the damage before the decoder sees it.
func TestDamagedLZ4Page(t *testing.T) {
	for _, file := range []string{"duckdb-lz4.parquet"} {
		good, err := os.ReadFile(filepath.Join("testdata", "codecs", file))
		if err != nil {
			t.Fatal(err)
		}
		in, err := Open(context.Background(), storage.Local{}, []string{filepath.Join("testdata", "codecs", file)}, schemas.Spec{Layout: schemas.Nested})
		if err != nil {
			t.Fatal(err)
		}
		var chunks [][2]int64 // the column chunks' byte ranges
		for _, rg := range in.files[0].pf.Metadata().RowGroups {
			for _, c := range rg.Columns {
				chunks = append(chunks, [2]int64{c.MetaData.DataPageOffset, c.MetaData.DataPageOffset + c.MetaData.TotalCompressedSize})
			}
		}
		lz4Errors := 0
		var most uint64
		for i, ch := range chunks {
			for _, at := range []float64{0.3, 0.6, 0.9} {
				off := ch[0] + int64(at*float64(ch[1]-ch[0]))
				bad := slices.Clone(good)
				for k := range int64(16) {
					bad[off+k] ^= 0x5a
				}
				grew, err := readBad(t, bad)
				most = max(most, grew)
				if grew > 4<<20 {
					t.Errorf("%s chunk %d damaged at byte %d: decoding allocated %d MiB", file, i, off, grew>>20)
				}
				if err == nil {
					continue
				}
				if strings.Contains(err.Error(), "LZ4_RAW page") {
					lz4Errors++
				}
				if !strings.Contains(err.Error(), "bad.parquet row group ") || !strings.Contains(err.Error(), `column "`) {
					t.Errorf("%s chunk %d damaged at byte %d: error %q does not name the file, row group and column", file, i, off, err)
				}
			}
		}
		t.Logf("%s: %d damaged copies, %d failed in the LZ4 decoder; decoding one allocated at most %d KiB", file, 3*len(chunks), lz4Errors, most>>10)
		if lz4Errors == 0 {
			t.Errorf("%s: no damaged page failed to decompress: the test damages nothing the decoder sees", file)
		}
	}
}

// Spec.MaxPageBytes fails a chunk whose pages declare more, naming the
// file, row group and column, and reads the file when its pages fit.
func TestMaxPageBytes(t *testing.T) {
	name := filepath.Join("testdata", "codecs", "arrow-zstd.parquet")
	for _, c := range []struct {
		limit int64
		want  string // "" when the file must read
	}{
		{0, ""},
		{1 << 20, ""},
		{1 << 10, "declares"},
	} {
		in, err := Open(context.Background(), storage.Local{}, []string{name}, schemas.Spec{Layout: schemas.Nested, Dim: 3, MaxPageBytes: c.limit})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		for _, u := range in.Units() {
			var st Stats
			if st, err = in.ReadUnit(context.Background(), u, Sink{Sequence: func(*schemas.Sequence) error { return nil }, Quarantine: func(schemas.Quarantine) error { return nil }}); err != nil {
				break
			}
			n += int(st.Sequences)
		}
		switch {
		case c.want == "" && (err != nil || n != codecRows):
			t.Errorf("limit %d: %d sequences, error %v; want %d and none", c.limit, n, err, codecRows)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), name+" row group 0") ||
			!strings.Contains(err.Error(), "over the limit of 1024")):
			t.Errorf("limit %d: error %v, want one naming the file, row group 0 and the limit", c.limit, err)
		default:
			t.Logf("limit %d: %d sequences, error %v", c.limit, n, err)
		}
	}
}

// The LZ4 decoder reads Hadoop frames, one or several, falls back to one
// raw block, decodes into the page's buffer without allocating, and calls
// anything else corrupt.
func TestHadoopLZ4Decode(t *testing.T) {
	src := make([]byte, 1000)
	for i := range src {
		src[i] = byte(i * i % 251)
	}
	enc := func(c pqcompress.Codec) []byte {
		b, err := c.Encode(nil, src)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	framed := enc(hadoopFrames{size: 300})
	setU32 := func(b []byte, at int, v uint32) []byte {
		b = slices.Clone(b)
		binary.BigEndian.PutUint32(b[at:], v)
		return b
	}
	for _, c := range []struct {
		name string
		page []byte
		room int  // dst's length beyond len(src)
		ok   bool // whether it decodes to src
	}{
		{"one frame", enc(hadoopLZ4{}), 0, true},
		{"frames of 300 bytes", framed, 0, true},
		{"frames into a longer buffer (data page v2)", framed, 10, true},
		{"one raw block", enc(&parquet.Lz4Raw), 0, true},
		{"one raw block into a longer buffer", enc(&parquet.Lz4Raw), 10, true},
		{"frames longer than the page", framed, -1, false},
		{"a frame declaring 4 GiB", setU32(framed, 0, 1<<32-1), 0, false},
		{"a frame longer than the page's bytes", setU32(framed, 4, uint32(len(framed))), 0, false},
		{"truncated", framed[:len(framed)-5], 0, false},
		{"bytes after the last frame", append(slices.Clone(framed), 1, 2, 3), 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dst := make([]byte, len(src)+c.room)
			got, err := hadoopLZ4{}.Decode(dst, c.page)
			if !c.ok {
				if !errors.Is(err, schemas.ErrCorrupt) || len(got) != 0 {
					t.Fatalf("got %d bytes, error %v; want none and a corrupt error", len(got), err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, src) {
				t.Fatalf("got %d bytes (equal: %v), error %v; want the %d bytes encoded", len(got), bytes.Equal(got, src), err, len(src))
			}
			if allocs := testing.AllocsPerRun(10, func() { _, _ = hadoopLZ4{}.Decode(dst, c.page) }); allocs != 0 {
				t.Errorf("decoding allocated %v times, want 0", allocs)
			}
		})
	}
}

// A damaged page of the deprecated LZ4 codec is an error naming the file,
// row group and column, and decoding it allocates little more than the
// page's declared size. The damage is done inside the writer's codec, so
// the page checksums hold and the decoder sees it.
func TestDamagedHadoopLZ4Page(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"first frame declares 2 GiB", func(b []byte) []byte { binary.BigEndian.PutUint32(b, 1<<31); return b }},
		{"first frame's block one byte longer", func(b []byte) []byte { binary.BigEndian.PutUint32(b[4:], binary.BigEndian.Uint32(b[4:])+1); return b }},
		{"last frame truncated", func(b []byte) []byte { return b[:len(b)-5] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			grew, err := readBad(t, parquetGoCodecFile(t, hadoopFrames{size: 4 << 10, damage: c.damage}))
			if grew > 4<<20 {
				t.Errorf("decoding allocated %d MiB, want under 4", grew>>20)
			}
			if err == nil || !strings.Contains(err.Error(), "bad.parquet row group 0") || !strings.Contains(err.Error(), `column "`) ||
				!strings.Contains(err.Error(), "LZ4 page") || !errors.Is(err, schemas.ErrCorrupt) {
				t.Fatalf("error %v, want a corrupt LZ4 page naming bad.parquet, row group 0 and the column", err)
			}
			t.Log(err)
		})
	}
}

// readBad opens data as bad.parquet (nested, 3 features) and reads every
// unit until the first error, returning the bytes that allocated and the
// error.
func readBad(t *testing.T, data []byte) (uint64, error) {
	t.Helper()
	mem, names := memStore(t, map[string][]byte{"bad.parquet": data})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	in, err := Open(context.Background(), mem, names, schemas.Spec{Layout: schemas.Nested, Dim: 3})
	if err == nil {
		for _, u := range in.Units() {
			if _, err = in.ReadUnit(context.Background(), u, Sink{Sequence: func(*schemas.Sequence) error { return nil }, Quarantine: func(schemas.Quarantine) error { return nil }}); err != nil {
				break
			}
		}
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}
