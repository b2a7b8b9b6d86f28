package report

import (
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// maxScatter is the most points the score-against-length chart draws per
// kind (normal, anomaly): an even subsample of the rest.
const maxScatter = 4000

// Render writes d as one HTML page.
func Render(w io.Writer, d *Data) error {
	v := view{Data: d}
	var err error
	add := func(dst *template.HTML, f func() (string, error)) {
		if err != nil {
			return
		}
		var s string
		if s, err = f(); err == nil {
			*dst = template.HTML(s) // made here by gonum/plot's SVG canvas, not from input text
		}
	}
	if t := d.Training; t != nil && len(t.Epochs) > 0 {
		add(&v.LossChart, func() (string, error) { return lossChart(t) })
		add(&v.TimeChart, func() (string, error) { return timeChart(t) })
	}
	if s := d.Scores; s != nil && len(s.Score) > 0 {
		add(&v.HistChart, func() (string, error) { return histChart(s) })
		add(&v.ScatterChart, func() (string, error) { return scatterChart(s) })
	}
	for i, a := range d.Top {
		v.TopCharts = append(v.TopCharts, template.HTML(""))
		add(&v.TopCharts[i], func() (string, error) { return topChart(a, d.FeatureLosses) })
	}
	if len(d.Drift) > 0 {
		add(&v.PSIChart, func() (string, error) { return driftChart(d.Drift, true, d.WarnPSI, 0) })
		share := 0.0
		if d.Scores != nil {
			share = 100 - d.Scores.Percentile
		}
		add(&v.ShareChart, func() (string, error) { return driftChart(d.Drift, false, 0, share) })
	}
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if d.FeatureLosses {
		for _, a := range d.Top[:min(len(d.Top), 1)] {
			for j := range a.Features {
				c, dashed := featureStyle(j)
				key := featureKey{Name: featureName(d.FeatureNames, j), Color: fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B), Line: "solid"}
				if dashed {
					key.Line = "dashed"
				}
				v.FeatureKeys = append(v.FeatureKeys, key)
			}
		}
	}
	for _, r := range slices.Sorted(maps.Keys(d.Quarantine.ByReason)) {
		v.Reasons = append(v.Reasons, reasonCount{r, d.Quarantine.ByReason[r]})
	}
	return page.Execute(w, v)
}

type reasonCount struct {
	Reason string
	Count  int64
}

// view is what the template sees.
type view struct {
	*Data
	LossChart, TimeChart, HistChart, ScatterChart, PSIChart, ShareChart template.HTML
	TopCharts                                                           []template.HTML // one per top anomaly
	Reasons                                                             []reasonCount
	FeatureKeys                                                         []featureKey // the top anomalies' feature lines
}

type featureKey struct {
	Name  string
	Color string // #rrggbb
	Line  string // solid or dashed
}

// featureName names feature j: names[j], else "feature j".
func featureName(names []string, j int) string {
	if j < len(names) && names[j] != "" {
		return names[j]
	}
	return fmt.Sprintf("feature %d", j)
}

func lossChart(t *Training) (string, error) {
	p := newPlot("Loss per epoch", "epoch", "mean loss per step (normalised units²)")
	var tr, va plotter.XYs
	var best plotter.XYs
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, e := range t.Epochs {
		tr = append(tr, plotter.XY{X: float64(e.Epoch), Y: e.Train})
		lo, hi = min(lo, e.Train), max(hi, e.Train)
		y := e.Train
		if e.HasVal {
			va = append(va, plotter.XY{X: float64(e.Epoch), Y: e.Val})
			lo, hi, y = min(lo, e.Val), max(hi, e.Val), e.Val
		}
		if e.Epoch == t.Best {
			best = append(best, plotter.XY{X: float64(e.Epoch), Y: y})
		}
	}
	tr, va = finite(tr, true), finite(va, true)
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, log125Ticks
	p.X.Tick.Marker = integerTicks
	if len(tr) > 0 {
		l := line(tr, blue, 2, false)
		p.Add(l)
		p.Legend.Add("train", l)
	}
	if len(va) > 0 {
		l := line(va, orange, 2, true)
		p.Add(l)
		p.Legend.Add("validation", l)
	}
	if best = finite(best, true); len(best) > 0 {
		b := points(best, black, 5, draw.RingGlyph{})
		mark := line(plotter.XYs{{X: best[0].X, Y: lo}, {X: best[0].X, Y: hi}}, black, 1, true)
		p.Add(mark, b)
		p.Legend.Add(fmt.Sprintf("best epoch %d (kept)", t.Best), b)
	}
	fixLogRange(&p.Y)
	return svgOf(vg.Points(520), vg.Points(300), p)
}

func timeChart(t *Training) (string, error) {
	p := newPlot("Time per epoch", "epoch", "time (s)")
	var xys plotter.XYs
	for _, e := range t.Epochs {
		xys = append(xys, plotter.XY{X: float64(e.Epoch), Y: e.Seconds})
	}
	p.X.Tick.Marker = integerTicks
	p.Y.Min = 0
	xys = finite(xys, false)
	if len(xys) > 0 {
		p.Add(line(xys, green, 2, false), points(xys, green, 2, draw.CircleGlyph{}))
	}
	return svgOf(vg.Points(420), vg.Points(300), p)
}

func histChart(s *Scores) (string, error) {
	p := newPlot("Scores", "score (mean loss per step, normalised units², log scale)", "sequences (count)")
	var vals plotter.Values
	for _, x := range s.Score {
		if x > 0 && !math.IsInf(x, 0) {
			vals = append(vals, math.Log10(x))
		}
	}
	if len(vals) > 0 {
		h, err := plotter.NewHist(vals, 40)
		if err != nil {
			return "", err
		}
		h.FillColor, h.LineStyle.Color = skyBlue, blue
		h.LineStyle.Width = vg.Points(0.5)
		p.Add(h)
	}
	p.X.Tick.Marker = log10Ticks
	if s.Calibrated && s.Overall > 0 {
		x := math.Log10(s.Overall)
		// The threshold in view even where no score comes near it.
		p.X.Min, p.X.Max = min(p.X.Min, x-0.05), max(p.X.Max, x+0.05)
		// The legend on the side away from the line.
		p.Legend.Left = x > (p.X.Min+p.X.Max)/2
		p.Y.Max *= 1.15 // room for the legend above the bars
		l := line(plotter.XYs{{X: x, Y: 0}, {X: x, Y: p.Y.Max}}, vermilion, 2, true)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("p%g threshold, all lengths (%.3g)", s.Percentile, s.Overall), l)
	}
	return svgOf(vg.Points(480), vg.Points(320), p)
}

func scatterChart(s *Scores) (string, error) {
	p := newPlot("Score against length", "length (steps)", "score (normalised units², log scale)")
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, log125Ticks
	var normal, anomalous plotter.XYs
	for i, x := range s.Score {
		pt := plotter.XY{X: float64(s.Length[i]), Y: x}
		if s.Anomaly != nil && s.Anomaly[i] {
			anomalous = append(anomalous, pt)
		} else {
			normal = append(normal, pt)
		}
	}
	normal, anomalous = thin(finite(normal, true)), thin(finite(anomalous, true))
	if len(normal) > 0 {
		sc := points(normal, skyBlue, 1.5, draw.CircleGlyph{})
		p.Add(sc)
		p.Legend.Add("normal", sc)
	}
	if len(anomalous) > 0 {
		sc := points(anomalous, vermilion, 3.5, draw.TriangleGlyph{})
		p.Add(sc)
		p.Legend.Add("anomaly", sc)
	}
	if s.Calibrated && len(s.Thresholds) > 0 && len(s.Length) > 0 {
		maxLen := float64(slices.Max(s.Length))
		var steps plotter.XYs
		for i, t := range s.Thresholds {
			end := maxLen
			if i+1 < len(s.Thresholds) {
				end = float64(s.Thresholds[i+1].MinLen)
			}
			start := max(float64(t.MinLen), float64(slices.Min(s.Length)))
			if start > end {
				continue
			}
			steps = append(steps, plotter.XY{X: start, Y: t.Score}, plotter.XY{X: end, Y: t.Score})
		}
		if steps = finite(steps, true); len(steps) > 0 {
			l := line(steps, black, 1.5, true)
			p.Add(l)
			p.Legend.Add(fmt.Sprintf("threshold (p%g of its length bucket)", s.Percentile), l)
		}
	}
	fixLogRange(&p.Y)
	return svgOf(vg.Points(480), vg.Points(320), p)
}

// thin keeps at most maxScatter evenly spaced points.
func thin(xys plotter.XYs) plotter.XYs {
	if len(xys) <= maxScatter {
		return xys
	}
	out := make(plotter.XYs, 0, maxScatter)
	for k := range maxScatter {
		out = append(out, xys[k*len(xys)/maxScatter])
	}
	return out
}

// topChart is one top anomaly's small multiple: its loss at each step
// (black) and, with feature losses, each feature's squared error.
func topChart(a Anomaly, features bool) (string, error) {
	p := newPlot("", "step", "loss (normalised units²)")
	p.X.Label.TextStyle.Font.Size, p.Y.Label.TextStyle.Font.Size = vg.Points(8.5), vg.Points(8.5)
	p.X.Tick.Label.Font.Size, p.Y.Tick.Label.Font.Size = vg.Points(8), vg.Points(8)
	p.X.Tick.Marker = integerTicks
	p.Y.Min = 0
	if features {
		for j, f := range a.Features {
			if xys := stepXYs(f); len(xys) > 0 {
				c, dashed := featureStyle(j)
				p.Add(line(xys, c, 1.2, dashed))
			}
		}
	}
	if xys := stepXYs(a.StepLoss); len(xys) > 0 {
		p.Add(line(xys, black, 2, false))
	}
	p.Y.Max *= 1.05 // the peak clear of the top edge
	return svgOf(vg.Points(172), vg.Points(126), p)
}

func stepXYs(v []float64) plotter.XYs {
	xys := make(plotter.XYs, len(v))
	for t, x := range v {
		xys[t] = plotter.XY{X: float64(t), Y: x}
	}
	return finite(xys, false)
}

func driftChart(rows []DriftPoint, psi bool, warn, expected float64) (string, error) {
	title, ylabel := "Score drift (PSI)", "population stability index (unitless)"
	if !psi {
		title, ylabel = "Anomaly share", "anomalies (% of sequences)"
	}
	p := newPlot(title, "date (MM-DD)", ylabel)
	var dates []string
	var xys plotter.XYs
	for i, d := range rows {
		dates = append(dates, d.Date)
		switch {
		case psi && d.HasPSI:
			xys = append(xys, plotter.XY{X: float64(i), Y: d.PSI})
		case !psi && d.HasShare:
			xys = append(xys, plotter.XY{X: float64(i), Y: 100 * d.AnomalyShare})
		}
	}
	p.X.Tick.Marker = dateTicks(dates)
	p.X.Min, p.X.Max = -0.5, float64(len(rows))-0.5
	p.Y.Min = 0
	c := blue
	if !psi {
		c = vermilion
	}
	if xys = finite(xys, false); len(xys) > 0 {
		p.Add(line(xys, c, 2, false), points(xys, c, 3, draw.CircleGlyph{}))
	}
	ref, label := warn, fmt.Sprintf("warning level %g", warn)
	if !psi {
		ref, label = expected, fmt.Sprintf("expected share %.3g%%", expected)
	}
	if ref > 0 {
		p.Y.Max = 1.3 * max(p.Y.Max, ref) // room for the legend
		l := line(plotter.XYs{{X: p.X.Min, Y: ref}, {X: p.X.Max, Y: ref}}, black, 1, true)
		p.Add(l)
		p.Legend.Add(label, l)
	}
	return svgOf(vg.Points(460), vg.Points(280), p)
}
