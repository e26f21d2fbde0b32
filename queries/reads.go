package queries

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The reads beside the correlation: listings of changes and services, the
// window's totals, and the state of ingest as the store recorded it
// (positions, dead letters, the data version). Each is one embedded SQL file
// with named parameters, run on the pool (no session: nothing to
// materialize) and scanned into the types below.

// Change is one change event (the changes page, /api/changes).
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

// ServiceActivity is what one service did in a window.
type ServiceActivity struct {
	Service      string    `json:"service"`
	Events       int64     `json:"events"`
	Errors       int64     `json:"errors"`
	Changes      int64     `json:"changes"`
	LastError    time.Time `json:"last_error,omitzero"`
	RecentErrors int64     `json:"recent_errors"` // in the window's last 10 minutes
}

// EventSpan is the time span of all stored events.
type EventSpan struct {
	First     time.Time `json:"first,omitzero"`
	Last      time.Time `json:"last,omitzero"`
	LastError time.Time `json:"last_error,omitzero"`
	Events    int64     `json:"events"`
}

// Position is where ingest stands on one Kafka partition (Source
// "kafka:<topic>", Part the partition), or, as Source "files", on all loaded
// files together (Files of them, NextOffset records read in all).
type Position struct {
	Source     string    `json:"source"`
	Part       int32     `json:"part"`
	NextOffset int64     `json:"next_offset"`
	UpdatedAt  time.Time `json:"updated_at"`
	Files      int64     `json:"files,omitempty"`
}

// FilesSource is the Source of the Position that sums up the loaded files.
const FilesSource = "files"

// DeadLetterCount is the number of dead letters of one reason.
type DeadLetterCount struct {
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

// ErrorSource is one (service, error_code) pair and its errors in a window.
type ErrorSource struct {
	Service   string    `json:"service"`
	ErrorCode string    `json:"error_code"`
	Errors    int64     `json:"errors"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// WindowStats are the counts of a window and the state of ingest.
type WindowStats struct {
	Events      int64             `json:"events"`
	Errors      int64             `json:"errors"`
	Changes     int64             `json:"changes"`
	TopErrors   []ErrorSource     `json:"top_errors"`
	DeadLetters []DeadLetterCount `json:"dead_letters"`
	Offsets     []Position        `json:"ingest_offsets"`
}

// Counts are the rows stored, all time.
type Counts struct {
	Events      int64 `json:"events"`
	DeadLetters int64 `json:"dead_letters"`
}

// rows runs the embedded statement name with params on the pool.
func (e *Engine) rows(ctx context.Context, name string, params map[string]any) (*sql.Rows, error) {
	q := sqlText(name)
	args, err := bind(q, params)
	if err != nil {
		return nil, err
	}
	return e.db.QueryContext(ctx, q, args...)
}

// scanRow runs the embedded single-row statement name with params on the
// pool and scans its row into dest.
func (e *Engine) scanRow(ctx context.Context, name string, params map[string]any, dest ...any) error {
	q := sqlText(name)
	args, err := bind(q, params)
	if err != nil {
		return err
	}
	return e.db.QueryRowContext(ctx, q, args...).Scan(dest...)
}

// windowParams are $since and $until of w, open bounds filled in.
func windowParams(w Window) map[string]any {
	since, until := w.Bounds()
	return map[string]any{"since": since, "until": until}
}

// Changes returns the changes in w that match f, newest first, at most limit.
func (e *Engine) Changes(ctx context.Context, w Window, f ChangeFilter, limit int) ([]Change, error) {
	p := windowParams(w)
	p["service"], p["operation"], p["actor"], p["region"] = f.Service, f.Operation, f.Actor, f.Region
	p["change_type"], p["risk_class"], p["limit"] = f.ChangeType, f.RiskClass, limit
	rows, err := e.rows(ctx, "changes", p)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list changes: %w", err)
	}
	return out, nil
}

// ChangeFacets returns the distinct values of each change filter dimension
// (service, operation, actor, region, change_type, risk_class) in w, sorted.
func (e *Engine) ChangeFacets(ctx context.Context, w Window) (map[string][]string, error) {
	rows, err := e.rows(ctx, "change_facets", windowParams(w))
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list change filter values: %w", err)
	}
	return out, nil
}

// ServiceActivity returns, per service with events in w, its events,
// errors, changes, last error and recent errors, by service name.
func (e *Engine) ServiceActivity(ctx context.Context, w Window) ([]ServiceActivity, error) {
	rows, err := e.rows(ctx, "service_activity", windowParams(w))
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	defer rows.Close()
	out := []ServiceActivity{}
	for rows.Next() {
		var a ServiceActivity
		var last sql.NullTime
		if err := rows.Scan(&a.Service, &a.Events, &a.Errors, &a.Changes, &last, &a.RecentErrors); err != nil {
			return nil, fmt.Errorf("list services: %w", err)
		}
		if last.Valid {
			a.LastError = last.Time.UTC()
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return out, nil
}

// EventSpan returns the time span and number of all stored events.
func (e *Engine) EventSpan(ctx context.Context) (EventSpan, error) {
	var b EventSpan
	var first, last, lastErr sql.NullTime
	if err := e.scanRow(ctx, "event_span", nil, &first, &last, &b.Events, &lastErr); err != nil {
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

// Positions returns where ingest stands: one Position per Kafka partition,
// and one (Source FilesSource) for all loaded files, by source and part.
func (e *Engine) Positions(ctx context.Context) ([]Position, error) {
	rows, err := e.rows(ctx, "positions", nil)
	if err != nil {
		return nil, fmt.Errorf("read ingest positions: %w", err)
	}
	defer rows.Close()
	out := []Position{}
	for rows.Next() {
		var p Position
		if err := rows.Scan(&p.Source, &p.Part, &p.NextOffset, &p.UpdatedAt, &p.Files); err != nil {
			return nil, fmt.Errorf("read ingest positions: %w", err)
		}
		p.UpdatedAt = p.UpdatedAt.UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read ingest positions: %w", err)
	}
	return out, nil
}

// DeadLetterCounts returns the dead letters written in w per reason, the
// most frequent first.
func (e *Engine) DeadLetterCounts(ctx context.Context, w Window) ([]DeadLetterCount, error) {
	rows, err := e.rows(ctx, "dead_letter_counts", windowParams(w))
	if err != nil {
		return nil, fmt.Errorf("count dead letters: %w", err)
	}
	defer rows.Close()
	out := []DeadLetterCount{}
	for rows.Next() {
		var d DeadLetterCount
		if err := rows.Scan(&d.Reason, &d.Count, &d.Last); err != nil {
			return nil, fmt.Errorf("count dead letters: %w", err)
		}
		d.Last = d.Last.UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count dead letters: %w", err)
	}
	return out, nil
}

// RecentDeadLetters returns the limit most recent dead letters, newest first.
func (e *Engine) RecentDeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	rows, err := e.rows(ctx, "recent_dead_letters", map[string]any{"limit": limit})
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	out := []DeadLetter{}
	for rows.Next() {
		var d DeadLetter
		if err := rows.Scan(&d.Time, &d.Reason, &d.Message, &d.Format, &d.RawSize, &d.Topic, &d.Partition, &d.Offset, &d.File, &d.Index); err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		d.Time = d.Time.UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// TopErrors returns the limit (service, error_code) pairs with the most
// errors in w.
func (e *Engine) TopErrors(ctx context.Context, w Window, limit int) ([]ErrorSource, error) {
	p := windowParams(w)
	p["limit"] = limit
	rows, err := e.rows(ctx, "top_errors", p)
	if err != nil {
		return nil, fmt.Errorf("query top error sources: %w", err)
	}
	defer rows.Close()
	out := []ErrorSource{}
	for rows.Next() {
		var s ErrorSource
		if err := rows.Scan(&s.Service, &s.ErrorCode, &s.Errors, &s.FirstSeen, &s.LastSeen); err != nil {
			return nil, fmt.Errorf("read top error sources: %w", err)
		}
		s.FirstSeen, s.LastSeen = s.FirstSeen.UTC(), s.LastSeen.UTC()
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read top error sources: %w", err)
	}
	return out, nil
}

// Stats returns the totals of w, its topErrors top error sources and dead
// letters, and where ingest stands.
func (e *Engine) Stats(ctx context.Context, w Window, topErrors int) (WindowStats, error) {
	var st WindowStats
	if err := e.scanRow(ctx, "window_totals", windowParams(w), &st.Events, &st.Errors, &st.Changes); err != nil {
		return st, fmt.Errorf("count events in window: %w", err)
	}
	var err error
	if st.TopErrors, err = e.TopErrors(ctx, w, topErrors); err != nil {
		return st, err
	}
	if st.DeadLetters, err = e.DeadLetterCounts(ctx, w); err != nil {
		return st, err
	}
	if st.Offsets, err = e.Positions(ctx); err != nil {
		return st, err
	}
	return st, nil
}

// Counts returns how many events and dead letters are stored.
func (e *Engine) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	if err := e.scanRow(ctx, "counts", nil, &c.Events, &c.DeadLetters); err != nil {
		return c, fmt.Errorf("count stored events: %w", err)
	}
	return c, nil
}

// DataVersion returns a value that changes whenever a commit lands (see
// sql/data_version.sql): an answer computed at one version holds while the
// version is unchanged.
func (e *Engine) DataVersion(ctx context.Context) (string, error) {
	var v string
	if err := e.scanRow(ctx, "data_version", nil, &v); err != nil {
		return "", fmt.Errorf("read data version: %w", err)
	}
	return v, nil
}

// DuckDBVersion returns the version of the DuckDB library.
func (e *Engine) DuckDBVersion(ctx context.Context) (string, error) {
	var v string
	if err := e.scanRow(ctx, "duckdb_version", nil, &v); err != nil {
		return "", fmt.Errorf("read duckdb version: %w", err)
	}
	return v, nil
}
