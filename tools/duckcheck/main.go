// Command duckcheck reads a seqae output folder with DuckDB, an
// independent Parquet reader of the kind the outputs are made for, and
// checks one date's tables against its manifests: row counts, the latent
// list column, step losses per sequence, Hive partitioning and the file
// metadata. CI runs it on the example job's output (see .ci/run). It is a
// module of its own because DuckDB needs cgo, which seqae does not.
//
//	go run . OUT DATE
package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	_ "github.com/duckdb/duckdb-go/v2"
)

type manifest struct {
	ModelID string `json:"model_id"`
	Counts  struct {
		SequencesOut int64 `json:"sequences_out"`
		Quarantined  int64 `json:"quarantined"`
		StepLossRows int64 `json:"step_loss_rows"`
	} `json:"counts"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: duckcheck OUT DATE")
		os.Exit(2)
	}
	if err := check(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "duckcheck:", err)
		os.Exit(1)
	}
}

func check(out, date string) error {
	data, err := os.ReadFile(filepath.Join(out, "latents", "dt="+date, "_manifest.json"))
	if err != nil {
		return err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	table := func(name string) string {
		return fmt.Sprintf("read_parquet('%s', hive_partitioning = true)", filepath.Join(out, name, "*", "*.parquet"))
	}
	checks := []struct {
		what  string
		query string
		want  any
	}{
		{"latents rows", "SELECT count(*) FROM " + table("latents") + " WHERE dt = $1", m.Counts.SequencesOut},
		{"distinct ids", "SELECT count(DISTINCT id) FROM " + table("latents") + " WHERE dt = $1", m.Counts.SequencesOut},
		{"latent sizes", "SELECT count(DISTINCT len(latent)) FROM " + table("latents") + " WHERE dt = $1", int64(1)},
		{"step_losses rows", "SELECT count(*) FROM " + table("step_losses") + " WHERE dt = $1", m.Counts.StepLossRows},
		{"sum of lengths", "SELECT sum(length)::BIGINT FROM " + table("latents") + " WHERE dt = $1", m.Counts.StepLossRows},
		{"sequences whose step count is not their length", `
			SELECT count(*) FROM (SELECT id, length FROM ` + table("latents") + ` WHERE dt = $1) l
			JOIN (SELECT id, count(*) AS n, max(step) AS last FROM ` + table("step_losses") + ` WHERE dt = $1 GROUP BY id) s USING (id)
			WHERE s.n != l.length OR s.last != l.length - 1`, int64(0)},
		{"scores that are not their steps' mean", `
			SELECT count(*) FROM (SELECT id, score FROM ` + table("latents") + ` WHERE dt = $1) l
			JOIN (SELECT id, avg(loss) AS mean FROM ` + table("step_losses") + ` WHERE dt = $1 GROUP BY id) s USING (id)
			WHERE abs(l.score - s.mean) > 1e-5 * (1 + s.mean)`, int64(0)},
		{"quarantine rows", "SELECT count(*) FROM " + table("quarantine") + " WHERE dt = $1", m.Counts.Quarantined},
		{"model id in the latents' metadata", fmt.Sprintf(`SELECT count(*) FROM parquet_kv_metadata('%s')
			WHERE key::VARCHAR = 'seqae.model_id' AND value::VARCHAR = $1`, filepath.Join(out, "latents", "dt="+date, "*.parquet")), nil},
	}
	for _, c := range checks {
		var got any
		arg := any(date)
		if c.want == nil {
			arg, c.want = m.ModelID, int64(1)
		}
		if err := db.QueryRow(c.query, arg).Scan(&got); err != nil {
			return fmt.Errorf("%s: %w", c.what, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			return fmt.Errorf("%s: DuckDB says %v, want %v", c.what, got, c.want)
		}
		fmt.Printf("ok  %-48s %v\n", c.what, got)
	}
	return nil
}
