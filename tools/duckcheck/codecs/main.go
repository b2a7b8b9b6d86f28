// Command codecs writes the DuckDB-written golden files of seqae's codec
// test (schemas/read/codecs_test.go): the same nested-layout table with each of
// DuckDB's Parquet compressions. Rerun it, from tools/duckcheck, only to
// change the files:
//
//	go run ./codecs ../../schemas/read/testdata/codecs
//
// Row i has id s%04d, 1 + i%15 steps and 3 features, step j's feature k
// being ((7919i + 104729j + 1299709k) mod 1000003) / 1024, exact in
// float32 and too irregular to compress much (as measurements are);
// schemas/read/codecs_test.go computes the same values.
package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: codecs DIR")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "codecs:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	const table = `SELECT printf('s%04d', i) AS id,
		list_transform(range(1 + i % 15), j -> list_transform(range(3), k -> (((i * 7919 + j * 104729 + k * 1299709) % 1000003) / 1024.0)::FLOAT)) AS seq
		FROM range(1000) t(i) ORDER BY i`
	for _, codec := range []string{"lz4", "snappy", "gzip", "zstd"} {
		name := filepath.Join(dir, "duckdb-"+codec+".parquet")
		q := fmt.Sprintf("COPY (%s) TO '%s' (FORMAT parquet, COMPRESSION %s)", table, name, codec)
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("%s: %w", codec, err)
		}
	}
	return nil
}
