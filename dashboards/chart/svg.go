package chart

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Palette is the fixed series palette; series i gets Palette[i%len(Palette)].
var Palette = []string{
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
}

const (
	markerColor   = "#6b6b6b"
	emphasisColor = "#c0392b"
	gridColor     = "#e3e3e3"
	axisColor     = "#8a8a8a"
	textColor     = "#333333"
	fontFamily    = "DejaVu Sans, Helvetica, Arial, sans-serif"
	charWidth     = 6.6 // approximate width of one 11px character
	maxLabelRunes = 48
)

// Marker is a vertical line at a point in time, e.g. a change.
type Marker struct {
	T        time.Time
	Label    string
	Emphasis bool   // drawn stronger (the top suspect)
	Color    string // stroke colour; "" = the default grey (emphasis: red)
}

// svgWriter accumulates SVG text; write errors cannot happen on a
// bytes.Buffer so none are returned.
type svgWriter struct{ b bytes.Buffer }

func (w *svgWriter) printf(format string, args ...any) { fmt.Fprintf(&w.b, format, args...) }

func (w *svgWriter) open(width, height int, title, desc string) {
	w.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s" font-family="%s" font-size="11">`+"\n",
		width, height, width, height, esc(title), fontFamily)
	w.printf("<title>%s</title>\n", esc(title))
	if desc != "" {
		w.printf("<desc>%s</desc>\n", esc(desc))
	}
	w.printf(`<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
}

func (w *svgWriter) close() []byte {
	w.printf("</svg>\n")
	return w.b.Bytes()
}

// text writes one text element; anchor is start, middle or end.
func (w *svgWriter) text(x, y float64, anchor, extra, s string) {
	if extra != "" {
		extra = " " + extra
	}
	w.printf(`<text x="%s" y="%s" text-anchor="%s" fill="%s"%s>%s</text>`+"\n", f(x), f(y), anchor, textColor, extra, esc(s))
}

// f formats a coordinate with at most one decimal, so output is stable and short.
func f(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	s := strconv.FormatFloat(math.Round(v*10)/10, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

// esc escapes text for XML content and attribute values, replacing invalid
// UTF-8 and characters XML 1.0 forbids.
func esc(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				b.WriteRune('\uFFFD')
				continue
			}
		}
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r < 0x20 || (r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// clip shortens s to at most n runes, ending with an ellipsis when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func textWidth(s string) float64 { return float64(utf8.RuneCountInString(s)) * charWidth }

// timeScale maps [t0, t1] onto [x0, x1].
type timeScale struct {
	t0, t1 time.Time
	x0, x1 float64
}

func (s timeScale) x(t time.Time) float64 {
	span := s.t1.Sub(s.t0)
	if span <= 0 {
		return s.x0
	}
	return s.x0 + (s.x1-s.x0)*float64(t.Sub(s.t0))/float64(span)
}

// tickSteps are the candidate distances between time-axis ticks.
var tickSteps = []time.Duration{
	time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
}

// timeTicks returns tick times within [t0, t1], at most about max of them,
// on round UTC boundaries, and the layout to print them with.
func timeTicks(t0, t1 time.Time, max int) ([]time.Time, string) {
	span := t1.Sub(t0)
	if span <= 0 || max < 1 {
		return nil, "15:04"
	}
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if int(span/s) <= max {
			step = s
			break
		}
	}
	layout := "15:04"
	switch {
	case step < time.Minute:
		layout = "15:04:05"
	case span >= 24*time.Hour || t0.UTC().YearDay() != t1.UTC().YearDay():
		layout = "Jan 2 15:04"
	}
	if step >= 24*time.Hour {
		layout = "Jan 2"
	}
	first := t0.UTC().Truncate(step)
	if first.Before(t0) {
		first = first.Add(step)
	}
	var ticks []time.Time
	for t := first; !t.After(t1); t = t.Add(step) {
		ticks = append(ticks, t)
	}
	return ticks, layout
}

// niceCeil returns the smallest 1, 2, 2.5, 5 or 10 times a power of ten
// that is >= v, and the tick step that divides [0, max] into 4 or 5 parts.
func niceCeil(v float64) (max, step float64) {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1, 0.2
	}
	// Outside about 1e±300 powers of ten stop being finite and non-zero
	// (a subnormal gives a zero step, 1e308 an infinite max and a NaN first
	// tick) and the axis loop would never end.
	if v < 1e-300 {
		return 1, 0.2
	}
	if v > 1e300 {
		return v, v / 4
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*exp >= v*(1-1e-12) {
			max = m * exp
			if m == 2 {
				return max, max / 4
			}
			return max, max / 5
		}
	}
	return 10 * exp, 2 * exp
}

// num formats an axis value: integers plainly, others with up to two decimals.
func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// markerRows is how many rows marker labels are spread over.
const markerRows = 3

// markers draws vertical marker lines from y0 to y1 with their labels in
// up to markerRows rows starting at labelY. Each label takes the first row
// where it overlaps no label placed before it; emphasized markers are
// placed first. A label that fits nowhere is left out (its line keeps a
// tooltip). Markers outside the scale are skipped.
func (w *svgWriter) markers(ms []Marker, sc timeScale, y0, y1, labelY float64) {
	if len(ms) == 0 {
		return
	}
	type span struct{ lo, hi float64 }
	rows := make([][]span, markerRows)
	rowOf := make([]int, len(ms))
	order := make([]int, 0, len(ms))
	for i, m := range ms {
		if m.Emphasis {
			order = append(order, i)
		}
	}
	for i, m := range ms {
		if !m.Emphasis {
			order = append(order, i)
		}
	}
	mid := (sc.x0 + sc.x1) / 2
	extent := func(m Marker) (x, lo, hi float64) {
		x = sc.x(m.T)
		width := textWidth(clip(m.Label, maxLabelRunes)) * 10 / 11
		if x > mid {
			return x, x - 3 - width, x - 3
		}
		return x, x + 3, x + 3 + width
	}
	for _, i := range order {
		m := ms[i]
		rowOf[i] = -1
		if m.Label == "" || m.T.Before(sc.t0) || m.T.After(sc.t1) {
			continue
		}
		_, lo, hi := extent(m)
		for r := range rows {
			free := true
			for _, sp := range rows[r] {
				if lo < sp.hi+6 && sp.lo < hi+6 {
					free = false
					break
				}
			}
			if free {
				rows[r] = append(rows[r], span{lo, hi})
				rowOf[i] = r
				break
			}
		}
	}
	w.printf(`<g class="markers">` + "\n")
	for i, m := range ms {
		if m.T.Before(sc.t0) || m.T.After(sc.t1) {
			continue
		}
		x, lo, hi := extent(m)
		color, width, dash := markerColor, "1", "4 3"
		if m.Color != "" {
			color = m.Color
		}
		if m.Emphasis {
			color, width, dash = emphasisColor, "2", "6 3"
		}
		w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s" stroke-dasharray="%s"><title>%s</title></line>`+"\n",
			f(x), f(y0), f(x), f(y1), color, width, dash, esc(m.T.UTC().Format("2006-01-02 15:04:05Z")+" "+m.Label))
		if rowOf[i] < 0 {
			continue
		}
		y := labelY + float64(rowOf[i])*12
		anchor, lx := "start", lo
		if hi < x {
			anchor, lx = "end", hi
		}
		weight := ""
		if m.Emphasis {
			weight = ` font-weight="bold"`
		}
		w.printf(`<text x="%s" y="%s" text-anchor="%s" fill="%s" font-size="10"%s>%s</text>`+"\n",
			f(lx), f(y), anchor, color, weight, esc(clip(m.Label, maxLabelRunes)))
	}
	w.printf("</g>\n")
}

// xAxis draws time ticks, labels and vertical grid lines.
func (w *svgWriter) xAxis(sc timeScale, yTop, yBottom float64) {
	maxTicks := int((sc.x1 - sc.x0) / 80)
	ticks, layout := timeTicks(sc.t0, sc.t1, maxTicks)
	w.printf(`<g class="x-axis">` + "\n")
	w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`+"\n", f(sc.x0), f(yBottom), f(sc.x1), f(yBottom), axisColor)
	for _, t := range ticks {
		x := sc.x(t)
		w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`+"\n", f(x), f(yTop), f(x), f(yBottom), gridColor)
		w.text(x, yBottom+14, "middle", "", t.UTC().Format(layout))
	}
	w.printf("</g>\n")
}

// fillRange completes a chart's time range: an unset end (zero) takes the
// data's lo or hi, then one hour around whatever is known (the Unix epoch if
// nothing is), and an empty or inverted range becomes two minutes around t0.
// Both ends are returned in UTC.
func fillRange(t0, t1, lo, hi time.Time) (time.Time, time.Time) {
	if t0.IsZero() {
		t0 = lo
	}
	if t1.IsZero() {
		t1 = hi
	}
	if t0.IsZero() && t1.IsZero() {
		t0 = time.Unix(0, 0).UTC()
		t1 = t0.Add(time.Hour)
	}
	if t0.IsZero() {
		t0 = t1.Add(-time.Hour)
	}
	if t1.IsZero() {
		t1 = t0.Add(time.Hour)
	}
	if !t1.After(t0) {
		t0, t1 = t0.Add(-time.Minute), t0.Add(time.Minute)
	}
	return t0.UTC(), t1.UTC()
}
