package queries

import (
	"context"
	"database/sql"
)

// Querier is what faultline query asks: named queries, and analyst SQL
// streamed to a RowWriter with the sandbox's caps. Local answers from a
// DuckDB opened in this process; dashboards/client from a running
// faultline serve over HTTP.
type Querier interface {
	Named(ctx context.Context, name string, w Window) (Table, error)
	Stream(ctx context.Context, query string, w RowWriter) (Summary, error)
}

// Local answers named queries with an Engine and analyst SQL with a Sandbox,
// both over the same database, and caps every Table at query.max_rows and
// query.max_bytes.
type Local struct {
	Engine   *Engine
	Sandbox  *Sandbox
	maxRows  int
	maxBytes int64
}

var _ Querier = (*Local)(nil)

// NewLocal locks db down for analyst SQL (see Sandbox) and returns a Querier
// over it.
func NewLocal(ctx context.Context, db *sql.DB, q Config, c CorrelationConfig, topology map[string][]string) (*Local, error) {
	e := NewEngine(db, c, topology)
	if err := RegisterTableFunctions(ctx, db, e); err != nil {
		return nil, err
	}
	sb, err := NewSandbox(ctx, db, q)
	if err != nil {
		return nil, err
	}
	return &Local{Engine: e, Sandbox: sb, maxRows: q.MaxRows, maxBytes: q.MaxBytes}, nil
}

// Named runs a named query (see NamedQueries).
func (l *Local) Named(ctx context.Context, name string, w Window) (Table, error) {
	t, err := l.Engine.Named(ctx, name, w)
	if err != nil {
		return Table{}, err
	}
	// query.max_bytes used to be left out: a named query returned
	// everything under max_rows whatever its size.
	return CapTable(t, l.maxRows, l.maxBytes), nil
}

// Stream runs one analyst statement in the sandbox.
func (l *Local) Stream(ctx context.Context, query string, w RowWriter) (Summary, error) {
	return l.Sandbox.Stream(ctx, query, w)
}
