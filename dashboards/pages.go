package dashboards

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/queries"
)

//go:embed templates/*.html
var templateFS embed.FS

type pageTemplate struct{ t *template.Template }

var pageNames = []string{"overview", "incident", "changes", "services", "console", "error"}

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
	Chart     template.HTML
	Incidents []IncidentSummary
	Ingest    IngestHealth
	Changes   int
}

func (s *Server) overviewPage(r *http.Request, pd *pageData) error {
	ctx := r.Context()
	v, err := s.parseView(ctx, r, 0)
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
	series = filterBy(series, func(p queries.SeriesPoint) bool {
		return (v.Service == "" || p.Service == v.Service) && (v.Region == "" || p.Region == v.Region)
	})
	changes, err := s.engine.Changes(ctx, v.Window, queries.ChangeFilter{Service: v.Service, Region: v.Region}, 500)
	if err != nil {
		return err
	}
	d.Changes = len(changes)
	top := map[string]bool{}
	for _, inc := range d.Incidents {
		if inc.TopSuspect != nil {
			top[inc.TopSuspect.EventID] = true
		}
	}
	d.Chart = seriesChart(series, changes, v.Window, "Errors per minute per service, with changes", "", top)
	if d.Ingest, err = s.ingestHealth(ctx); err != nil {
		return err
	}
	pd.Data = d
	return nil
}

type incidentData struct {
	IncidentDetail
	Timeline     template.HTML
	CascadeChart template.HTML
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
	emphasis := ""
	if len(det.Suspects) > 0 {
		top, emphasis = &det.Suspects[0], det.Suspects[0].EventID
	}
	labelled := map[string]bool{}
	for i := range min(3, len(det.Suspects)) {
		labelled[det.Suspects[i].EventID] = true
	}
	pd.Data = incidentData{
		IncidentDetail: det,
		Timeline:       seriesChart(det.Series, det.Changes, w, "Errors per minute of the incident's services, with changes", emphasis, labelled),
		CascadeChart:   cascadeChart(det.Cascade, det.Incident, top),
	}
	return nil
}

type changesData struct {
	Changes []queries.Change
	Facets  map[string][]string
	Limit   int
}

func (s *Server) changesPage(r *http.Request, pd *pageData) error {
	ctx := r.Context()
	v, err := s.parseView(ctx, r, 500)
	pd.View, pd.Title = v, "Changes"
	if err != nil {
		return err
	}
	var d changesData
	d.Limit = v.Limit
	if d.Changes, err = s.engine.Changes(ctx, v.Window, v.Filter, v.Limit); err != nil {
		return err
	}
	if d.Facets, err = s.engine.ChangeFacets(ctx, v.Window); err != nil {
		return err
	}
	pd.Data = d
	return nil
}

type servicesData struct {
	Services []Service
	Edges    []queries.Edge
	Graph    template.HTML
}

func (s *Server) servicesPage(r *http.Request, pd *pageData) error {
	ctx := r.Context()
	v, err := s.parseView(ctx, r, 0)
	pd.View, pd.Title = v, "Services"
	if err != nil {
		return err
	}
	svcs, edges, err := s.services(ctx, v.Window)
	if err != nil {
		return err
	}
	pd.Data = servicesData{Services: svcs, Edges: edges, Graph: topologyChart(svcs, edges)}
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
}

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
	d.Table = t
	d.Notice = queries.Summary{Rows: len(t.Rows), Truncated: t.Truncated, TruncatedBy: t.TruncatedBy}.Notice()
	return nil
}

// consoleError keeps the console page (with its message) on a 400.
type consoleError struct{ httpError }
