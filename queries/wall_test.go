package queries

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Everything that names a file, a URL or a non-table is refused by the
// wall, before DuckDB binds it: the refusal comes from the wall's own
// messages, never from DuckDB's permission check (the second wall).
func TestWallRefuses(t *testing.T) {
	_, sb := newSandbox(t, DefaultConfig())
	ctx := context.Background()
	for _, c := range []struct{ sql, want string }{
		{"SELECT octet_length(content) FROM read_blob('faultline.duckdb')", "table function read_blob is not allowed"},
		{"SELECT * FROM read_blob('faultline.duckdb.wal')", "read_blob"},
		{"SELECT * FROM READ_BLOB('x')", "read_blob"},
		{"SELECT * FROM main.read_blob('x')", "main.read_blob"},
		{"SELECT * FROM system.main.range(3)", "system.main.range"},
		{"SELECT * FROM read_text('/etc/passwd')", "read_text"},
		{"SELECT * FROM read_csv_auto('x.csv')", "read_csv_auto"},
		{"SELECT * FROM read_json('x.json')", "read_json"},
		{"SELECT * FROM read_ndjson_objects('x')", "read_ndjson_objects"},
		{"SELECT * FROM read_parquet('x.parquet')", "read_parquet"},
		{"SELECT * FROM parquet_metadata('x.parquet')", "parquet_metadata"},
		{"SELECT * FROM parquet_scan('x.parquet')", "parquet_scan"},
		{"SELECT * FROM read_duckdb('x.duckdb')", "read_duckdb"},
		{"SELECT * FROM glob('*')", "glob"},
		{"SELECT * FROM sniff_csv('x.csv')", "sniff_csv"},
		{"SELECT * FROM query('SELECT 1')", "query"},
		{"SELECT * FROM query_table('events')", "query_table"},
		{"SELECT * FROM json_execute_serialized_sql('{}')", "json_execute_serialized_sql"},
		{"SELECT * FROM histogram('events', service)", "histogram"},
		{"SELECT * FROM checkpoint()", "checkpoint"},
		{"SELECT * FROM enable_logging()", "enable_logging"},
		{"SELECT * FROM duckdb_secrets()", "duckdb_secrets"},
		{"SELECT write_log('x')", "function write_log is not allowed"},
		{"SELECT * FROM 'faultline.duckdb'", `"faultline.duckdb" is a file or URL`},
		{"SELECT * FROM 'x.parquet'", "is a file or URL"},
		{`SELECT * FROM "x.csv"`, "is a file or URL"},
		{"SELECT * FROM 'https://example.com/x.csv'", "is a file or URL"},
		{"FROM 'x.json'", "is a file or URL"},
		{"SELECT * FROM events, 'x.csv' AS f", "is a file or URL"},
		{"SELECT * FROM events WHERE service IN (SELECT * FROM 'x.csv')", "is a file or URL"},
		{"SELECT (SELECT count(*) FROM read_text('x')) AS n", "read_text"},
		{"SELECT * FROM events e JOIN LATERAL (SELECT * FROM read_csv('x')) ON true", "read_csv"},
		{"WITH a AS (SELECT * FROM read_blob('x')) SELECT * FROM a", "read_blob"},
		{`WITH "x.csv" AS (SELECT 1) SELECT * FROM "x.csv"`, "use a plain name"},
		{"WITH a AS (SELECT 1) SELECT * FROM (SELECT * FROM a), 'a.csv'", "is a file or URL"},
		{"SELECT list_transform([1], x -> (SELECT 1 FROM read_blob('x')))", "read_blob"},
		{"SELECT 1 UNION ALL SELECT * FROM 'a.csv'", "is a file or URL"},
		{"DESCRIBE 'x.csv'", "is a file or URL"},
		{"SUMMARIZE SELECT * FROM read_csv('x')", "read_csv"},
		{"SHOW 'x.csv'", "is a file or URL"},
		{"EXPLAIN SELECT * FROM read_blob('x')", "read_blob"},
		{"EXPLAIN ANALYZE SELECT * FROM 'x.csv'", "is a file or URL"},
		{"SELECT * FROM nosuchtable", "table nosuchtable does not exist"},
		{"/* read */ SELECT * FROM read_blob /* x */ ('x') -- y", "read_blob"},
		{"SELECT * FROM read_blob('x'); -- trailing", "read_blob"},
		{"SELECT 1; SELECT 2", "exactly one statement"},
		{"COPY (SELECT 1) TO 'x.csv'", "COPY statements are not allowed"},
		{"EXPORT DATABASE 'x'", "EXPORT statements are not allowed"},
		{"ATTACH 'x.duckdb' AS x", "ATTACH statements are not allowed"},
		{"CREATE SECRET s (TYPE s3, KEY_ID 'x', SECRET 'y')", "CREATE SECRET statements are not allowed"},
		{"CREATE PERSISTENT SECRET s (TYPE s3)", "CREATE SECRET statements are not allowed"},
		{"PIVOT events ON kind", "PIVOT statements are not allowed"},
		{"SET VARIABLE x = 1", "SET/RESET statements are not allowed"},
		{"EXPLAIN", "EXPLAIN of nothing"},
	} {
		_, err := sb.SQL(ctx, c.sql)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v; want a refusal saying %q", c.sql, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "Permission Error") {
			t.Errorf("%s: reached DuckDB's permission check: %v", c.sql, err)
		}
	}
}

// What analysts and PostgreSQL clients do passes the wall and keeps its
// column names, types and order.
func TestWallAllows(t *testing.T) {
	_, sb := newSandbox(t, DefaultConfig())
	ctx := context.Background()
	for _, c := range []struct {
		sql  string
		cols string
		rows int
	}{
		{"SELECT count(*) FROM events", "count_star()", 1},
		{"select COUNT(*) AS n from EVENTS", "n", 1},
		{"SELECT 1 AS a, 2 AS a", "a,a", 1},
		{`SELECT 'it''s' AS "we""ird"`, `we"ird`, 1},
		{"FROM changes SELECT event_id ORDER BY time DESC LIMIT 2", "event_id", 2},
		{"TABLE dead_letters", "", -1},
		{"VALUES (1, 'a'), (2, 'b')", "col0,col1", 2},
		{"WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT n FROM t", "n", 5},
		{"WITH c AS (SELECT kind, count(*) AS n FROM events GROUP BY ALL) SELECT * FROM c WHERE kind = 'change'", "kind,n", 1},
		{"SELECT e.service, count(*) FROM errors e JOIN events f USING (event_id) GROUP BY 1 ORDER BY 2 DESC LIMIT 1", "service,count_star()", 1},
		{"SELECT * FROM range(3) t(x), unnest([1, 2]) u(y)", "x,y", 6},
		{"SELECT * FROM generate_series(1, 3)", "generate_series", 3},
		{"SELECT unnest([1, 2, 3]) AS v", "v", 3},
		{"SELECT key, value FROM json_each('{\"a\":1}')", "key,value", 1},
		{"DESCRIBE events", "column_name,column_type,null,key,default,extra", -1},
		{"SUMMARIZE SELECT time FROM events", "", 1},
		{"SHOW TABLES", "name", -1},
		{"SHOW ALL TABLES", "", -1},
		{"SELECT table_name FROM information_schema.tables WHERE table_name = 'events'", "table_name", 1},
		{"SELECT relname FROM pg_catalog.pg_class WHERE relname = 'events'", "relname", 1},
		{"SELECT column_name FROM duckdb_columns() WHERE table_name = 'events' AND column_name = 'time'", "column_name", 1},
		{"SELECT * FROM events PIVOT (count(*) FOR kind IN ('change', 'error')) LIMIT 1", "", 1},
		{"SELECT service, attributes->>'$.x' FROM events -- a trailing comment", "", -1},
		{"SELECT 1;", "1", 1},
		{"SELECT 1; -- done\n", "1", 1},
		{"/* leading */ SELECT 1 /* trailing */ ;", "1", 1},
		{"SELECT $$a;b$$ AS s", "s", 1},
		{"SELECT E'a\\'b' AS s", "s", 1},
		{"SELECT 'read_blob(''x'')' AS s", "s", 1},
		{"SELECT [1, 2] AS l, {'a': 1} AS s, MAP {'k': 'v'} AS m, INTERVAL 1 HOUR AS i, 1.5::DECIMAL(4, 2) AS d", "l,s,m,i,d", 1},
	} {
		tb, err := sb.SQL(ctx, c.sql)
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		if c.cols != "" && strings.Join(tb.Columns, ",") != c.cols {
			t.Errorf("%s: columns %q, want %q", c.sql, tb.Columns, c.cols)
		}
		if c.rows >= 0 && len(tb.Rows) != c.rows {
			t.Errorf("%s: %d rows, want %d", c.sql, len(tb.Rows), c.rows)
		}
	}
	// EXPLAIN runs too (unwrapped: its plan is small).
	if tb, err := sb.SQL(ctx, "EXPLAIN SELECT count(*) FROM events"); err != nil || len(tb.Rows) == 0 {
		t.Errorf("EXPLAIN: %v %v", tb, err)
	}
	if _, err := sb.SQL(ctx, "EXPLAIN ANALYZE SELECT count(*) FROM events"); err != nil {
		t.Errorf("EXPLAIN ANALYZE: %v", err)
	}
	// Order survives the wrapper.
	tb, err := sb.SQL(ctx, "SELECT x FROM range(100) t(x) ORDER BY x DESC")
	if err != nil || len(tb.Rows) != 100 || tb.Rows[0][0] != int64(99) || tb.Rows[99][0] != int64(0) {
		t.Errorf("ORDER BY DESC: %v %v", tb.Rows, err)
	}
}

// The byte cap cuts before the row that would pass it, inside DuckDB too;
// the row cap after max_rows rows. Each says which cap.
func TestSandboxCaps(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxRows, cfg.MaxBytes = 50, 10_000
	_, sb := newSandbox(t, cfg)
	ctx := context.Background()
	tb, err := sb.SQL(ctx, "SELECT repeat('x', 1000) AS s FROM range(100)")
	if err != nil || len(tb.Rows) != 10 || !tb.Truncated || tb.TruncatedBy != CapBytes {
		t.Fatalf("1000-byte rows under a 10000-byte cap: %d rows, truncated %v by %q, %v; want 10 by query.max_bytes", len(tb.Rows), tb.Truncated, tb.TruncatedBy, err)
	}
	tb, err = sb.SQL(ctx, "SELECT x FROM range(100) t(x)")
	if err != nil || len(tb.Rows) != 50 || tb.TruncatedBy != CapRows {
		t.Fatalf("100 small rows under a 50-row cap: %d rows by %q, %v", len(tb.Rows), tb.TruncatedBy, err)
	}
	tb, err = sb.SQL(ctx, "SELECT x FROM range(50) t(x)")
	if err != nil || len(tb.Rows) != 50 || tb.Truncated {
		t.Fatalf("exactly 50 rows: %d rows truncated %v, %v; want complete", len(tb.Rows), tb.Truncated, err)
	}
	// One row bigger than the cap: nothing but the notice.
	tb, err = sb.SQL(ctx, "SELECT repeat('x', 20000) AS s")
	if err != nil || len(tb.Rows) != 0 || tb.TruncatedBy != CapBytes {
		t.Fatalf("a 20000-byte row: %d rows by %q, %v", len(tb.Rows), tb.TruncatedBy, err)
	}
	// A writer sees the rows as they come and the summary counts them.
	var seen int
	sum, err := sb.Stream(ctx, "SELECT repeat('y', 100) FROM range(20)", rowFunc(func(v []any) error { seen++; return nil }))
	if err != nil || seen != 20 || sum.Rows != 20 || sum.Bytes != 2000 || sum.Truncated {
		t.Fatalf("stream: saw %d, %+v, %v", seen, sum, err)
	}
}

type rowFunc func([]any) error

func (rowFunc) Begin([]Column) error { return nil }
func (f rowFunc) Row(v []any) error  { return f(v) }

// At most query.max_concurrent statements run at once; the others wait for
// a slot within their timeout, then are refused as busy.
func TestSandboxConcurrency(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxConcurrent, cfg.Timeout = 1, 300*time.Millisecond
	_, sb := newSandbox(t, cfg)
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := sb.Stream(ctx, "SELECT 1", rowFunc(func([]any) error {
			close(started)
			<-release // hold the only slot
			return nil
		}))
		done <- err
	}()
	<-started
	_, err := sb.SQL(ctx, "SELECT 2")
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "query.max_concurrent") {
		t.Fatalf("second statement while the only slot is held: %v; want ErrBusy naming query.max_concurrent", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := sb.SQL(ctx, "SELECT 3"); err != nil {
		t.Fatalf("after the slot was freed: %v", err)
	}
}

// EXPORT DATABASE (and every other statement) is refused before anything
// is created on disk: the wall refuses it before DuckDB prepares it.
func TestSandboxExportCreatesNothing(t *testing.T) {
	_, sb := newSandbox(t, DefaultConfig())
	dir := filepath.Join(t.TempDir(), "export")
	for _, q := range []string{
		"EXPORT DATABASE '" + dir + "'",
		"EXPORT DATABASE '" + dir + "' (FORMAT parquet)",
		"COPY (SELECT 1) TO '" + dir + "'",
		"ATTACH '" + dir + "' AS x",
	} {
		if _, err := sb.SQL(context.Background(), q); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v, want refused", q, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s created %s (%v)", q, dir, err)
		}
	}
}
