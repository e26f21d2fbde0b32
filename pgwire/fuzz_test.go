package pgwire

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/faultline/faultline/queries"
)

// fakeSandbox answers every statement with one row (the in-process stand-in
// for queries.Sandbox in the fuzz target: the target is the message
// handling, not DuckDB).
type fakeSandbox struct{}

func (fakeSandbox) StreamArgs(ctx context.Context, sql string, args []any, w queries.RowWriter) (queries.Summary, error) {
	if strings.Contains(sql, "refuse") {
		return queries.Summary{}, queries.ErrRefused
	}
	if err := w.Begin([]queries.Column{{Name: "a", Type: "VARCHAR"}, {Name: "t", Type: "TIMESTAMPTZ"}, {Name: "l", Type: "BIGINT[]"}}); err != nil {
		return queries.Summary{}, err
	}
	if err := w.Row([]any{"x", time.Unix(0, 0), []any{int64(1), nil}}); err != nil {
		return queries.Summary{}, err
	}
	return queries.Summary{Rows: 1}, ctx.Err()
}

func (fakeSandbox) Describe(_ context.Context, sql string) (queries.Description, error) {
	if strings.Contains(sql, "refuse") {
		return queries.Description{}, queries.ErrRefused
	}
	return queries.Description{Columns: []queries.Column{{Name: "a", Type: "VARCHAR"}}, Params: []string{"BIGINT"}}, nil
}

func encode(msgs ...pgproto3.FrontendMessage) []byte {
	var b []byte
	for _, m := range msgs {
		b, _ = m.Encode(b)
	}
	return b
}

// FuzzSession: any bytes after a startup never crash a session (no panic
// reaches the recover in handle) and never hang it.
func FuzzSession(f *testing.F) {
	f.Add(encode(&pgproto3.Query{String: "SELECT 1"}, &pgproto3.Terminate{}))
	f.Add(encode(&pgproto3.Parse{Name: "s", Query: "SELECT $1"}, &pgproto3.Bind{PreparedStatement: "s", Parameters: [][]byte{[]byte("1")}},
		&pgproto3.Describe{ObjectType: 'P'}, &pgproto3.Execute{MaxRows: 1}, &pgproto3.Execute{}, &pgproto3.Sync{}))
	f.Add(encode(&pgproto3.Query{String: "BEGIN; DECLARE c CURSOR FOR SELECT 1; FETCH 2 FROM c; CLOSE c; COMMIT"}))
	f.Add(encode(&pgproto3.Query{String: "SET a.b = 'x'; SHOW ALL; SELECT version(), current_setting('server_version_num') x OPERATOR(pg_catalog.~) 'y' COLLATE pg_catalog.default"}))
	f.Add(encode(&pgproto3.Parse{Query: "refuse"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}, &pgproto3.Query{String: "SELECT 2"}))
	f.Add(encode(&pgproto3.Bind{ParameterFormatCodes: []int16{1}, Parameters: [][]byte{{1, 2}}}, &pgproto3.Sync{}))
	f.Add([]byte{'Q', 0, 0, 0, 4})
	f.Add([]byte{'p', 0, 0, 0, 5, 0})
	srv, err := New(Config{Listen: "127.0.0.1:0", Username: "faultline", MaxConnections: 4, MaxMessageBytes: 1 << 16}, fakeSandbox{}, slog.New(slog.NewTextHandler(io.Discard, nil)), "v-fuzz", nil)
	if err != nil {
		f.Fatal(err)
	}
	startup, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "faultline"}}).Encode(nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		logs := &logBuffer{}
		srv.log = slog.New(slog.NewTextHandler(logs, nil))
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.handle(context.Background(), server)
		}()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = client.Write(startup)
		_, _ = client.Write(data)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the session did not end 10s after its client closed")
		}
		if strings.Contains(logs.String(), "internal error") {
			t.Fatalf("panic in the session:\n%s", logs.String())
		}
	})
}

// FuzzClassify: classify and rewrite never panic on any statement text.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"SELECT 1", "SET x TO 'y'", "FETCH FORWARD 10 FROM \"c\"", "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
		"SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(events)$' COLLATE pg_catalog.default",
		"SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true), x::pg_catalog.regtype::pg_catalog.text FROM pg_catalog.generate_series(0, pg_catalog.array_upper(a::int2[], 1)) s",
		"SHOW TRANSACTION ISOLATION LEVEL", "SELECT version(", "current_setting('", "OPERATOR(", "SET", "FETCH", "DECLARE"} {
		f.Add(s)
	}
	c := &conn{settings: map[string]string{}}
	f.Fuzz(func(t *testing.T, sql string) {
		_ = classify(sql, "v", c.lookup)
	})
}

// TestRewriteQualifiedKeyword: a catalog-qualified name that is also a
// rewritten keyword (pg_catalog.OPERATOR(!)) is copied once; it panicked
// (slice bounds out of range) when the OPERATOR rewrite went back over the
// copied name. Found by FuzzClassify.
func TestRewriteQualifiedKeyword(t *testing.T) {
	c := &conn{settings: map[string]string{}}
	for sql, want := range map[string]string{
		"00000000 pg_CAtAlog.OPERATOR(!)":                    "00000000 OPERATOR(!)",
		"SELECT pg_catalog.OPERATOR(pg_catalog.~) 'x'":       "SELECT OPERATOR(pg_catalog.~) 'x'",
		"SELECT 'a' OPERATOR(pg_catalog.~) 'b'":              "SELECT 'a'  ~  'b'",
		"SELECT x FROM t WHERE y COLLATE pg_catalog.default": "SELECT x FROM t WHERE y  ",
	} {
		if got := classify(sql, "v", c.lookup).sql; got != want {
			t.Errorf("%s\n got %q\nwant %q", sql, got, want)
		}
	}
}
