package bench

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	_ "embed"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/queries"
)

// NamedQueries are the named queries measured.
var NamedQueries = []string{"incidents", "suspects", "cascade", "regions", "change-failure-rate"}

// QueryResult is one named query over one events table.
type QueryResult struct {
	Name             string    `json:"name"`
	Events           int       `json:"events"`
	Rows             int       `json:"rows"`
	Runs             int       `json:"runs"`
	P50Seconds       float64   `json:"p50_seconds"`
	P95Seconds       float64   `json:"p95_seconds"`
	DirectP50Seconds float64   `json:"direct_p50_seconds"` // the same statements through database/sql, no engine
	DirectP95Seconds float64   `json:"direct_p95_seconds"`
	OverDirect       float64   `json:"p50_over_direct_p50"`
	Statements       int       `json:"statements"`
	Seconds          []float64 `json:"seconds"`
	DirectSeconds    []float64 `json:"direct_seconds"`
	// Slowest are the statements that took the most time in the direct
	// runs (mean seconds per run, statements of the same SQL file or stage
	// added up), to show where a slow query spends it.
	Slowest []StatementTime `json:"slowest_statements"`
}

// StatementTime is the mean time of one statement of a named query.
type StatementTime struct {
	Statement string  `json:"statement"` // "stage <name>" for a materialized stage, else the SQL's start
	Seconds   float64 `json:"seconds"`
}

// queryTopology is the configured topology of the generated services:
// svc-i depends on svc-(i+1) and svc-(i+7).
var queryTopology = func() map[string][]string {
	name := func(i int) string { return fmt.Sprintf("svc-%02d", i%50) }
	t := map[string][]string{}
	for i := range 50 {
		t[name(i)] = []string{name(i + 1), name(i + 7)}
	}
	return t
}()

// eventsSQL fills the events table with $n synthetic events (one day, 50
// services, 6 regions, ~2% changes, ~5% background errors, 6 error bursts)
// directly in DuckDB.
//
//go:embed events.sql
var eventsSQL string

// GenerateEvents fills the events table of db with n events directly in
// DuckDB (events.sql): the data the named queries are measured on, here and
// in BenchmarkNamedQueries, and builds their rollups (store.RebuildRollups).
func GenerateEvents(ctx context.Context, db *sql.DB, n int) error {
	if _, err := db.ExecContext(ctx, eventsSQL, sql.Named("n", n)); err != nil {
		return fmt.Errorf("generate %d events: %w", n, err)
	}
	// The events did not come through the sink: build the rollups the
	// correlation reads (what ingest keeps with every commit).
	return store.RebuildRollups(ctx, db)
}

// benchQueries builds an events table of n events in a new DuckDB file
// and times each named query through the engine and directly.
func benchQueries(ctx context.Context, o Options, dir string, n int) ([]QueryResult, error) {
	db, err := openDB(ctx, filepath.Join(dir, fmt.Sprintf("q-%d.duckdb", n)), o.MemoryLimit)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	t0 := time.Now()
	if err := GenerateEvents(ctx, db.DB, n); err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return nil, fmt.Errorf("checkpoint generated events: %w", err)
	}
	o.progress("generated %d events in %.1f s", n, time.Since(t0).Seconds())
	return timeQueries(ctx, db, n, o.QueryRuns)
}

// timeQueries runs every named query once to warm up and record its
// statements, then runs alternately the engine and the recorded
// statements, runs times each.
func timeQueries(ctx context.Context, db *store.DB, n, runs int) ([]QueryResult, error) {
	cfg := queries.DefaultCorrelationConfig()
	eng := queries.NewEngine(db.DB, cfg, queryTopology)
	rec := &recorder{}
	rdb := sql.OpenDB(recordingConnector{c: db.Connector, rec: rec})
	defer rdb.Close()
	reng := queries.NewEngine(rdb, cfg, queryTopology)
	var out []QueryResult
	for _, name := range NamedQueries {
		rec.reset()
		t, err := reng.Named(ctx, name, queries.Window{})
		if err != nil {
			return nil, fmt.Errorf("named query %s over %d events: %w", name, n, err)
		}
		stmts := rec.take()
		r := QueryResult{Name: name, Events: n, Rows: len(t.Rows), Runs: runs, Statements: len(stmts)}
		per := make([]float64, len(stmts))
		for i := 0; i < runs; i++ {
			t0 := time.Now()
			if _, err := eng.Named(ctx, name, queries.Window{}); err != nil {
				return nil, fmt.Errorf("named query %s over %d events: %w", name, n, err)
			}
			r.Seconds = append(r.Seconds, time.Since(t0).Seconds())
			t0 = time.Now()
			if err := replay(ctx, db.DB, stmts, per); err != nil {
				return nil, fmt.Errorf("named query %s directly over %d events: %w", name, n, err)
			}
			r.DirectSeconds = append(r.DirectSeconds, time.Since(t0).Seconds())
		}
		r.P50Seconds, r.P95Seconds = median(r.Seconds), percentile(r.Seconds, 95)
		r.DirectP50Seconds, r.DirectP95Seconds = median(r.DirectSeconds), percentile(r.DirectSeconds, 95)
		if r.DirectP50Seconds > 0 {
			r.OverDirect = r.P50Seconds / r.DirectP50Seconds
		}
		byLabel := map[string]int{} // statements of one label (a query per incident) add up
		for i, st := range stmts {
			l := label(st.query)
			if j, ok := byLabel[l]; ok {
				r.Slowest[j].Seconds += per[i] / float64(runs)
				continue
			}
			byLabel[l] = len(r.Slowest)
			r.Slowest = append(r.Slowest, StatementTime{l, per[i] / float64(runs)})
		}
		slices.SortStableFunc(r.Slowest, func(a, b StatementTime) int { return cmp.Compare(b.Seconds, a.Seconds) })
		r.Slowest = r.Slowest[:min(3, len(r.Slowest))]
		out = append(out, r)
	}
	return out, nil
}

// statement is one SQL statement the engine sent, with its arguments.
type statement struct {
	query string
	args  []driver.NamedValue
	rows  bool // a query (rows are read), not an exec
}

// label names a statement for the report.
func label(q string) string {
	// The embedded SQL files start with "-- name: what it does".
	if rest, ok := strings.CutPrefix(q, "-- "); ok {
		if name, _, ok := strings.Cut(rest, ":"); ok && !strings.Contains(name, " ") {
			return "sql " + name
		}
	}
	const temp = "CREATE OR REPLACE TEMP TABLE "
	if rest, ok := strings.CutPrefix(q, temp); ok {
		name, _, _ := strings.Cut(rest, " ")
		return "stage " + strings.TrimSpace(name)
	}
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 80 {
		q = q[:80] + "..."
	}
	return q
}

// replay runs recorded statements on one connection, reading every row,
// and adds each statement's time to per.
func replay(ctx context.Context, db *sql.DB, stmts []statement, per []float64) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for i, st := range stmts {
		t0 := time.Now()
		if err := replayOne(ctx, conn, st); err != nil {
			return err
		}
		per[i] += time.Since(t0).Seconds()
	}
	return nil
}

func replayOne(ctx context.Context, conn *sql.Conn, st statement) error {
	{
		args := make([]any, len(st.args))
		for i, a := range st.args {
			if a.Name != "" {
				args[i] = sql.Named(a.Name, a.Value)
			} else {
				args[i] = a.Value
			}
		}
		if !st.rows {
			_, err := conn.ExecContext(ctx, st.query, args...)
			return err
		}
		rows, err := conn.QueryContext(ctx, st.query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
		}
		return rows.Err()
	}
}

// recorder keeps the statements sent through a recordingConnector.
type recorder struct {
	mu    sync.Mutex
	stmts []statement
}

func (r *recorder) add(s statement) {
	r.mu.Lock()
	r.stmts = append(r.stmts, s)
	r.mu.Unlock()
}

// made reports whether a recorded statement created the temporary table
// name (CREATE OR REPLACE TEMP TABLE name ...).
func (r *recorder) made(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.stmts {
		if label(s.query) == "stage "+name {
			return true
		}
	}
	return false
}

func (r *recorder) reset() { r.mu.Lock(); r.stmts = nil; r.mu.Unlock() }

func (r *recorder) take() []statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stmts
	r.stmts = nil
	return s
}

// recordingConnector wraps the DuckDB connector and records every
// statement executed or queried through it.
type recordingConnector struct {
	c   driver.Connector
	rec *recorder
}

func (rc recordingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := rc.c.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, rec: rc.rec}, nil
}

func (rc recordingConnector) Driver() driver.Driver { return rc.c.Driver() }

type recordingConn struct {
	driver.Conn
	rec       *recorder
	unwrapped bool
}

// Unwrap gives the engine's stages computed in Go (queries: spike_minutes,
// which reads and writes Arrow) the DuckDB connection under the recorder.
// What they do there is not a statement, so the next statement first copies
// the temporary tables they made into the bench file and records a copy of
// that (snapshot): the replay copies a Go stage's rows instead of computing
// them.
func (c *recordingConn) Unwrap() driver.Conn {
	c.unwrapped = true
	return c.Conn
}

// snapshot copies, after an Unwrap, the temporary tables no recorded
// statement created into bench_go_<name> and records their restoring.
func (c *recordingConn) snapshot(ctx context.Context) error {
	if !c.unwrapped {
		return nil
	}
	c.unwrapped = false
	ex, ok1 := c.Conn.(driver.ExecerContext)
	qr, ok2 := c.Conn.(driver.QueryerContext)
	if !ok1 || !ok2 {
		return fmt.Errorf("recording: %T cannot run statements", c.Conn)
	}
	rows, err := qr.QueryContext(ctx, "SELECT table_name FROM duckdb_tables() WHERE temporary", nil)
	if err != nil {
		return err
	}
	var names []string
	v := make([]driver.Value, 1)
	for rows.Next(v) == nil {
		if name, ok := v[0].(string); ok && !c.rec.made(name) {
			names = append(names, name)
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, name := range names {
		if _, err := ex.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TABLE main."bench_go_%s" AS SELECT * FROM temp."%s"`, name, name), nil); err != nil {
			return fmt.Errorf("recording: snapshot of %s: %w", name, err)
		}
		c.rec.add(statement{query: fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s AS SELECT * FROM main."bench_go_%s"`, name, name)})
	}
	return nil
}

func (c *recordingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	ex, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if err := c.snapshot(ctx); err != nil {
		return nil, err
	}
	c.rec.add(statement{query: q, args: args})
	return ex.ExecContext(ctx, q, args)
}

func (c *recordingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	qr, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if err := c.snapshot(ctx); err != nil {
		return nil, err
	}
	c.rec.add(statement{query: q, args: args, rows: true})
	return qr.QueryContext(ctx, q, args)
}

func (c *recordingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *recordingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck // fallback of the interface
}

func (c *recordingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}
