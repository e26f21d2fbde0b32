package report

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline/faultline/dashboards/chart"
	"github.com/faultline/faultline/queries"
)

// charts draws the incident's error-rate chart (errors per minute of each
// affected service, summed over regions, with its suspect changes as
// markers) and its cascade timeline.
func charts(ctx context.Context, src Source, ri *Incident, w queries.Window, opts Options) error {
	end := ri.Recovery
	if ri.Ongoing || end.IsZero() {
		end = w.Until
	}
	cw := queries.Window{Since: ri.Onset.Add(-opts.ChartBefore), Until: end.Add(opts.ChartAfter)}
	// Show the most likely cause even when it came long before the onset;
	// other suspects outside the chart are listed in the report only.
	if len(ri.Suspects) > 0 && ri.Suspects[0].Time.Before(cw.Since.Add(2*time.Minute)) {
		cw.Since = ri.Suspects[0].Time.Add(-2 * time.Minute)
	}
	cw.Since = cw.Since.UTC().Truncate(time.Minute)
	if cw.Until.After(w.Until) && !w.Until.Before(end) {
		cw.Until = w.Until
	}
	cw.Until = cw.Until.UTC()
	points, err := src.Series(ctx, cw)
	if err != nil {
		return fmt.Errorf("report series for incident %s: %w", ri.ID, err)
	}

	services := ri.Services
	if len(services) > opts.MaxSeries {
		services = services[:opts.MaxSeries]
	}
	perMinute := map[string]map[time.Time]int64{}
	for _, s := range services {
		perMinute[s] = map[time.Time]int64{}
	}
	for _, p := range points {
		if m, ok := perMinute[p.Service]; ok {
			m[p.Minute.UTC().Truncate(time.Minute)] += p.Errors
		}
	}
	line := chart.Line{
		Title:  fmt.Sprintf("Incident %d: errors per minute by service", ri.Number),
		YLabel: "errors/min",
		Since:  cw.Since, Until: cw.Until,
		Area: true,
	}
	for _, s := range services {
		var pts []chart.Point
		for t := cw.Since; t.Before(cw.Until); t = t.Add(time.Minute) {
			pts = append(pts, chart.Point{T: t, V: float64(perMinute[s][t])})
		}
		line.Series = append(line.Series, chart.Series{Name: s, Points: pts})
	}
	var markers []chart.Marker
	for _, s := range ri.Suspects {
		markers = append(markers, chart.Marker{T: s.Time, Label: markerLabel(s), Emphasis: s.Rank == 1})
	}
	line.Markers = markers
	ri.ErrorChart = Chart{File: fmt.Sprintf("incident-%d-errors.svg", ri.Number), Title: line.Title, SVG: line.SVG()}

	tl := chart.Timeline{
		Title:   fmt.Sprintf("Incident %d: cascade across services", ri.Number),
		Since:   cw.Since,
		Until:   cw.Until,
		Markers: markers,
	}
	for _, c := range ri.Cascade {
		label := fmt.Sprintf("%d. %s", c.Order, c.Service)
		if c.Region != "" {
			label += " (" + c.Region + ")"
		}
		bar := chart.Bar{
			Label: label, Start: c.Onset, End: end, Open: ri.Ongoing,
			Note: fmt.Sprintf("peak %d/min, %d errors", c.PeakErrorsPerMin, c.Errors),
		}
		var peak int64
		for t, n := range perMinute[c.Service] {
			if !t.Before(c.Onset.Truncate(time.Minute)) && !t.After(end) && (n > peak || n == peak && t.Before(bar.Mark)) {
				peak, bar.Mark = n, t
			}
		}
		tl.Bars = append(tl.Bars, bar)
	}
	ri.CascadeChart = Chart{File: fmt.Sprintf("incident-%d-cascade.svg", ri.Number), Title: tl.Title, SVG: tl.SVG()}
	return nil
}
