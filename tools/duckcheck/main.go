// Command duckcheck reads a seqae output folder with DuckDB, an
// independent Parquet reader of the kind the outputs are made for, and
// checks one date's tables against its manifests: row counts, the latent
// list column, step losses per sequence, Hive partitioning and the file
// metadata, the anomaly flags, the per-feature losses where a date has
// them, the drift table and the report. CI runs it on the example job's
// output (see .ci/run). It is a module of its own because DuckDB needs
// cgo, which seqae does not.
//
//	go run . OUT DATE...
package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2"
)

type manifest struct {
	ModelID string `json:"model_id"`
	RunID   string `json:"run_id"`
	Counts  struct {
		SequencesOut int64 `json:"sequences_out"`
		Quarantined  int64 `json:"quarantined"`
		StepLossRows int64 `json:"step_loss_rows"`
	} `json:"counts"`
	Drift *struct {
		PSI          *float64 `json:"psi"`
		AnomalyShare *float64 `json:"anomaly_share"`
	} `json:"drift"`
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: duckcheck OUT DATE...")
		os.Exit(2)
	}
	for _, date := range os.Args[2:] {
		if err := check(os.Args[1], date); err != nil {
			fmt.Fprintln(os.Stderr, "duckcheck:", date+":", err)
			os.Exit(1)
		}
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
	// union_by_name: dates written with and without output.feature_losses
	// have different columns.
	table := func(name string) string {
		return fmt.Sprintf("read_parquet('%s', hive_partitioning = true, union_by_name = true)", filepath.Join(out, name, "*", "*.parquet"))
	}
	if m.Drift == nil || m.Drift.AnomalyShare == nil || m.Drift.PSI == nil {
		return fmt.Errorf("the latents manifest has no drift PSI and anomaly share")
	}
	if err := checkReport(filepath.Join(out, "reports", "dt="+date)); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	features, err := hasColumn(db, table("latents"), date, "feature_scores")
	if err != nil {
		return err
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
		{"percentiles null or outside 0..100", "SELECT count(*) FROM " + table("latents") + " WHERE dt = $1 AND (percentile IS NULL OR percentile < 0 OR percentile > 100)", int64(0)},
		{"anomaly flags that disagree with percentile >= 99", "SELECT count(*) FROM " + table("latents") + " WHERE dt = $1 AND (anomaly IS NULL OR anomaly != (percentile >= 99))", int64(0)},
		{"anomalies (manifest's anomaly share)", "SELECT count(*) FILTER (WHERE anomaly) FROM " + table("latents") + " WHERE dt = $1",
			int64(math.Round(*m.Drift.AnomalyShare * float64(m.Counts.SequencesOut)))},
		{"drift rows", "SELECT count(*) FROM " + table("drift") + " WHERE dt = $1", int64(1)},
		{"drift rows unlike the latents and manifests", `
			SELECT count(*) FROM ` + table("drift") + ` d WHERE dt = $1 AND NOT (
				d.sequences = ` + fmt.Sprint(m.Counts.SequencesOut) + ` AND d.run_id = '` + m.RunID + `' AND d.model_id = '` + m.ModelID + `'
				AND abs(d.psi - ` + fmt.Sprint(*m.Drift.PSI) + `) < 1e-12
				AND abs(d.anomaly_share - (SELECT avg(anomaly::INT) FROM ` + table("latents") + ` WHERE dt = $1)) < 1e-12
				AND abs(d.score_mean - (SELECT avg(score) FROM ` + table("latents") + ` WHERE dt = $1)) < 1e-6
				AND len(d.latent_mean) = (SELECT max(len(latent)) FROM ` + table("latents") + ` WHERE dt = $1)
				AND abs(d.latent_mean[1] - (SELECT avg(latent[1]) FROM ` + table("latents") + ` WHERE dt = $1)) < 1e-5)`, int64(0)},
		{"model id in the latents' metadata", fmt.Sprintf(`SELECT count(*) FROM parquet_kv_metadata('%s')
			WHERE key::VARCHAR = 'seqae.model_id' AND value::VARCHAR = $1`, filepath.Join(out, "latents", "dt="+date, "*.parquet")), nil},
	}
	if features {
		checks = append(checks, []struct {
			what  string
			query string
			want  any
		}{
			{"step losses that are not their features' mean", "SELECT count(*) FROM " + table("step_losses") +
				" WHERE dt = $1 AND abs(loss - list_avg(feature_loss)) > 1e-5 * (1 + loss)", int64(0)},
			{"feature scores that are not their steps' mean", `
				SELECT count(*) FROM (SELECT id, score, feature_scores FROM ` + table("latents") + ` WHERE dt = $1) l
				JOIN (SELECT id, avg(feature_loss[1]) AS f1 FROM ` + table("step_losses") + ` WHERE dt = $1 GROUP BY id) s USING (id)
				WHERE abs(l.feature_scores[1] - s.f1) > 1e-5 * (1 + s.f1) OR abs(l.score - list_avg(l.feature_scores)) > 1e-5 * (1 + l.score)`, int64(0)},
		}...)
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

// hasColumn reports whether the date's rows of tbl have a non-null column
// (with union_by_name, a date without it reads it as null).
func hasColumn(db *sql.DB, tbl, date, col string) (bool, error) {
	var n int64
	err := db.QueryRow(fmt.Sprintf("SELECT count(%s) FROM %s WHERE dt = $1", col, tbl), date).Scan(&n)
	if err != nil && strings.Contains(err.Error(), "not found") {
		return false, nil
	}
	return n > 0, err
}

// checkReport checks that a report partition's manifest lists one HTML
// file and that it is there: index.html from a local commit,
// index-RUN.html from an object store's (whose files carry the run id).
func checkReport(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "_manifest.json"))
	if err != nil {
		return err
	}
	var m struct {
		Files []struct {
			Name string `json:"name"`
		} `json:"files"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if len(m.Files) != 1 || !strings.HasPrefix(m.Files[0].Name, "index") || filepath.Ext(m.Files[0].Name) != ".html" {
		return fmt.Errorf("%s: the manifest lists %+v, want one index HTML file", dir, m.Files)
	}
	_, err = os.Stat(filepath.Join(dir, m.Files[0].Name))
	return err
}
