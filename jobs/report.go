package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seqae/seqae/internal/report"
	"github.com/seqae/seqae/pipeline"
	"github.com/seqae/seqae/stages"
	"github.com/seqae/seqae/storage"
)

// TableReports holds each date's run report, reports/dt=DATE/index.html
// (a shard's part-I-of-N.html with --shard).
const TableReports = "reports"

// ReportFileName is a report's file name in its partition.
const ReportFileName = "index.html"

// driftHistory is how many dates of drift a run's report shows.
const driftHistory = 30

// quarantineExamples is how many quarantined rows a report lists.
const quarantineExamples = 5

// staged is a partition a run has written but not yet committed: its folder
// and manifest, which a report reads in place of the live ones.
type staged struct {
	dir      string
	manifest *Manifest
}

// reportSource reads the partitions of an output folder for a report, the
// run's staged ones first.
type reportSource struct {
	out    string
	staged map[string]staged // by table, for the date `date`
	date   string
	model  *ModelFile // the run's model, nil for seqae report
}

// partition returns table's partition folder and manifest for date: the
// staged one, else the committed one (nil manifest when there is none).
func (s *reportSource) partition(table, date string) (string, *Manifest, error) {
	if p, ok := s.staged[table]; ok && date == s.date {
		return p.dir, p.manifest, nil
	}
	dir := filepath.Join(s.out, table, "dt="+date)
	if _, err := os.Stat(filepath.Join(dir, SuccessFile)); errors.Is(err, fs.ErrNotExist) {
		return dir, nil, nil
	}
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return dir, nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return dir, nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return dir, &m, nil
}

// dates lists the dates from..to (inclusive; from "" is unbounded) that
// table has a partition for, staged or committed, ascending.
func (s *reportSource) dates(table, from, to string) ([]string, error) {
	dirs, err := filepath.Glob(filepath.Join(s.out, table, "dt=*"))
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, d := range dirs {
		date := strings.TrimPrefix(filepath.Base(d), "dt=")
		if _, err := ParseDate(date); err == nil {
			set[date] = true
		}
	}
	if _, ok := s.staged[table]; ok {
		set[s.date] = true
	}
	var out []string
	for d := range set {
		if (from == "" || d >= from) && d <= to {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out, nil
}

// buildReport gathers a report's data for the dates from..to.
func buildReport(ctx context.Context, src *reportSource, title, from, to string, driftFrom string) (*report.Data, error) {
	d := &report.Data{Title: title, From: from, To: to, Quarantine: report.Quarantine{ByReason: map[string]int64{}}}
	var latest *Manifest // the newest latents (else models) manifest: its model and settings
	for _, table := range []string{TableModels, TableLatents} {
		dates, err := src.dates(table, from, to)
		if err != nil {
			return nil, err
		}
		for _, date := range dates {
			_, m, err := src.partition(table, date)
			if err != nil {
				return nil, err
			}
			if m == nil {
				continue
			}
			d.Runs = append(d.Runs, provenance(m))
			if table == TableLatents || latest == nil || latest.Table == TableModels {
				latest = m
			}
		}
	}
	slices.SortStableFunc(d.Runs, func(a, b report.Run) int { return strings.Compare(a.Date, b.Date) })
	if latest == nil {
		return d, nil
	}
	if d.Title == "" {
		d.Title = latest.Job
	}
	cfg := Default()
	if c, err := Parse(latest.Table+"/dt="+latest.Date+"/"+ManifestFile, []byte(latest.Config)); err == nil {
		cfg = *c
	}
	d.WarnPSI = cfg.Output.DriftWarnPSI
	d.FeatureLosses = cfg.Output.FeatureLosses
	mf, err := src.training(ctx, d, latest.ModelID, to)
	if err != nil {
		return nil, err
	}
	if mf == nil {
		mf = src.modelFile(ctx, cfg, latest)
	}
	var cal *stages.Calibration
	if mf != nil {
		cal = mf.Calibration
	}
	d.FeatureNames = featureNames(cfg, mf)
	if err := src.scores(d, from, to, cal, cfg.Output.AnomalyPercentile); err != nil {
		return nil, err
	}
	if err := src.quarantine(d, from, to); err != nil {
		return nil, err
	}
	if err := src.drift(d, driftFrom, to); err != nil {
		return nil, err
	}
	return d, nil
}

func provenance(m *Manifest) report.Run {
	r := report.Run{Date: m.Date, Table: m.Table, RunID: m.RunID, ModelID: m.ModelID, Phase: m.Phase, Config: m.Config}
	for _, in := range m.Inputs {
		r.Inputs = append(r.Inputs, fmt.Sprintf("%s (%d bytes)", in.Name, in.Bytes))
	}
	c := m.Counts
	r.Counts = [][2]string{{"rows in", strconv.FormatInt(c.Rows, 10)}, {"sequences in", strconv.FormatInt(c.Sequences, 10)},
		{"sequences out", strconv.FormatInt(c.Encoded, 10)}, {"quarantined", strconv.FormatInt(c.Quarantined, 10)}}
	if m.Phase == "encode" {
		r.Counts = append(r.Counts, [2]string{"step losses", strconv.FormatInt(c.StepRows, 10)})
	}
	if t := m.Training; t != nil {
		r.Counts = append(r.Counts, [2]string{"epochs", strconv.Itoa(t.Epochs)}, [2]string{"best epoch", strconv.Itoa(t.BestEpoch)},
			[2]string{"training sequences", strconv.FormatInt(t.TrainSeqs, 10)}, [2]string{"validation sequences", strconv.FormatInt(t.ValSeqs, 10)})
	}
	if m.ShardCount > 1 {
		r.Counts = append(r.Counts, [2]string{"shards", strconv.Itoa(m.ShardCount)})
	}
	return r
}

// modelFile is the model latest was made with when the output folder
// holds no models partition of it (an encode with model.path elsewhere):
// the run's own, else, for seqae report, the local file model.path names
// if it is still there and still that model; nil otherwise (the report
// then has no thresholds to draw).
func (s *reportSource) modelFile(ctx context.Context, cfg Config, latest *Manifest) *ModelFile {
	if s.model != nil && s.model.Model.ID() == latest.ModelID {
		return s.model
	}
	path := strings.ReplaceAll(cfg.Model.Path, "{date}", latest.Date)
	if s.model != nil || path == "" || storage.IsURL(path) {
		return nil
	}
	mf, err := ReadModel(ctx, storage.Local{}, path)
	if err != nil || mf.Model.ID() != latest.ModelID {
		return nil
	}
	return mf
}

// featureNames names the model's features for the report: the input's
// feature columns as the job sets them, else as the model file recorded
// them at training (MetaFeatures, or its job's settings in older files);
// nil when none says (the nested layout's features have no names) or the
// count is not the model's.
func featureNames(cfg Config, mf *ModelFile) []string {
	names := cfg.Input.Features
	if len(names) == 0 && mf != nil {
		if raw, ok := mf.Meta[MetaFeatures]; ok {
			if err := json.Unmarshal([]byte(raw), &names); err != nil {
				names = nil
			}
		} else if c, err := Parse(mf.Path, []byte(mf.Meta[MetaJobConfig])); err == nil {
			names = c.Input.Features
		}
	}
	if mf != nil && len(names) != mf.Model.Config.InputDim {
		return nil
	}
	return names
}

// training finds the newest models partition up to `to` holding modelID,
// reads its metrics into d and returns its model file (nil if none).
func (s *reportSource) training(ctx context.Context, d *report.Data, modelID, to string) (*ModelFile, error) {
	dates, err := s.dates(TableModels, "", to)
	if err != nil {
		return nil, err
	}
	for _, date := range slices.Backward(dates) {
		dir, m, err := s.partition(TableModels, date)
		if err != nil {
			return nil, err
		}
		if m == nil || m.ModelID != modelID {
			continue
		}
		t := &report.Training{ModelID: modelID, Date: date}
		if m.Training != nil {
			t.Best = m.Training.BestEpoch
		}
		mdir, mm, err := s.partition(TableMetrics, date)
		if err != nil {
			return nil, err
		}
		if mm != nil && mm.ModelID == modelID {
			if t.Epochs, err = readMetrics(mdir); err != nil {
				return nil, err
			}
		}
		d.Training = t
		return ReadModel(ctx, storage.Local{}, filepath.Join(dir, ModelFileName))
	}
	return nil, nil
}

func readMetrics(dir string) ([]report.Epoch, error) {
	var out []report.Epoch
	err := scanFiles(dir, func(cols []string, row []cell) error {
		get := func(name string) cell { return row[slices.Index(cols, name)] }
		val := get("val_loss")
		out = append(out, report.Epoch{Epoch: int(get("epoch").Num), Train: get("train_loss").Num, Val: val.Num, HasVal: !val.Null, Seconds: get("seconds").Num})
		return nil
	})
	return out, err
}

// latentsFixed are the latents columns that are not pass-through ones
// (besides the id, the first).
var latentsFixed = []string{"length", "latent", "score", "percentile", "anomaly", "feature_scores"}

// scores reads the latents of the dates in range: every score and length,
// the anomaly flags and the top anomalies with their step losses.
func (s *reportSource) scores(d *report.Data, from, to string, cal *stages.Calibration, pct float64) error {
	dates, err := s.dates(TableLatents, from, to)
	if err != nil {
		return err
	}
	sc := &report.Scores{Percentile: pct}
	var cands []report.Anomaly
	var idx map[string]int
	var pass []int
	var seen []string // the columns idx and pass were made for: scanTable hands each file's rows the same slice
	err = s.scanDates(TableLatents, dates, func(date string, cols []string, row []cell) error {
		if len(seen) == 0 || &seen[0] != &cols[0] {
			seen = cols
			idx = map[string]int{}
			for i, c := range cols {
				idx[c] = i
			}
			d.PassNames = nil
			pass = nil
			for i, c := range cols[1:] {
				if !slices.Contains(latentsFixed, c) {
					pass = append(pass, i+1)
					d.PassNames = append(d.PassNames, c)
				}
			}
		}
		score := row[idx["score"]].Num
		length := int(row[idx["length"]].Num)
		sc.Score, sc.Length = append(sc.Score, score), append(sc.Length, length)
		a, hasA := idx["anomaly"]
		flagged := hasA && !row[a].Null && row[a].Num != 0
		if hasA && !row[a].Null {
			sc.Calibrated = true
		}
		sc.Anomaly = append(sc.Anomaly, flagged)
		if !flagged {
			return nil
		}
		sc.Anomalies++
		an := report.Anomaly{Date: date, ID: row[0].String(), Length: length, Score: score, Percentile: row[idx["percentile"]].Num}
		for _, i := range pass {
			an.Pass = append(an.Pass, row[i].String())
		}
		cands = append(cands, an)
		return nil
	})
	if err != nil {
		return err
	}
	if len(sc.Score) == 0 {
		return nil
	}
	d.Scores = sc
	if cal != nil {
		sc.Source = cal.Source
		for _, b := range cal.Buckets {
			sc.Thresholds = append(sc.Thresholds, report.Threshold{MinLen: b.MinLen, Score: float64(cal.ScoreAt(pct, b.MinLen))})
		}
		sc.Overall = float64(cal.Overall.ScoreAt(pct))
	}
	// By score, not percentile: percentiles saturate at 100 above a
	// bucket's highest calibration score.
	slices.SortStableFunc(cands, func(a, b report.Anomaly) int { return cmpDesc(a.Score, b.Score) })
	d.Top = cands[:min(len(cands), report.TopN)]
	return s.topSteps(d)
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// topSteps reads the top anomalies' step losses.
func (s *reportSource) topSteps(d *report.Data) error {
	byDate := map[string]map[string]int{}
	for i, a := range d.Top {
		if byDate[a.Date] == nil {
			byDate[a.Date] = map[string]int{}
		}
		byDate[a.Date][a.ID] = i
	}
	var seen []string
	loss, feat := -1, -1
	return s.scanDates(TableStepLosses, slices.Sorted(maps.Keys(byDate)), func(date string, cols []string, row []cell) error {
		if len(seen) == 0 || &seen[0] != &cols[0] {
			seen = cols
			loss, feat = slices.Index(cols, "loss"), slices.Index(cols, "feature_loss")
		}
		i, ok := byDate[date][row[0].String()]
		if !ok {
			return nil
		}
		a := &d.Top[i]
		a.StepLoss = append(a.StepLoss, row[loss].Num)
		if feat >= 0 {
			fl := row[feat].List
			for len(a.Features) < len(fl) {
				a.Features = append(a.Features, nil)
			}
			for j, v := range fl {
				a.Features[j] = append(a.Features[j], float64(v))
			}
		}
		return nil
	})
}

// quarantine reads the quarantine tables in range.
func (s *reportSource) quarantine(d *report.Data, from, to string) error {
	dates, err := s.dates(TableQuarantine, from, to)
	if err != nil {
		return err
	}
	return s.scanDates(TableQuarantine, dates, func(date string, cols []string, row []cell) error {
		get := func(name string) cell { return row[slices.Index(cols, name)] }
		reason := get("reason").Text
		d.Quarantine.Total++
		d.Quarantine.ByReason[reason]++
		if len(d.Quarantine.Examples) < quarantineExamples {
			d.Quarantine.Examples = append(d.Quarantine.Examples, report.QuarantineRow{Date: date, File: get("source_file").Text,
				Row: int64(get("row").Num), ID: get("id").String(), Reason: reason, Detail: get("detail").Text})
		}
		return nil
	})
}

// scanDates calls fn with every row of table's committed partitions for
// dates, in order; dates without a manifest are skipped.
func (s *reportSource) scanDates(table string, dates []string, fn func(date string, cols []string, row []cell) error) error {
	for _, date := range dates {
		dir, m, err := s.partition(table, date)
		if err != nil {
			return err
		}
		if m == nil {
			continue
		}
		if err := scanFiles(dir, func(cols []string, row []cell) error { return fn(date, cols, row) }); err != nil {
			return err
		}
	}
	return nil
}

// drift reads the drift tables from..to, keeping the last driftHistory
// dates.
func (s *reportSource) drift(d *report.Data, from, to string) error {
	dates, err := s.dates(TableDrift, from, to)
	if err != nil {
		return err
	}
	if len(dates) > driftHistory {
		dates = dates[len(dates)-driftHistory:]
	}
	return s.scanDates(TableDrift, dates, func(date string, cols []string, row []cell) error {
		get := func(name string) cell { return row[slices.Index(cols, name)] }
		psi, share := get("psi"), get("anomaly_share")
		baseline := get("baseline").Text
		if bd := get("baseline_date"); !bd.Null {
			baseline += " " + bd.Text
		}
		d.Drift = append(d.Drift, report.DriftPoint{Date: date, Baseline: baseline, PSI: psi.Num, HasPSI: !psi.Null,
			AnomalyShare: share.Num, HasShare: !share.Null})
		return nil
	})
}

// writeReport renders the run's report into its staging folder and returns
// its partition.
func (r *runner) writeReport(ctx context.Context, parts []*partition, model *ModelFile, start time.Time) (*partition, error) {
	modelID := model.Model.ID()
	src := &reportSource{out: r.cfg.Output.Dir, date: r.date, staged: map[string]staged{}, model: model}
	var inputs []InputFile
	var counts stages.Counts
	for _, p := range parts {
		src.staged[p.table] = staged{dir: p.staged, manifest: p.manifest}
		inputs, counts = p.manifest.Inputs, p.manifest.Counts
	}
	d, err := buildReport(ctx, src, r.cfg.Name, r.date, r.date, "")
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, d); err != nil {
		return nil, err
	}
	name := ReportFileName
	if r.opt.Shard.Sharded() {
		name = partName(r.opt.Shard, ".html")
	}
	dir := r.stage(TableReports)
	if err := writeFile(ctx, filepath.Join(dir, name), buf.Bytes()); err != nil {
		return nil, err
	}
	phase := "encode"
	if !r.cfg.Encodes() {
		phase = "train"
	}
	m := r.manifest(TableReports, phase, modelID, inputs, counts, start, pipeline.Snapshot{})
	m.Files = []OutputFile{{Name: name, Bytes: int64(buf.Len())}}
	return &partition{table: TableReports, staged: dir, sharded: r.opt.Shard.Sharded(), manifest: m}, nil
}

// ReportRange checks a report's dates: to "" is the newest date with
// committed models or latents under out, from "" is to.
func ReportRange(out, from, to string) (string, string, error) {
	if to == "" {
		src := &reportSource{out: out}
		for _, table := range []string{TableModels, TableLatents} {
			dates, err := src.dates(table, "", "9999-12-31")
			if err != nil {
				return "", "", err
			}
			if len(dates) > 0 {
				to = max(to, dates[len(dates)-1])
			}
		}
		if to == "" {
			return "", "", fmt.Errorf("%s: no committed models or latents", out)
		}
	}
	if from == "" {
		from = to
	}
	for _, d := range []struct{ flag, date string }{{"--from", from}, {"--to", to}} {
		if _, err := ParseDate(d.date); err != nil {
			return "", "", fmt.Errorf("%s: %w", d.flag, err)
		}
	}
	if from > to {
		return "", "", fmt.Errorf("--from %s is after --to %s", from, to)
	}
	return from, to, nil
}

// Report renders the committed outputs of the dates from..to under out as
// one HTML page (see package report); see ReportRange for empty dates.
func Report(ctx context.Context, out, from, to string, w io.Writer) error {
	from, to, err := ReportRange(out, from, to)
	if err != nil {
		return err
	}
	src := &reportSource{out: out}
	d, err := buildReport(ctx, src, "", from, to, from)
	if err != nil {
		return err
	}
	if len(d.Runs) == 0 {
		return fmt.Errorf("no committed models or latents under %s for %s to %s", out, from, to)
	}
	return report.Render(w, d)
}
