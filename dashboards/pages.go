package dashboards

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/dashboards/chart"
	"github.com/faultline/faultline/dashboards/report"
	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/queries"
)

//go:embed templates/*.html
var templateFS embed.FS

type pageTemplate struct{ t *template.Template }

var pageNames = []string{"overview", "incident", "incidents", "event", "changes", "services", "console", "error"}

func parsePages() (map[string]*pageTemplate, error) {
	funcs := template.FuncMap{
		"time":     fmtTime,
		"clock":    fmtClock,
		"age":      fmtAge,
		"minutes":  fmtMinutes,
		"cell":     cellText,
		"join":     strings.Join,
		"pct":      func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
		"score":    func(f float64) string { return fmt.Sprintf("%.2f", f) },
		"rfc3339":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"lag":      func(l *int64) string { return lagText(l) },
		"contains": slices.Contains[[]string],
		"list":     func(xs ...string) []string { return xs },
		"short":    shortName,
		"name":     report.ResourceName,
		"arns":     report.ShortNames,
		"n":        thousands,
		"ntext":    func(n int) string { return thousands(int64(n)) },
		"svcs":     servicesText,
		"dur":      report.Duration,
		"color":    chart.ServiceColor,
		"fields":   fieldsText,
		"ago":      func(a, b time.Time) string { return report.Duration(b.Sub(a)) },
		"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	}
	out := map[string]*pageTemplate{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		out[name] = &pageTemplate{t}
	}
	return out, nil
}

func lagText(l *int64) string {
	if l == nil {
		return "—"
	}
	return fmt.Sprintf("%d", *l)
}

// pageData is what every page template gets.
type pageData struct {
	Title   string
	Nav     string
	View    view
	Live    bool
	Refresh int // seconds; 0 = no live refresh
	Now     time.Time
	Data    any
}

// page adapts a handler returning template data to an HTML page. Errors
// render the error page with their status code.
func (s *Server) page(name string, fn func(*http.Request, *pageData) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pd := &pageData{Nav: name, Now: s.now().UTC(), Live: s.ingest().Running}
		if pd.Live && s.cfg.Refresh > 0 && name != "console" {
			pd.Refresh = int(s.cfg.Refresh / time.Second)
		}
		err := fn(r, pd)
		tmpl, code := s.pages[name], http.StatusOK
		var ce consoleError
		switch {
		case errors.As(err, &ce):
			code = ce.code // the page shows the message itself
		case err != nil:
			var msg string
			code, msg = s.errorStatus(r, err)
			tmpl = s.pages["error"]
			pd.Title, pd.Nav, pd.Refresh, pd.Data = "Error", "", 0, msg
		}
		var buf bytes.Buffer
		if err := tmpl.t.Execute(&buf, pd); err != nil {
			s.log.Error("render page", "page", name, "err", err)
			http.Error(w, "render page: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		_, _ = w.Write(buf.Bytes())
	}
}

type overviewData struct {
	Chart      timeSeries
	Incidents  []IncidentSummary
	Ingest     IngestHealth
	Changes    int
	FilterNote string // a service or region filter that matched nothing
}

func (s *Server) overviewPage(r *http.Request, pd *pageData) error {
	ctx := r.Context()
	v, err := s.pageView(ctx, r, 0)
	pd.View, pd.Title = v, "Overview"
	if err != nil {
		return err
	}
	var d overviewData
	if d.Incidents, err = s.incidentSummaries(ctx, v.Window); err != nil {
		return err
	}
	series, err := s.series(ctx, v.Window)
	if err != nil {
		return fmt.Errorf("read error series: %w", err)
	}
	d.FilterNote = filterNote(series, v.Service, v.Region)
	series = filterBy(series, func(p queries.SeriesPoint) bool {
		return (v.Service == "" || p.Service == v.Service) && (v.Region == "" || p.Region == v.Region)
	})
	changes, err := s.engine.Changes(ctx, v.Window, queries.ChangeFilter{Service: v.Service, Region: v.Region}, 500)
	if err != nil {
		return err
	}
	d.Changes = len(changes)
	marks := map[string]suspectMark{}
	for _, inc := range d.Incidents {
		if inc.TopSuspect != nil {
			marks[inc.TopSuspect.EventID] = suspectMark{Rank: 1, Incident: inc.ID}
		}
	}
	d.Chart = newTimeSeries("overview", series, changes, v.Window, "Errors per minute per service, with changes", marks, "/"+v.Query("since", "", "until", "", "range", ""))
	if d.Ingest, err = s.ingestHealth(ctx); err != nil {
		return err
	}
	pd.Data = d
	return nil
}

// filterNote says that a service or region filter matches nothing in the
// window's series, naming the closest value that has events: a typo must
// not look like a quiet service. "" when every filter matches.
func filterNote(all []queries.SeriesPoint, service, region string) string {
	var notes []string
	for _, f := range []struct {
		name, val string
		of        func(queries.SeriesPoint) string
	}{
		{"service", service, func(p queries.SeriesPoint) string { return p.Service }},
		{"region", region, func(p queries.SeriesPoint) string { return p.Region }},
	} {
		if f.val == "" {
			continue
		}
		seen := map[string]bool{}
		var names []string
		for _, p := range all {
			if n := f.of(p); !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
		if seen[f.val] {
			continue
		}
		note := fmt.Sprintf("no %s %s has events in this range", f.name, f.val)
		if c := status.Closest(f.val, names); c != "" {
			note += " (did you mean " + c + "?)"
		}
		notes = append(notes, note)
	}
	if len(notes) == 0 {
		return ""
	}
	return strings.Join(notes, "; ") + ": fix the filter or clear it"
}

type incidentData struct {
	IncidentDetail
	Summary      incidentSummary
	Suspects     []suspectView
	Timeline     timeSeries
	CascadeChart template.HTML
	Meaning      string // what the score means
}

func (s *Server) incidentPage(r *http.Request, pd *pageData) error {
	ctx := r.Context()
	v, err := s.parseView(ctx, r, 0)
	pd.View, pd.Title = v, "Incident "+r.PathValue("id")
	if err != nil {
		return err
	}
	det, err := s.incidentDetail(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	w := det.Window
	var top *queries.Suspect
	marks := map[string]suspectMark{}
	for i, sp := range det.Suspects {
		if i == 0 {
			top = &det.Suspects[0]
		}
		if i < expandedSuspects {
			marks[sp.EventID] = suspectMark{Rank: sp.Rank, Incident: det.Incident.ID}
		}
	}
	sum, views := incidentView(det)
	pd.Data = incidentData{
		IncidentDetail: det,
		Summary:        sum,
		Suspects:       views,
		Timeline:       newTimeSeries("incident", det.Series, det.Changes, w, "Errors per minute of the incident's services, with changes", marks, "/"),
		CascadeChart:   cascadeChart(det.Cascade, det.Incident, top),
		Meaning:        report.ScoreMeaning(),
	}
	return nil
}

type incidentsData struct {
	Incidents []incidentRow
}

type incidentRow struct {
	IncidentSummary
	Duration   string
	Confidence string
	Name       string // the top suspect's resource name
}

// incidentsPage lists the incidents of the range, newest first, with how
// long each lasted and its most likely cause.
func (s *Server) incidentsPage(r *http.Request, pd *pageData) error {
	ctx := r.Context()
	v, err := s.parseView(ctx, r, 0)
	pd.View, pd.Title = v, "Incidents"
	if err != nil {
		return err
	}
	sums, err := s.incidentSummaries(ctx, v.Window)
	if err != nil {
		return err
	}
	sus, err := s.suspects(ctx, v.Window)
	if err != nil {
		return fmt.Errorf("rank suspects: %w", err)
	}
	second := map[string]float64{}
	for _, sp := range sus {
		if sp.Rank == 2 {
			second[sp.IncidentID] = sp.Score
		}
	}
	var d incidentsData
	for _, in := range sums {
		row := incidentRow{IncidentSummary: in}
		end := in.Recovery
		if in.Ongoing || end.IsZero() {
			end = v.Window.Until
		}
		row.Duration = report.Duration(end.Sub(in.Onset))
		if ts := in.TopSuspect; ts != nil {
			next, ok := second[in.ID]
			if !ok {
				next = -1
			}
			row.Confidence = report.Confidence(ts.Score, next)
			row.Name = report.ResourceName(ts.Resource)
		}
		d.Incidents = append(d.Incidents, row)
	}
	pd.Data = d
	return nil
}

type eventData struct {
	ID     string
	Events []queries.StoredEvent
	Pretty []string // each event's attributes, indented
	SQL    string   // console link
}

// eventPage shows the stored event(s) with an id: every column and the
// attributes (the source record) indented. ?at= (the event's time) bounds
// the read to that second.
func (s *Server) eventPage(r *http.Request, pd *pageData) error {
	id := r.PathValue("id")
	pd.Title = "Event " + id
	pd.View = view{raw: url.Values{}}
	var w queries.Window
	at := time.Time{}
	if val := r.URL.Query().Get("at"); val != "" {
		t, err := s.parseWhen("at", val)
		if err != nil {
			return err
		}
		at = t
		w = queries.Window{Since: t.Truncate(time.Second), Until: t.Truncate(time.Second).Add(time.Second)}
	}
	evs, err := s.engine.Events(r.Context(), w, id)
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		return httpError{http.StatusNotFound, fmt.Sprintf("event %q not found%s: it may be outside the at= time, or not stored", id, map[bool]string{true: " at " + at.Format(time.RFC3339Nano), false: ""}[!at.IsZero()])}
	}
	d := eventData{ID: id, Events: evs, SQL: consoleHref(queries.EventSQL(id, at))}
	for _, e := range evs {
		var buf bytes.Buffer
		if json.Indent(&buf, []byte(e.Attributes), "", "  ") != nil {
			buf.Reset()
			buf.WriteString(e.Attributes)
		}
		d.Pretty = append(d.Pretty, buf.String())
	}
	pd.Data = d
	return nil
}

type changesData struct {
	Changes  []changeRow
	Facets   map[string][]string
	Limit    int
	Suspects int  // changes in the list that are suspects
	Filtered bool // a filter is set (an empty list then says so)
}

type changeRow struct {
	queries.Change
	Name      string        // resource name
	ActorName string        // actor's short name
	Suspect   []suspectMark // the incidents it is a suspect of (top three)
	EventHref string
}

func (s *Server) changesPage(r *http.Request, pd *pageData) error {
	ctx := r.Context()
	v, err := s.pageView(ctx, r, 500)
	pd.View, pd.Title = v, "Changes"
	if err != nil {
		return err
	}
	var d changesData
	d.Limit, d.Filtered = v.Limit, v.Filter != (queries.ChangeFilter{})
	changes, err := s.engine.Changes(ctx, v.Window, v.Filter, v.Limit)
	if err != nil {
		return err
	}
	if d.Facets, err = s.engine.ChangeFacets(ctx, v.Window); err != nil {
		return err
	}
	// Suspects of the incidents of the range (a change before the range's
	// start can be a suspect too: it is simply not listed).
	sus, err := s.suspects(ctx, v.Window)
	if err != nil {
		return fmt.Errorf("rank suspects: %w", err)
	}
	marks := map[string][]suspectMark{}
	for _, sp := range sus {
		if sp.Rank <= expandedSuspects {
			marks[sp.EventID] = append(marks[sp.EventID], suspectMark{Rank: sp.Rank, Incident: sp.IncidentID})
		}
	}
	for _, c := range changes {
		row := changeRow{Change: c, Name: report.ResourceName(c.Resource), ActorName: report.ResourceName(c.Actor), Suspect: marks[c.EventID], EventHref: eventHref(c.EventID, c.Time)}
		slices.SortFunc(row.Suspect, func(a, b suspectMark) int { return a.Rank - b.Rank })
		if len(row.Suspect) > 0 {
			d.Suspects++
		}
		d.Changes = append(d.Changes, row)
	}
	pd.Data = d
	return nil
}

type servicesData struct {
	Services []Service
	Edges    []queries.Edge
	Graph    template.HTML
	Idle     []string // services left out: no errors, changes or incidents in the range
	ShowIdle bool
}

// servicesPage draws the topology with each service's state. Services
// with nothing to show in the range (no error, no change, no incident:
// typically AWS services that are only called) are left out, and named,
// unless ?idle=1.
func (s *Server) servicesPage(r *http.Request, pd *pageData) error {
	ctx := r.Context()
	v, err := s.pageView(ctx, r, 0)
	pd.View, pd.Title = v, "Services"
	if err != nil {
		return err
	}
	svcs, edges, err := s.services(ctx, v.Window)
	if err != nil {
		return err
	}
	d := servicesData{ShowIdle: r.URL.Query().Get("idle") == "1"}
	if !d.ShowIdle {
		keep := map[string]bool{}
		for _, sv := range svcs {
			if sv.Errors > 0 || sv.Changes > 0 || len(sv.Incidents) > 0 {
				keep[sv.Name] = true
				d.Services = append(d.Services, sv)
			} else {
				d.Idle = append(d.Idle, sv.Name)
			}
		}
		edges = filterBy(edges, func(e queries.Edge) bool { return keep[e.From] && keep[e.To] })
	} else {
		d.Services = svcs
	}
	d.Edges, d.Graph = edges, topologyChart(d.Services, edges)
	pd.Data = d
	return nil
}

type consoleData struct {
	SQL     string
	Ran     bool
	Error   string
	Table   queries.Table
	Millis  int64
	Notice  string // why the result was cut, "" when complete
	Pending bool   // a GET with ?sql=: shown in the form, not run
	Rows    int    // rows the statement returned (Table holds at most consoleRows of them)
}

// consoleRows is how many rows the console shows: a page of 10,000 rows is
// megabytes of HTML no one reads; the whole result is a download away.
const consoleRows = 500

// maxConsoleForm bounds a console POST body.
const maxConsoleForm = 1 << 20

// consolePage shows the SQL console. A GET never runs SQL: ?sql= only fills
// the form (a query can still be shared as a link, and a page elsewhere
// cannot make a browser run one); the form POSTs the statement, which runs
// through the sandbox. A refused or failing statement is shown on the page
// with status 400.
func (s *Server) consolePage(r *http.Request, pd *pageData) error {
	pd.Title = "SQL console"
	q := r.URL.Query()
	d := consoleData{SQL: q.Get("sql")}
	q.Del("sql") // the other pages' links keep the time range, not the statement
	pd.View = view{raw: q}
	if r.Method != http.MethodPost {
		d.Pending = d.SQL != ""
		if d.SQL == "" {
			d.SQL = "SELECT service, count(*) AS errors\nFROM errors\nGROUP BY service\nORDER BY errors DESC\nLIMIT 20"
		}
		pd.Data = d
		return nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxConsoleForm)
	if err := r.ParseForm(); err != nil {
		he := httpError{http.StatusBadRequest, fmt.Sprintf("console form: %v: send the form of this page", err)}
		d.Error, pd.Data = he.msg, &d
		return consoleError{he}
	}
	d.SQL = r.PostForm.Get("sql")
	d.Ran = true
	start := time.Now()
	t, err := s.runSQL(r.Context(), d.SQL)
	d.Millis = time.Since(start).Milliseconds()
	pd.Data = &d
	if err != nil {
		var he httpError
		if errors.As(err, &he) {
			d.Error = he.msg
			return consoleError{he}
		}
		return err
	}
	d.Rows = len(t.Rows)
	d.Notice = queries.Summary{Rows: len(t.Rows), Truncated: t.Truncated, TruncatedBy: t.TruncatedBy}.Notice()
	if len(t.Rows) > consoleRows {
		t.Rows = t.Rows[:consoleRows]
	}
	d.Table = t
	return nil
}

// consoleError keeps the console page (with its message) on a 400.
type consoleError struct{ httpError }
