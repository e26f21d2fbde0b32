package dashboards

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/queries"
)

// The charts are inline SVG built on the server: no JavaScript, no CDN.

var palette = []string{"#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"}

var riskColor = map[string]string{"critical": "#b30000", "high": "#e6550d", "medium": "#fdae6b", "low": "#9ecae1"}

func esc(s string) string { return template.HTMLEscapeString(s) }

// seriesChart draws errors per minute per service over w, with a marker for
// each change. At most maxLines services (the ones with the most errors).
func seriesChart(points []queries.SeriesPoint, changes []Change, w queries.Window, title string) template.HTML {
	const width, height, left, right, top, bottom, maxLines = 960, 300, 56, 170, 28, 36, 10
	span := w.Until.Sub(w.Since)
	if span <= 0 {
		return ""
	}
	bucket := time.Minute
	for span/bucket > 240 {
		bucket *= 2
	}
	n := int(span/bucket) + 1
	per := map[string][]float64{}
	totals := map[string]int64{}
	for _, p := range points {
		if p.Minute.Before(w.Since) || !p.Minute.Before(w.Until) {
			continue
		}
		s := per[p.Service]
		if s == nil {
			s = make([]float64, n)
			per[p.Service] = s
		}
		s[int(p.Minute.Sub(w.Since)/bucket)] += float64(p.Errors)
		totals[p.Service] += p.Errors
	}
	names := make([]string, 0, len(per))
	for name := range per {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		if totals[names[i]] != totals[names[j]] {
			return totals[names[i]] > totals[names[j]]
		}
		return names[i] < names[j]
	})
	hidden := 0
	if len(names) > maxLines {
		hidden = len(names) - maxLines
		names = names[:maxLines]
	}
	perMin := float64(bucket / time.Minute)
	ymax := 1.0
	for _, name := range names {
		for _, v := range per[name] {
			ymax = math.Max(ymax, v/perMin)
		}
	}
	ymax = niceCeil(ymax)
	pw, ph := float64(width-left-right), float64(height-top-bottom)
	x := func(t time.Time) float64 { return float64(left) + pw*float64(t.Sub(w.Since))/float64(span) }
	y := func(v float64) float64 { return float64(top) + ph*(1-v/ymax) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart series-chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, width, height, esc(title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(title))
	// axes and grid
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, left, width-right, y(v), y(v))
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%s</text>`, left-6, y(v)+4, trimFloat(v))
	}
	fmt.Fprintf(&b, `<text class="axis" x="12" y="%d" transform="rotate(-90 12 %d)" text-anchor="middle">errors/min</text>`, top+int(ph/2), top+int(ph/2))
	for i := 0; i <= 6; i++ {
		t := w.Since.Add(span * time.Duration(i) / 6)
		label := t.UTC().Format("15:04")
		if span > 48*time.Hour {
			label = t.UTC().Format("01-02 15:04")
		}
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(t), height-bottom+16, label)
	}
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d">UTC, %s buckets</text>`, left, height-4, bucket)
	// change markers
	for _, c := range changes {
		if c.Time.Before(w.Since) || !c.Time.Before(w.Until) {
			continue
		}
		col := riskColor[c.RiskClass]
		if col == "" {
			col = "#555"
		}
		fmt.Fprintf(&b, `<g class="change-marker" data-event-id="%s"><title>%s %s %s by %s (%s)</title>`,
			esc(c.EventID), esc(c.Time.UTC().Format("15:04:05")), esc(c.Service), esc(c.Operation), esc(c.Actor), esc(c.RiskClass))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="4 3"/>`, x(c.Time), x(c.Time), top, height-bottom, col)
		fmt.Fprintf(&b, `<path d="M%.1f %d l-5 -8 h10 z" fill="%s"/></g>`, x(c.Time), top, col)
	}
	// lines
	for i, name := range names {
		col := palette[i%len(palette)]
		var pts []string
		for k, v := range per[name] {
			t := w.Since.Add(time.Duration(k) * bucket)
			if !t.Before(w.Until) {
				break
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(t), y(v/perMin)))
		}
		fmt.Fprintf(&b, `<polyline class="series" data-service="%s" fill="none" stroke="%s" stroke-width="1.8" points="%s"><title>%s: %d errors</title></polyline>`,
			esc(name), col, strings.Join(pts, " "), esc(name), totals[name])
		ly := top + 14 + 18*i
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text class="legend" x="%d" y="%d">%s</text>`,
			width-right+12, ly-10, col, width-right+30, ly, esc(name))
	}
	if hidden > 0 {
		fmt.Fprintf(&b, `<text class="legend" x="%d" y="%d">+%d more</text>`, width-right+12, top+14+18*len(names), hidden)
	}
	if len(names) == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%d" y="%d" text-anchor="middle">no errors in this range</text>`, left+int(pw/2), top+int(ph/2))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: every value above is escaped or numeric
}

// cascadeChart draws one row per service in the order it broke, each bar
// from its onset to the end of the incident, labelled with what it depends on.
func cascadeChart(steps []queries.CascadeStep, inc queries.Incident) template.HTML {
	if len(steps) == 0 {
		return ""
	}
	const width, left, right, row = 960, 200, 30, 26
	height := 40 + row*len(steps)
	start := inc.Onset
	end := inc.Recovery
	if end.IsZero() || !end.After(start) {
		end = inc.Peak
		for _, s := range steps {
			if s.Onset.After(end) {
				end = s.Onset
			}
		}
		end = end.Add(10 * time.Minute)
	}
	for _, s := range steps {
		if s.Onset.Before(start) {
			start = s.Onset
		}
	}
	span := end.Sub(start)
	if span <= 0 {
		span = time.Minute
	}
	pw := float64(width - left - right)
	x := func(t time.Time) float64 { return float64(left) + pw*float64(t.Sub(start))/float64(span) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart cascade-chart" viewBox="0 0 %d %d" role="img" aria-label="cascade" xmlns="http://www.w3.org/2000/svg"><title>Cascade: the order services broke</title>`, width, height)
	for i, s := range steps {
		yy := 10 + row*i
		col := palette[i%len(palette)]
		fmt.Fprintf(&b, `<g class="cascade-step" data-order="%d" data-service="%s">`, s.Order, esc(s.Service))
		fmt.Fprintf(&b, `<text class="legend" x="%d" y="%d" text-anchor="end">%d. %s</text>`, left-8, yy+14, s.Order, esc(s.Service))
		bx := x(s.Onset)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s broke at %s (+%s), peak %d errors/min, %d errors</title></rect>`,
			bx, yy, math.Max(2, float64(left)+pw-bx), row-8, col, esc(s.Service), s.Onset.UTC().Format("15:04:05"), s.Onset.Sub(start), s.PeakErrorsPerMin, s.Errors)
		if len(s.Via) > 0 {
			fmt.Fprintf(&b, `<text class="via" x="%.1f" y="%d">via %s</text>`, bx+4, yy+13, esc(strings.Join(s.Via, ", ")))
		}
		b.WriteString(`</g>`)
	}
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d">%s</text><text class="axis" x="%d" y="%d" text-anchor="end">%s</text>`,
		left, height-6, start.UTC().Format("15:04:05"), width-right, height-6, end.UTC().Format("15:04:05"))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// topologyChart lays services out in columns by dependency depth (callers
// left, what they depend on right), red when spiking, green when healthy.
func topologyChart(svcs []Service, edges []Edge) template.HTML {
	if len(svcs) == 0 {
		return ""
	}
	deps := map[string][]string{}
	for _, e := range edges {
		deps[e.From] = append(deps[e.From], e.To)
	}
	// depth = longest chain of dependencies below a service (cycles cut).
	depth := map[string]int{}
	var visit func(n string, seen map[string]bool) int
	visit = func(n string, seen map[string]bool) int {
		if d, ok := depth[n]; ok {
			return d
		}
		if seen[n] {
			return 0
		}
		seen[n] = true
		d := 0
		for _, m := range deps[n] {
			d = max(d, visit(m, seen)+1)
		}
		delete(seen, n)
		depth[n] = d
		return d
	}
	maxD := 0
	for _, s := range svcs {
		maxD = max(maxD, visit(s.Name, map[string]bool{}))
	}
	cols := make([][]Service, maxD+1)
	for _, s := range svcs {
		c := maxD - depth[s.Name]
		cols[c] = append(cols[c], s)
	}
	maxRows := 0
	for _, c := range cols {
		maxRows = max(maxRows, len(c))
	}
	const colW, rowH, nodeW, nodeH = 220, 56, 170, 34
	width, height := 40+colW*len(cols), 30+rowH*maxRows
	pos := map[string][2]float64{}
	for ci, c := range cols {
		slices.SortFunc(c, func(a, b Service) int { return strings.Compare(a.Name, b.Name) })
		for ri, s := range c {
			pos[s.Name] = [2]float64{float64(20 + ci*colW), float64(20 + ri*rowH)}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart topology-chart" viewBox="0 0 %d %d" role="img" aria-label="service topology" xmlns="http://www.w3.org/2000/svg"><title>Service topology</title>`, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#666"/></marker></defs>`)
	for _, e := range edges {
		p, q := pos[e.From], pos[e.To]
		dash := ""
		if e.Origin == "events" {
			dash = ` stroke-dasharray="5 4"`
		}
		fmt.Fprintf(&b, `<line class="edge" data-from="%s" data-to="%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#666"%s marker-end="url(#arrow)"><title>%s depends on %s (%s)</title></line>`,
			esc(e.From), esc(e.To), p[0]+nodeW, p[1]+nodeH/2, q[0], q[1]+nodeH/2, dash, esc(e.From), esc(e.To), e.Origin)
	}
	for _, s := range svcs {
		p := pos[s.Name]
		fill, stroke := "#e5f5e0", "#31a354"
		if s.State == "spiking" {
			fill, stroke = "#fee0d2", "#de2d26"
		}
		fmt.Fprintf(&b, `<g class="node %s" data-service="%s"><rect x="%.1f" y="%.1f" width="%d" height="%d" rx="6" fill="%s" stroke="%s" stroke-width="2"/>`,
			esc(s.State), esc(s.Name), p[0], p[1], nodeW, nodeH, fill, stroke)
		fmt.Fprintf(&b, `<text class="legend" x="%.1f" y="%.1f">%s</text><text class="via" x="%.1f" y="%.1f">%s · %d errors</text><title>%s: %s</title></g>`,
			p[0]+8, p[1]+15, esc(s.Name), p[0]+8, p[1]+29, esc(s.State), s.Errors, esc(s.Name), esc(s.State))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
