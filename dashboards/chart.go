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

// The charts are inline SVG built on the server: no JavaScript, no CDN.
// Series and cascade come from dashboards/chart; the topology graph is ours.

func esc(s string) string { return template.HTMLEscapeString(s) }

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
		c.Bars = append(c.Bars, chart.Bar{Label: fmt.Sprintf("%d. %s", s.Order, s.Service), Start: s.Onset, End: end, Open: inc.Ongoing, Note: note, Color: chart.ServiceColor(s.Service)})
	}
	if suspect != nil {
		c.Since = minTime(c.Since, suspect.Time)
		label := "suspect #1: " + suspect.Operation
		if name := report.ResourceName(suspect.Resource); name != "" {
			label += " " + name
		}
		c.Markers = append(c.Markers, chart.Marker{T: suspect.Time, Label: label, Emphasis: true})
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

// shortName is the last part of an ARN or path (the full value goes in a
// title attribute): arn:aws:sts::1:assumed-role/Admin/alice -> alice.
func shortName(s string) string {
	if i := strings.LastIndexAny(s, "/:"); i >= 0 && i < len(s)-1 {
		return s[i+1:]
	}
	return s
}
