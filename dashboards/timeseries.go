package dashboards

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/faultline/faultline/dashboards/chart"
	"github.com/faultline/faultline/dashboards/report"
	"github.com/faultline/faultline/queries"
)

// timeSeries is an error-rate chart as a page shows it: the server-drawn
// SVG (what a browser without JavaScript, a screenshot or a printout
// shows) and the same data as JSON, from which static/charts.js draws the
// interactive chart (uPlot: zoom by dragging, crosshair with values, width
// of the page) in the SVG's place.
type timeSeries struct {
	ID   string // element id, stable per page: the zoom survives a live refresh
	SVG  template.HTML
	Data tsData
}

// tsData is what static/charts.js reads (the page embeds it as JSON).
type tsData struct {
	Title  string     `json:"title"`
	YLabel string     `json:"ylabel"`
	Since  int64      `json:"since"` // unix seconds: the x range
	Until  int64      `json:"until"`
	T      []int64    `json:"t"` // unix seconds of each bucket
	Series []tsSeries `json:"series"`
	// Markers are changes: a line coloured by risk; suspects labelled with
	// their rank, the top suspect red.
	Markers []tsMarker `json:"markers"`
	// RangeHref is the page's URL without since/until/range: the chart
	// appends the zoomed range to it for the "open this range" link.
	RangeHref string `json:"range_href"`
}

type tsSeries struct {
	Name   string    `json:"name"`
	Color  string    `json:"color"`
	Dash   bool      `json:"dash,omitempty"`
	Values []float64 `json:"values"`
}

type tsMarker struct {
	T     int64  `json:"t"`
	Label string `json:"label,omitempty"` // drawn on the chart (suspects)
	Title string `json:"title"`           // shown on hover
	Risk  string `json:"risk"`
	Color string `json:"color"`
	Rank  int    `json:"rank,omitempty"` // suspect rank; 0: not a suspect
	Top   bool   `json:"top,omitempty"`  // the top suspect: red and bold
	Href  string `json:"href,omitempty"`
}

// suspectMark says which changes to label on a chart: rank and the
// incident they are a suspect of.
type suspectMark struct {
	Rank     int
	Incident string
}

// maxLines bounds the lines of one chart (the services with the most
// errors); maxPoints the points of a line (minutes are bucketed).
const (
	maxLines  = 10
	maxPoints = 240
)

// newTimeSeries draws errors per minute per service over w with a marker
// for every change: coloured by risk, suspects (marks) labelled with their
// rank and drawn stronger, the top suspect (rank 1) red.
func newTimeSeries(id string, points []queries.SeriesPoint, changes []queries.Change, w queries.Window, title string, marks map[string]suspectMark, rangeHref string) timeSeries {
	span := w.Until.Sub(w.Since)
	if span <= 0 {
		return timeSeries{ID: id}
	}
	bucket := time.Minute
	for span/bucket > maxPoints {
		bucket *= 2
	}
	lines := report.ErrorLines(points, w.Since, w.Until, bucket, nil)
	if len(lines) > maxLines {
		title += fmt.Sprintf(" (top %d of %d services)", maxLines, len(lines))
		lines = lines[:maxLines]
	}
	c := chart.Line{Title: title, YLabel: "errors/min", Width: 960, Height: 320, Since: w.Since, Until: w.Until, Series: lines}
	d := tsData{Title: title, YLabel: "errors/min", Since: w.Since.Unix(), Until: w.Until.Unix(), Series: []tsSeries{}, Markers: []tsMarker{}, RangeHref: rangeHref}
	for k := 0; k*int(bucket) < int(span); k++ {
		d.T = append(d.T, w.Since.Add(time.Duration(k)*bucket).Unix())
	}
	for _, l := range lines {
		s := tsSeries{Name: l.Name, Color: l.Color, Dash: l.Dash, Values: make([]float64, len(d.T))}
		for i, p := range l.Points {
			if i < len(s.Values) {
				s.Values[i] = p.V
			}
		}
		d.Series = append(d.Series, s)
	}
	for _, ch := range changes {
		if ch.Time.Before(w.Since) || !ch.Time.Before(w.Until) {
			continue
		}
		m := marks[ch.EventID]
		what := strings.TrimSpace(ch.Operation)
		if what == "" {
			what = ch.ChangeType
		}
		name := report.ResourceName(ch.Resource)
		title := fmt.Sprintf("%s %s", ch.Time.UTC().Format("15:04:05"), what)
		if name != "" {
			title += " on " + name
		} else if ch.Service != "" {
			title += " on " + ch.Service
		}
		if ch.Actor != "" {
			title += " by " + report.ResourceName(ch.Actor)
		}
		if ch.RiskClass != "" {
			title += " · risk " + ch.RiskClass
		}
		label := ""
		if m.Rank > 0 {
			title = fmt.Sprintf("suspect #%d of %s: %s", m.Rank, m.Incident, title)
			label = fmt.Sprintf("#%d %s", m.Rank, what)
			if name != "" {
				label += " " + name
			}
		}
		color := chart.RiskColor(ch.RiskClass)
		if color == "" {
			color = "#6b6b6b"
		}
		d.Markers = append(d.Markers, tsMarker{
			T: ch.Time.Unix(), Label: label, Title: title, Risk: ch.RiskClass, Color: color,
			Rank: m.Rank, Top: m.Rank == 1, Href: eventHref(ch.EventID, ch.Time),
		})
		c.Markers = append(c.Markers, chart.Marker{T: ch.Time, Label: label, Emphasis: m.Rank == 1, Color: color})
	}
	return timeSeries{ID: id, SVG: template.HTML(c.SVG()), Data: d} // chart escapes every text it writes
}

// eventHref links to the raw event page of id, bounded to its second.
func eventHref(id string, at time.Time) string {
	q := "/events/" + pathEscape(id)
	if !at.IsZero() {
		q += "?at=" + at.UTC().Format(time.RFC3339Nano)
	}
	return q
}
