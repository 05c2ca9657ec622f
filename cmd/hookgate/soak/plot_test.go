package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"testing"
	"time"
)

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi float64
		n      int
		want   []float64
	}{
		{"0 to 10 in 5", 0, 10, 5, []float64{0, 2, 4, 6, 8, 10}},
		{"0 to 9.3 in 5 rounds up", 0, 9.3, 5, []float64{0, 2, 4, 6, 8, 10}},
		{"0 to 3 min in 10", 0, 3, 10, []float64{0, 0.5, 1, 1.5, 2, 2.5, 3}},
		{"0 to 30 min in 10", 0, 30, 10, []float64{0, 5, 10, 15, 20, 25, 30}},
		{"0 to 470 in 5", 0, 470, 5, []float64{0, 100, 200, 300, 400, 500}},
		{"0 to 0.07 in 5", 0, 0.07, 5, []float64{0, 0.02, 0.04, 0.06, 0.08}},
		{"empty range", 0, 0, 5, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{"reversed range", 5, 1, 5, []float64{5, 5.2, 5.4, 5.6, 5.8, 6}},
		{"n of zero means one step", 0, 7, 0, []float64{0, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := niceTicks(tt.lo, tt.hi, tt.n)
			if len(got) != len(tt.want) {
				t.Fatalf("niceTicks(%g, %g, %d) = %v, want %v", tt.lo, tt.hi, tt.n, got, tt.want)
			}
			for i := range got {
				if d := got[i] - tt.want[i]; d > 1e-9 || d < -1e-9 {
					t.Fatalf("niceTicks(%g, %g, %d) = %v, want %v", tt.lo, tt.hi, tt.n, got, tt.want)
				}
			}
		})
	}
}

func TestDecadeTicks(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi float64
		want   []float64
	}{
		{"2 ms to 30 s", 2, 30000, []float64{1, 10, 100, 1000, 10000, 100000}},
		{"exact decades", 10, 1000, []float64{10, 100, 1000}},
		{"sub-millisecond", 0.3, 4, []float64{0.1, 1, 10}},
		{"one value", 5, 5, []float64{1, 10}},
		{"no positive value", math.Inf(1), 0, []float64{1, 10}},
		{"negative", -1, 10, []float64{1, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decadeTicks(tt.lo, tt.hi)
			if len(got) != len(tt.want) {
				t.Fatalf("decadeTicks(%g, %g) = %v, want %v", tt.lo, tt.hi, got, tt.want)
			}
			for i := range got {
				if math.Abs(got[i]-tt.want[i]) > 1e-9*tt.want[i] {
					t.Fatalf("decadeTicks(%g, %g) = %v, want %v", tt.lo, tt.hi, got, tt.want)
				}
			}
		})
	}
}

func TestDecadeLabel(t *testing.T) {
	for v, want := range map[float64]string{0.1: "0.1", 1: "1", 1000: "1000", 1e4: "1e4", 1e6: "1e6"} {
		if got := decadeLabel(v); got != want {
			t.Errorf("decadeLabel(%g) = %q, want %q", v, got, want)
		}
	}
}

func TestRenderLogScale(t *testing.T) {
	// 1, 10, 100 on a log axis of decades 1..100 are evenly spaced: the
	// middle point is in the middle, and a zero is not drawn.
	pts := []point{{0, 1}, {1, 10}, {2, 100}, {3, 0}}
	img := render([]panel{{title: "log", logY: true, series: []series{{"s", red, pts}}}}, 3, "x")
	top := 10 + titleH
	area := image.Rect(marginL, top, plotW-marginR, top+panelH)
	x := func(v float64) int { return area.Min.X + int(math.Round(v/3*float64(area.Dx()))) }
	if !near(img, image.Pt(x(1), area.Min.Y+area.Dy()/2), red, 2) {
		t.Errorf("10 is not halfway up a 1..100 log axis")
	}
	if anyPixel(img, image.Rect(x(2)+4, area.Min.Y, area.Max.X, area.Max.Y), red) {
		t.Errorf("a segment to a zero was drawn on a log axis")
	}
}

func TestTickLabel(t *testing.T) {
	tests := []struct {
		v     float64
		ticks []float64
		want  string
	}{
		{200, []float64{0, 100, 200}, "200"},
		{1.5, []float64{0, 0.5, 1, 1.5}, "1.5"},
		{1, []float64{0, 0.5, 1}, "1.0"},
		{0.04, []float64{0, 0.02, 0.04}, "0.04"},
		{7, []float64{7}, "7"},
	}
	for _, tt := range tests {
		if got := tickLabel(tt.v, tt.ticks); got != tt.want {
			t.Errorf("tickLabel(%g, %v) = %q, want %q", tt.v, tt.ticks, got, tt.want)
		}
	}
}

func TestDrawText(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 40, 10))
	drawText(img, 0, 0, "1", black, 1)
	// "1" is ..#.. on its second-to-last row's column 2 and .###. on the last.
	if img.RGBAAt(2, 3) != black || img.RGBAAt(0, 3) == black {
		t.Errorf("glyph 1 drawn wrong at row 3")
	}
	if img.RGBAAt(1, 6) != black || img.RGBAAt(3, 6) != black || img.RGBAAt(4, 6) == black {
		t.Errorf("glyph 1 drawn wrong at row 6")
	}
	if w := textWidth("ab", 2); w != 22 {
		t.Errorf("textWidth(ab, 2) = %d, want 22", w)
	}
	if w := textWidth("", 2); w != 0 {
		t.Errorf("textWidth of nothing = %d", w)
	}
	// A rune without a glyph is a box; upper case is lower case.
	box := image.NewRGBA(image.Rect(0, 0, 10, 10))
	drawText(box, 0, 0, "€", black, 1)
	if box.RGBAAt(0, 0) != black || box.RGBAAt(4, 6) != black || box.RGBAAt(2, 3) == black {
		t.Errorf("a rune without a glyph is not a box")
	}
	up, low := image.NewRGBA(image.Rect(0, 0, 10, 10)), image.NewRGBA(image.Rect(0, 0, 10, 10))
	drawText(up, 0, 0, "R", black, 1)
	drawText(low, 0, 0, "r", black, 1)
	if !bytes.Equal(up.Pix, low.Pix) {
		t.Errorf("R and r differ")
	}
	for r, g := range glyphs {
		for i, row := range g {
			if len(row) != glyphW {
				t.Errorf("glyph %q row %d has %d columns", r, i, len(row))
			}
		}
	}
}

func TestRenderPlacesSeries(t *testing.T) {
	pts := []point{{0, 0}, {1, 50}, {2, 100}}
	p := panel{title: "test", series: []series{{"s", red, pts}}, bands: []band{{0.5, 1, faultPink}}}
	img := render([]panel{p}, 2, "x")
	if b := img.Bounds(); b.Dx() != plotW || b.Dy() != plotHeight(1) {
		t.Fatalf("image %v, want %dx%d", b, plotW, plotHeight(1))
	}
	top := 10 + titleH
	area := image.Rect(marginL, top, plotW-marginR, top+panelH)
	// The ticks run 0..100 and 0..2: the last point is the top-right corner.
	if got := img.RGBAAt(area.Max.X, area.Min.Y); got != red {
		t.Errorf("top-right corner is %v, want the series' red", got)
	}
	if got := img.RGBAAt(area.Min.X+1, area.Max.Y); got != red {
		t.Errorf("bottom-left corner is %v, want the series' red", got)
	}
	// The midpoint (1, 50) lies on the line.
	mid := image.Pt(area.Min.X+area.Dx()/2, area.Min.Y+area.Dy()/2)
	if !near(img, mid, red, 2) {
		t.Errorf("no red near the middle %v", mid)
	}
	// The band covers x in [0.5, 1] away from the line and gridlines.
	if got := img.RGBAAt(area.Min.X+area.Dx()*3/8+3, area.Min.Y+10); got != faultPink {
		t.Errorf("band pixel %v, want pink", got)
	}
	// Outside the band, above the line: white.
	if got := img.RGBAAt(area.Min.X+area.Dx()/8+3, area.Min.Y+10); got != white {
		t.Errorf("background pixel %v, want white", got)
	}
	// Axes and text are black.
	if img.RGBAAt(area.Min.X, area.Min.Y+area.Dy()/3) != black {
		t.Errorf("no y axis")
	}
	if !anyPixel(img, image.Rect(area.Min.X, area.Min.Y-titleH, area.Min.X+60, area.Min.Y), black) {
		t.Errorf("no title text")
	}
}

func TestRenderSkipsBadValues(t *testing.T) {
	nan := []point{{0, 1}, {1, nanValue()}, {2, 1}}
	img := render([]panel{{title: "nan", series: []series{{"s", red, nan}}}}, 2, "x")
	top := 10 + titleH
	// Both segments touch the NaN, so nothing is drawn at x = 1.
	x := marginL + (plotW-marginL-marginR)/2
	if anyPixel(img, image.Rect(x-2, top, x+2, top+panelH), red) {
		t.Errorf("a segment through NaN was drawn")
	}
}

func nanValue() float64 { var z float64; return z / z }

func TestWritePlot(t *testing.T) {
	var samples []sample
	for i := 1; i <= 18; i++ {
		samples = append(samples, sample{At: time.Duration(i) * 10 * time.Second, Phase: "hold", RSS: 300 + float64(i),
			HeapInuse: 120, GoroutAdmin: 400, GoroutOps: 400,
			In:    stat{OK: 1000, P99: 8 * time.Millisecond},
			Out:   stat{OK: 1000, P99: 12 * time.Millisecond},
			Deliv: stat{OK: 990, P99: 30 * time.Millisecond}})
	}
	var buf bytes.Buffer
	if err := writePlot(&buf, samples, 10*time.Second, []band{{1, 1.5, faultPink}}); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("decode the PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != plotW || b.Dy() != plotHeight(3) {
		t.Errorf("PNG %v, want %dx%d", b, plotW, plotHeight(3))
	}
	colors := map[color.RGBA]bool{}
	rgba := img.(*image.RGBA)
	for i := 0; i < len(rgba.Pix); i += 4 {
		colors[color.RGBA{rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2], rgba.Pix[i+3]}] = true
	}
	for _, c := range []color.RGBA{blue, orange, green, rampGray, faultPink, black} {
		if !colors[c] {
			t.Errorf("the plot has no pixel of %v", c)
		}
	}
	if err := writePlot(&buf, nil, 0, nil); err == nil {
		t.Errorf("a plot of no samples did not fail")
	}
	panels := soakPanels(samples, 0, nil)
	names := []string{}
	for _, p := range panels {
		names = append(names, p.title)
	}
	if !slices.Equal(names, []string{"memory (mib)", "goroutines", "p99 (ms, log), 10 s windows"}) || !panels[2].logY {
		t.Errorf("panels %v", names)
	}
}

func near(img *image.RGBA, p image.Point, c color.RGBA, r int) bool {
	return anyPixel(img, image.Rect(p.X-r, p.Y-r, p.X+r+1, p.Y+r+1), c)
}

func anyPixel(img *image.RGBA, r image.Rectangle, c color.RGBA) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.RGBAAt(x, y) == c {
				return true
			}
		}
	}
	return false
}
