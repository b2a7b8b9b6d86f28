package report

import (
	"fmt"
	"image/color"
	"math"
	"testing"
)

// Machado, Oliveira and Fernandes (2009)'s matrices for full dichromacy,
// on linear RGB.
var dichromacies = []struct {
	name string
	m    [3][3]float64
}{
	{"none", [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}},
	{"protanopia", [3][3]float64{{0.152286, 1.052583, -0.204868}, {0.114503, 0.786281, 0.099216}, {-0.003882, -0.048116, 1.051998}}},
	{"deuteranopia", [3][3]float64{{0.367322, 0.860646, -0.227968}, {0.280085, 0.672501, 0.047413}, {-0.011820, 0.042940, 0.968881}}},
	{"tritanopia", [3][3]float64{{1.255528, -0.076749, -0.178779}, {-0.078411, 0.930809, 0.147602}, {0.004733, 0.691367, 0.303900}}},
}

func linear(c uint8) float64 {
	v := float64(c) / 255
	if v <= 0.04045 {
		return v / 12.92
	}
	return math.Pow((v+0.055)/1.055, 2.4)
}

// lab is c's CIELAB colour (D65) as seen with the dichromacy m.
func lab(c color.RGBA, m [3][3]float64) [3]float64 {
	rgb := [3]float64{linear(c.R), linear(c.G), linear(c.B)}
	var s [3]float64
	for i := range 3 {
		for j := range 3 {
			s[i] += m[i][j] * rgb[j]
		}
		s[i] = min(max(s[i], 0), 1)
	}
	x := (0.4124*s[0] + 0.3576*s[1] + 0.1805*s[2]) / 0.95047
	y := 0.2126*s[0] + 0.7152*s[1] + 0.0722*s[2]
	z := (0.0193*s[0] + 0.1192*s[1] + 0.9505*s[2]) / 1.08883
	f := func(t float64) float64 {
		if t > 216.0/24389 {
			return math.Cbrt(t)
		}
		return (24389.0/27*t + 16) / 116
	}
	return [3]float64{116*f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))}
}

func deltaE(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

// closest returns the smallest ΔE between two of colours (and, with
// page, between one of them and black or white) under the dichromacy m.
func closest(colours []color.RGBA, m [3][3]float64, page bool) (float64, string) {
	worst, pair := math.Inf(1), ""
	for i, a := range colours {
		others := colours[i+1:]
		if page {
			others = append([]color.RGBA{black, {0xff, 0xff, 0xff, 0xff}}, others...)
		}
		for _, b := range others {
			if e := deltaE(lab(a, m), lab(b, m)); e < worst {
				worst, pair = e, fmt.Sprintf("#%02x%02x%02x and #%02x%02x%02x", a.R, a.G, a.B, b.R, b.G, b.B)
			}
		}
	}
	return worst, pair
}

// minDeltaE is the least CIELAB (1976) distance the feature lines keep
// apart; about 2 is a just noticeable difference.
const minDeltaE = 15

// The feature lines' colours stay apart from each other, from the mean
// loss's black and from the white page, for normal colour vision and the
// three dichromacies; a red and a green that deuteranopes confuse do not.
func TestPalette(t *testing.T) {
	for _, d := range dichromacies {
		e, pair := closest(featureColors, d.m, true)
		t.Logf("%s: closest %s, ΔE %.1f", d.name, pair, e)
		if e < minDeltaE {
			t.Errorf("%s: %s are ΔE %.1f apart, want at least %v", d.name, pair, e, minDeltaE)
		}
	}
	redGreen := []color.RGBA{{0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}}
	if e, _ := closest(redGreen, dichromacies[2].m, false); e >= minDeltaE {
		t.Errorf("red #d62728 and green #2ca02c under deuteranopia: ΔE %.1f, want under %v (the check would pass anything)", e, minDeltaE)
	}
}
