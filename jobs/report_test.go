package jobs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/seqae/seqae/internal/tabletest"
)

// page is a report as a test sees it.
type page struct {
	charts int
	keys   map[string]string // data-key -> text
	top    []string          // the top anomalies table's ids, in order
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
// rows and the top anomalies by percentile, then score.
func TestReportMatchesTables(t *testing.T) {
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
	slices.SortStableFunc(flagged, func(a, b tabletest.Latent) int {
		if *a.Percentile != *b.Percentile {
			return cmpDesc(float64(*a.Percentile), float64(*b.Percentile))
		}
		return cmpDesc(float64(a.Score), float64(b.Score))
	})
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
	if !slices.Equal(p.top, want) {
		t.Errorf("top anomalies: report %v, table %v", p.top, want)
	}
	if p.charts != 7 {
		t.Errorf("got %d charts, want 7 (loss, time, histogram, scatter, top anomalies, PSI, anomaly share)", p.charts)
	}
	if !slices.Equal(p.drift, []string{day1}) {
		t.Errorf("drift dates: got %v, want [%s]", p.drift, day1)
	}
	if p.keys["quarantined"] != "0" {
		t.Errorf("quarantined: got %s, want 0", p.keys["quarantined"])
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
