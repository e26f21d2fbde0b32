package dashboards

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/faultline/faultline/queries"
)

//go:embed sql/*.sql
var sqlFS embed.FS

func mustSQL(name string) string {
	b, err := sqlFS.ReadFile("sql/" + name + ".sql")
	if err != nil {
		panic(err) // programming error: the file is embedded
	}
	return string(b)
}

var (
	sqlChanges           = mustSQL("changes")
	sqlChangeFacets      = mustSQL("change_facets")
	sqlServices          = mustSQL("services")
	sqlOffsets           = mustSQL("offsets")
	sqlDeadLetterReasons = mustSQL("dead_letter_reasons")
	sqlDeadLetters       = mustSQL("dead_letters")
	sqlBounds            = mustSQL("bounds")
	sqlFiles             = mustSQL("files")
)

// Change is one row of the changes page and /api/changes.
type Change struct {
	EventID    string    `json:"event_id"`
	Time       time.Time `json:"time"`
	Source     string    `json:"source"`
	Service    string    `json:"service"`
	Operation  string    `json:"operation"`
	Region     string    `json:"region"`
	AccountID  string    `json:"account_id"`
	Resource   string    `json:"resource"`
	Actor      string    `json:"actor"`
	ChangeType string    `json:"change_type"`
	RiskClass  string    `json:"risk_class"`
	Status     string    `json:"status"`
	Message    string    `json:"message"`
}

// ChangeFilter selects changes by exact values; empty fields match all.
type ChangeFilter struct {
	Service    string `json:"service,omitempty"`
	Operation  string `json:"operation,omitempty"`
	Actor      string `json:"actor,omitempty"`
	Region     string `json:"region,omitempty"`
	ChangeType string `json:"change_type,omitempty"`
	RiskClass  string `json:"risk_class,omitempty"`
}

// Service is one node of the services page and /api/services.
type Service struct {
	Name         string    `json:"service"`
	State        string    `json:"state"` // "spiking" (in an ongoing incident or erroring now) or "healthy"
	Events       int64     `json:"events"`
	Errors       int64     `json:"errors"`
	RecentErrors int64     `json:"recent_errors"` // in the window's last 10 minutes
	Changes      int64     `json:"changes"`
	LastError    time.Time `json:"last_error,omitzero"`
	DependsOn    []string  `json:"depends_on"`
	Incidents    []string  `json:"incidents"` // incidents in the window this service took part in
}

// Offset is where ingest stands on one source partition.
type Offset struct {
	Source     string    `json:"source"`
	Partition  int32     `json:"partition"`
	NextOffset int64     `json:"next_offset"`
	UpdatedAt  time.Time `json:"updated_at"`
	Lag        *int64    `json:"lag,omitempty"` // messages behind the head, from ingest's status while it runs in this process
}

// DeadLetterReason counts dead letters with one reason.
type DeadLetterReason struct {
	Reason string    `json:"reason"`
	Count  int64     `json:"count"`
	Last   time.Time `json:"last"`
}

// DeadLetter is one dead letter without its raw bytes.
type DeadLetter struct {
	Time      time.Time `json:"time"`
	Reason    string    `json:"reason"`
	Message   string    `json:"message"`
	Format    string    `json:"format"`
	RawSize   int64     `json:"raw_size"`
	Topic     string    `json:"src_topic,omitempty"`
	Partition int32     `json:"src_partition"`
	Offset    int64     `json:"src_offset"`
	File      string    `json:"src_file,omitempty"`
	Index     int32     `json:"src_index"`
}

// Bounds is the time span of the stored events.
type Bounds struct {
	First     time.Time `json:"first,omitzero"`
	Last      time.Time `json:"last,omitzero"`
	LastError time.Time `json:"last_error,omitzero"`
	Events    int64     `json:"events"`
}

// Files summarises the files loaded with faultline load.
type Files struct {
	Files     int64     `json:"files"`
	Records   int64     `json:"records"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// store runs the dashboards' own read-only listing SQL (changes, services,
// ingest positions, dead letters) on the faultline DuckDB file.
type listing struct{ db *sql.DB }

func (s listing) bounds(ctx context.Context) (Bounds, error) {
	var b Bounds
	var first, last, lastErr sql.NullTime
	if err := s.db.QueryRowContext(ctx, sqlBounds).Scan(&first, &last, &b.Events, &lastErr); err != nil {
		return b, fmt.Errorf("read event bounds: %w", err)
	}
	for _, p := range []struct {
		dst *time.Time
		src sql.NullTime
	}{{&b.First, first}, {&b.Last, last}, {&b.LastError, lastErr}} {
		if p.src.Valid {
			*p.dst = p.src.Time.UTC()
		}
	}
	return b, nil
}

func (s listing) files(ctx context.Context) (Files, error) {
	var f Files
	var upd sql.NullTime
	if err := s.db.QueryRowContext(ctx, sqlFiles).Scan(&f.Files, &f.Records, &upd); err != nil {
		return f, fmt.Errorf("read loaded files: %w", err)
	}
	if upd.Valid {
		f.UpdatedAt = upd.Time.UTC()
	}
	return f, nil
}

func (s listing) changes(ctx context.Context, w queries.Window, f ChangeFilter, limit int) ([]Change, error) {
	since, until := sqlWindow(w)
	rows, err := s.db.QueryContext(ctx, sqlChanges, since, until, f.Service, f.Operation, f.Actor, f.Region, f.ChangeType, f.RiskClass, limit)
	if err != nil {
		return nil, fmt.Errorf("list changes: %w", err)
	}
	defer rows.Close()
	out := []Change{}
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.EventID, &c.Time, &c.Source, &c.Service, &c.Operation, &c.Region, &c.AccountID,
			&c.Resource, &c.Actor, &c.ChangeType, &c.RiskClass, &c.Status, &c.Message); err != nil {
			return nil, fmt.Errorf("list changes: %w", err)
		}
		c.Time = c.Time.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// changeFacets returns the distinct values of each filter dimension.
func (s listing) changeFacets(ctx context.Context, w queries.Window) (map[string][]string, error) {
	since, until := sqlWindow(w)
	rows, err := s.db.QueryContext(ctx, sqlChangeFacets, since, until)
	if err != nil {
		return nil, fmt.Errorf("list change filter values: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var dim, val string
		if err := rows.Scan(&dim, &val); err != nil {
			return nil, fmt.Errorf("list change filter values: %w", err)
		}
		out[dim] = append(out[dim], val)
	}
	return out, rows.Err()
}

// services joins per-service counts, the topology's dependencies
// and the incidents of the window into the topology with current state.
// It prunes edges (pruneEdges) to the services with events in w, else every
// inferred endpoint would become a service, and returns the pruned edges.
func (s listing) services(ctx context.Context, w queries.Window, edges []queries.Edge, incidents []queries.Incident) ([]Service, []queries.Edge, error) {
	since, until := sqlWindow(w)
	byName := map[string]*Service{}
	get := func(name string) *Service {
		if sv, ok := byName[name]; ok {
			return sv
		}
		sv := &Service{Name: name, State: "healthy", DependsOn: []string{}, Incidents: []string{}}
		byName[name] = sv
		return sv
	}
	rows, err := s.db.QueryContext(ctx, sqlServices, since, until)
	if err != nil {
		return nil, nil, fmt.Errorf("list services: %w", err)
	}
	for rows.Next() {
		var name string
		var events, errs, changes, recent int64
		var last sql.NullTime
		if err := rows.Scan(&name, &events, &errs, &changes, &last, &recent); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("list services: %w", err)
		}
		sv := get(name)
		sv.Events, sv.Errors, sv.Changes, sv.RecentErrors = events, errs, changes, recent
		if last.Valid {
			sv.LastError = last.Time.UTC()
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("list services: %w", err)
	}
	// The rows are exactly the services with events in w.
	names := make(map[string]bool, len(byName))
	for name := range byName {
		names[name] = true
	}
	edges = pruneEdges(edges, names)

	for _, e := range edges {
		sv := get(e.From)
		get(e.To)
		if !slices.Contains(sv.DependsOn, e.To) {
			sv.DependsOn = append(sv.DependsOn, e.To)
		}
	}
	for _, inc := range incidents {
		for _, name := range inc.Services {
			sv := get(name)
			sv.Incidents = append(sv.Incidents, inc.ID)
			if inc.Ongoing {
				sv.State = "spiking"
			}
		}
	}
	out := make([]Service, 0, len(byName))
	for _, sv := range byName {
		sort.Strings(sv.DependsOn)
		out = append(out, *sv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, edges, nil
}

func (s listing) offsets(ctx context.Context) ([]Offset, error) {
	rows, err := s.db.QueryContext(ctx, sqlOffsets)
	if err != nil {
		return nil, fmt.Errorf("read ingest positions: %w", err)
	}
	defer rows.Close()
	out := []Offset{}
	for rows.Next() {
		var o Offset
		if err := rows.Scan(&o.Source, &o.Partition, &o.NextOffset, &o.UpdatedAt); err != nil {
			return nil, fmt.Errorf("read ingest positions: %w", err)
		}
		o.UpdatedAt = o.UpdatedAt.UTC()
		out = append(out, o)
	}
	return out, rows.Err()
}

func (s listing) deadLetters(ctx context.Context, limit int) ([]DeadLetterReason, []DeadLetter, error) {
	rows, err := s.db.QueryContext(ctx, sqlDeadLetterReasons)
	if err != nil {
		return nil, nil, fmt.Errorf("count dead letters: %w", err)
	}
	reasons := []DeadLetterReason{}
	for rows.Next() {
		var r DeadLetterReason
		if err := rows.Scan(&r.Reason, &r.Count, &r.Last); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("count dead letters: %w", err)
		}
		r.Last = r.Last.UTC()
		reasons = append(reasons, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("count dead letters: %w", err)
	}
	rows, err = s.db.QueryContext(ctx, sqlDeadLetters, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	recent := []DeadLetter{}
	for rows.Next() {
		var d DeadLetter
		if err := rows.Scan(&d.Time, &d.Reason, &d.Message, &d.Format, &d.RawSize, &d.Topic, &d.Partition, &d.Offset, &d.File, &d.Index); err != nil {
			return nil, nil, fmt.Errorf("list dead letters: %w", err)
		}
		d.Time = d.Time.UTC()
		recent = append(recent, d)
	}
	return reasons, recent, rows.Err()
}

// sqlWindow turns open bounds into values the listing SQL can compare with.
func sqlWindow(w queries.Window) (time.Time, time.Time) {
	since, until := w.Since, w.Until
	if since.IsZero() {
		since = time.Unix(0, 0).UTC()
	}
	if until.IsZero() {
		until = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return since, until
}

// pruneEdges keeps configured dependencies and inferred ones between
// services that have events in the window: inference from messages can
// name many one-off endpoints (load balancer DNS names) that would bury the
// topology.
func pruneEdges(edges []queries.Edge, svcs map[string]bool) []queries.Edge {
	out := make([]queries.Edge, 0, len(edges))
	for _, e := range edges {
		if e.Origin == "config" || (svcs[e.From] && svcs[e.To]) {
			out = append(out, e)
		}
	}
	return out
}
