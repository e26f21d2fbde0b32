package queries

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func newSandbox(t *testing.T, cfg Config) (*fixture, *Sandbox) {
	t.Helper()
	f := lbOutage(t)
	sb, err := NewSandbox(context.Background(), f.db.DB, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, sb
}

func TestSandboxRefuses(t *testing.T) {
	f, sb := newSandbox(t, DefaultConfig())
	ctx := context.Background()
	cases := []struct {
		name, sql, want string
	}{
		{"read_csv", "SELECT * FROM read_csv('/etc/passwd')", "may not read or write files"},
		{"read_text", "SELECT * FROM read_text('/etc/passwd')", "may not read or write files"},
		{"glob", "SELECT * FROM glob('/etc/*')", "may not read or write files"},
		{"read_parquet url", "SELECT * FROM read_parquet('https://example.com/x.parquet')", "may not read or write files"},
		{"copy to", "COPY events TO '/tmp/faultline-escape.csv'", "refused by the analyst SQL sandbox"},
		{"copy select to", "COPY (SELECT 1) TO '/tmp/faultline-escape.csv'", "refused by the analyst SQL sandbox"},
		{"attach", "ATTACH '/tmp/faultline-escape.duckdb' AS x", "ATTACH statements are not allowed"},
		{"install", "INSTALL httpfs", "not allowed"},
		{"load", "LOAD httpfs", "not allowed"},
		{"set", "SET enable_external_access = true", "SET/RESET statements are not allowed"},
		{"reset", "RESET lock_configuration", "not allowed"},
		{"pragma", "PRAGMA enable_profiling", "PRAGMA statements are not allowed"},
		{"create", "CREATE TABLE x AS SELECT 1", "CREATE statements are not allowed"},
		{"insert", "INSERT INTO events (event_id, time, observed_time, source, kind) VALUES ('x', now(), now(), 'app', 'info')", "INSERT statements are not allowed"},
		{"delete", "DELETE FROM events", "DELETE statements are not allowed"},
		{"update", "UPDATE events SET kind = 'info'", "UPDATE statements are not allowed"},
		{"drop", "DROP TABLE events", "DROP statements are not allowed"},
		{"multiple", "SELECT 1; DROP TABLE events", "exactly one statement"},
		{"multiple select first", "DELETE FROM events; SELECT 1", "exactly one statement"},
		{"export", "EXPORT DATABASE '/tmp/faultline-escape'", "refused by the analyst SQL sandbox"},
		{"checkpoint", "CHECKPOINT", "not allowed"},
		{"copy from", "COPY events FROM '/etc/passwd'", "refused by the analyst SQL sandbox"},
		{"empty", "  ; ", "empty"},
		{"query() with DDL", "SELECT * FROM query('CREATE TABLE y(a INT)')", "query"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sb.SQL(ctx, c.sql)
			if err == nil {
				t.Fatalf("%q was not refused", c.sql)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%q: error %q does not say %q", c.sql, err, c.want)
			}
		})
	}
	// Nothing above changed the data or the settings.
	var n int
	if err := f.db.QueryRowContext(t.Context(), "SELECT count(*) FROM events WHERE kind = 'change'").Scan(&n); err != nil || n != 4 {
		t.Fatalf("changes after the attempts: %d, %v; want 4", n, err)
	}
	var ext string
	if err := f.db.QueryRowContext(t.Context(), "SELECT current_setting('enable_external_access')::VARCHAR").Scan(&ext); err != nil || ext != "false" {
		t.Fatalf("enable_external_access = %q, %v", ext, err)
	}
}

func TestSandboxSelect(t *testing.T) {
	_, sb := newSandbox(t, Config{Timeout: 10 * time.Second, MaxRows: 3, MaxBytes: 32 << 20, MaxConcurrent: 4, ExportMaxRows: 100000, ExportMaxBytes: 1 << 30, MemoryLimit: "1GB"})
	ctx := context.Background()
	tb, err := sb.SQL(ctx, "SELECT event_id, actor FROM changes ORDER BY time;")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tb.Columns, ",") != "event_id,actor" || len(tb.Rows) != 3 || !tb.Truncated {
		t.Fatalf("got %v %v truncated=%v; want 3 of 4 rows, truncated", tb.Columns, tb.Rows, tb.Truncated)
	}
	if tb.Rows[0][0] != "ct-s3" || tb.Rows[0][1] != "bob" {
		t.Fatalf("first row %v", tb.Rows[0])
	}
	tb, err = sb.SQL(ctx, "WITH c AS (SELECT kind, count(*) AS n FROM events GROUP BY kind) SELECT n FROM c WHERE kind = 'change'")
	if err != nil || len(tb.Rows) != 1 || tb.Rows[0][0] != int64(4) || tb.Truncated {
		t.Fatalf("WITH ... SELECT: %v %v", tb, err)
	}
	if _, err := sb.SQL(ctx, "EXPLAIN SELECT count(*) FROM events"); err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	if _, err := sb.SQL(ctx, "DESCRIBE events"); err != nil {
		t.Fatalf("DESCRIBE: %v", err)
	}
	// A syntax error is reported, not refused.
	_, err = sb.SQL(ctx, "SELEC 1")
	if err == nil || errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "syntax error") {
		t.Fatalf("syntax error: %v", err)
	}
	// Errors of the running statement name the analyst's lines, not the
	// caps' wrapper's (a conversion error in line 1 said LINE 4), with the
	// caret still under the column.
	for _, tc := range []struct{ sql, line, caret string }{
		{"SELECT 'a'::INT", "LINE 1: SELECT 'a'::INT", "                  ^"},
		{"SELECT 1 AS a,\n  2 AS b,\n  3 AS c,\n  'x'::INT AS d", "LINE 4:   'x'::INT AS d", "             ^"},
		// syntax errors too (the parser's came with no line at all)
		{"SELECT service FORM events", "LINE 1: SELECT service FORM events", "                            ^"},
		{"SELECT service\nFROM events WHER kind = 'error'", "LINE 2: FROM events WHER kind = 'error'", "                         ^"},
		{"EXPLAIN SELECT 1\nFROMM events", "LINE 2: FROMM events", "              ^"},
		{"SELECT 'é'\tAS a FORM events", "LINE 1: SELECT 'é' AS a FORM events", strings.Repeat(" ", 24) + "^"},
	} {
		_, err := sb.SQL(ctx, tc.sql)
		if err == nil || !strings.Contains(err.Error(), tc.line+"\n"+tc.caret+"\n") && !strings.HasSuffix(err.Error(), tc.line+"\n"+tc.caret) {
			t.Errorf("%q: error %v, want %q with the caret %q", tc.sql, err, tc.line, tc.caret)
		}
	}
	// Of a long line, 60 bytes either side of the error.
	long := "SELECT " + strings.Repeat("1 + ", 40) + "1 FORM events WHERE " + strings.Repeat("x = 1 AND ", 10) + "true"
	_, err = sb.SQL(ctx, long)
	at := strings.Index(long, "events")
	line := "LINE 1: ..." + long[at-60:at+60] + "..."
	if err == nil || !strings.HasSuffix(err.Error(), line+"\n"+strings.Repeat(" ", len("LINE 1: ...")+60)+"^") {
		t.Errorf("a long line's syntax error: %v, want %q and the caret under events", err, line)
	}
	// A second sandbox on the same (now locked) database is fine.
	if _, err := NewSandbox(ctx, sb.db, DefaultConfig()); err != nil {
		t.Fatal(err)
	}
}

func TestSandboxTimeout(t *testing.T) {
	_, sb := newSandbox(t, Config{Timeout: 200 * time.Millisecond, MaxRows: 10, MaxBytes: 32 << 20, MaxConcurrent: 4, ExportMaxRows: 100000, ExportMaxBytes: 1 << 30, MemoryLimit: "1GB"})
	_, err := sb.SQL(context.Background(), "SELECT count(*) FROM range(1000000000) a, range(1000) b WHERE a.range % 7 = b.range")
	if err == nil || !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "query.timeout") {
		t.Fatalf("got %v; want a query.timeout refusal", err)
	}
	// The connection pool is still usable afterwards.
	if _, err := sb.SQL(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
}

// A query stopped by its caller (psql's Ctrl-C, a closed tab) is
// cancelled, and one that runs out of query.timeout is refused saying so:
// a cancel was reported as a timeout (DuckDB says INTERRUPT for both).
func TestSandboxCancelIsNotTimeout(t *testing.T) {
	_, sb := newSandbox(t, Config{Timeout: 30 * time.Second, MaxRows: 10, MaxBytes: 32 << 20, MaxConcurrent: 4, ExportMaxRows: 100000, ExportMaxBytes: 1 << 30, MemoryLimit: "1GB"})
	const slow = "SELECT count(*) FROM range(1000000000) a, range(1000) b WHERE a.range % 7 = b.range"
	for _, c := range []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		want    string
		refused bool
	}{
		{"cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}, "query cancelled", false},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, "query.timeout", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := c.ctx()
			defer cancel()
			_, err := sb.SQL(ctx, slow)
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, ErrRefused) != c.refused {
				t.Errorf("got %v; want an error saying %q", err, c.want)
			}
		})
	}
}

// The lockdown is database-wide: the engine (TEMP tables) and plain inserts,
// as ingest does them, must keep working after it.
func TestSandboxKeepsIngestAndEngineWorking(t *testing.T) {
	f, _ := newSandbox(t, DefaultConfig())
	f.change(change{id: "late", clock: "10:02:00", service: "checkout", operation: "UpdateService", region: "us-east-1", risk: "high"})
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), lbTopology)
	sus, err := e.Suspects(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range sus {
		found = found || s.EventID == "late"
	}
	if !found {
		t.Fatalf("change inserted after lockdown not among suspects: %+v", sus)
	}
}

// Values every output format prints must keep what DuckDB computed.
func TestSandboxValueConversions(t *testing.T) {
	_, sb := newSandbox(t, Config{Timeout: 10 * time.Second, MaxRows: 10, MaxBytes: 32 << 20, MaxConcurrent: 4, ExportMaxRows: 100000, ExportMaxBytes: 1 << 30, MemoryLimit: "1GB"})
	for _, c := range []struct {
		sql  string
		want any
	}{
		{"SELECT INTERVAL 1 MONTH", "1 month"},
		{"SELECT INTERVAL 14 MONTH + INTERVAL 2 HOUR", "14 months 2h0m0s"},
		{"SELECT INTERVAL 26 HOUR", "26h0m0s"},
		{"SELECT (TIMESTAMP '2025-10-20 07:05:00' - TIMESTAMP '2025-10-20 07:00:30')", "4m30s"},
		{"SELECT 0.3::DECIMAL(18,3)", 0.3},
		{"SELECT 123456789.123456789::DECIMAL(38,9)", 123456789.123456789},
		{"SELECT -2.5::DECIMAL(4,1)", -2.5},
	} {
		tb, err := sb.SQL(context.Background(), c.sql)
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		if got := tb.Rows[0][0]; got != c.want {
			t.Errorf("%s = %#v, want %#v", c.sql, got, c.want)
		}
	}
}

// A query over the memory limit is refused with the limit in effect and
// what to do; the database keeps working.
func TestSandboxMemoryLimit(t *testing.T) {
	_, sb := newSandbox(t, Config{Timeout: 30 * time.Second, MaxRows: 10, MaxBytes: 32 << 20, MaxConcurrent: 4, ExportMaxRows: 100000, ExportMaxBytes: 1 << 30, MemoryLimit: "32MB"})
	ctx := context.Background()
	_, err := sb.SQL(ctx, "SELECT list(x::VARCHAR || 'padding-padding-padding') FROM range(20000000) t(x)")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "memory_limit (30.5 MiB") || !strings.Contains(err.Error(), "narrow the time range") {
		t.Fatalf("a query over the memory limit: %v, want a refusal naming the limit and what to do", err)
	}
	tb, err := sb.SQL(ctx, "SELECT count(*) FROM events")
	if err != nil || len(tb.Rows) != 1 {
		t.Fatalf("after the refusal: %v %v", tb, err)
	}
}
