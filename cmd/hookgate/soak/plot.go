package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"
	"time"
)

// The plot is drawn with the standard library only: panels stacked over
// one time axis, each with its gridlines, tick labels, title and legend
// in the 5×7 font of font.go.

type point struct{ x, y float64 }

type series struct {
	name string
	c    color.RGBA
	pts  []point
}

// band shades [from, to] of the x axis (the ramp, a fault).
type band struct {
	from, to float64
	c        color.RGBA
}

type panel struct {
	title  string
	series []series
	bands  []band
	logY   bool // decades from the smallest positive value; values ≤ 0 are not drawn
}

var (
	white     = color.RGBA{255, 255, 255, 255}
	black     = color.RGBA{0, 0, 0, 255}
	gridGray  = color.RGBA{225, 225, 225, 255}
	rampGray  = color.RGBA{238, 238, 238, 255}
	faultPink = color.RGBA{253, 226, 226, 255}
	blue      = color.RGBA{31, 119, 180, 255}
	orange    = color.RGBA{255, 127, 14, 255}
	green     = color.RGBA{44, 160, 44, 255}
	red       = color.RGBA{214, 39, 40, 255}
)

const (
	plotW     = 1200
	panelH    = 220
	marginL   = 80
	marginR   = 30
	titleH    = 30 // above each panel
	xLabelsH  = 34 // below each panel
	textScale = 2
)

// plotHeight is the image height for n panels.
func plotHeight(n int) int { return 10 + n*(titleH+panelH+xLabelsH) + 30 }

// render draws the panels over x in [0, xMax] with xLabel under the last.
func render(panels []panel, xMax float64, xLabel string) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, plotW, plotHeight(len(panels))))
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	xt := niceTicks(0, xMax, 10)
	xr := [2]float64{xt[0], xt[len(xt)-1]}
	for i, p := range panels {
		top := 10 + i*(titleH+panelH+xLabelsH) + titleH
		drawPanel(img, p, image.Rect(marginL, top, plotW-marginR, top+panelH), xr, xt)
	}
	drawText(img, (plotW-textWidth(xLabel, textScale))/2, img.Bounds().Dy()-28, xLabel, black, textScale)
	return img
}

func drawPanel(img *image.RGBA, p panel, area image.Rectangle, xr [2]float64, xt []float64) {
	yMin, yMax := math.Inf(1), 0.0
	for _, s := range p.series {
		for _, pt := range s.pts {
			if !bad(pt.y) {
				yMax = math.Max(yMax, pt.y)
				if pt.y > 0 {
					yMin = math.Min(yMin, pt.y)
				}
			}
		}
	}
	yt := niceTicks(0, yMax, 5)
	scale := func(y float64) float64 { return y }
	if p.logY {
		yt = decadeTicks(yMin, yMax)
		scale = math.Log10
	}
	yr := [2]float64{scale(yt[0]), scale(yt[len(yt)-1])}
	px := func(x float64) int {
		return area.Min.X + int(math.Round((x-xr[0])/(xr[1]-xr[0])*float64(area.Dx())))
	}
	py := func(y float64) int {
		return area.Max.Y - int(math.Round((scale(y)-yr[0])/(yr[1]-yr[0])*float64(area.Dy())))
	}
	skip := func(y float64) bool { return bad(y) || p.logY && y <= 0 }
	for _, b := range p.bands {
		r := image.Rect(px(math.Max(b.from, xr[0])), area.Min.Y, px(math.Min(b.to, xr[1])), area.Max.Y)
		draw.Draw(img, r, image.NewUniform(b.c), image.Point{}, draw.Src)
	}
	for _, y := range yt {
		hline(img, area.Min.X, area.Max.X, py(y), gridGray)
		l := tickLabel(y, yt)
		if p.logY {
			l = decadeLabel(y)
		}
		drawText(img, area.Min.X-8-textWidth(l, textScale), py(y)-glyphH*textScale/2, l, black, textScale)
	}
	for _, x := range xt {
		vline(img, px(x), area.Min.Y, area.Max.Y, gridGray)
		vline(img, px(x), area.Max.Y, area.Max.Y+5, black)
		l := tickLabel(x, xt)
		drawText(img, px(x)-textWidth(l, textScale)/2, area.Max.Y+9, l, black, textScale)
	}
	hline(img, area.Min.X, area.Max.X, area.Max.Y, black)
	vline(img, area.Min.X, area.Min.Y, area.Max.Y, black)
	for _, s := range p.series {
		for i := 1; i < len(s.pts); i++ {
			a, b := s.pts[i-1], s.pts[i]
			if skip(a.y) || skip(b.y) {
				continue
			}
			line(img, px(a.x), py(a.y), px(b.x), py(b.y), s.c)
		}
		if len(s.pts) == 1 && !skip(s.pts[0].y) {
			line(img, px(s.pts[0].x), py(s.pts[0].y), px(s.pts[0].x), py(s.pts[0].y), s.c)
		}
	}
	// Title, then the legend on the same line.
	y := area.Min.Y - titleH + 6
	drawText(img, area.Min.X, y, p.title, black, textScale)
	x := area.Min.X + textWidth(p.title, textScale) + 30
	for _, s := range p.series {
		draw.Draw(img, image.Rect(x, y+3, x+22, y+glyphH*textScale-3), image.NewUniform(s.c), image.Point{}, draw.Src)
		drawText(img, x+28, y, s.name, black, textScale)
		x += 28 + textWidth(s.name, textScale) + 24
	}
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// decadeLabel writes a power of ten short enough for the margin: 0.1 to
// 1000 plainly, 1e4 and up as powers.
func decadeLabel(v float64) string {
	if v < 1e4 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return "1e" + strconv.Itoa(int(math.Round(math.Log10(v))))
}

// decadeTicks are the powers of ten from at or below lo to at or above
// hi (both positive; [1, 10] when they are not).
func decadeTicks(lo, hi float64) []float64 {
	if bad(lo) || bad(hi) || lo <= 0 || hi <= 0 {
		return []float64{1, 10}
	}
	first, last := math.Floor(math.Log10(lo)+1e-9), math.Ceil(math.Log10(hi)-1e-9)
	if last <= first {
		last = first + 1
	}
	var ticks []float64
	for e := first; e <= last; e++ {
		ticks = append(ticks, math.Pow(10, e))
	}
	return ticks
}

// niceTicks returns about n+1 evenly spaced round values (steps of 1, 2
// or 5 times a power of ten) from at or below lo to at or above hi. An
// empty range gets [lo, lo+1].
func niceTicks(lo, hi float64, n int) []float64 {
	if bad(lo) || bad(hi) || hi <= lo {
		hi = lo + 1
	}
	n = max(n, 1)
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw*(1-1e-9) {
			step = m * mag
			break
		}
	}
	first := math.Floor(lo/step+1e-9) * step
	var ticks []float64
	for v := first; ; v += step {
		v = math.Round(v/step) * step
		ticks = append(ticks, v)
		if v >= hi-step*1e-9 {
			break
		}
	}
	return ticks
}

// tickLabel formats v with as many decimals as the ticks' step needs.
func tickLabel(v float64, ticks []float64) string {
	dec := 0
	if len(ticks) > 1 {
		step := ticks[1] - ticks[0]
		dec = max(0, int(math.Ceil(-math.Log10(step)-1e-9)))
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	for x := x0; x <= x1; x++ {
		img.SetRGBA(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	for y := y0; y <= y1; y++ {
		img.SetRGBA(x, y, c)
	}
}

// line draws a 2-pixel line from (x0, y0) to (x1, y1) (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		img.SetRGBA(x0, y0, c)
		img.SetRGBA(x0+1, y0, c)
		img.SetRGBA(x0, y0+1, c)
		img.SetRGBA(x0+1, y0+1, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int { return max(v, -v) }

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// soakPanels turns the samples into the three panels: memory, goroutines
// and p99 latency, each sample at the end of its window, with the ramp
// shaded grey in each and the faults pink in the latency panel.
func soakPanels(samples []sample, rampEnd time.Duration, faults []band) []panel {
	var rss, heap, gAdmin, gOps, inP, outP, delP []point
	for _, s := range samples {
		x := s.At.Minutes()
		rss, heap = append(rss, point{x, s.RSS}), append(heap, point{x, s.HeapInuse})
		gAdmin, gOps = append(gAdmin, point{x, s.GoroutAdmin}), append(gOps, point{x, s.GoroutOps})
		inP, outP = append(inP, point{x, msf(s.In.P99)}), append(outP, point{x, msf(s.Out.P99)})
		if s.Deliv.OK > 0 {
			delP = append(delP, point{x, msf(s.Deliv.P99)})
		}
	}
	ramp := []band{{0, rampEnd.Minutes(), rampGray}}
	return []panel{
		{title: "memory (mib)", bands: ramp, series: []series{{"rss", blue, rss}, {"heap in use", orange, heap}}},
		{title: "goroutines", bands: ramp, series: []series{{"admin /metrics", blue, gAdmin}, {"ops /metrics", orange, gOps}}},
		{title: "p99 (ms, log), 10 s windows", logY: true, bands: append(ramp, faults...), series: []series{
			{"inbound post", blue, inP}, {"sendmessage", orange, outP}, {"delivery to healthy endpoints", green, delP}}},
	}
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// writePlot renders the soak's panels as PNG.
func writePlot(w io.Writer, samples []sample, rampEnd time.Duration, faults []band) error {
	if len(samples) == 0 {
		return fmt.Errorf("no samples to plot")
	}
	xMax := samples[len(samples)-1].At.Minutes()
	img := render(soakPanels(samples, rampEnd, faults), xMax, "time since the load started (min); grey: ramp, pink: a failing endpoint")
	return png.Encode(w, img)
}
