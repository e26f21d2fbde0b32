package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/queries"
)

// Report is an impact report over one window: the model every renderer
// (markdown, HTML, JSON) prints. Its JSON form is the stable machine format.
type Report struct {
	Title         string                `json:"title"`
	GeneratedAt   time.Time             `json:"generated_at"`
	Window        queries.Window        `json:"window"`
	Headline      string                `json:"headline"` // the executive summary: one sentence
	Summary       Summary               `json:"summary"`
	Incidents     []Incident            `json:"incidents"`
	Regions       []queries.RegionShare `json:"regions"` // whole window
	ChangeFailure ChangeFailure         `json:"change_failure"`
	TopErrors     []queries.ErrorSource `json:"top_errors"`
	Health        Health                `json:"health"`
}

// Summary is the headline of a report.
type Summary struct {
	Incidents   int   `json:"incidents"`
	Ongoing     int   `json:"ongoing"`
	Events      int64 `json:"events"`
	Errors      int64 `json:"errors"`
	Changes     int64 `json:"changes"`
	DeadLetters int64 `json:"dead_letters"`
}

// Incident is one incident with everything the report says about it.
type Incident struct {
	queries.Incident
	Number int `json:"number"` // 1-based position in the report
	// TimeToRecoverSeconds is recovery minus onset; nil while ongoing.
	TimeToRecoverSeconds *int64                `json:"time_to_recover_seconds"`
	TimeToRecover        string                `json:"time_to_recover"` // e.g. "42m", or "ongoing"
	Suspects             []queries.Suspect     `json:"suspects"`        // by rank; the first is the most likely
	Cascade              []queries.CascadeStep `json:"cascade"`         // by order of breaking
	RegionShares         []queries.RegionShare `json:"region_shares"`   // by errors
	Warning              string                `json:"regional_warning"`
	// Confidence is how sure the ranking is of the most likely cause, in
	// words (Confidence: high, medium, low); "" without suspects.
	Confidence string `json:"confidence"`

	confidences []string // per listed suspect, judged against the next one (listed or not)

	ErrorChart   Chart `json:"-"` // error rate per affected service with change markers
	CascadeChart Chart `json:"-"` // onset to recovery per service
}

// Chart is one rendered SVG chart and the file name it gets beside a
// markdown report.
type Chart struct {
	File  string
	Title string
	SVG   []byte
}

// ChangeFailure is the change failure rate by dimension.
type ChangeFailure struct {
	ByChangeType []queries.ChangeFailure `json:"by_change_type"`
	ByService    []queries.ChangeFailure `json:"by_service"`
	ByActor      []queries.ChangeFailure `json:"by_actor"`
	ByOperation  []queries.ChangeFailure `json:"by_operation"`
}

// Health is the state of the pipeline that fed the report.
type Health struct {
	DeadLetters []queries.DeadLetterCount `json:"dead_letters"`
	Offsets     []queries.Position        `json:"ingest_offsets"`
}

// Options controls Build.
type Options struct {
	Title       string
	Window      queries.Window // both bounds required
	Now         time.Time      // the report's generated_at; zero = time.Now()
	TopErrors   int            // error sources listed; 0 = 10
	MaxSuspects int            // suspects listed per incident; 0 = 5
	ChartBefore time.Duration  // chart history before an incident's onset; 0 = 30m
	ChartAfter  time.Duration  // chart time after its recovery; 0 = 15m
	MaxSeries   int            // services drawn in an error chart; 0 = 8
}

func (o Options) withDefaults() Options {
	if o.Title == "" {
		o.Title = "Impact report"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC()
	if o.TopErrors <= 0 {
		o.TopErrors = 10
	}
	if o.MaxSuspects <= 0 {
		o.MaxSuspects = 5
	}
	if o.ChartBefore <= 0 {
		o.ChartBefore = 30 * time.Minute
	}
	if o.ChartAfter <= 0 {
		o.ChartAfter = 15 * time.Minute
	}
	if o.MaxSeries <= 0 {
		o.MaxSeries = 8
	}
	return o
}

// Build asks src about opts.Window and assembles the report. The numbers
// are the engine's own; Build only groups, orders and formats them.
func Build(ctx context.Context, src Source, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	w := opts.Window
	if w.Since.IsZero() || w.Until.IsZero() || !w.Until.After(w.Since) {
		return nil, fmt.Errorf("report window %s to %s: both bounds are required and until must be after since", w.Since, w.Until)
	}
	w = queries.Window{Since: w.Since.UTC(), Until: w.Until.UTC()}
	im, err := src.Impact(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	incidents, suspects, cascade, regions, cfr := im.Incidents, im.Suspects, im.Cascade, im.Regions, im.ChangeFailure
	st, err := src.Stats(ctx, w, opts.TopErrors)
	if err != nil {
		return nil, fmt.Errorf("report stats: %w", err)
	}

	r := &Report{
		Title:       opts.Title,
		GeneratedAt: opts.Now,
		Window:      w,
		Summary:     Summary{Events: st.Events, Errors: st.Errors, Changes: st.Changes},
		TopErrors:   nonNil(st.TopErrors),
		Health:      Health{DeadLetters: nonNil(st.DeadLetters), Offsets: nonNil(st.Offsets)},
		Regions:     []queries.RegionShare{},
	}
	for _, d := range st.DeadLetters {
		r.Summary.DeadLetters += d.Count
	}

	slices.SortStableFunc(incidents, func(a, b queries.Incident) int {
		return cmp.Or(a.Onset.Compare(b.Onset), cmp.Compare(a.ID, b.ID))
	})
	byID := map[string]*Incident{}
	r.Incidents = make([]Incident, len(incidents))
	for i, in := range incidents {
		ri := &r.Incidents[i]
		ri.Incident = in
		ri.Number = i + 1
		ri.Suspects, ri.Cascade, ri.RegionShares = []queries.Suspect{}, []queries.CascadeStep{}, []queries.RegionShare{}
		if in.Ongoing || in.Recovery.IsZero() {
			ri.TimeToRecover = "ongoing"
		} else {
			secs := int64(in.Recovery.Sub(in.Onset) / time.Second)
			ri.TimeToRecoverSeconds = &secs
			ri.TimeToRecover = Duration(in.Recovery.Sub(in.Onset))
		}
		if in.Ongoing {
			r.Summary.Ongoing++
		}
		byID[in.ID] = ri
	}
	r.Summary.Incidents = len(r.Incidents)

	slices.SortStableFunc(suspects, func(a, b queries.Suspect) int {
		return cmp.Or(cmp.Compare(a.IncidentID, b.IncidentID), cmp.Compare(a.Rank, b.Rank), cmp.Compare(a.EventID, b.EventID))
	})
	for i, s := range suspects {
		ri := byID[s.IncidentID]
		if ri == nil || len(ri.Suspects) >= opts.MaxSuspects {
			continue
		}
		next := -1.0
		if i+1 < len(suspects) && suspects[i+1].IncidentID == s.IncidentID {
			next = suspects[i+1].Score
		}
		ri.Suspects = append(ri.Suspects, s)
		ri.confidences = append(ri.confidences, Confidence(s.Score, next))
		if len(ri.Suspects) == 1 {
			ri.Confidence = ri.confidences[0]
		}
	}
	slices.SortStableFunc(cascade, func(a, b queries.CascadeStep) int {
		return cmp.Or(cmp.Compare(a.IncidentID, b.IncidentID), cmp.Compare(a.Order, b.Order), cmp.Compare(a.Service, b.Service))
	})
	for _, c := range cascade {
		if ri := byID[c.IncidentID]; ri != nil {
			ri.Cascade = append(ri.Cascade, c)
		}
	}
	slices.SortStableFunc(regions, func(a, b queries.RegionShare) int {
		return cmp.Or(cmp.Compare(a.IncidentID, b.IncidentID), cmp.Compare(b.Errors, a.Errors), cmp.Compare(b.Changes, a.Changes), cmp.Compare(a.Region, b.Region))
	})
	for _, g := range regions {
		if g.IncidentID == "" {
			r.Regions = append(r.Regions, g)
			continue
		}
		if ri := byID[g.IncidentID]; ri != nil {
			ri.RegionShares = append(ri.RegionShares, g)
			if ri.Warning == "" && g.Warning != "" {
				ri.Warning = g.Warning
			}
		}
	}
	r.ChangeFailure = groupFailures(cfr)

	r.Headline = Headline(r)
	for i := range r.Incidents {
		if err := charts(ctx, src, &r.Incidents[i], w, opts); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// SuspectConfidence is the confidence, in words, that the listed suspect
// of the given rank caused the incident ("" for a rank not listed).
func (in Incident) SuspectConfidence(rank int) string {
	for i, s := range in.Suspects {
		if s.Rank == rank && i < len(in.confidences) {
			return in.confidences[i]
		}
	}
	return ""
}

// Headline is the report's executive summary in one sentence: what broke,
// when and for how long, how many errors, and the most likely cause with
// how sure the ranking is. With several incidents it speaks of the one with
// the most errors and says how many there were.
func Headline(r *Report) string {
	w := r.Window
	if len(r.Incidents) == 0 {
		return fmt.Sprintf("No incidents from %s to %s: %s errors and %s changes, none of them part of an outage.",
			shortTime(w.Since), shortTime(w.Until), count(r.Summary.Errors), count(r.Summary.Changes))
	}
	big := &r.Incidents[0]
	for i := range r.Incidents {
		if r.Incidents[i].TotalErrors > big.TotalErrors {
			big = &r.Incidents[i]
		}
	}
	var b strings.Builder
	if n := len(r.Incidents); n > 1 {
		fmt.Fprintf(&b, "%d incidents (%d ongoing); the largest: ", n, r.Summary.Ongoing)
	} else {
		b.WriteString("1 incident: ")
	}
	what := big.Services[0]
	switch n := len(big.Services); {
	case n == 2:
		what += " and " + big.Services[1]
	case n > 2:
		what += fmt.Sprintf(" and %d other services", n-1)
	}
	if big.Ongoing || big.Recovery.IsZero() {
		fmt.Fprintf(&b, "%s failing since %s (ongoing), %s errors", what, shortTime(big.Onset), count(big.TotalErrors))
	} else {
		fmt.Fprintf(&b, "%s failed at %s for %s, %s errors", what, shortTime(big.Onset), big.TimeToRecover, count(big.TotalErrors))
	}
	if len(big.Suspects) == 0 {
		b.WriteString("; no change was found before it.")
		return b.String()
	}
	s := big.Suspects[0]
	fmt.Fprintf(&b, "; most likely cause: %s", cmp.Or(s.Operation, s.ChangeType, "a change"))
	if s.Resource != "" {
		b.WriteString(" on " + ResourceName(s.Resource))
	}
	if s.Actor != "" {
		b.WriteString(" by " + ResourceName(s.Actor))
	}
	fmt.Fprintf(&b, ", %s before (%s confidence).", Duration(time.Duration(s.LeadMinutes*float64(time.Minute))), big.Confidence)
	return b.String()
}

// shortTime prints t to the minute, the way a sentence reads it.
func shortTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04Z") }

// count prints n with thousands separators: 12,345.
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// groupFailures splits change failure rows by dimension, riskiest first.
func groupFailures(rows []queries.ChangeFailure) ChangeFailure {
	slices.SortStableFunc(rows, func(a, b queries.ChangeFailure) int {
		return cmp.Or(cmp.Compare(b.Rate, a.Rate), cmp.Compare(b.Failed, a.Failed), cmp.Compare(b.Changes, a.Changes), cmp.Compare(a.Value, b.Value))
	})
	cf := ChangeFailure{
		ByChangeType: []queries.ChangeFailure{}, ByService: []queries.ChangeFailure{},
		ByActor: []queries.ChangeFailure{}, ByOperation: []queries.ChangeFailure{},
	}
	for _, c := range rows {
		switch c.Dimension {
		case "change_type":
			cf.ByChangeType = append(cf.ByChangeType, c)
		case "service":
			cf.ByService = append(cf.ByService, c)
		case "actor":
			cf.ByActor = append(cf.ByActor, c)
		case "operation":
			cf.ByOperation = append(cf.ByOperation, c)
		}
	}
	return cf
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Duration formats d the way reports print times to recover: "45s",
// "12m", "1h05m", "2d03h".
func Duration(d time.Duration) string {
	if d < 0 {
		return "-" + Duration(-d)
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		if s := int(d%time.Minute) / int(time.Second); s != 0 {
			return fmt.Sprintf("%dm%02ds", int(d/time.Minute), s)
		}
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
}

// markerLabel is the short text a change marker carries.
func markerLabel(s queries.Suspect) string {
	what := s.Operation
	if what == "" {
		what = s.ChangeType
	}
	parts := []string{fmt.Sprintf("#%d %s", s.Rank, what)}
	if s.Service != "" {
		parts = append(parts, s.Service)
	}
	return strings.Join(parts, " ")
}
