package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The Okabe-Ito palette (Okabe and Ito, "Color Universal Design", 2002):
// told apart with the common colour vision deficiencies (TestPalette
// checks them under simulated protanopia, deuteranopia and tritanopia).
var (
	black     = color.RGBA{0x00, 0x00, 0x00, 0xff}
	orange    = color.RGBA{0xe6, 0x9f, 0x00, 0xff}
	skyBlue   = color.RGBA{0x56, 0xb4, 0xe9, 0xff}
	green     = color.RGBA{0x00, 0x9e, 0x73, 0xff}
	blue      = color.RGBA{0x00, 0x72, 0xb2, 0xff}
	vermilion = color.RGBA{0xd5, 0x5e, 0x00, 0xff}
	purple    = color.RGBA{0xcc, 0x79, 0xa7, 0xff} // reddish purple
)

// featureColors colour per-feature lines, in order: the palette less black
// (the mean loss's line) and yellow (too faint a line on white).
var featureColors = []color.RGBA{blue, orange, green, purple, skyBlue, vermilion}

// featureStyle is feature j's line colour, dashed from the seventh on,
// where the colours repeat.
func featureStyle(j int) (c color.RGBA, dashed bool) {
	return featureColors[j%len(featureColors)], j >= len(featureColors)
}

func init() {
	// Sans serif reads better at small sizes than the library's default
	// serif face.
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	plotter.DefaultFont = plot.DefaultFont
}

// newPlot makes a plot with the report's style: title, axis labels with
// units, a light grid.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.X.Label.Text, p.Y.Label.Text = x, y
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(11)
		a.Tick.Label.Font.Size = vg.Points(10)
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = linearTicks, linearTicks
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = color.RGBA{0xe5, 0xe5, 0xe5, 0xff}, color.RGBA{0xe5, 0xe5, 0xe5, 0xff}
	p.Add(g)
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	return p
}

// fixLogRange widens a log axis' range when its data is one value (or
// none), which the log scale cannot draw.
func fixLogRange(a *plot.Axis) {
	if !(a.Min > 0) || !(a.Max > a.Min) {
		a.Min, a.Max = max(a.Min, a.Max, 1e-6)/2, max(a.Min, a.Max, 1e-6)*2
	}
}

// svgOf renders p as one SVG element of w x h points. The text is plain
// SVG text in Liberation Sans, falling back on the metrically equal Arial
// and Helvetica, so no font is fetched or embedded.
func svgOf(w, h vg.Length, p *plot.Plot) (string, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", err
	}
	s := buf.String()
	// Drop the XML prolog: the SVG is inline in HTML.
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	s = strings.ReplaceAll(s, "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
	return s, nil
}

func line(xys plotter.XYs, c color.Color, width float64, dashed bool) *plotter.Line {
	l, err := plotter.NewLine(xys)
	if err != nil {
		panic(fmt.Sprintf("report: %v", err)) // only for NaN or Inf, which callers leave out
	}
	l.LineStyle.Color, l.LineStyle.Width = c, vg.Points(width)
	if dashed {
		l.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	return l
}

func points(xys plotter.XYs, c color.Color, radius float64, shape draw.GlyphDrawer) *plotter.Scatter {
	s, err := plotter.NewScatter(xys)
	if err != nil {
		panic(fmt.Sprintf("report: %v", err))
	}
	s.GlyphStyle.Color, s.GlyphStyle.Radius, s.GlyphStyle.Shape = c, vg.Points(radius), shape
	return s
}

// finite keeps the points with finite coordinates (and, on a log axis,
// positive ones).
func finite(xys plotter.XYs, logY bool) plotter.XYs {
	out := xys[:0:0]
	for _, p := range xys {
		if !math.IsNaN(p.X) && !math.IsInf(p.X, 0) && !math.IsNaN(p.Y) && !math.IsInf(p.Y, 0) && (!logY || p.Y > 0) {
			out = append(out, p)
		}
	}
	return out
}

// log10Ticks labels an axis that holds log10 values with the values
// themselves: 0.001, 0.01, 0.1, 1 ..., and 2 and 5 times them too when
// the axis spans less than two powers of ten.
var log10Ticks = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
	label := func(v float64) string { return strconv.FormatFloat(math.Pow(10, v), 'g', 3, 64) }
	var ticks []plot.Tick
	for e := math.Floor(lo); e <= math.Ceil(hi); e++ {
		if e >= lo && e <= hi {
			ticks = append(ticks, plot.Tick{Value: e, Label: label(e)})
		}
		for _, m := range []float64{2, 5} {
			if v := e + math.Log10(m); v >= lo && v <= hi {
				t := plot.Tick{Value: v}
				if hi-lo < 2 {
					t.Label = label(v)
				}
				ticks = append(ticks, t)
			}
		}
	}
	return ticks
})

// log125Ticks labels a log axis at 1, 2 and 5 times the powers of ten in
// range (all powers of ten when the range spans more than three).
var log125Ticks = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	mults := []float64{1, 2, 5}
	if math.Log10(hi/lo) > 3 {
		mults = []float64{1}
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for m := 1.0; m < 10; m++ {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if slices.Contains(mults, m) {
				t.Label = strconv.FormatFloat(v, 'g', 3, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
})

// linearTicks labels a linear axis at about five round values (1, 2 or 5
// times a power of ten apart), written as short as they allow.
var linearTicks = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	raw := (hi - lo) / 5
	step := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{2, 5, 10} {
		if step >= raw {
			break
		}
		step = math.Pow(10, math.Floor(math.Log10(raw))) * m
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		r := math.Round(v/step) * step
		ticks = append(ticks, plot.Tick{Value: r, Label: strconv.FormatFloat(r, 'g', 6, 64)})
	}
	return ticks
})

// integerTicks puts ticks on whole numbers only, about 8 of them.
var integerTicks = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
	step := max(1, math.Ceil((hi-lo)/8))
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', 0, 64)})
	}
	return ticks
})

// dateTicks labels the integer positions 0..n-1 with dates.
func dateTicks(dates []string) plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		every := max(1, len(dates)/8)
		var ticks []plot.Tick
		for i, d := range dates {
			if i%every == 0 && float64(i) >= lo && float64(i) <= hi {
				ticks = append(ticks, plot.Tick{Value: float64(i), Label: d[5:]})
			}
		}
		return ticks
	})
}
