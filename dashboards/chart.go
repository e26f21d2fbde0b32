package dashboards

import (
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/dashboards/chart"
	"github.com/faultline/faultline/dashboards/report"
	"github.com/faultline/faultline/queries"
)

// The charts are inline SVG built on the server: no JavaScript, no CDN.
// Series and cascade come from dashboards/chart; the topology graph is ours.

func esc(s string) string { return template.HTMLEscapeString(s) }

// seriesChart draws errors per minute per service over w (dashboards/chart,
// the same charts the reports use), with a marker for each change. Only the
// markers of top suspects (event ids in top) are labelled, so the labels
// stay readable; the change with event id emphasis is drawn stronger. At
// most maxLines services (the ones with the most errors).
func seriesChart(points []queries.SeriesPoint, changes []queries.Change, w queries.Window, title, emphasis string, top map[string]bool) template.HTML {
	const maxLines = 10
	span := w.Until.Sub(w.Since)
	if span <= 0 {
		return ""
	}
	bucket := time.Minute
	for span/bucket > 240 {
		bucket *= 2
	}
	lines := report.ErrorLines(points, w.Since, w.Until, bucket, nil)
	if len(lines) > maxLines {
		title += fmt.Sprintf(" (top %d of %d services)", maxLines, len(lines))
		lines = lines[:maxLines]
	}
	c := chart.Line{Title: title, YLabel: "errors/min", Width: 960, Height: 320, Since: w.Since, Until: w.Until, Series: lines}
	for _, ch := range changes {
		if ch.Time.Before(w.Since) || !ch.Time.Before(w.Until) {
			continue
		}
		label := ""
		if top[ch.EventID] || ch.EventID == emphasis {
			label = strings.TrimSpace(ch.Operation + " " + ch.Service)
			if ch.Actor != "" {
				label += " by " + shortName(ch.Actor)
			}
		}
		c.Markers = append(c.Markers, chart.Marker{T: ch.Time, Label: label, Emphasis: ch.EventID != "" && ch.EventID == emphasis, Color: riskColors[ch.RiskClass]})
	}
	return template.HTML(c.SVG()) // chart escapes every text it writes
}

// riskColors colour change markers by risk class (the overview's caption
// and docs/dashboards.md name them); the top suspect is always red and
// bold.
var riskColors = map[string]string{"critical": "#7b1fa2", "high": "#e65100", "medium": "#b8860b", "low": "#78909c"}

// cascadeChart draws one bar per service in the order it broke, from its
// onset to the incident's recovery (open while ongoing).
func cascadeChart(steps []queries.CascadeStep, inc queries.Incident, suspect *queries.Suspect) template.HTML {
	if len(steps) == 0 {
		return ""
	}
	end := inc.Recovery
	if inc.Ongoing || end.IsZero() {
		end = inc.Peak
		for _, s := range steps {
			end = maxTime(end, s.Onset)
		}
		end = end.Add(10 * time.Minute)
	}
	c := chart.Timeline{Title: "Cascade: the order services broke", Width: 960, Until: end}
	c.Since = inc.Onset
	for _, s := range steps {
		c.Since = minTime(c.Since, s.Onset)
		note := fmt.Sprintf("peak %d/min", s.PeakErrorsPerMin)
		if len(s.Via) > 0 {
			note += " via " + strings.Join(s.Via, ", ")
		}
		c.Bars = append(c.Bars, chart.Bar{Label: fmt.Sprintf("%d. %s", s.Order, s.Service), Start: s.Onset, End: end, Open: inc.Ongoing, Note: note})
	}
	if suspect != nil {
		c.Since = minTime(c.Since, suspect.Time)
		c.Markers = append(c.Markers, chart.Marker{T: suspect.Time, Label: "suspect #1: " + suspect.Operation, Emphasis: true})
	}
	c.Since = c.Since.Add(-time.Minute)
	return template.HTML(c.SVG())
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// topologyChart lays services out in columns by dependency depth (callers
// left, what they depend on right), red when spiking, green when healthy.
func topologyChart(svcs []Service, edges []queries.Edge) template.HTML {
	if len(svcs) == 0 {
		return ""
	}
	// One arrow per pair: solid when configured, dashed when only inferred.
	type pair struct{ from, to string }
	origins := map[pair][]string{}
	deps := map[string][]string{}
	for _, e := range edges {
		k := pair{e.From, e.To}
		if origins[k] == nil {
			deps[e.From] = append(deps[e.From], e.To)
		}
		origins[k] = append(origins[k], e.Origin)
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
	keys := make([]pair, 0, len(origins))
	for k := range origins {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b pair) int { return strings.Compare(a.from+"\x00"+a.to, b.from+"\x00"+b.to) })
	for _, k := range keys {
		p, q := pos[k.from], pos[k.to]
		dash := ` stroke-dasharray="5 4"`
		if slices.Contains(origins[k], "config") {
			dash = ""
		}
		fmt.Fprintf(&b, `<line class="edge" data-from="%s" data-to="%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#666"%s marker-end="url(#arrow)"><title>%s depends on %s (%s)</title></line>`,
			esc(k.from), esc(k.to), p[0]+nodeW, p[1]+nodeH/2, q[0], q[1]+nodeH/2, dash, esc(k.from), esc(k.to), esc(strings.Join(origins[k], ", ")))
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

// shortName is the last part of an ARN or path (the full value goes in a
// title attribute): arn:aws:sts::1:assumed-role/Admin/alice -> alice.
func shortName(s string) string {
	if i := strings.LastIndexAny(s, "/:"); i >= 0 && i < len(s)-1 {
		return s[i+1:]
	}
	return s
}
