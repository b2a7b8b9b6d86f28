package report

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// checkPage parses a rendered page and returns its number of charts (svg
// elements) and the text of each element with a data-key attribute, and
// under "rows", "charts" and "features" the top anomalies' table rows'
// ids, their small multiples' ids and the feature lines' names, joined by
// "|". It fails on any src or href that points outside the page.
func checkPage(t *testing.T, page []byte) (charts int, keys map[string]string) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("not HTML: %v", err)
	}
	keys = map[string]string{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "svg" {
				charts++
			}
			for _, a := range n.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				if (a.Key == "src" || a.Key == "href" || a.Key == "xlink:href") && (strings.Contains(v, "http:") || strings.Contains(v, "https:") || strings.HasPrefix(v, "//")) {
					t.Errorf("<%s %s=%q> refers outside the page", n.Data, a.Key, a.Val)
				}
				if a.Key == "data-key" {
					keys[a.Val] = strings.TrimSpace(text(n))
				}
				if k, ok := map[string]string{"data-id": "rows", "data-chart-id": "charts", "data-feature": "features"}[a.Key]; ok {
					keys[k] = strings.TrimPrefix(keys[k]+"|"+a.Val, "|")
				}
			}
			if n.Data == "script" || n.Data == "link" || n.Data == "img" || n.Data == "iframe" {
				t.Errorf("the page has a <%s>", n.Data)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if bytes.Contains(page, []byte("@import")) || bytes.Contains(page, []byte("url(")) {
		t.Error("the page's styles load something")
	}
	return charts, keys
}

func text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(text(c))
	}
	return b.String()
}

func epochs() *Training {
	return &Training{ModelID: "abc", Date: "2026-11-25", Best: 2, Epochs: []Epoch{
		{Epoch: 1, Train: 0.5, Val: 0.6, HasVal: true, Seconds: 1}, {Epoch: 2, Train: 0.2, Val: 0.3, HasVal: true, Seconds: 1.5}, {Epoch: 3, Train: 0.1, Val: 0.35, HasVal: true, Seconds: 1.2}}}
}

func TestRender(t *testing.T) {
	scores := &Scores{Score: []float64{0.01, 0.02, 0.03, 2}, Length: []int{5, 8, 9, 7}, Anomaly: []bool{false, false, false, true},
		Calibrated: true, Anomalies: 1, Percentile: 99, Thresholds: []Threshold{{1, 0.05}, {8, 0.06}}, Overall: 0.055}
	calm := &Scores{Score: []float64{0.01, 0.02}, Length: []int{5, 8}, Anomaly: []bool{false, false}, Calibrated: true, Percentile: 99,
		Thresholds: []Threshold{{1, 0.05}}, Overall: 0.05}
	top := []Anomaly{{Date: "2026-11-25", ID: "x<1>", Length: 7, Score: 2, Percentile: 100, Pass: []string{"m1"}, StepLoss: []float64{1, 3, 2, 2, 1, 3, 2},
		Features: [][]float64{{1, 3, 2, 2, 1, 3, 2}, {1, 3, 2, 2, 1, 3, 2}}},
		{Date: "2026-11-25", ID: "y", Length: 2, Score: 1.5, Percentile: 99.5, Pass: []string{"m2"}, StepLoss: []float64{1, 2},
			Features: [][]float64{{1, 2}, {1, 2}}}}
	drift := []DriftPoint{{Date: "2026-11-24", Baseline: "training", PSI: 0.05, HasPSI: true, AnomalyShare: 0.01, HasShare: true},
		{Date: "2026-11-25", Baseline: "latents 2026-11-24", PSI: 0.3, HasPSI: true, AnomalyShare: 0.25, HasShare: true}}
	q := Quarantine{Total: 2, ByReason: map[string]int64{"null_id": 2}, Examples: []QuarantineRow{{File: "a.parquet", Row: 3, Reason: "null_id"}}}
	for _, c := range []struct {
		name   string
		data   Data
		charts int
		keys   map[string]string
	}{
		{"full", Data{Training: epochs(), Scores: scores, Top: top, PassNames: []string{"machine"}, FeatureLosses: true, FeatureNames: []string{"temp"},
			Drift: drift, Quarantine: q, WarnPSI: 0.2},
			8, map[string]string{"sequences": "4", "anomalies": "1", "quarantined": "2", "best-epoch": "20.20.31.5",
				"rows": "x<1>|y", "charts": "x<1>|y", "features": "temp|feature 1"}},
		{"train only", Data{Training: epochs()}, 2, map[string]string{"quarantined": "0"}},
		{"encode only, no training metrics", Data{Scores: scores, Top: top[:1], Drift: drift[:1], WarnPSI: 0.2}, 5,
			map[string]string{"anomalies": "1", "rows": "x<1>", "charts": "x<1>", "features": ""}},
		{"zero anomalies", Data{Training: epochs(), Scores: calm, Drift: drift[:1], WarnPSI: 0.2}, 6,
			map[string]string{"anomalies": "0", "no-anomalies": "No sequence reached the anomaly threshold."}},
		{"uncalibrated", Data{Scores: &Scores{Score: []float64{0.1}, Length: []int{3}, Anomaly: []bool{false}}}, 2,
			map[string]string{"anomalies": "not calibrated"}},
		{"nothing", Data{}, 0, map[string]string{"quarantined": "0"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.data.Title, c.data.From, c.data.To = "job", "2026-11-25", "2026-11-25"
			var buf bytes.Buffer
			if err := Render(&buf, &c.data); err != nil {
				t.Fatal(err)
			}
			charts, keys := checkPage(t, buf.Bytes())
			if charts != c.charts {
				t.Errorf("got %d charts, want %d", charts, c.charts)
			}
			for k, want := range c.keys {
				if got := keys[k]; got != want {
					t.Errorf("data-key %s: got %q, want %q", k, got, want)
				}
			}
			if strings.Contains(buf.String(), "x<1>") {
				t.Error("an id was not escaped")
			}
		})
	}
}

// Past the palette's six colours, feature lines repeat them dashed, and
// their keys say so.
func TestFeatureKeysRepeatDashed(t *testing.T) {
	f := make([][]float64, 8)
	for j := range f {
		f[j] = []float64{float64(j), 1}
	}
	d := Data{From: "2026-11-25", To: "2026-11-25", FeatureLosses: true, Top: []Anomaly{{ID: "a", Length: 2, StepLoss: []float64{1, 2}, Features: f}}}
	var buf bytes.Buffer
	if err := Render(&buf, &d); err != nil {
		t.Fatal(err)
	}
	_, keys := checkPage(t, buf.Bytes())
	if want := "feature 0|feature 1|feature 2|feature 3|feature 4|feature 5|feature 6|feature 7"; keys["features"] != want {
		t.Errorf("feature keys %q, want %q", keys["features"], want)
	}
	if got := strings.Count(buf.String(), "border-top: 3px dashed"); got != 2 {
		t.Errorf("got %d dashed keys, want 2 (features 6 and 7)", got)
	}
}

// The charts' text names no font the reader may lack without a fallback.
func TestFontFallback(t *testing.T) {
	s, err := timeChart(epochs())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s, "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;") || strings.Contains(s, "font-family:Liberation Sans;") {
		t.Errorf("the chart's font families are not all given fallbacks:\n%.600s", s)
	}
	if strings.Contains(s, "<?xml") {
		t.Error("the inline SVG keeps its XML prolog")
	}
}
