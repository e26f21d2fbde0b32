package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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
	line := chart.Line{
		Title:  fmt.Sprintf("Incident %d: errors per minute by service", ri.Number),
		YLabel: "errors/min",
		Since:  cw.Since, Until: cw.Until,
		Area:   true,
		Series: ErrorLines(points, cw.Since, cw.Until, time.Minute, services),
	}
	var markers []chart.Marker
	for _, s := range ri.Suspects {
		markers = append(markers, chart.Marker{T: s.Time, Label: markerLabel(s), Emphasis: s.Rank == 1, Color: chart.RiskColor(s.RiskClass)})
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
			Note:  fmt.Sprintf("peak %d/min, %d errors", c.PeakErrorsPerMin, c.Errors),
			Color: chart.ServiceColor(c.Service),
		}
		// Mark the service's peak minute (the earliest of equal ones).
		var peak float64
		for _, l := range line.Series {
			if l.Name != c.Service {
				continue
			}
			for _, p := range l.Points {
				if !p.T.Before(c.Onset.Truncate(time.Minute)) && !p.T.After(end) && p.V > peak {
					peak, bar.Mark = p.V, p.T
				}
			}
		}
		tl.Bars = append(tl.Bars, bar)
	}
	ri.CascadeChart = Chart{File: fmt.Sprintf("incident-%d-cascade.svg", ri.Number), Title: tl.Title, SVG: tl.SVG()}
	return nil
}

// ErrorLines turns error series points into chart lines: one per service,
// errors summed over regions, in buckets of bucket (whole minutes) from
// since to until, each point the errors per minute of its bucket (zero when
// there were none). Points outside [since, until) are left out. services
// names the lines, in order; nil draws every service with points in the
// window, the most errors first (then by name). The reports' incident
// charts and the dashboards' timelines both draw series through it.
func ErrorLines(points []queries.SeriesPoint, since, until time.Time, bucket time.Duration, services []string) []chart.Series {
	span := until.Sub(since)
	if span <= 0 || bucket < time.Minute {
		return nil
	}
	n := int((span + bucket - 1) / bucket)
	per := map[string][]float64{}
	totals := map[string]int64{}
	for _, s := range services {
		per[s] = make([]float64, n)
	}
	for _, p := range points {
		if p.Minute.Before(since) || !p.Minute.Before(until) {
			continue
		}
		s, ok := per[p.Service]
		if !ok {
			if services != nil {
				continue
			}
			s = make([]float64, n)
			per[p.Service] = s
		}
		s[int(p.Minute.Sub(since)/bucket)] += float64(p.Errors)
		totals[p.Service] += p.Errors
	}
	names := services
	if names == nil {
		names = make([]string, 0, len(per))
		for name := range per {
			names = append(names, name)
		}
		slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(totals[b], totals[a]), cmp.Compare(a, b)) })
	}
	perMin := float64(bucket / time.Minute)
	lines := make([]chart.Series, 0, len(names))
	for _, name := range names {
		l := chart.Series{Name: name}
		for k, v := range per[name] {
			l.Points = append(l.Points, chart.Point{T: since.Add(time.Duration(k) * bucket), V: v / perMin})
		}
		lines = append(lines, l)
	}
	chart.AssignColors(lines)
	return lines
}
