package bench

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
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
	// runs (mean seconds per run), to show where a slow query spends it.
	Slowest []StatementTime `json:"slowest_statements"`
}

// StatementTime is the mean time of one statement of a named query.
type StatementTime struct {
	Statement string  `json:"statement"` // "stage <name>" for a materialized stage, else the SQL's start
	Seconds   float64 `json:"seconds"`
}

// queryTopology is the configured topology of the generated services.
var queryTopology = map[string][]string{
	"gateway":  {"auth", "checkout", "search"},
	"checkout": {"cart", "payments", "orders", "dynamodb"},
	"orders":   {"inventory", "shipping", "dynamodb"},
	"payments": {"kms", "dynamodb"},
	"search":   {"catalog", "elasticloadbalancing"},
}

// GenerateEvents fills the events table of db with n events at realistic
// cardinalities, directly in DuckDB: about 1000 events a minute over 40
// services (skewed: the busiest ones produce most events) in 6 regions and
// 20 accounts, 85% info, 10% errors, 4.5% signals, 0.5% changes (5 a
// minute, of every risk class), 200 operations, 5000 resources, 50 actors,
// and an injected incident every 6 hours: a critical change followed by an
// error burst of its service and of a service that depends on it.
func GenerateEvents(ctx context.Context, db *sql.DB, n int) error {
	spanMin := max(n/1000, 120)
	incidents := max(1, spanMin/360)
	burst := 15 * 150 * 2 // minutes x errors/min x services
	bg := n - incidents*(burst+1)
	if bg < n/2 {
		return fmt.Errorf("generate events: %d events are too few", n)
	}
	_, err := db.ExecContext(ctx, `
INSERT INTO events
WITH g AS (
    SELECT i, CAST(hash(i) >> 1 AS BIGINT) AS h,
           TIMESTAMPTZ '2026-03-02 00:00:00+00' + to_microseconds(CAST(i * (CAST($span AS BIGINT) * 60000000) // $n AS BIGINT)) AS ts
    FROM range($n) t(i)
), k AS (
    SELECT *, h % 1000 AS pk, CAST(floor(40 * pow(((h >> 8) % 1000000) / 1e6, 2)) AS BIGINT) AS svc, (h >> 16) % 6 AS reg, (h >> 24) % 20 AS acct,
           (h >> 32) % 200 AS op, (h >> 40) % 5000 AS res, (h >> 48) % 50 AS act
    FROM g
)
SELECT 'q-' || i, ts, ts + INTERVAL 3 SECOND,
       CASE WHEN pk < 600 THEN 'cloudtrail' WHEN pk < 800 THEN 'cloudwatch' ELSE 'app' END,
       CASE WHEN pk < 850 THEN 'info' WHEN pk < 950 THEN 'error' WHEN pk < 995 THEN 'signal' ELSE 'change' END,
       'svc-' || svc, 'Op' || op, ['us-east-1','us-east-1','us-west-2','eu-west-1','eu-central-1','ap-southeast-2'][reg + 1],
       lpad(CAST(100000000000 + acct AS VARCHAR), 12, '0'),
       'arn:aws:svc:' || reg || ':' || acct || ':res/' || res, 'role/actor-' || act,
       CASE WHEN pk BETWEEN 850 AND 949 THEN 17 ELSE 9 END, CASE WHEN pk BETWEEN 850 AND 949 THEN 'ERROR' ELSE 'INFO' END,
       NULL, CASE WHEN pk BETWEEN 850 AND 949 THEN 'Timeout' END, 'request ' || (h % 100000), NULL, NULL,
       CASE WHEN pk >= 995 THEN ['networking','dns','iam','compute','deploy'][(h >> 20) % 5 + 1] END,
       CASE WHEN pk >= 995 THEN ['low','medium','high','critical'][(h >> 28) % 4 + 1] END,
       CASE WHEN pk BETWEEN 850 AND 949 AND svc < 10 THEN 'svc-' || ((svc + 1) % 40) END,
       '{}', NULL, NULL, NULL, NULL, 0
FROM k`, sql.Named("span", spanMin), sql.Named("n", bg))
	if err != nil {
		return fmt.Errorf("generate background events: %w", err)
	}
	// Incidents: a risky change, then 15 minutes of 150 errors a minute in
	// its service and in the service that depends on it.
	_, err = db.ExecContext(ctx, `
INSERT INTO events
WITH inc AS (
    SELECT j, TIMESTAMPTZ '2026-03-02 03:00:00+00' + to_microseconds(CAST(j * 360 * 60000000 AS BIGINT)) AS t0,
           'svc-' || (j * 7 % 10) AS svc, 'svc-' || ((j * 7 % 10) + 10) AS dep
    FROM range($incidents) t(j)
)
SELECT 'chg-' || j, t0 - INTERVAL 4 MINUTE, t0 - INTERVAL 4 MINUTE, 'cloudtrail', 'change', svc, 'ModifyListener', 'us-east-1',
       '100000000001', 'arn:aws:elasticloadbalancing:us-east-1:100000000001:listener/app/' || svc, 'role/deployer',
       9, 'INFO', 'succeeded', NULL, NULL, NULL, NULL, 'networking', 'critical', NULL, '{}', NULL, NULL, NULL, NULL, 0
FROM inc
UNION ALL
SELECT 'burst-' || j || '-' || x, t0 + to_microseconds(CAST(x * 60000000 // 300 AS BIGINT)),
       t0 + to_microseconds(CAST(x * 60000000 // 300 AS BIGINT)), 'app', 'error',
       CASE WHEN x % 2 = 0 THEN svc ELSE dep END, NULL, 'us-east-1', '100000000001', NULL, NULL, 17, 'ERROR', '503',
       'Timeout', 'upstream timed out', NULL, NULL, NULL, NULL, CASE WHEN x % 2 = 1 THEN svc END, '{}', NULL, NULL, NULL, NULL, 0
FROM inc, range(15 * 300) r(x)`, sql.Named("incidents", incidents))
	if err != nil {
		return fmt.Errorf("generate incidents: %w", err)
	}
	return nil
}

// benchQueries builds an events table of n events in a new DuckDB file
// and times each named query through the engine and directly.
func benchQueries(ctx context.Context, o Options, dir string, n int) ([]QueryResult, error) {
	db, err := store.Open(ctx, filepath.Join(dir, fmt.Sprintf("q-%d.duckdb", n)))
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
		for i, st := range stmts {
			r.Slowest = append(r.Slowest, StatementTime{label(st.query), per[i] / float64(runs)})
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
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return err
			}
		}
		return errors.Join(rows.Err(), rows.Close())
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
	rec *recorder
}

func (c *recordingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	ex, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.rec.add(statement{query: q, args: args})
	return ex.ExecContext(ctx, q, args)
}

func (c *recordingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	qr, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
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
