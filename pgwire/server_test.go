package pgwire

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// The events table's columns come with PostgreSQL's type OIDs, and values
// read back through pgx (binary format for most) equal DuckDB's.
func TestTypes(t *testing.T) {
	f := start(t, DefaultConfig(), defaultQueryConfig())
	c := connect(t, f.url(""))
	ctx := context.Background()
	rows, err := c.Query(ctx, `SELECT time, service, severity_number, src_offset, attributes, [service, region] AS l,
		1.5::DOUBLE AS d, true AS b, NULL::VARCHAR AS n, 12.25::DECIMAL(9,2) AS dec, DATE '2025-10-20' AS day,
		[1, 2]::BIGINT[] AS nums, {'a': 1} AS st, 'x'::BLOB AS bl, 3::SMALLINT AS sm, 2.5::FLOAT AS fl
		FROM events WHERE event_id = 'e3'`)
	if err != nil {
		t.Fatal(err)
	}
	fields := rows.FieldDescriptions()
	want := []uint32{pgtype.TimestamptzOID, pgtype.TextOID, pgtype.Int4OID, pgtype.Int8OID, pgtype.JSONOID, pgtype.TextArrayOID,
		pgtype.Float8OID, pgtype.BoolOID, pgtype.TextOID, pgtype.NumericOID, pgtype.DateOID, pgtype.Int8ArrayOID, pgtype.JSONOID,
		pgtype.ByteaOID, pgtype.Int2OID, pgtype.Float4OID}
	if len(fields) != len(want) {
		t.Fatalf("%d columns, want %d", len(fields), len(want))
	}
	for i, fd := range fields {
		if fd.DataTypeOID != want[i] {
			t.Errorf("column %s: OID %d, want %d", fd.Name, fd.DataTypeOID, want[i])
		}
	}
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	vals, err := rows.Values()
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if ts, ok := vals[0].(time.Time); !ok || !ts.Equal(time.Date(2025, 10, 20, 9, 3, 0, 0, time.UTC)) {
		t.Errorf("time = %#v", vals[0])
	}
	if vals[1] != "svc3" || vals[2] != int32(17) || vals[3] != int64(3) || vals[6] != 1.5 || vals[7] != true || vals[8] != nil {
		t.Errorf("service, severity, offset, d, b, n = %#v %#v %#v %#v %#v %#v", vals[1], vals[2], vals[3], vals[6], vals[7], vals[8])
	}
	if m, ok := vals[4].(map[string]any); !ok || m["s"] != "v" || m["k"] != float64(3) {
		t.Errorf("attributes = %#v", vals[4])
	}
	if l, ok := vals[5].([]any); !ok || len(l) != 2 || l[0] != "svc3" || l[1] != "us-east-1" {
		t.Errorf("list = %#v", vals[5])
	}
	if n, ok := vals[9].(pgtype.Numeric); !ok {
		t.Errorf("decimal = %#v", vals[9])
	} else if f, _ := n.Float64Value(); f.Float64 != 12.25 {
		t.Errorf("decimal = %v", f.Float64)
	}
	if d, ok := vals[10].(time.Time); !ok || d.Format("2006-01-02") != "2025-10-20" {
		t.Errorf("date = %#v", vals[10])
	}
	if l, ok := vals[11].([]any); !ok || len(l) != 2 || l[1] != int64(2) {
		t.Errorf("bigint list = %#v", vals[11])
	}
	if m, ok := vals[12].(map[string]any); !ok || m["a"] != float64(1) {
		t.Errorf("struct = %#v", vals[12])
	}
	if b, ok := vals[13].([]byte); !ok || string(b) != "x" {
		t.Errorf("blob = %#v", vals[13])
	}
	if vals[14] != int16(3) || vals[15] != float32(2.5) {
		t.Errorf("smallint, float = %#v %#v", vals[14], vals[15])
	}
}

// Text format (the simple protocol) prints values as PostgreSQL does.
func TestTextFormat(t *testing.T) {
	f := start(t, DefaultConfig(), defaultQueryConfig())
	c := connect(t, f.url(""))
	res, err := c.PgConn().Exec(context.Background(), `SELECT time, severity_number, attributes, [service, 'a b', NULL] AS l, true AS b, 0.1::DOUBLE AS d FROM events WHERE event_id = 'e3'`).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, v := range res[0].Rows[0] {
		got = append(got, string(v))
	}
	want := []string{"2025-10-20 09:03:00+00", "17", `{"k":3,"s":"v"}`, `{svc3,"a b",NULL}`, "t", "0.1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("text values\n got %q\nwant %q", got, want)
	}
}

func TestParameters(t *testing.T) {
	f := start(t, DefaultConfig(), defaultQueryConfig())
	c := connect(t, f.url(""))
	ctx := context.Background()
	var want int64
	if err := f.db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE kind = 'error' AND time >= TIMESTAMPTZ '2025-10-20 10:00:00+00'").Scan(&want); err != nil {
		t.Fatal(err)
	}
	var got int64
	since := time.Date(2025, 10, 20, 10, 0, 0, 0, time.UTC)
	if err := c.QueryRow(ctx, "SELECT count(*) FROM events WHERE kind = $1 AND time >= $2", "error", since).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want || want == 0 {
		t.Fatalf("count with parameters = %d, want %d", got, want)
	}
	// Typed parameters (int8 in binary), LIMIT by parameter.
	var n int64
	if err := c.QueryRow(ctx, "SELECT count(*) FROM (SELECT * FROM events WHERE src_offset < $1 LIMIT $2)", int64(100), 7).Scan(&n); err != nil || n != 7 {
		t.Fatalf("typed parameters: %d, %v", n, err)
	}
	// A value that looks like SQL stays a value.
	evil := "x' OR '1'='1'; DROP TABLE events; --"
	if err := c.QueryRow(ctx, "SELECT count(*) FROM events WHERE service = $1", evil).Scan(&n); err != nil || n != 0 {
		t.Fatalf("injection-looking parameter: %d, %v", n, err)
	}
	var s string
	if err := c.QueryRow(ctx, "SELECT $1::VARCHAR", evil).Scan(&s); err != nil || s != evil {
		t.Fatalf("parameter round trip: %q, %v", s, err)
	}
	if err := f.db.QueryRowContext(ctx, "SELECT count(*) FROM events").Scan(&n); err != nil || n != fixtureEvents {
		t.Fatalf("events after the injection attempts: %d, %v", n, err)
	}
}

// Refused statements come back as errors with a SQLSTATE; the connection
// keeps working, in both protocols.
func TestRefusalsKeepTheConnection(t *testing.T) {
	f := start(t, DefaultConfig(), defaultQueryConfig())
	c := connect(t, f.url(""))
	ctx := context.Background()
	cases := []struct{ sql, code string }{
		{"DROP TABLE events", "25006"},
		{"DELETE FROM events", "25006"},
		{"COPY events TO '/tmp/pgwire-escape.csv'", "25006"},
		{"SELECT * FROM read_csv('/etc/passwd')", "42501"},
		{"SELECT * FROM read_blob('" + f.path + "')", "42501"},
		{"SELECT * FROM '" + f.path + "'", "42501"},
		{"ATTACH '/tmp/pgwire-escape.duckdb' AS x", "25006"},
		{"SET enable_external_access = true", "42704"}, // not a client setting; nothing reaches DuckDB's settings
		{"SELECT * FROM nosuchtable", "42501"},
		{"SELEC 1", "42601"},
		{"LISTEN x", "0A000"},
		{"SELECT 1; DROP TABLE events", "25006"},
	}
	for _, tc := range cases {
		for _, simple := range []bool{true, false} {
			var err error
			if simple {
				_, err = c.PgConn().Exec(ctx, tc.sql).ReadAll()
			} else {
				_, err = c.Exec(ctx, tc.sql, pgx.QueryExecModeDescribeExec)
			}
			if got := pgCode(err); got != tc.code {
				t.Errorf("%q (simple %v): SQLSTATE %q, want %q (%v)", tc.sql, simple, got, tc.code, err)
			}
			var one int
			if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("after %q the connection is not usable: %v", tc.sql, err)
			}
		}
	}
	if f.metric(t, "faultline_postgres_statements_total", "sqlstate_class", "42") == 0 || f.metric(t, "faultline_postgres_statements_total", "sqlstate_class", "00") == 0 {
		t.Error("faultline_postgres_statements_total counted no refusal or no success")
	}
	var locked string
	if err := c.QueryRow(ctx, "SELECT current_setting('enable_external_access')::VARCHAR").Scan(&locked); err != nil || locked != "false" {
		t.Fatalf("enable_external_access is %q (%v): SET must never reach DuckDB", locked, err)
	}
}

// What clients send on connect and around their queries.
func TestSessionStatements(t *testing.T) {
	f := start(t, DefaultConfig(), defaultQueryConfig())
	c := connect(t, f.url(""))
	ctx := context.Background()
	for _, sql := range []string{"SET extra_float_digits = 3", "SET application_name = 'grafana'", "SET TIME ZONE 'UTC'",
		"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED", "BEGIN", "COMMIT", "START TRANSACTION READ ONLY",
		"ROLLBACK", "DISCARD ALL", "DEALLOCATE ALL", "SET search_path TO public", "RESET ALL", ";"} {
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
	checks := map[string]string{
		"SHOW server_version":                            serverVersion,
		"SHOW standard_conforming_strings":               "on",
		"SHOW transaction isolation level":               "serializable",
		"SELECT current_setting('server_version_num')":   "160000",
		"SELECT pg_catalog.current_setting('DateStyle')": "ISO, MDY",
	}
	for sql, want := range checks {
		var got string
		if err := c.QueryRow(ctx, sql).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", sql, got, err, want)
		}
	}
	if _, err := c.Exec(ctx, "SET application_name = 'psql-test'"); err != nil {
		t.Fatal(err)
	}
	if got := c.PgConn().ParameterStatus("application_name"); got != "psql-test" {
		t.Errorf("ParameterStatus application_name = %q after SET", got)
	}
	var v string
	if err := c.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil || !strings.HasPrefix(v, "PostgreSQL 16.0") || !strings.Contains(v, "DuckDB") {
		t.Errorf("version() = %q, %v", v, err)
	}
	if _, err := c.Exec(ctx, "SET client_encoding = 'LATIN1'"); pgCode(err) != "22023" {
		t.Errorf("SET client_encoding LATIN1: %v", err)
	}
	if _, err := c.Exec(ctx, "SET default_transaction_read_only = off"); pgCode(err) != "25006" {
		t.Errorf("SET default_transaction_read_only off: %v", err)
	}
	if c.PgConn().ParameterStatus("server_version") != serverVersion || c.PgConn().ParameterStatus("integer_datetimes") != "on" {
		t.Errorf("startup parameters: server_version %q", c.PgConn().ParameterStatus("server_version"))
	}
}

// SQL cursors (psycopg's server-side cursors): DECLARE in a transaction,
// FETCH forward in pieces, CLOSE.
func TestCursors(t *testing.T) {
	f := start(t, DefaultConfig(), defaultQueryConfig())
	c := connect(t, f.url(""))
	ctx := context.Background()
	pc := c.PgConn()
	if _, err := pc.Exec(ctx, "DECLARE c CURSOR FOR SELECT 1").ReadAll(); pgCode(err) != "25P01" {
		t.Fatalf("DECLARE outside a transaction: %v", err)
	}
	res, err := pc.Exec(ctx, "BEGIN; DECLARE c CURSOR FOR SELECT src_offset FROM events ORDER BY src_offset; FETCH 10 FROM c; FETCH FORWARD 5 FROM c").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 || len(res[2].Rows) != 10 || string(res[2].Rows[9][0]) != "9" || len(res[3].Rows) != 5 || string(res[3].Rows[0][0]) != "10" {
		t.Fatalf("FETCH results: %d results", len(res))
	}
	if res[2].CommandTag.String() != "FETCH 10" {
		t.Errorf("tag %q", res[2].CommandTag)
	}
	res, err = pc.Exec(ctx, "FETCH ALL FROM c").ReadAll()
	if err != nil || len(res[0].Rows) != fixtureEvents-15 {
		t.Fatalf("FETCH ALL: %v", err)
	}
	res, err = pc.Exec(ctx, "FETCH 10 FROM c; CLOSE c; COMMIT").ReadAll()
	if err != nil || len(res[0].Rows) != 0 {
		t.Fatalf("FETCH after the end: %v", err)
	}
	if _, err := pc.Exec(ctx, "FETCH 1 FROM c").ReadAll(); pgCode(err) != "34000" {
		t.Fatalf("FETCH from a closed cursor: %v", err)
	}
	// Parameters reach a cursor's query through the extended protocol.
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "DECLARE p CURSOR FOR SELECT event_id FROM events WHERE service = $1", "svc1"); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, "FETCH 1000 FROM p")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if rows.Err() != nil || n != fixtureEvents/4 {
		t.Fatalf("cursor with a parameter: %d rows, %v", n, rows.Err())
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// The sandbox's caps apply: a cut result ends with a WARNING notice.
func TestCapsAndNotice(t *testing.T) {
	q := defaultQueryConfig()
	q.MaxRows = 7
	f := start(t, DefaultConfig(), q)
	var notices []string
	cfg, err := pgx.ParseConfig(f.url(""))
	if err != nil {
		t.Fatal(err)
	}
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Message) }
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	rows, _ := c.Query(context.Background(), "SELECT * FROM events")
	n := 0
	for rows.Next() {
		n++
	}
	if rows.Err() != nil || n != 7 {
		t.Fatalf("%d rows, %v", n, rows.Err())
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "query.max_rows") {
		t.Fatalf("notices %q", notices)
	}
}

// A cancel request (BackendKeyData's process ID and secret on a new
// connection) stops the running statement with 57014; the connection
// stays usable.
func TestCancel(t *testing.T) {
	f := start(t, DefaultConfig(), defaultQueryConfig())
	c := connect(t, f.url(""))
	ctx := context.Background()
	go func() {
		time.Sleep(500 * time.Millisecond)
		if err := c.PgConn().CancelRequest(context.Background()); err != nil {
			t.Errorf("cancel request: %v", err)
		}
	}()
	began := time.Now()
	_, err := c.PgConn().Exec(ctx, "SELECT count(*) FROM range(100000000000) a").ReadAll()
	if pgCode(err) != "57014" {
		t.Fatalf("cancelled query: %v", err)
	}
	if d := time.Since(began); d > 20*time.Second {
		t.Fatalf("the cancel took %s", d)
	}
	var one int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("after a cancel: %v", err)
	}
	// A wrong secret cancels nothing.
	if err := f.cancelWith(c.PgConn().PID(), []byte{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
}

// Rewritten functions keep PostgreSQL's column names.
func TestRewrittenColumnNames(t *testing.T) {
	f := start(t, DefaultConfig(), defaultQueryConfig())
	c := connect(t, f.url(""))
	rows, err := c.Query(context.Background(), "SELECT version(), current_setting('server_version_num'), version() LIKE 'PostgreSQL%' AS pg")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fd := range rows.FieldDescriptions() {
		names = append(names, fd.Name)
	}
	rows.Close()
	if strings.Join(names, ",") != "version,current_setting,pg" {
		t.Fatalf("columns %v", names)
	}
}

// SHOW name answers a session setting, a table's columns (DuckDB's SHOW
// events) or a DuckDB setting as current_setting does (SHOW memory_limit
// was refused as a table that does not exist, with 53200 for its name),
// and names both for a name that is neither.
func TestShow(t *testing.T) {
	f := start(t, DefaultConfig(), defaultQueryConfig())
	c := connect(t, f.url(""))
	ctx := context.Background()
	var memory, threads string
	if err := c.QueryRow(ctx, "SELECT current_setting('memory_limit')::VARCHAR, current_setting('threads')::VARCHAR").Scan(&memory, &threads); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ sql, first, code string }{
		{"SHOW memory_limit", memory, ""},
		{"show THREADS;", threads, ""},
		{`SHOW "memory_limit"`, memory, ""},
		{"SHOW server_version", serverVersion, ""},
		{"SHOW events", "event_id", ""},
		{"SHOW memory_limt", "", "42704"},
	} {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeDescribeExec} {
			rows, err := c.Query(ctx, tc.sql, mode)
			var first string
			if err == nil {
				if rows.Next() {
					var vals []any
					if vals, err = rows.Values(); err == nil {
						first, _ = vals[0].(string)
					}
				}
				rows.Close()
				if err == nil {
					err = rows.Err()
				}
			}
			if tc.code != "" {
				if got := pgCode(err); got != tc.code || !strings.Contains(err.Error(), "no table, view or setting") {
					t.Errorf("%q (mode %v): %v, want SQLSTATE %s naming tables and settings", tc.sql, mode, err, tc.code)
				}
				continue
			}
			if err != nil || first != tc.first {
				t.Errorf("%q (mode %v) = %q (%v), want %q", tc.sql, mode, first, err, tc.first)
			}
		}
	}
}
