package read

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/seqae/seqae/schemas"
)

// parquetWithFooter frames a footer as a Parquet file: magic, footer,
// its length, magic.
func parquetWithFooter(footer []byte, claimed uint32) []byte {
	var b bytes.Buffer
	b.WriteString("PAR1")
	b.Write(footer)
	binary.Write(&b, binary.LittleEndian, claimed)
	b.WriteString("PAR1")
	return b.Bytes()
}

// TestCorruptFooter checks that damaged footers are errors naming the file,
// including those that made parquet-go allocate what a length claims (a
// fatal out-of-memory, which no recover catches) or panic.
func TestCorruptFooter(t *testing.T) {
	l := func(v ...any) []any { return v }
	good := arrowFile{schema: nestedSchema(f32, strType), rows: [][]any{l("a", l(l(1.0)), "x")}}.bytes(t)
	hugeLength := bytes.Clone(good)
	binary.LittleEndian.PutUint32(hugeLength[len(hugeLength)-8:], 0xd0000000)
	noTail := bytes.Clone(good)
	copy(noTail[len(noTail)-4:], "PARX")
	noHead := bytes.Clone(good)
	copy(noHead, "XAR1")
	// FileMetaData{1: version, 2: schema list of 2^31-1 structs}: 14 bytes
	// that asked for hundreds of gigabytes.
	hugeList := parquetWithFooter([]byte{0x15, 0x02, 0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0, 0, 0, 0, 0}, 14)
	// An unknown field of lists nested 100000 deep.
	deep := append([]byte{0x15, 0x02, 0x09, 0x7f}, bytes.Repeat([]byte{0x19}, 100000)...)
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"footer length past the file", hugeLength, "footer of 3489660928 bytes in a file of"},
		{"no magic at the end", noTail, "no PAR1 magic number"},
		{"no magic at the start", noHead, "no PAR1 magic number"},
		{"too short", []byte("PAR1PAR1"), "too short"},
		{"list longer than the footer", hugeList, "2147483647 elements claimed"},
		{"nested too deep", parquetWithFooter(deep, uint32(len(deep))), "nested more than 64 deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := memStore(t, map[string][]byte{"bad.parquet": tt.b})
			_, err := Open(context.Background(), s, []string{"bad.parquet"}, schemas.Spec{})
			if err == nil || !errors.Is(err, schemas.ErrCorrupt) || !strings.Contains(err.Error(), "bad.parquet: not a readable Parquet file") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a corrupt Parquet error naming the file and containing %q", err, tt.want)
			}
		})
	}
}

// TestThriftCheckAcceptsFooters checks that the footer check passes the
// footers of files written by Arrow's and parquet-go's writers.
func TestThriftCheckAcceptsFooters(t *testing.T) {
	for _, g := range goldenInputs() {
		b := g.file.bytes(t)
		if err := checkFooter(bytes.NewReader(b), int64(len(b))); err != nil {
			t.Errorf("%s: %v", g.name, err)
		}
	}
}
