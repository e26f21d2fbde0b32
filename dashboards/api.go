package dashboards

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/queries"
)

// IncidentSummary is an incident with its top suspect (overview, /api/incidents).
type IncidentSummary struct {
	queries.Incident
	TopSuspect *queries.Suspect `json:"top_suspect"`
}

// IncidentDetail is everything the incident page shows.
type IncidentDetail struct {
	Incident queries.Incident      `json:"incident"`
	Window   queries.Window        `json:"window"` // the time span the detail was computed over
	Suspects []queries.Suspect     `json:"suspects"`
	Cascade  []queries.CascadeStep `json:"cascade"`
	Regions  []queries.RegionShare `json:"regions"`
	Series   []queries.SeriesPoint `json:"series"`
	Changes  []queries.Change      `json:"changes"`
	// ChangeDetails says what each suspect changed (request parameters,
	// Config item diff, deploy version), by event id.
	ChangeDetails map[string]queries.ChangeDetail `json:"change_details"`
	// Errors are the largest kinds of error of each of the incident's
	// services from its onset to ErrorsUntil (its recovery, or the minute
	// after the latest event while it is ongoing).
	Errors      []queries.ErrorGroup `json:"errors"`
	ErrorsUntil time.Time            `json:"errors_until"`
}

// ErrorsWindow is the span Errors covers.
func (d IncidentDetail) ErrorsWindow() queries.Window {
	return queries.Window{Since: d.Incident.Onset, Until: d.ErrorsUntil}
}

// IngestHealth is where ingest stands and what it rejected.
type IngestHealth struct {
	Running bool `json:"running"`
	// Problems says what is wrong with ingest, one sentence each (brokers
	// unreachable, missing topics, failing commits); empty when healthy.
	Problems []string `json:"problems"`
	// Kafka is ingest's status (connectivity, missing topics, partitions
	// and lag) while it runs in this process.
	Kafka             *status.Status            `json:"kafka,omitempty"`
	Events            int64                     `json:"events"`
	FirstEvent        time.Time                 `json:"first_event,omitzero"`
	LastEvent         time.Time                 `json:"last_event,omitzero"`
	LastErrorEvent    time.Time                 `json:"last_error_event,omitzero"` // the latest error event
	Offsets           []Offset                  `json:"offsets"`                   // Kafka partitions
	Files             Files                     `json:"files"`                     // files loaded with faultline load
	DeadLetters       int64                     `json:"dead_letters"`
	DeadLetterReasons []queries.DeadLetterCount `json:"dead_letter_reasons"`
	RecentDeadLetters []queries.DeadLetter      `json:"recent_dead_letters"`
}

// Offset is where ingest stands on one Kafka partition, with its lag.
type Offset struct {
	queries.Position
	Lag *int64 `json:"lag,omitempty"` // messages behind the head, from ingest's status while it runs in this process
}

// Files summarises the files loaded with faultline load.
type Files struct {
	Files     int64     `json:"files"`
	Records   int64     `json:"records"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

func (s *Server) incidentSummaries(ctx context.Context, w queries.Window) ([]IncidentSummary, error) {
	incs, err := s.incidents(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("find incidents: %w", err)
	}
	out := make([]IncidentSummary, 0, len(incs))
	if len(incs) == 0 {
		return out, nil
	}
	sus, err := s.suspects(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("rank suspects: %w", err)
	}
	top := map[string]queries.Suspect{}
	for _, sp := range sus {
		if cur, ok := top[sp.IncidentID]; !ok || sp.Rank < cur.Rank {
			top[sp.IncidentID] = sp
		}
	}
	for _, inc := range incs {
		is := IncidentSummary{Incident: inc}
		if sp, ok := top[inc.ID]; ok {
			is.TopSuspect = &sp
		}
		out = append(out, is)
	}
	slices.SortStableFunc(out, func(a, b IncidentSummary) int { return b.Onset.Compare(a.Onset) })
	return out, nil
}

// incidentDetail finds the incident by id over all time and computes its
// suspects, cascade, regions and series over a window around it.
func (s *Server) incidentDetail(ctx context.Context, id string) (IncidentDetail, error) {
	inc, err := s.findIncident(ctx, id)
	if err != nil {
		return IncidentDetail{}, err
	}
	// The window starts before the onset so the look-back for suspects and
	// the baseline are inside it, and ends after recovery (open while ongoing).
	w := queries.Window{Since: inc.Onset.Add(-2 * time.Hour)}
	if !inc.Ongoing && !inc.Recovery.IsZero() {
		w.Until = inc.Recovery.Add(30 * time.Minute)
	}
	d := IncidentDetail{Incident: inc, Window: w}
	if d.Suspects, err = s.suspects(ctx, w); err != nil {
		return d, fmt.Errorf("rank suspects: %w", err)
	}
	d.Suspects = filterBy(d.Suspects, func(x queries.Suspect) bool { return x.IncidentID == id })
	slices.SortStableFunc(d.Suspects, func(a, b queries.Suspect) int { return a.Rank - b.Rank })
	if d.Cascade, err = s.cascade(ctx, w); err != nil {
		return d, fmt.Errorf("compute cascade: %w", err)
	}
	d.Cascade = filterBy(d.Cascade, func(x queries.CascadeStep) bool { return x.IncidentID == id })
	slices.SortStableFunc(d.Cascade, func(a, b queries.CascadeStep) int { return a.Order - b.Order })
	if d.Regions, err = s.regions(ctx, w); err != nil {
		return d, fmt.Errorf("compute regions: %w", err)
	}
	d.Regions = filterBy(d.Regions, func(x queries.RegionShare) bool { return x.IncidentID == id })
	// The timeline: the incident's services from an hour before onset.
	tl := queries.Window{Since: inc.Onset.Add(-time.Hour), Until: w.Until}
	if tl.Until.IsZero() {
		tl.Until = inc.Peak.Add(time.Hour)
		if b, err := s.engine.EventSpan(ctx); err == nil && b.Last.After(tl.Until) {
			tl.Until = b.Last.Add(time.Minute)
		}
	}
	series, err := s.series(ctx, tl)
	if err != nil {
		return d, fmt.Errorf("read error series: %w", err)
	}
	d.Series = filterBy(series, func(p queries.SeriesPoint) bool { return slices.Contains(inc.Services, p.Service) })
	if d.Changes, err = s.engine.Changes(ctx, tl, queries.ChangeFilter{}, 500); err != nil {
		return d, err
	}
	d.Window = tl
	// What the suspects changed: only their rows, within their times.
	ids := make([]string, len(d.Suspects))
	var cw queries.Window
	for i, sp := range d.Suspects {
		ids[i] = sp.EventID
		if cw.Since.IsZero() || sp.Time.Before(cw.Since) {
			cw.Since = sp.Time
		}
		if sp.Time.After(cw.Until) {
			cw.Until = sp.Time
		}
	}
	cw.Until = cw.Until.Add(time.Second)
	if d.ChangeDetails, err = s.engine.ChangeDetails(ctx, cw, ids); err != nil {
		return d, err
	}
	// The errors: from the onset to the recovery, or to the latest event.
	d.ErrorsUntil = inc.Recovery
	if inc.Ongoing || d.ErrorsUntil.IsZero() {
		d.ErrorsUntil = tl.Until
	}
	if d.Errors, err = s.engine.ErrorGroups(ctx, d.ErrorsWindow(), inc.Services, errorGroupsPerService); err != nil {
		return d, err
	}
	return d, nil
}

// incidentIDTime reads the onset minute from ids shaped like
// inc-20260302-1000-cart (queries derives ids from the onset minute).
var incidentIDTime = regexp.MustCompile(`^inc-(\d{8}-\d{4})-`)

// findIncident looks the incident up from an hour before the onset its id
// names (so a long history is not recomputed), else over all time.
func (s *Server) findIncident(ctx context.Context, id string) (queries.Incident, error) {
	find := func(w queries.Window) (queries.Incident, bool, error) {
		incs, err := s.incidents(ctx, w)
		if err != nil {
			return queries.Incident{}, false, fmt.Errorf("find incidents: %w", err)
		}
		i := slices.IndexFunc(incs, func(x queries.Incident) bool { return x.ID == id })
		if i < 0 {
			return queries.Incident{}, false, nil
		}
		return incs[i], true, nil
	}
	if m := incidentIDTime.FindStringSubmatch(id); m != nil {
		if onset, err := time.Parse("20060102-1504", m[1]); err == nil {
			// Open at the end: an incident cut by the window's end would look ongoing.
			if inc, ok, err := find(queries.Window{Since: onset.Add(-time.Hour)}); err != nil || ok {
				return inc, err
			}
		}
	}
	inc, ok, err := find(queries.Window{})
	if err == nil && !ok {
		err = httpError{http.StatusNotFound, fmt.Sprintf("incident %q not found: list incidents at /api/incidents", id)}
	}
	return inc, err
}

func filterBy[T any](xs []T, keep func(T) bool) []T {
	out := make([]T, 0, len(xs))
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) ingestHealth(ctx context.Context) (IngestHealth, error) {
	st := s.ingest()
	h := IngestHealth{Running: st.Running, Problems: st.Problems()}
	if h.Problems == nil {
		h.Problems = []string{}
	}
	if st.Running {
		h.Kafka = &st
	}
	b, err := s.engine.EventSpan(ctx)
	if err != nil {
		return h, err
	}
	h.Events, h.FirstEvent, h.LastEvent, h.LastErrorEvent = b.Events, b.First, b.Last, b.LastError
	positions, err := s.engine.Positions(ctx)
	if err != nil {
		return h, err
	}
	h.Offsets = []Offset{}
	for _, p := range positions {
		if p.Source == queries.FilesSource {
			h.Files = Files{Files: p.Files, Records: p.NextOffset, UpdatedAt: p.UpdatedAt}
			continue
		}
		h.Offsets = append(h.Offsets, Offset{Position: p})
	}
	lags := map[string]int64{}
	for _, p := range st.Partitions {
		lags[fmt.Sprintf("%s/%d", p.Topic, p.Partition)] = p.Lag
	}
	for i, o := range h.Offsets {
		if l, ok := lags[fmt.Sprintf("%s/%d", strings.TrimPrefix(o.Source, "kafka:"), o.Part)]; ok && st.Running {
			h.Offsets[i].Lag = &l
		}
	}
	if h.DeadLetterReasons, err = s.engine.DeadLetterCounts(ctx, queries.Window{}); err != nil {
		return h, err
	}
	if h.RecentDeadLetters, err = s.engine.RecentDeadLetters(ctx, 20); err != nil {
		return h, err
	}
	for _, r := range h.DeadLetterReasons {
		h.DeadLetters += r.Count
	}
	return h, nil
}

func (s *Server) apiIncidents(r *http.Request) (any, error) {
	v, err := s.apiView(r, 0)
	if err != nil {
		return nil, err
	}
	incs, err := s.incidentSummaries(r.Context(), v.Window)
	if err != nil {
		return nil, err
	}
	return map[string]any{"window": v.Window, "incidents": incs}, nil
}

func (s *Server) apiIncident(r *http.Request) (any, error) {
	if err := checkParams(r); err != nil {
		return nil, err
	}
	return s.incidentDetail(r.Context(), r.PathValue("id"))
}

// apiEvents answers the stored events with an id (?at= bounds the read to
// that second), every column and the attributes as JSON.
func (s *Server) apiEvents(r *http.Request) (any, error) {
	if err := checkParams(r, "at"); err != nil {
		return nil, err
	}
	var w queries.Window
	if val := r.URL.Query().Get("at"); val != "" {
		t, err := s.parseWhen("at", val)
		if err != nil {
			return nil, err
		}
		w = queries.Window{Since: t.Truncate(time.Second), Until: t.Truncate(time.Second).Add(time.Second)}
	}
	evs, err := s.engine.Events(r.Context(), w, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, httpError{http.StatusNotFound, fmt.Sprintf("event %q not found: check the id (and at=, if given)", r.PathValue("id"))}
	}
	return map[string]any{"events": evs}, nil
}

func (s *Server) apiSuspects(r *http.Request) (any, error) {
	v, err := s.apiView(r, 0, "incident")
	if err != nil {
		return nil, err
	}
	sus, err := s.suspects(r.Context(), v.Window)
	if err != nil {
		return nil, fmt.Errorf("rank suspects: %w", err)
	}
	if v.Incident != "" {
		sus = filterBy(sus, func(x queries.Suspect) bool { return x.IncidentID == v.Incident })
	}
	return map[string]any{"window": v.Window, "suspects": nonNil(sus)}, nil
}

func (s *Server) apiCascade(r *http.Request) (any, error) {
	v, err := s.apiView(r, 0, "incident")
	if err != nil {
		return nil, err
	}
	steps, err := s.cascade(r.Context(), v.Window)
	if err != nil {
		return nil, fmt.Errorf("compute cascade: %w", err)
	}
	if v.Incident != "" {
		steps = filterBy(steps, func(x queries.CascadeStep) bool { return x.IncidentID == v.Incident })
	}
	return map[string]any{"window": v.Window, "cascade": nonNil(steps)}, nil
}

func (s *Server) apiRegions(r *http.Request) (any, error) {
	v, err := s.apiView(r, 0, "incident")
	if err != nil {
		return nil, err
	}
	regs, err := s.regions(r.Context(), v.Window)
	if err != nil {
		return nil, fmt.Errorf("compute regions: %w", err)
	}
	if v.Incident != "" {
		regs = filterBy(regs, func(x queries.RegionShare) bool { return x.IncidentID == v.Incident })
	}
	return map[string]any{"window": v.Window, "regions": nonNil(regs)}, nil
}

func (s *Server) apiChangeFailureRate(r *http.Request) (any, error) {
	v, err := s.apiView(r, 0)
	if err != nil {
		return nil, err
	}
	cf, err := s.changeFailureRate(r.Context(), v.Window)
	if err != nil {
		return nil, fmt.Errorf("compute change failure rate: %w", err)
	}
	return map[string]any{"window": v.Window, "change_failure_rate": nonNil(cf)}, nil
}

func (s *Server) apiSeries(r *http.Request) (any, error) {
	v, err := s.apiView(r, 0, "service", "region")
	if err != nil {
		return nil, err
	}
	pts, err := s.series(r.Context(), v.Window)
	if err != nil {
		return nil, fmt.Errorf("read error series: %w", err)
	}
	pts = filterBy(pts, func(p queries.SeriesPoint) bool {
		return (v.Service == "" || p.Service == v.Service) && (v.Region == "" || p.Region == v.Region)
	})
	return map[string]any{"window": v.Window, "series": pts}, nil
}

func (s *Server) apiChanges(r *http.Request) (any, error) {
	v, err := s.apiView(r, 1000, "limit", "service", "operation", "actor", "region", "type", "risk")
	if err != nil {
		return nil, err
	}
	ch, err := s.engine.Changes(r.Context(), v.Window, v.Filter, v.Limit)
	if err != nil {
		return nil, err
	}
	return map[string]any{"window": v.Window, "filter": v.Filter, "changes": ch}, nil
}

func (s *Server) apiServices(r *http.Request) (any, error) {
	v, err := s.apiView(r, 0)
	if err != nil {
		return nil, err
	}
	svcs, edges, err := s.services(r.Context(), v.Window)
	if err != nil {
		return nil, err
	}
	return map[string]any{"window": v.Window, "services": svcs, "edges": edges}, nil
}

func (s *Server) apiIngest(r *http.Request) (any, error) {
	if err := checkParams(r); err != nil {
		return nil, err
	}
	return s.ingestHealth(r.Context())
}

// apiStats answers the window's totals, top errors, dead letters and ingest
// positions (queries' Engine.Stats) so faultline report can build a report
// from a server.
func (s *Server) apiStats(r *http.Request) (any, error) {
	v, err := s.apiView(r, 10, "limit")
	if err != nil {
		return nil, err
	}
	st, err := s.engine.Stats(r.Context(), v.Window, v.Limit)
	if err != nil {
		return nil, fmt.Errorf("window stats: %w", err)
	}
	return st, nil
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func (s *Server) apiTopology(r *http.Request) (any, error) {
	v, err := s.apiView(r, 0)
	if err != nil {
		return nil, err
	}
	edges, err := s.topology(r.Context(), v.Window)
	if err != nil {
		return nil, fmt.Errorf("read topology: %w", err)
	}
	return map[string]any{"window": v.Window, "edges": nonNil(edges)}, nil
}
