package report

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"time"

	"github.com/faultline/faultline/queries"
)

// Source is what a report needs from the correlation engine
// (*queries.Engine implements it). Each method answers for one window.
type Source interface {
	Incidents(ctx context.Context, w queries.Window) ([]queries.Incident, error)
	Suspects(ctx context.Context, w queries.Window) ([]queries.Suspect, error)
	Cascade(ctx context.Context, w queries.Window) ([]queries.CascadeStep, error)
	Regions(ctx context.Context, w queries.Window) ([]queries.RegionShare, error)
	ChangeFailureRate(ctx context.Context, w queries.Window) ([]queries.ChangeFailure, error)
	Series(ctx context.Context, w queries.Window) ([]queries.SeriesPoint, error)
}

// Stats answers the window totals and the pipeline's health.
type Stats interface {
	Stats(ctx context.Context, w queries.Window, topErrors int) (WindowStats, error)
}

// WindowStats are the counts of a window and the state of ingest.
type WindowStats struct {
	Events      int64             `json:"events"`
	Errors      int64             `json:"errors"`
	Changes     int64             `json:"changes"`
	TopErrors   []ErrorSource     `json:"top_errors"`
	DeadLetters []DeadLetterCount `json:"dead_letters"`
	Offsets     []IngestOffset    `json:"ingest_offsets"`
}

// ErrorSource is one (service, error_code) pair and its errors in the window.
type ErrorSource struct {
	Service   string    `json:"service"`
	ErrorCode string    `json:"error_code"`
	Errors    int64     `json:"errors"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// DeadLetterCount is the number of dead letters of one reason in the window.
type DeadLetterCount struct {
	Reason string    `json:"reason"`
	Count  int64     `json:"count"`
	Last   time.Time `json:"last"`
}

// IngestOffset is where ingest stands on one Kafka partition ("kafka:<topic>"),
// or, as Source "files", on all loaded files together (Files of them,
// NextOffset records read in all).
type IngestOffset struct {
	Source     string    `json:"source"`
	Part       int32     `json:"part"`
	NextOffset int64     `json:"next_offset"`
	UpdatedAt  time.Time `json:"updated_at"`
	Files      int64     `json:"files,omitempty"`
}

//go:embed sql/totals.sql
var totalsSQL string

//go:embed sql/top_errors.sql
var topErrorsSQL string

//go:embed sql/dead_letters.sql
var deadLettersSQL string

//go:embed sql/ingest_offsets.sql
var offsetsSQL string

// DBStats reads Stats from a faultline DuckDB database (ingest/store schema).
type DBStats struct{ DB *sql.DB }

// bounds turns a window into SQL parameters: open bounds become far dates.
func bounds(w queries.Window) (since, until time.Time) {
	since, until = w.Since, w.Until
	if since.IsZero() {
		since = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if until.IsZero() {
		until = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return since.UTC(), until.UTC()
}

// Stats implements Stats.
func (s DBStats) Stats(ctx context.Context, w queries.Window, topErrors int) (WindowStats, error) {
	since, until := bounds(w)
	var st WindowStats
	if err := s.DB.QueryRowContext(ctx, totalsSQL, since, until).Scan(&st.Events, &st.Errors, &st.Changes); err != nil {
		return st, fmt.Errorf("count events in window: %w", err)
	}
	rows, err := s.DB.QueryContext(ctx, topErrorsSQL, since, until, topErrors)
	if err != nil {
		return st, fmt.Errorf("query top error sources: %w", err)
	}
	for rows.Next() {
		var e ErrorSource
		if err := rows.Scan(&e.Service, &e.ErrorCode, &e.Errors, &e.FirstSeen, &e.LastSeen); err != nil {
			rows.Close()
			return st, fmt.Errorf("read top error sources: %w", err)
		}
		e.FirstSeen, e.LastSeen = e.FirstSeen.UTC(), e.LastSeen.UTC()
		st.TopErrors = append(st.TopErrors, e)
	}
	if err := closeRows(rows); err != nil {
		return st, fmt.Errorf("read top error sources: %w", err)
	}
	rows, err = s.DB.QueryContext(ctx, deadLettersSQL, since, until)
	if err != nil {
		return st, fmt.Errorf("query dead letters: %w", err)
	}
	for rows.Next() {
		var d DeadLetterCount
		if err := rows.Scan(&d.Reason, &d.Count, &d.Last); err != nil {
			rows.Close()
			return st, fmt.Errorf("read dead letters: %w", err)
		}
		d.Last = d.Last.UTC()
		st.DeadLetters = append(st.DeadLetters, d)
	}
	if err := closeRows(rows); err != nil {
		return st, fmt.Errorf("read dead letters: %w", err)
	}
	rows, err = s.DB.QueryContext(ctx, offsetsSQL)
	if err != nil {
		return st, fmt.Errorf("query ingest offsets: %w", err)
	}
	for rows.Next() {
		var o IngestOffset
		if err := rows.Scan(&o.Source, &o.Part, &o.NextOffset, &o.UpdatedAt, &o.Files); err != nil {
			rows.Close()
			return st, fmt.Errorf("read ingest offsets: %w", err)
		}
		o.UpdatedAt = o.UpdatedAt.UTC()
		st.Offsets = append(st.Offsets, o)
	}
	if err := closeRows(rows); err != nil {
		return st, fmt.Errorf("read ingest offsets: %w", err)
	}
	return st, nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}
