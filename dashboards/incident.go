package dashboards

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/faultline/faultline/dashboards/chart"
	"github.com/faultline/faultline/dashboards/report"
	"github.com/faultline/faultline/queries"
)

// The incident page as an SRE reads it mid-outage: one summary line, the
// top suspects open with what they changed and the errors they explain,
// the rest folded, every claim one click from its raw event and its SQL.

// expandedSuspects is how many suspects the incident page shows open.
const expandedSuspects = 3

// errorGroupsPerService is how many kinds of error the page shows per
// service under a suspect.
const errorGroupsPerService = 3

// incidentSummary is the page's first line.
type incidentSummary struct {
	Services   []string
	Since      time.Time
	Until      time.Time // recovery; zero while ongoing
	Ongoing    bool
	Duration   string // onset to recovery (or to the last error while ongoing)
	Errors     int64
	Cause      *suspectView // the top suspect, nil when none
	Confidence string       // high, medium, low
}

// suspectView is one ranked suspect with what the page shows about it.
type suspectView struct {
	queries.Suspect
	Open       bool   // shown expanded
	Confidence string // the score in words
	Name       string // the resource's short name (report.ResourceName)
	ActorName  string
	Changed    queries.ChangeDetail
	Explains   []serviceErrors // the services that broke after it, and their errors
	EventHref  string          // the raw event
	SQLHref    string          // the console, filled with the SQL that finds the change
	ErrorsHref string          // the console, filled with the SQL behind Explains
}

// serviceErrors is one broken service's errors during the incident.
type serviceErrors struct {
	Service string
	Color   string
	Onset   time.Time
	Errors  int64
	Groups  []errorGroupView
}

type errorGroupView struct {
	queries.ErrorGroup
	EventHref string
}

// incidentView builds the summary and the suspects of the incident page
// from the detail (suspects by rank, cascade, change details, error groups).
func incidentView(det IncidentDetail) (incidentSummary, []suspectView) {
	inc := det.Incident
	sum := incidentSummary{Services: inc.Services, Since: inc.Onset, Ongoing: inc.Ongoing, Errors: inc.TotalErrors}
	end := inc.Recovery
	if inc.Ongoing || end.IsZero() {
		end = time.Time{} // so far: up to its latest error
		for _, g := range det.Errors {
			if g.LastSeen.After(end) {
				end = g.LastSeen
			}
		}
	} else {
		sum.Until = inc.Recovery
	}
	if end.After(inc.Onset) {
		sum.Duration = report.Duration(end.Sub(inc.Onset))
	}

	// the errors per service, in the order services broke
	groups := map[string][]queries.ErrorGroup{}
	for _, g := range det.Errors {
		groups[g.Service] = append(groups[g.Service], g)
	}
	var broken []serviceErrors
	for _, step := range det.Cascade {
		se := serviceErrors{Service: step.Service, Color: chart.ServiceColor(step.Service), Onset: step.Onset, Errors: step.Errors}
		for _, g := range groups[step.Service] {
			se.Groups = append(se.Groups, errorGroupView{ErrorGroup: g, EventHref: eventHref(g.SampleEventID, g.SampleTime)})
		}
		if gs := groups[step.Service]; len(gs) > 0 {
			se.Errors = gs[0].ServiceErrors
		}
		broken = append(broken, se)
	}
	if len(broken) == 0 { // no cascade (one service): the incident's own services
		for _, svc := range inc.Services {
			se := serviceErrors{Service: svc, Color: chart.ServiceColor(svc), Onset: inc.Onset}
			for _, g := range groups[svc] {
				se.Groups = append(se.Groups, errorGroupView{ErrorGroup: g, EventHref: eventHref(g.SampleEventID, g.SampleTime)})
				se.Errors = g.ServiceErrors
			}
			broken = append(broken, se)
		}
	}

	views := make([]suspectView, len(det.Suspects))
	for i, s := range det.Suspects {
		v := suspectView{
			Suspect: s, Open: i < expandedSuspects, Confidence: report.SuspectConfidence(det.Suspects, i),
			Name: report.ResourceName(s.Resource), ActorName: report.ResourceName(s.Actor),
			Changed:   det.ChangeDetails[s.EventID],
			EventHref: eventHref(s.EventID, s.Time),
			SQLHref:   consoleHref(queries.EventSQL(s.EventID, s.Time)),
		}
		var names []string
		for _, se := range broken {
			// the services that broke in or after the change's minute
			if !se.Onset.Before(s.Time.Truncate(time.Minute)) {
				v.Explains = append(v.Explains, se)
				names = append(names, se.Service)
			}
		}
		if len(names) > 0 {
			v.ErrorsHref = consoleHref(queries.ErrorsSQL(names, det.ErrorsWindow()))
		}
		views[i] = v
	}
	if len(views) > 0 {
		sum.Cause, sum.Confidence = &views[0], views[0].Confidence
	}
	return sum, views
}

// consoleHref links to the console with sql filled in (not run: the reader
// presses run, which posts it).
func consoleHref(sql string) string { return "/console?sql=" + url.QueryEscape(sql) }

func pathEscape(s string) string { return url.PathEscape(s) }

// fieldsText joins a change's fields as one line ("a: x → y; b: z"), for
// titles and the report.
func fieldsText(d queries.ChangeDetail) string {
	parts := make([]string, 0, len(d.Fields))
	for _, f := range d.Fields {
		if f.Before != "" {
			parts = append(parts, fmt.Sprintf("%s: %s → %s", f.Name, f.Before, f.After))
		} else {
			parts = append(parts, fmt.Sprintf("%s: %s", f.Name, f.After))
		}
	}
	return strings.Join(parts, "; ")
}

// servicesText is "cart", "cart and search" or "cart, search and orders".
func servicesText(svcs []string) string {
	switch len(svcs) {
	case 0:
		return "no service"
	case 1:
		return svcs[0]
	}
	return strings.Join(svcs[:len(svcs)-1], ", ") + " and " + svcs[len(svcs)-1]
}

// thousands prints n with thousands separators: 1465 -> 1,465.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
