package jobs

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/seqae/seqae/internal/synth"
	"github.com/seqae/seqae/internal/tabletest"
	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/storage"
)

// page is a report as a test sees it.
type page struct {
	charts int
	keys   map[string]string // data-key -> text
	top    []string          // the top anomalies table's ids, in order
	small  []string          // the top anomalies' small multiples' ids, in order
	feat   []string          // the feature lines' names, in order
	thresh []string          // the anomaly thresholds' lengths
	drift  []string          // the drift table's dates
}

func readPage(t *testing.T, path string) page {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: not HTML: %v", path, err)
	}
	p := page{keys: map[string]string{}}
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "svg" {
				p.charts++
			}
			for _, a := range n.Attr {
				v := strings.ToLower(a.Val)
				switch {
				case (a.Key == "src" || a.Key == "href") && (strings.Contains(v, "http:") || strings.Contains(v, "https:")):
					t.Errorf("%s: <%s %s=%q> refers outside the page", path, n.Data, a.Key, a.Val)
				case a.Key == "data-key":
					p.keys[a.Val] = strings.TrimSpace(text(n))
				case a.Key == "data-id":
					p.top = append(p.top, a.Val)
				case a.Key == "data-chart-id":
					p.small = append(p.small, a.Val)
				case a.Key == "data-feature":
					p.feat = append(p.feat, a.Val)
				case a.Key == "data-threshold":
					p.thresh = append(p.thresh, a.Val)
				case a.Key == "data-date":
					p.drift = append(p.drift, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return p
}

func reportPath(out, date string) string {
	return filepath.Join(out, TableReports, "dt="+date, ReportFileName)
}

// The report's numbers are the tables': sequences, anomalies, quarantined
// rows and the top anomalies by score.
func TestReportMatchesTables(t *testing.T) {
	t.Parallel()
	in, ids := smallData(t)
	cfg := smallJob(t, in, "training.epochs=3", "output.feature_losses=true", "output.anomaly_percentile=90")
	mustRun(t, cfg, Options{Date: day1})
	out := cfg.Output.Dir
	p := readPage(t, reportPath(out, day1))
	latents := tabletest.ReadFile[tabletest.Latent](t, filepath.Join(out, TableLatents, "dt="+day1, "part-00000-of-00001.parquet"))
	var flagged []tabletest.Latent
	for _, l := range latents {
		if *l.Anomaly {
			flagged = append(flagged, l)
		}
	}
	slices.SortStableFunc(flagged, func(a, b tabletest.Latent) int { return cmpDesc(float64(a.Score), float64(b.Score)) })
	var want []string
	for _, l := range flagged[:min(12, len(flagged))] {
		want = append(want, l.ID)
	}
	if len(flagged) == 0 {
		t.Fatal("no anomalies at percentile 90: the test needs some")
	}
	if p.keys["sequences"] != strconv.Itoa(len(ids)) || p.keys["anomalies"] != strconv.Itoa(len(flagged)) {
		t.Errorf("report says %s sequences, %s anomalies; the latents table has %d and %d", p.keys["sequences"], p.keys["anomalies"], len(ids), len(flagged))
	}
	if !slices.Equal(p.top, want) || !slices.Equal(p.small, want) {
		t.Errorf("top anomalies: report's table %v, its charts %v; latents table %v", p.top, p.small, want)
	}
	if p.charts != 6+len(want) {
		t.Errorf("got %d charts, want %d (loss, time, histogram, scatter, PSI, anomaly share and %d top anomalies)", p.charts, 6+len(want), len(want))
	}
	if f := []string{"feature 0", "feature 1", "feature 2"}; !slices.Equal(p.feat, f) {
		t.Errorf("feature lines named %v, want %v (the nested layout's features have no names)", p.feat, f)
	}
	if !slices.Equal(p.drift, []string{day1}) {
		t.Errorf("drift dates: got %v, want [%s]", p.drift, day1)
	}
	if p.keys["quarantined"] != "0" {
		t.Errorf("quarantined: got %s, want 0", p.keys["quarantined"])
	}
	d, err := buildReport(context.Background(), &reportSource{out: out}, "t", day1, day1, day1)
	if err != nil {
		t.Fatal(err)
	}
	steps := tabletest.ReadFile[tabletest.StepLoss](t, filepath.Join(out, TableStepLosses, "dt="+day1, "part-00000-of-00001.parquet"))
	for _, a := range d.Top {
		var want []float64
		for _, s := range steps {
			if s.ID == a.ID {
				want = append(want, float64(s.Loss))
			}
		}
		if len(want) != a.Length || !slices.Equal(a.StepLoss, want) {
			t.Errorf("%s: the report's step losses %v, the step_losses table's %v", a.ID, a.StepLoss, want)
		}
	}
	// A train-only run's report, in a new folder, has the training charts
	// only; after it, an encode-only run's has them all, with the drift of
	// every date up to it.
	train := smallJob(t, in, "run=train", "training.epochs=2")
	mustRun(t, train, Options{Date: day2})
	if p := readPage(t, reportPath(train.Output.Dir, day2)); p.charts != 2 || p.keys["sequences"] != "" {
		t.Errorf("train-only report: %d charts and sequences %q, want 2 and none", p.charts, p.keys["sequences"])
	}
	train.Output.Dir = out
	mustRun(t, train, Options{Date: day2})
	enc := smallJob(t, in, "run=encode", "output.format=arrow")
	enc.Output.Dir = out
	mustRun(t, enc, Options{Date: "2026-11-26"})
	p = readPage(t, reportPath(out, "2026-11-26"))
	if p.charts < 6 || p.keys["sequences"] != strconv.Itoa(len(ids)) || !slices.Equal(p.drift, []string{day1, "2026-11-26"}) {
		t.Errorf("encode-only report: %d charts, %s sequences, drift dates %v; want at least 6, %d, [%s 2026-11-26]", p.charts, p.keys["sequences"], p.drift, len(ids), day1)
	}

	// seqae report over the range has every date's latents.
	var buf bytes.Buffer
	if err := Report(context.Background(), out, day1, "2026-11-26", &buf); err != nil {
		t.Fatal(err)
	}
	rng := filepath.Join(t.TempDir(), "r.html")
	if err := os.WriteFile(rng, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := readPage(t, rng); p.keys["sequences"] != strconv.Itoa(2*len(ids)) {
		t.Errorf("range report: %s sequences, want %d (two dates)", p.keys["sequences"], 2*len(ids))
	}
	if err := Report(context.Background(), out, "2026-11-26", day1, &buf); err == nil {
		t.Error("a range that ends before it starts: no error")
	}
}

// A report that cannot be made (here: an earlier date's drift file is
// damaged) leaves the run's tables committed, the error logged, and no
// stale report for the date.
func TestReportFailureDoesNotFailTheRun(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	cfg := smallJob(t, in)
	mustRun(t, cfg, Options{Date: day1})
	mustRun(t, cfg, Options{Date: day2})
	if _, err := os.Stat(reportPath(cfg.Output.Dir, day2)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Output.Dir, TableDrift, "dt="+day1, "part-00000-of-00001.parquet"), []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	res := mustRun(t, cfg, Options{Date: day2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "no report") || !slices.Contains(res.Removed, filepath.Join(cfg.Output.Dir, TableReports, "dt="+day2)) {
		t.Errorf("removed %v; log:\n%s\nwant the error logged and the date's report removed", res.Removed, logs.String())
	}
	if _, err := os.Stat(filepath.Join(cfg.Output.Dir, TableLatents, "dt="+day2, SuccessFile)); err != nil {
		t.Errorf("latents not committed: %v", err)
	}
}

// The report names the feature lines after the input's feature columns:
// the long layout's, found in the data at training and kept in the model
// file. An encode-only run with a model.path outside its output folder
// takes them, and the anomaly thresholds, from the model it ran, and so
// does seqae report from the file model.path names.
func TestReportFeatureNames(t *testing.T) {
	t.Parallel()
	seqs := synth.Sensors(synth.Options{N: 150, MinLen: 4, MaxLen: 16, Dim: 3, Anomalies: 2, Noise: 0.05, Seed: 11})
	in := writeLongParts(t, seqs, 1, 1)
	res := mustRun(t, smallJob(t, in, "input.layout=long", "run=train"), Options{Date: day1})
	mf, err := ReadModel(context.Background(), storage.Local{}, res.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	var buckets []string
	for _, b := range mf.Calibration.Buckets {
		buckets = append(buckets, strconv.Itoa(b.MinLen))
	}
	enc := smallJob(t, in, "input.layout=long", "run=encode", "model.path="+res.ModelPath, "output.feature_losses=true", "output.anomaly_percentile=90")
	mustRun(t, enc, Options{Date: day2})
	var buf bytes.Buffer
	if err := Report(context.Background(), enc.Output.Dir, "", "", &buf); err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(t.TempDir(), "r.html")
	if err := os.WriteFile(cli, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{reportPath(enc.Output.Dir, day2), cli} {
		p := readPage(t, path)
		if want := []string{"f0", "f1", "f2"}; !slices.Equal(p.feat, want) || len(p.small) == 0 {
			t.Errorf("%s: feature lines named %v in %d small multiples, want %v in some", path, p.feat, len(p.small), want)
		}
		if !slices.Equal(p.thresh, buckets) {
			t.Errorf("%s: thresholds for lengths from %v, want the model's buckets %v", path, p.thresh, buckets)
		}
	}
}

func TestFeatureNames(t *testing.T) {
	t.Parallel()
	m, err := nn.NewModel(nn.Config{InputDim: 2, LatentDim: 2, DecoderHidden: 2, Head: nn.HeadLinear}, 1)
	if err != nil {
		t.Fatal(err)
	}
	withCfg := func(features ...string) Config {
		c := Default()
		c.Input.Features = features
		return c
	}
	model := func(meta map[string]string) *ModelFile { return &ModelFile{Path: "m", Model: m, Meta: meta} }
	job := withCfg("p", "q")
	job.Inputs = []string{"in"}
	for _, c := range []struct {
		name string
		cfg  Config
		mf   *ModelFile
		want []string
	}{
		{"the job's", withCfg("a", "b"), model(map[string]string{MetaFeatures: `["x","y"]`}), []string{"a", "b"}},
		{"the model file's", withCfg(), model(map[string]string{MetaFeatures: `["x","y"]`}), []string{"x", "y"}},
		{"the model's job's", withCfg(), model(map[string]string{MetaJobConfig: job.YAML()}), []string{"p", "q"}},
		{"none (nested)", withCfg(), model(map[string]string{}), nil},
		{"not the model's count", withCfg("a", "b", "c"), model(nil), nil},
		{"no model file", withCfg("a"), nil, []string{"a"}},
	} {
		if got := featureNames(c.cfg, c.mf); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
