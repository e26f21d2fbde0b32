package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/transform"
)

// queryDB writes a small DuckDB file: quiet background errors, one change,
// then an error burst on checkout.
func queryDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.duckdb")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	nine, ten := time.Date(2025, 10, 20, 9, 0, 0, 0, time.UTC), time.Date(2025, 10, 20, 10, 0, 0, 0, time.UTC)
	var evs []transform.Event
	for i := 0; i < 60; i += 5 {
		evs = append(evs, transform.Event{EventID: fmt.Sprint("bg", i), Time: nine.Add(time.Duration(i) * time.Minute), ObservedTime: nine,
			Source: "app", Kind: "error", Service: "checkout", Region: "us-east-1"})
	}
	evs = append(evs, transform.Event{EventID: "chg-1", Time: ten.Add(-2 * time.Minute), ObservedTime: ten.Add(-2 * time.Minute),
		Source: "cloudtrail", Kind: "change", Service: "checkout", Operation: "UpdateService", Region: "us-east-1", Actor: "alice",
		Resource: "svc/checkout", RiskClass: "high", ChangeType: "deploy"})
	evs = append(evs, testkit.Repeat(100, "burst", testkit.Every(ten, 3*time.Second), transform.Event{ObservedTime: ten,
		Source: "app", Kind: "error", Service: "checkout", Region: "us-east-1"})...)
	testkit.Seed(t, db, evs...)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestQueryCmd(t *testing.T) {
	t.Chdir(t.TempDir())
	db := queryDB(t)

	out, err := runCLI(t, "--db", db, "query", "--named", "suspects", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	if len(rows) != 1 || rows[0]["event_id"] != "chg-1" || rows[0]["rank"] != float64(1) {
		t.Fatalf("suspects: %s", out)
	}
	for _, col := range []string{"incident_id", "rank", "event_id", "time", "service", "operation", "resource", "actor", "region", "score", "evidence"} {
		if _, ok := rows[0][col]; !ok {
			t.Errorf("suspects row has no %s column", col)
		}
	}

	out, err = runCLI(t, "--db", db, "query", "--format", "csv", "SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind")
	if err != nil {
		t.Fatal(err)
	}
	if out != "kind,n\nchange,1\nerror,112\n" {
		t.Fatalf("csv: %q", out)
	}

	_, err = runCLI(t, "--db", db, "query", "SELECT * FROM read_csv('/etc/passwd')")
	if err == nil || !strings.Contains(err.Error(), "may not read or write files") {
		t.Fatalf("sandbox escape: %v", err)
	}

	pq := filepath.Join(t.TempDir(), "inc.parquet")
	if _, err := runCLI(t, "--db", db, "query", "--named", "incidents", "--format", "parquet", "--out", pq); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(pq); err != nil || st.Size() == 0 {
		t.Fatalf("parquet file: %v", err)
	}
	// Read it back with DuckDB (before any sandbox locks that process's database).
	check, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	var id string
	var services string
	if err := check.QueryRowContext(t.Context(), "SELECT incident_id, array_to_string(services, ',') FROM read_parquet(?)", pq).Scan(&id, &services); err != nil {
		t.Fatal(err)
	}
	if id != "inc-20251020-1000-checkout" || services != "checkout" {
		t.Fatalf("parquet row: %s %s", id, services)
	}
}

// TestQueryCmdFormatFromOut: without --format, --out's extension picks the
// format, as report's does (--out x.csv used to get JSON); a --format that
// contradicts the extension is a usage error; another extension keeps the
// default, json.
func TestQueryCmdFormatFromOut(t *testing.T) {
	t.Chdir(t.TempDir())
	db := queryDB(t)
	const sql = "SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind"
	tests := []struct {
		out    string
		format string // --format, "" for none
		named  bool   // --named suspects instead of the SQL
		want   string // the file's first bytes
		err    string // a usage error saying this instead
	}{
		{out: "x.csv", want: "kind,n\nchange,1\nerror,112\n"},
		{out: "suspects.csv", named: true, want: "incident_id,rank,event_id,"},
		{out: "x.json", want: "[\n  {\"kind\": \"change\", \"n\": 1},"},
		{out: "X.JSON", want: "[\n  {\"kind\": \"change\", \"n\": 1},"},
		{out: "x.parquet", want: "PAR1"},
		{out: "suspects.parquet", named: true, want: "PAR1"},
		{out: "x.txt", want: "kind    n"},
		{out: "x.out", want: "[\n  {"},
		{out: "x.csv", format: "csv", want: "kind,n\n"},
		{out: "x.tsv", format: "csv", want: "kind,n\n"},
		{out: "x.csv", format: "json", err: "--format json contradicts --out x.csv (a .csv file gets csv): drop --format to write csv, or name the file .json for json"},
		{out: "x.parquet", format: "csv", err: "--format csv contradicts --out x.parquet (a .parquet file gets parquet): drop --format to write parquet, or name the file .csv for csv"},
		{out: "x.txt", format: "parquet", err: "--format parquet contradicts --out x.txt (a .txt file gets table)"},
	}
	for _, tt := range tests {
		t.Run(tt.format+" "+tt.out, func(t *testing.T) {
			out := tt.out // in the test's directory, named as the error names it
			t.Cleanup(func() { os.Remove(out) })
			args := []string{"--db", db, "query", "--out", out}
			if tt.format != "" {
				args = append(args, "--format", tt.format)
			}
			if tt.named {
				args = append(args, "--named", "suspects")
			} else {
				args = append(args, sql)
			}
			_, err := runCLI(t, args...)
			if tt.err != "" {
				var ue usageError
				if err == nil || !strings.Contains(err.Error(), tt.err) || !asUsage(err, &ue) {
					t.Errorf("got %v, want a usage error saying %q", err, tt.err)
				}
				if _, serr := os.Stat(out); serr == nil {
					t.Errorf("%s was written despite the error", tt.out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte(tt.want)) {
				t.Errorf("%s starts with %q, want %q", tt.out, b[:min(len(b), 60)], tt.want)
			}
		})
	}
}

func TestQueryCmdErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--db", "missing.duckdb", "query", "SELECT 1"}, "does not exist"},
		{[]string{"query"}, "either one SQL statement"},
		{[]string{"query", "--named", "incidents", "SELECT 1"}, "either one SQL statement"},
		{[]string{"query", "--named", "incidents", "--since", "yesterday"}, "not a time"},
		{[]string{"query", "--named", "incidents", "--format", "xml"}, "not supported"},
		{[]string{"query", "--named", "incidents", "--format", "parquet"}, "needs --out"},
		{[]string{"query", "--since", "-1h", "SELECT 1"}, "apply to --named"},
	}
	for _, c := range cases {
		_, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error saying %q", c.args, err, c.want)
		}
	}
	db := queryDB(t)
	_, err := runCLI(t, "--db", db, "query", "--named", "nope")
	var ue usageError
	if err == nil || !strings.Contains(err.Error(), "unknown named query") || !asUsage(err, &ue) {
		t.Errorf("unknown named query: %v", err)
	}
	// a misspelt name is named as such, with a suggestion, before the
	// database is asked anything (here: an empty one, which would
	// otherwise say it holds no events)
	empty := filepath.Join(t.TempDir(), "empty.duckdb")
	edb, err := store.Open(context.Background(), empty)
	if err != nil {
		t.Fatal(err)
	}
	edb.Close()
	if _, err := runCLI(t, "--db", empty, "query", "--named", "suspects"); err == nil || !strings.Contains(err.Error(), "holds no events") {
		t.Fatalf("the empty database's own error: %v", err)
	}
	_, err = runCLI(t, "--db", empty, "query", "--named", "suspcts")
	if err == nil || !strings.Contains(err.Error(), `unknown named query "suspcts" (did you mean suspects?)`) || !asUsage(err, &ue) {
		t.Errorf("misspelt named query on an empty database: %v", err)
	}
	// The spellings the engine (and so POST /api/query) accepts are no
	// usage error here either (the CLI refused "cfr" and "SUSPECTS").
	for _, name := range []string{"SUSPECTS", "cfr", "change_failure_rate"} {
		if _, err := runCLI(t, "--db", empty, "query", "--named", name); err == nil || !strings.Contains(err.Error(), "holds no events") {
			t.Errorf("--named %s on an empty database: %v, want its own error", name, err)
		}
	}
}

func asUsage(err error, ue *usageError) bool {
	return errors.As(err, ue)
}

func TestParseWhen(t *testing.T) {
	now := mustTime(t, "2025-10-20T12:00:00Z")
	for in, want := range map[string]string{
		"-2h":                  "2025-10-20T10:00:00Z",
		"-1d":                  "2025-10-19T12:00:00Z",
		"now":                  "2025-10-20T12:00:00Z",
		"2025-10-20T07:00:00Z": "2025-10-20T07:00:00Z",
		"2025-10-19":           "2025-10-19T00:00:00Z",
	} {
		got, err := parseWhen(in, now)
		if err != nil || got.Format("2006-01-02T15:04:05Z07:00") != want {
			t.Errorf("parseWhen(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Another process holding the DuckDB file (as faultline serve or ingest
// would) gives a clear error naming --server.
func TestQueryCmdLockedDB(t *testing.T) {
	if path := os.Getenv("FAULTLINE_TEST_HOLD_DB"); path != "" {
		db, err := store.Open(context.Background(), path)
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		fmt.Println("ready")
		_, _ = io.Copy(io.Discard, os.Stdin) // hold until the parent closes stdin
		db.Close()
		os.Exit(0)
	}
	t.Chdir(t.TempDir())
	path := queryDB(t)
	defer holdDB(t, path)()
	_, err := runCLI(t, "--db", path, "query", "SELECT 1")
	if err == nil || !strings.Contains(err.Error(), "in use by another process") || !strings.Contains(err.Error(), "--server") {
		t.Fatalf("locked database: %v", err)
	}
	if strings.Contains(err.Error(), "merge") { // the store's advice for writers, not a reader's
		t.Errorf("locked database, a reader told about merge: %v", err)
	}
}

// holdDB opens path in another process (this test binary, in
// TestQueryCmdLockedDB's holder mode), as a running faultline serve
// would, until the returned function is called.
func holdDB(t *testing.T, path string) (release func()) {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	holder := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestQueryCmdLockedDB$")
	holder.Env = append(os.Environ(), "FAULTLINE_TEST_HOLD_DB="+abs)
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	release = func() {
		stdin.Close()
		_ = holder.Wait()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		release()
		t.Fatalf("holder process: %q, %v", line, err)
	}
	return release
}

// parseWhen never panics and accepts only what it documents.
func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"-2h", "-7d", "now", "2025-10-20T07:00:00Z", "2025-10-20", "+1.5d", "-", "d", "yesterday"} {
		f.Add(s)
	}
	now := time.Date(2025, 10, 20, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseWhen(s, now)
		if err == nil && strings.TrimSpace(s) != "" && got.IsZero() {
			t.Fatalf("parseWhen(%q) accepted but returned the zero time", s)
		}
	})
}

// TestQueryCmdNotADatabase: --db naming a file that is not a DuckDB
// database or a directory says so, and does not blame another process
// (the damaged-file message says "block", which used to match "lock").
func TestQueryCmdNotADatabase(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("not a database\n", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		db, want string
	}{
		{text, "not a DuckDB database file"},
		{dir, "is a directory"},
	} {
		_, err := runCLI(t, "--db", c.db, "query", "SELECT 1")
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "in use by another process") {
			t.Errorf("--db %s: %v, want it to say %q and not blame another process", c.db, err, c.want)
		}
	}
}

// TestQueryNamedMaxBytes: --max-bytes cuts a named query as it cuts SQL
// (named queries were cut by --max-rows only).
func TestQueryNamedMaxBytes(t *testing.T) {
	db := outageDB(t)
	out, err := runCLI(t, "--db", db, "query", "--named", "series", "--max-bytes", "1024", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "# truncated:") || !strings.Contains(out, "query.max_bytes") || len(out) > 4096 {
		t.Errorf("named series with --max-bytes 1024: %d bytes, want a result cut by query.max_bytes:\n%.600s", len(out), out)
	}
}
