package queries

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Engine runs the correlation SQL over the events table. It caches nothing:
// every call recomputes from the events, so late-arriving events (CloudTrail
// is up to ~15 minutes late) change the next answer. An Engine is safe for
// concurrent use; each call works on its own connection.
type Engine struct {
	db       *sql.DB
	cfg      CorrelationConfig
	topology map[string][]string
	// views numbers the Arrow views sessions register (writeTemp): DuckDB
	// creates them in the database's catalog, which every connection
	// shares, so each needs a name of its own.
	views atomic.Uint64
}

// NewEngine returns an engine over db (a DuckDB opened by ingest/store).
// topology maps a service to the services it depends on (the topology:
// config section; nil is fine). cfg should have passed Validate.
func NewEngine(db *sql.DB, cfg CorrelationConfig, topology map[string][]string) *Engine {
	t := make(map[string][]string, len(topology))
	for k, v := range topology {
		t[k] = append([]string(nil), v...)
	}
	return &Engine{db: db, cfg: cfg, topology: t}
}

// Config returns the engine's correlation configuration.
func (e *Engine) Config() CorrelationConfig { return e.cfg }

// stages are the correlation stages in dependency order; each is an embedded
// SELECT that reads the stages before it by name, except spike_minutes and
// spikes, which Go computes together from the series (spikeminutes.go,
// spikes.go). A session materializes the ones it needs as connection-local
// temporary tables.
var stages = []string{"series", "spike_minutes", "spikes", "incident_series", "incidents"}

// session is one computation: a connection with the stages materialized as
// TEMP tables (visible to this connection only, dropped on close).
type session struct {
	conn    *sql.Conn
	params  map[string]any
	created []string
	until   time.Time // the window's end (filled in when open: Window.Bounds)
}

func minutes(d time.Duration) int64 { return int64(d / time.Minute) }

// open starts a session for w and materializes stages up to and including
// upTo ("" = none).
func (e *Engine) open(ctx context.Context, w Window, upTo string) (*session, error) {
	since, until := w.Bounds()
	if !until.After(since) {
		return nil, fmt.Errorf("window: until %s is not after since %s", until.Format(time.RFC3339), since.Format(time.RFC3339))
	}
	c := e.cfg
	pad := max(c.BaselineWindow+c.BaselineGap, c.Lookback+c.RateWindow)
	ts := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	// The whole minutes of [base_from, until), [cand_from, until) and
	// [since, until), and the start of until's minute: the stages read those from the rollups,
	// the rest of a minute at either end from the events (sql/series.sql).
	baseWF, baseWT := wholeMinutes(since.Add(-pad), until)
	sinceWF, sinceWT := wholeMinutes(since, until)
	candWF, candWT := wholeMinutes(since.Add(-c.Lookback-c.RateWindow), until)
	p := map[string]any{
		"cand_wf":             ts(candWF),
		"cand_wt":             ts(candWT),
		"since_wf":            ts(sinceWF),
		"since_wt":            ts(sinceWT),
		"base_wf":             ts(baseWF),
		"base_wt":             ts(baseWT),
		"until_wt":            ts(until.Truncate(time.Minute)),
		"since":               ts(since),
		"until":               ts(until),
		"base_from":           ts(since.Add(-pad)),
		"cand_from":           ts(since.Add(-c.Lookback - c.RateWindow)),
		"since_m":             floorMinute(since),
		"until_m":             floorMinute(until.Add(time.Minute - time.Nanosecond)),
		"baseline_min":        minutes(c.BaselineWindow),
		"gap_min":             minutes(c.BaselineGap),
		"min_history_min":     minutes(c.BaselineMinHistory),
		"min_errors":          int64(c.SpikeMinErrors),
		"ratio":               c.SpikeMinRatio,
		"sigma":               c.SpikeSigma,
		"merge_gap_min":       minutes(c.MergeGap),
		"rise_min":            minutes(c.RiseWindow),
		"min_spike_minutes":   int64(c.MinSpikeMinutes),
		"min_excess_errors":   float64(c.MinExcessErrors),
		"lookback_min":        minutes(c.Lookback),
		"rate_min":            minutes(c.RateWindow),
		"half_life_min":       c.LeadHalfLife.Minutes(),
		"other_region_factor": c.OtherRegionFactor,
		"w_lead":              c.Weights.Lead,
		"w_scope":             c.Weights.Scope,
		"w_topology":          c.Weights.Topology,
		"w_spread":            c.Weights.Spread,
		"w_risk":              c.Weights.Risk,
		"w_ratio":             c.Weights.Ratio,
		"w_symptom":           c.Weights.Symptom,
		"w_total":             c.Weights.Lead + c.Weights.Scope + c.Weights.Topology + c.Weights.Spread + c.Weights.Risk + c.Weights.Ratio + c.Weights.Symptom,
		"keep":                int64(max(c.TopSuspects, c.FailureTopN) + 20),
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("correlation: get a connection: %w", err)
	}
	s := &session{conn: conn, params: p, until: until}
	if upTo == "" {
		return s, nil
	}
	for _, st := range stages {
		if st == "incident_series" {
			// Go groups the spikes into incidents (grouping.go).
			if err := e.groupSpikes(ctx, s); err != nil {
				s.close()
				return nil, err
			}
		}
		var err error
		switch st {
		case "spike_minutes":
			err = e.spikeMinutes(ctx, s) // computed in Go with spikes (spikeminutes.go, spikes.go)
		case "spikes":
		default:
			err = s.materialize(ctx, st)
		}
		if err != nil {
			s.close()
			return nil, err
		}
		if st == upTo {
			break
		}
	}
	return s, nil
}

// wholeMinutes returns [from, to): the whole minutes within [lo, hi). The
// rest of [lo, hi) is [lo, from) and [to, hi), either possibly empty; from
// and to are hi when [lo, hi) lies within one minute.
func wholeMinutes(lo, hi time.Time) (from, to time.Time) {
	from = lo.Truncate(time.Minute)
	if from.Before(lo) {
		from = from.Add(time.Minute)
	}
	if from.After(hi) {
		from = hi
	}
	to = hi.Truncate(time.Minute)
	if to.Before(from) {
		to = from
	}
	return from, to
}

// floorMinute returns t as epoch minutes, rounded down.
func floorMinute(t time.Time) int64 {
	s := t.Unix()
	if s < 0 && s%60 != 0 {
		return s/60 - 1
	}
	return s / 60
}

// args binds the named parameters the query text uses, and only those:
// extra first, then the session's.
func (s *session) args(query string, extra map[string]any) ([]any, error) {
	return bind(query, extra, s.params)
}

func (s *session) materialize(ctx context.Context, stage string) error {
	q := sqlText(stage)
	args, err := s.args(q, nil)
	if err != nil {
		return err
	}
	if _, err := s.conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+stage+" AS\n"+q, args...); err != nil {
		return fmt.Errorf("correlation stage %s: %w", stage, err)
	}
	s.created = append(s.created, stage)
	return nil
}

// query runs a SELECT (embedded file name or SQL text) in the session.
func (s *session) query(ctx context.Context, name, q string, extra map[string]any) (*sql.Rows, error) {
	args, err := s.args(q, extra)
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("correlation query %s: %w", name, err)
	}
	return rows, nil
}

func (s *session) close() {
	// Temp tables live as long as the pooled connection: drop them so the
	// next user of the connection starts clean and memory is returned.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := len(s.created) - 1; i >= 0; i-- {
		_, _ = s.conn.ExecContext(ctx, "DROP TABLE IF EXISTS temp."+s.created[i])
	}
	_ = s.conn.Close()
}

func minuteTime(m int64) time.Time { return time.Unix(m*60, 0).UTC() }

// Spikes returns every spike (run of spike minutes of one service and region)
// in w, with the incident it belongs to.
func (e *Engine) Spikes(ctx context.Context, w Window) ([]Spike, error) {
	s, err := e.open(ctx, w, "incident_series")
	if err != nil {
		return nil, err
	}
	defer s.close()
	return readSpikes(ctx, s)
}

func readSpikes(ctx context.Context, s *session) ([]Spike, error) {
	rows, err := s.query(ctx, "spikes", sqlText("spike_list"), nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Spike
	for rows.Next() {
		var p Spike
		var rise, start, end, peak int64
		if err := rows.Scan(&p.IncidentID, &p.Service, &p.Region, &rise, &start, &end, &p.SpikeMinutes, &peak,
			&p.PeakErrors, &p.Errors, &p.Baseline, &p.Threshold); err != nil {
			return nil, fmt.Errorf("read spikes: %w", err)
		}
		p.Rise, p.Start, p.End, p.Peak = minuteTime(rise), minuteTime(start), minuteTime(end), minuteTime(peak)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Incidents returns the incidents whose onset lies in w, oldest first.
func (e *Engine) Incidents(ctx context.Context, w Window) ([]Incident, error) {
	s, err := e.open(ctx, w, "incidents")
	if err != nil {
		return nil, err
	}
	defer s.close()
	return readIncidents(ctx, s)
}

// openIncidents opens a session with the incidents stage materialized and
// reads them; the caller closes the session.
func (e *Engine) openIncidents(ctx context.Context, w Window) (*session, []Incident, error) {
	s, err := e.open(ctx, w, "incidents")
	if err != nil {
		return nil, nil, err
	}
	incidents, err := readIncidents(ctx, s)
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, incidents, nil
}

func readIncidents(ctx context.Context, s *session) ([]Incident, error) {
	rows, err := s.query(ctx, "incidents", sqlText("incident_list"), nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Incident
	for rows.Next() {
		var in Incident
		var onset, peak, rec, rise int64
		var services, regions any
		if err := rows.Scan(&in.ID, &onset, &peak, &rec, &in.Ongoing, &services, &regions,
			&in.PeakErrorsPerMin, &in.TotalErrors, &rise); err != nil {
			return nil, fmt.Errorf("read incidents: %w", err)
		}
		in.Onset, in.Peak, in.rise = minuteTime(onset), minuteTime(peak), minuteTime(rise)
		if !in.Ongoing {
			in.Recovery = minuteTime(rec)
		}
		in.Services, in.Regions = stringList(services), stringList(regions)
		out = append(out, in)
	}
	return out, rows.Err()
}

// stringList converts a scanned DuckDB VARCHAR[] to []string.
func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// ErrUnknownQuery is returned by Named for a name it does not know.
var ErrUnknownQuery = errors.New("unknown named query")

// NamedQueries lists the names Named accepts.
var NamedQueries = []string{"incidents", "suspects", "cascade", "regions", "change-failure-rate", "series", "spikes", "topology"}

// namedAliases are other spellings of named queries that Named accepts.
var namedAliases = map[string]string{"change_failure_rate": "change-failure-rate", "cfr": "change-failure-rate"}

// CanonicalName returns the named query name stands for (in any case, or
// an alias), and whether there is one.
func CanonicalName(name string) (string, bool) {
	n := strings.ToLower(name)
	if a, ok := namedAliases[n]; ok {
		n = a
	}
	return n, slices.Contains(NamedQueries, n)
}

// Named runs a named query and returns it as a Table whose columns are the
// JSON names of the result type's fields.
func (e *Engine) Named(ctx context.Context, name string, w Window) (Table, error) {
	canonical, _ := CanonicalName(name)
	switch canonical {
	case "incidents":
		r, err := e.Incidents(ctx, w)
		return toTable(r, err)
	case "suspects":
		r, err := e.Suspects(ctx, w)
		return toTable(r, err)
	case "cascade":
		r, err := e.Cascade(ctx, w)
		return toTable(r, err)
	case "regions":
		r, err := e.Regions(ctx, w)
		return toTable(r, err)
	case "change-failure-rate":
		r, err := e.ChangeFailureRate(ctx, w)
		return toTable(r, err)
	case "series":
		return seriesTable(e.Series(ctx, w))
	case "spikes":
		r, err := e.Spikes(ctx, w)
		return toTable(r, err)
	case "topology":
		r, err := e.Topology(ctx, w)
		return toTable(r, err)
	}
	return Table{}, UnknownQueryError(name, "")
}

// UnknownQueryError is the error for a name Named does not know, naming
// suggestion (the closest known name; "" for none) and every known name.
// A long name is cut: the error goes back to whoever sent it.
func UnknownQueryError(name, suggestion string) error {
	if len(name) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + "..."
	}
	hint := ""
	if suggestion != "" {
		hint = " (did you mean " + suggestion + "?)"
	}
	return fmt.Errorf("%w %q%s: use one of %s", ErrUnknownQuery, name, hint, strings.Join(NamedQueries, ", "))
}
