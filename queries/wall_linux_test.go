//go:build linux

package queries

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/faultline/faultline/ingest/store"
)

// posixLocks counts the POSIX (fcntl) locks pid holds, from /proc/locks.
func posixLocks(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && f[1] == "POSIX" && f[4] == fmt.Sprint(pid) {
			n++
		}
	}
	return n
}

// fileWatch reports every open(2) of the files in a directory (inotify
// IN_OPEN): the independent witness that analyst SQL opened a file.
type fileWatch struct {
	fd  int
	dir string
}

func watchOpens(t testing.TB, dir string) *fileWatch {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_OPEN); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	return &fileWatch{fd: fd, dir: dir}
}

// opened returns the names opened since the last call.
func (w *fileWatch) opened() []string {
	var names []string
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.Read(w.fd, buf)
		if n <= 0 || err != nil {
			return names
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
			names = append(names, string(bytes.TrimRight(name, "\x00")))
			off += syscall.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

// fileDB is a DuckDB file with events, its WAL present (rows written after
// the last checkpoint) and canary files beside it; the working directory
// is its directory so relative paths name them.
type fileDB struct {
	db   *store.DB
	path string
	dir  string
}

func newFileDB(t testing.TB) *fileDB {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	path := filepath.Join(dir, "faultline.duckdb")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, q := range []string{
		"CHECKPOINT",
		`INSERT INTO events (event_id, time, observed_time, source, kind, service, attributes)
		 SELECT 'e' || i, TIMESTAMPTZ '2025-10-20 07:00:00+00' + to_seconds(i), now(), 'app', 'error', 'api', '{}' FROM range(10) t(i)`,
	} {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path + ".wal"); err != nil {
		t.Fatalf("the WAL should exist after an insert: %v", err)
	}
	for _, name := range []string{"canary.csv", "canary.json", "canary.parquet", "canary.txt", "canary"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("a,b\nfaultline-canary,2\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return &fileDB{db: db, path: path, dir: dir}
}

// Analyst SQL naming the database's own files (absolute, relative, the
// WAL) cannot make DuckDB open them, so the process keeps its POSIX locks.
// Before the wall, read_blob on the database file succeeded and dropped the
// locks (/proc/locks went from 2 to 0).
func TestSandboxKeepsFileLocks(t *testing.T) {
	f := newFileDB(t)
	sb, err := NewSandbox(context.Background(), f.db.DB, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	watch := watchOpens(t, f.dir)
	pid := os.Getpid()
	before := posixLocks(t, pid)
	if before == 0 {
		t.Fatalf("the test process holds no POSIX lock on %s; /proc/locks cannot tell anything", f.path)
	}
	for _, name := range []string{f.path, f.path + ".wal", "faultline.duckdb", "./faultline.duckdb.wal", "canary.csv"} {
		for _, q := range []string{
			"SELECT octet_length(content) FROM read_blob('%s')",
			"SELECT * FROM read_text('%s')",
			"SELECT * FROM read_csv('%s')",
			"SELECT * FROM '%s'",
			"SELECT * FROM parquet_metadata('%s')",
			"SELECT * FROM glob('%s')",
			"SELECT * FROM read_duckdb('%s')",
		} {
			q := fmt.Sprintf(q, name)
			_, err := sb.SQL(context.Background(), q)
			if err == nil {
				t.Errorf("%s ran", q)
			}
			if got := posixLocks(t, pid); got != before {
				t.Fatalf("%s: the process holds %d POSIX locks, %d before", q, got, before)
			}
			if opened := watch.opened(); len(opened) > 0 {
				t.Fatalf("%s: opened %v", q, opened)
			}
		}
	}
	// The database still works and still holds its rows.
	var n int
	if err := f.db.QueryRowContext(context.Background(), "SELECT count(*) FROM events").Scan(&n); err != nil || n != 10 {
		t.Fatalf("events after the attempts: %d %v", n, err)
	}
}

// FuzzSandboxFiles mixes file-reading functions, paths of the database's
// own files and canary files, quoting tricks, comments, CTEs and
// subqueries into SQL, and checks with an independent witness (inotify
// IN_OPEN on the directory, /proc/locks) that no statement ever opened a
// file, whatever the wall answered; also that the data and the settings are
// unchanged. The raw fuzz string is run on its own as well, and spliced
// into the generated statements.
func FuzzSandboxFiles(f *testing.F) {
	f.Add("", uint32(0))
	f.Add("x", uint32(1))
	f.Add("*/ SELECT 1 /*", uint32(77))
	f.Add("'; SELECT * FROM read_blob('faultline.duckdb') --", uint32(12345))
	f.Add("\n) UNION ALL SELECT * FROM 'canary.csv' --", uint32(999))
	f.Add("$q$", uint32(4242))
	fd := newFileDB(f)
	cfg := DefaultConfig()
	cfg.Timeout, cfg.MaxRows = 2*time.Second, 5
	sb, err := NewSandbox(context.Background(), fd.db.DB, cfg)
	if err != nil {
		f.Fatal(err)
	}
	watch := watchOpens(f, fd.dir)
	pid := os.Getpid()
	locks := posixLocks(f, pid)
	names := []string{fd.path, fd.path + ".wal", "faultline.duckdb", "faultline.duckdb.wal", "./faultline.duckdb",
		"canary.csv", "canary.json", "canary.parquet", "canary.txt", "canary", "canary*", "*", fd.dir + "/*.csv", "faultline.duckdb.tmp"}
	funcs := []string{"read_blob", "read_text", "read_csv", "read_csv_auto", "read_json", "read_json_auto", "read_ndjson",
		"read_json_objects", "read_parquet", "parquet_scan", "parquet_metadata", "parquet_schema", "parquet_file_metadata",
		"glob", "sniff_csv", "read_duckdb", "query_table", "query", "READ_BLOB", `"read_blob"`, "main.read_blob", "system.main.read_text"}
	quotes := []func(string) string{
		func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" },
		func(s string) string { return "E'" + s + "'" },
		func(s string) string { return "$$" + s + "$$" },
		func(s string) string { return "$t$" + s + "$t$" },
		func(s string) string { return "'" + s[:len(s)/2] + "' || '" + s[len(s)/2:] + "'" },
		func(s string) string { return "concat('" + s + "')" },
		func(s string) string { return `"` + s + `"` },
		func(s string) string { return "['" + s + "']" },
		func(s string) string { return "U&'" + s + "'" },
	}
	shapes := []string{
		"SELECT * FROM {from}",
		"SELECT count(*) FROM {from}",
		"WITH a AS (SELECT * FROM {from}) SELECT * FROM a",
		"WITH RECURSIVE a(x) AS (SELECT 1 UNION ALL SELECT 1 FROM {from}) SELECT * FROM a LIMIT 1",
		"SELECT (SELECT count(*) FROM {from}) AS n",
		"SELECT * FROM events WHERE EXISTS (SELECT 1 FROM {from})",
		"SELECT * FROM events e JOIN LATERAL (SELECT * FROM {from}) ON true",
		"SELECT 1 UNION ALL SELECT count(*) FROM {from}",
		"SELECT list_transform([1], x -> (SELECT count(*) FROM {from}))",
		"FROM {from}",
		"DESCRIBE SELECT * FROM {from}",
		"SUMMARIZE SELECT * FROM {from}",
		"EXPLAIN SELECT * FROM {from}",
		"EXPLAIN ANALYZE SELECT * FROM {from}",
		"SELECT * FROM (SELECT * FROM (SELECT * FROM {from}))",
		"/* {raw} */ SELECT * FROM {from} -- {raw}",
		"SELECT * FROM events, {from}",
		"SELECT * FROM events WHERE service IN (SELECT * FROM {from})",
	}
	f.Fuzz(func(t *testing.T, raw string, pick uint32) {
		name := names[pick%uint32(len(names))]
		fn := funcs[(pick/16)%uint32(len(funcs))]
		quote := quotes[(pick/512)%uint32(len(quotes))]
		shape := shapes[(pick/8192)%uint32(len(shapes))]
		var from string
		switch (pick / 262144) % 4 {
		case 0:
			from = fn + "(" + quote(name) + ")"
		case 1:
			from = quote(name) // a string (or identifier) as a table
		case 2:
			from = fn + " /*" + raw + "*/ (" + quote(name) + ")"
		default:
			from = fn + "(" + quote(name+raw) + ")"
		}
		stmt := strings.NewReplacer("{from}", from, "{raw}", raw).Replace(shape)
		for _, q := range []string{raw, stmt, stmt + raw} {
			_, _ = sb.SQL(context.Background(), q)
			if opened := watch.opened(); len(opened) > 0 {
				t.Fatalf("%q opened %v", q, opened)
			}
			if got := posixLocks(t, pid); got != locks {
				t.Fatalf("%q: %d POSIX locks, %d before", q, got, locks)
			}
		}
		var n int
		if err := fd.db.QueryRowContext(context.Background(), "SELECT count(*) FROM events").Scan(&n); err != nil || n != 10 {
			t.Fatalf("after %q: %d events, %v; want 10", raw, n, err)
		}
		var ext string
		if err := fd.db.QueryRowContext(context.Background(), "SELECT current_setting('enable_external_access')::VARCHAR").Scan(&ext); err != nil || ext != "false" {
			t.Fatalf("after %q: enable_external_access=%q %v", raw, ext, err)
		}
	})
}
