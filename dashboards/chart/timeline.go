package chart

import (
	"fmt"
	"time"
)

// Bar is one row of a timeline: a labelled span from Start to End.
type Bar struct {
	Label string
	Start time.Time
	End   time.Time // zero or before Start: a point at Start
	Open  bool      // still going at End (drawn with an arrow head)
	Note  string    // short text after the bar, e.g. "peak 120/min"
	// Mark, when set, is drawn as a dot on the bar (e.g. the peak minute).
	Mark time.Time
	// Color is the bar's colour; "" = Palette by the bar's position (the
	// cascade gives each service its own, ServiceColor).
	Color string
}

// Timeline draws one horizontal bar per row over a shared time axis, with
// vertical markers: the cascade of an incident across services.
type Timeline struct {
	Title        string
	Width        int // 0 = 760
	Since, Until time.Time
	Bars         []Bar // drawn top to bottom in this order
	Markers      []Marker
}

const rowHeight = 24.0

// SVG renders the timeline as a standalone SVG document.
func (c Timeline) SVG() []byte {
	width := c.Width
	if width <= 0 {
		width = 760
	}
	labelW := 60.0
	for _, b := range c.Bars {
		labelW = max(labelW, textWidth(clip(b.Label, 28))+12)
	}
	labelW = min(labelW, 200)
	const right, bottom = 16.0, 34.0
	top := 30.0
	if len(c.Markers) > 0 {
		top += float64(markerRows)*12 + 2
	}
	plotBottom := top + rowHeight*float64(max(len(c.Bars), 1))
	height := int(plotBottom + bottom)

	var w svgWriter
	w.open(width, height, c.Title, fmt.Sprintf("%d rows", len(c.Bars)))
	w.text(8, 18, "start", `font-size="13" font-weight="bold"`, clip(c.Title, 110))

	// Leave room right of the plot for the longest note.
	noteW := 0.0
	for _, b := range c.Bars {
		noteW = max(noteW, textWidth(clip(b.Note, 32)))
	}
	noteW = min(noteW, 220)
	t0, t1 := c.extent()
	sc := timeScale{t0: t0, t1: t1, x0: labelW, x1: float64(width) - right - noteW}
	if sc.x1-sc.x0 < 120 {
		sc.x1 = sc.x0 + 120
	}
	w.xAxis(sc, top, plotBottom)
	if len(c.Bars) == 0 {
		w.text((sc.x0+sc.x1)/2, top+rowHeight/2+4, "middle", `fill-opacity="0.7"`, "nothing to show")
	}
	w.printf(`<g class="bars">` + "\n")
	for i, b := range c.Bars {
		color := b.Color
		if color == "" {
			color = Palette[i%len(Palette)]
		}
		cy := top + rowHeight*float64(i) + rowHeight/2
		w.text(labelW-8, cy+4, "end", "", clip(b.Label, 28))
		x0 := sc.x(b.Start)
		x1 := x0
		if b.End.After(b.Start) {
			x1 = sc.x(b.End)
		}
		title := b.Label + ": " + b.Start.UTC().Format("15:04:05")
		if b.End.After(b.Start) {
			title += " – " + b.End.UTC().Format("15:04:05")
		}
		if b.Open {
			title += " (ongoing)"
		}
		w.printf(`<rect x="%s" y="%s" width="%s" height="12" rx="3" fill="%s" fill-opacity="0.85"><title>%s</title></rect>`+"\n",
			f(x0), f(cy-6), f(max(x1-x0, 3)), color, esc(title))
		if b.Open {
			w.printf(`<path d="M%s %s L%s %s L%s %s Z" fill="%s"/>`+"\n",
				f(max(x1, x0+3)), f(cy-8), f(max(x1, x0+3)+8), f(cy), f(max(x1, x0+3)), f(cy+8), color)
		}
		w.printf(`<circle cx="%s" cy="%s" r="4" fill="#ffffff" stroke="%s" stroke-width="2"/>`+"\n", f(x0), f(cy), color)
		if !b.Mark.IsZero() && !b.Mark.Before(t0) && !b.Mark.After(t1) {
			w.printf(`<circle cx="%s" cy="%s" r="3.5" fill="%s" stroke="#ffffff"/>`+"\n", f(sc.x(b.Mark)), f(cy), textColor)
		}
		if b.Note != "" {
			nx := max(x1, x0+3) + 6
			if b.Open {
				nx += 10
			}
			w.text(nx, cy+4, "start", `font-size="10"`, clip(b.Note, 32))
		}
	}
	w.printf("</g>\n")
	w.markers(c.Markers, sc, top, plotBottom, 40)
	return w.close()
}

func (c Timeline) extent() (t0, t1 time.Time) {
	var lo, hi time.Time
	see := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if lo.IsZero() || t.Before(lo) {
			lo = t
		}
		if hi.IsZero() || t.After(hi) {
			hi = t
		}
	}
	for _, b := range c.Bars {
		see(b.Start)
		see(b.End)
	}
	for _, m := range c.Markers {
		see(m.T)
	}
	return fillRange(c.Since, c.Until, lo, hi)
}
