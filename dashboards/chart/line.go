package chart

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Point is one value at one time.
type Point struct {
	T time.Time
	V float64
}

// Series is one named line. Points need not be sorted; missing times are
// not filled (pass zeros explicitly for a continuous line).
type Series struct {
	Name   string
	Points []Point
	// Color is the line's colour; "" = Palette by the series' position.
	// ErrorLines sets each service's own colour (ServiceColor).
	Color string
	Dash  bool // dashed: another line of the chart has the same colour
}

// color returns the series' colour, Palette[i] when it has none.
func (s Series) color(i int) string {
	if s.Color != "" {
		return s.Color
	}
	return Palette[i%len(Palette)]
}

// Line is a multi-series line chart over time with vertical markers.
type Line struct {
	Title  string
	YLabel string // unit of the values, e.g. "errors/min"
	Width  int    // 0 = 760
	Height int    // 0 = 300
	// Since and Until bound the time axis; zero means from the data (and
	// markers).
	Since, Until time.Time
	Series       []Series // drawn in this order, colours from Palette
	Markers      []Marker
	Area         bool // fill under each line (translucent)
}

// SVG renders the chart as a standalone SVG document.
func (c Line) SVG() []byte {
	width, height := c.Width, c.Height
	if width <= 0 {
		width = 760
	}
	if height <= 0 {
		height = 300
	}
	var w svgWriter
	w.open(width, height, c.Title, c.describe())

	// Header: title, then the legend wrapped over as many rows as needed.
	const left, right, bottom = 56.0, 16.0, 34.0
	w.text(left, 18, "start", `font-size="13" font-weight="bold"`, clip(c.Title, 110))
	legendY := 34.0
	x := left
	w.printf(`<g class="legend">` + "\n")
	for i, s := range c.Series {
		name := clip(s.Name, maxLabelRunes)
		item := 16 + textWidth(name) + 14
		if x+item > float64(width)-right && x > left {
			x = left
			legendY += 15
		}
		w.printf(`<rect x="%s" y="%s" width="10" height="10" fill="%s"/>`+"\n", f(x), f(legendY-9), s.color(i))
		w.text(x+14, legendY, "start", "", name)
		x += item
	}
	w.printf("</g>\n")
	top := legendY + 10
	if len(c.Markers) > 0 {
		top += float64(markerRows)*12 + 2
	}
	plotBottom := float64(height) - bottom
	if plotBottom-top < 40 {
		plotBottom = top + 40
	}

	t0, t1, vmax := c.extent()
	sc := timeScale{t0: t0, t1: t1, x0: left, x1: float64(width) - right}
	ymax, ystep := niceCeil(vmax)
	y := func(v float64) float64 { return plotBottom - (plotBottom-top)*(v/ymax) }

	// Y axis: grid lines and labels.
	w.printf(`<g class="y-axis">` + "\n")
	for i := 0; i <= 10; i++ { // niceCeil gives 4 or 5 steps; the bound guards odd floats
		v := float64(i) * ystep
		if v > ymax*(1+1e-9) || math.IsInf(v, 0) || math.IsNaN(v) {
			break
		}
		w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`+"\n", f(left), f(y(v)), f(sc.x1), f(y(v)), gridColor)
		w.text(left-6, y(v)+4, "end", "", num(v))
	}
	if c.YLabel != "" {
		w.text(14, (top+plotBottom)/2, "middle", fmt.Sprintf(`transform="rotate(-90 14 %s)"`, f((top+plotBottom)/2)), c.YLabel)
	}
	w.printf("</g>\n")
	w.xAxis(sc, top, plotBottom)

	if !c.hasPoints() {
		w.text((sc.x0+sc.x1)/2, (top+plotBottom)/2, "middle", `fill-opacity="0.7"`, "no data in this window")
	}
	w.printf(`<g class="series">` + "\n")
	for i, s := range c.Series {
		pts := sortedPoints(s.Points)
		if len(pts) == 0 {
			continue
		}
		color := s.color(i)
		var d strings.Builder
		for j, p := range pts {
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%s %s ", cmd, f(sc.x(p.T)), f(y(p.V)))
		}
		path := strings.TrimSpace(d.String())
		if c.Area && len(pts) > 1 {
			w.printf(`<path d="%s L%s %s L%s %s Z" fill="%s" fill-opacity="0.12" stroke="none"/>`+"\n",
				path, f(sc.x(pts[len(pts)-1].T)), f(plotBottom), f(sc.x(pts[0].T)), f(plotBottom), color)
		}
		dash := ""
		if s.Dash {
			dash = ` stroke-dasharray="6 3"`
		}
		w.printf(`<path d="%s" fill="none" stroke="%s" stroke-width="1.8" stroke-linejoin="round"%s><title>%s</title></path>`+"\n",
			path, color, dash, esc(s.Name))
		if len(pts) == 1 {
			w.printf(`<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", f(sc.x(pts[0].T)), f(y(pts[0].V)), color)
		}
	}
	w.printf("</g>\n")
	w.markers(c.Markers, sc, top, plotBottom, legendY+14)
	return w.close()
}

func (c Line) hasPoints() bool {
	for _, s := range c.Series {
		if len(s.Points) > 0 {
			return true
		}
	}
	return false
}

// extent returns the time range and the largest value.
func (c Line) extent() (t0, t1 time.Time, vmax float64) {
	t0, t1 = c.Since, c.Until
	var lo, hi time.Time
	see := func(t time.Time) {
		if lo.IsZero() || t.Before(lo) {
			lo = t
		}
		if hi.IsZero() || t.After(hi) {
			hi = t
		}
	}
	for _, s := range c.Series {
		for _, p := range s.Points {
			see(p.T)
			vmax = max(vmax, p.V)
		}
	}
	for _, m := range c.Markers {
		see(m.T)
	}
	t0, t1 = fillRange(t0, t1, lo, hi)
	return t0, t1, vmax
}

func (c Line) describe() string {
	var names []string
	for _, s := range c.Series {
		names = append(names, s.Name)
	}
	d := "series: " + strings.Join(names, ", ")
	if len(c.Markers) > 0 {
		d += fmt.Sprintf("; %d markers", len(c.Markers))
	}
	return d
}

func sortedPoints(p []Point) []Point {
	out := slices.Clone(p)
	slices.SortStableFunc(out, func(a, b Point) int { return a.T.Compare(b.T) })
	return out
}
