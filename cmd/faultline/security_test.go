//go:build linux

package main

// The security suite: what issue 12 found, tried against a real `faultline
// serve` process (this test binary re-executed as faultline, see TestMain)
// the way an attacker on the same machine, or a web page in an analyst's
// browser, would: every way analyst SQL could open a file (the database's
// own files included, which dropped serve's POSIX locks and let a second
// process write the same file), the escapes that were already refused,
// huge results, cross-site requests, foreign Host headers, SQL on GET, and
// a compression bomb for faultline load. It runs in `make test`.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
)

// faultlineCmd is `faultline args...` as a child process in dir.
func faultlineCmd(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "FAULTLINE_TEST_MAIN=1")
	cmd.Dir = dir
	return cmd
}

// served is a running `faultline serve` child process.
type served struct {
	cmd  *exec.Cmd
	base string
	host string
	pg   string // serve.postgres.listen
	dir  string
	db   string
	errb *syncBuffer
}

// startServed runs `faultline --config <yaml> serve` in dir (its working
// directory: relative paths in SQL name files there) and waits for
// /healthz. The database must exist.
func startServed(t *testing.T, dir, db, config string) *served {
	t.Helper()
	ln := testkit.Listen(t)
	addr := ln.Addr().String()
	ln.Close()
	pg := freeAddr(t)
	cfg := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("db: %s\nserve:\n  listen: %s\n  postgres:\n    listen: %s\n%s", db, addr, pg, config)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &served{base: "http://" + addr, host: addr, pg: pg, dir: dir, db: db, errb: &syncBuffer{}}
	s.cmd = faultlineCmd(context.Background(), dir, "--config", cfg, "--log-level", "warn", "serve")
	s.cmd.Stderr = s.errb
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := testkit.Get(t, s.base+"/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("faultline serve did not answer /healthz within 60s: %s", s.errb)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for serve to exit.
func (s *served) stop(t *testing.T) {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("faultline serve exited with %v after SIGTERM, want a clean stop", err)
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("faultline serve did not stop within 30s of SIGTERM (killed: %v)", <-done)
	}
}

func (s *served) pid() int { return s.cmd.Process.Pid }

// locks counts the POSIX (fcntl) locks serve holds, from /proc/locks.
func (s *served) locks(t *testing.T) int {
	t.Helper()
	n, _ := s.lockLines(t)
	return n
}

// lockLines counts the POSIX locks serve holds on its database file (the
// file's inode; DuckDB may lock other files, such as spill files, now and
// then) and returns every /proc/locks line of serve's, for messages.
//
// The kernel lists the locks a page at a time, and other processes' locks
// coming and going between two pages shift the list: a line can be read
// twice (a CI run saw serve's one lock twice, the leading number being only
// its position) or missed. So a line counts once, by everything but its
// position, and the file is read until two reads agree.
func (s *served) lockLines(t *testing.T) (int, string) {
	t.Helper()
	n, all := s.readLocks(t)
	for range 5 {
		m, again := s.readLocks(t)
		if m == n {
			break
		}
		n, all = m, again
	}
	return n, all
}

func (s *served) readLocks(t *testing.T) (int, string) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(s.db, &st); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Fatal(err)
	}
	n, all := 0, ""
	inode := ":" + strconv.FormatUint(st.Ino, 10)
	seen := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && f[1] == "POSIX" && f[4] == strconv.Itoa(s.pid()) && !seen[strings.Join(f[1:], " ")] {
			seen[strings.Join(f[1:], " ")] = true
			all += line + "\n"
			if strings.HasSuffix(f[5], inode) {
				n++
			}
		}
	}
	return n, all
}

// rss returns a /proc/<pid>/status memory figure of serve in bytes (VmRSS,
// VmHWM).
func (s *served) rss(t *testing.T, key string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid()))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, s.pid())
	return 0
}

// request sends one HTTP request to serve; hdr are header name/value pairs
// ("Host" sets the Host header).
func (s *served) request(t *testing.T, method, path, ctype, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// sql posts analyst SQL to the API.
func (s *served) sql(t *testing.T, q string, hdr ...string) (int, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"sql": q})
	return s.request(t, http.MethodPost, "/api/query", "application/json", string(b), hdr...)
}

// export asks POST /api/export for a CSV download of analyst SQL.
func (s *served) export(t *testing.T, q string) (int, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"sql": q, "format": "csv"})
	return s.request(t, http.MethodPost, "/api/export", "application/json", string(b))
}

// wire runs analyst SQL over serve's PostgreSQL endpoint (the extended
// protocol, as drivers send it) and returns its SQLSTATE and message.
func (s *served) wire(t *testing.T, c *pgx.Conn, q string) (string, string) {
	t.Helper()
	_, err := c.Exec(context.Background(), q)
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.Message
	}
	if err != nil {
		t.Fatalf("%s over the wire: %v", q, err)
	}
	return "", ""
}

// console posts analyst SQL to the console's form, as its own page does.
func (s *served) console(t *testing.T, q string, hdr ...string) (int, string) {
	t.Helper()
	hdr = append([]string{"Origin", s.base, "Sec-Fetch-Site", "same-origin"}, hdr...)
	return s.request(t, http.MethodPost, "/console", "application/x-www-form-urlencoded", url.Values{"sql": {q}}.Encode(), hdr...)
}

func countEvents(t *testing.T, path string) int64 {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// secondWriter runs `faultline load --db <serve's file>` as another
// process and returns its error and output: it must be refused while serve
// holds the file.
func secondWriter(t *testing.T, s *served) (string, error) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "more.ndjson")
	if err := os.WriteFile(in, []byte(`{"time":"2025-10-20T10:30:00Z","service":"intruder","level":"error","message":"written by a second process"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := faultlineCmd(ctx, s.dir, "load", "--db", s.db, "--log-level", "error", in).CombinedOutput()
	return string(out), err
}

// Analyst SQL naming the database's own files, through the API and the
// console, absolute and relative, cannot make serve open them: its POSIX
// locks are the same after every attempt, and a second process is still
// refused the file (before the wall, read_blob on the file dropped the
// locks from 2 to 0 and `faultline load` committed events that were lost
// when serve stopped).
func TestSecurityDatabaseFilesStayLocked(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "serve.duckdb")
	if err := os.Rename(queryDB(t), db); err != nil {
		t.Fatal(err)
	}
	before := countEvents(t, db)
	s := startServed(t, dir, db, "")
	locks := s.locks(t)
	if locks == 0 {
		t.Fatalf("serve (pid %d) holds no POSIX lock on %s: /proc/locks cannot tell anything", s.pid(), db)
	}
	if out, err := secondWriter(t, s); err == nil {
		t.Fatalf("a second process loaded into the served file before any attempt: %s", out)
	}
	names := []string{db, db + ".wal", "serve.duckdb", "./serve.duckdb.wal", "../" + filepath.Base(dir) + "/serve.duckdb", "serve.yaml"}
	shapes := []string{
		"SELECT octet_length(content) FROM read_blob('%s')",
		"SELECT * FROM read_text('%s')",
		"SELECT * FROM read_csv('%s')",
		"SELECT * FROM '%s'",
		"SELECT * FROM read_duckdb('%s')",
		"SELECT * FROM glob('%s')",
		"SELECT * FROM parquet_metadata('%s')",
		"WITH x AS (SELECT * FROM read_blob('%s')) SELECT octet_length(content) FROM x",
	}
	pg, err := pgx.Connect(context.Background(), "postgres://faultline@"+s.pg+"/faultline?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(context.Background())
	for _, name := range names {
		for _, shape := range shapes {
			q := fmt.Sprintf(shape, name)
			for _, via := range []string{"api", "console", "console GET", "export", "postgres"} {
				var code int
				var body string
				switch via {
				case "api":
					code, body = s.sql(t, q)
				case "console":
					code, body = s.console(t, q)
				case "export":
					code, body = s.export(t, q)
				case "postgres":
					state, msg := s.wire(t, pg, q)
					code, body = 400, msg
					if state != "42501" {
						t.Errorf("%s over the wire: SQLSTATE %q (%s), want 42501", q, state, msg)
					}
				default:
					code, body = s.request(t, http.MethodGet, "/console?sql="+url.QueryEscape(q), "", "")
				}
				switch {
				case via == "console GET" && (code != 200 || strings.Contains(body, `id="result"`)):
					t.Errorf("%s via %s: %d, ran on GET", q, via, code)
				case via != "console GET" && (code != 400 || !strings.Contains(body, "refused by the analyst SQL sandbox")):
					t.Errorf("%s via %s: %d, not refused: %.200s", q, via, code, body)
				}
				if got, lines := s.lockLines(t); got != locks {
					t.Fatalf("%s via %s: serve holds %d POSIX locks on %s, %d before; its locks:\n%s", q, via, got, s.db, locks, lines)
				}
			}
		}
	}
	if out, err := secondWriter(t, s); err == nil || !strings.Contains(out, "lock") {
		t.Fatalf("a second process was not refused the served file after the attempts: %v\n%s", err, out)
	}
	s.stop(t)
	if after := countEvents(t, db); after != before {
		t.Fatalf("events after serve stopped: %d, %d before", after, before)
	}
}

// The escapes the sandbox refused before the wall, and the ones it
// refuses now, through the real HTTP API of a real serve: nothing runs,
// nothing is written, the data and the settings stay as they were.
func TestSecurityEscapes(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "serve.duckdb")
	if err := os.Rename(queryDB(t), db); err != nil {
		t.Fatal(err)
	}
	s := startServed(t, dir, db, "query:\n  timeout: 1s\n  max_rows: 1000\n  max_bytes: 1048576\n")
	exported := filepath.Join(dir, "exported")
	for _, c := range []struct{ sql, want string }{
		{"SELECT * FROM read_csv('/etc/passwd')", "read_csv"},
		{"SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto"},
		{"SELECT * FROM read_text('/etc/hostname')", "read_text"},
		{"SELECT * FROM read_json('/etc/x.json')", "read_json"},
		{"SELECT * FROM read_parquet('https://example.com/x.parquet')", "read_parquet"},
		{"SELECT * FROM '/etc/passwd.csv'", "is a file or URL"},
		{"SELECT * FROM glob('/etc/*')", "glob"},
		{"SELECT * FROM query('SELECT 1')", "query"},
		{"COPY events TO '" + exported + ".csv'", "COPY statements are not allowed"},
		{"COPY (SELECT 1) TO '" + exported + ".csv'", "COPY"},
		{"COPY events FROM '/etc/passwd'", "COPY"},
		{"EXPORT DATABASE '" + exported + "'", "EXPORT statements are not allowed"},
		{"EXPORT DATABASE 'serve.duckdb.tmp'", "EXPORT statements are not allowed"},
		{"ATTACH '" + exported + ".duckdb' AS x", "ATTACH statements are not allowed"},
		{"ATTACH 'serve.duckdb' AS x (READ_ONLY)", "ATTACH"},
		{"DETACH faultline", "DETACH"},
		{"INSTALL httpfs", "INSTALL/LOAD statements are not allowed"},
		{"LOAD httpfs", "INSTALL/LOAD statements are not allowed"},
		{"FORCE INSTALL httpfs", "INSTALL/LOAD"},
		{"SET enable_external_access = true", "SET/RESET statements are not allowed"},
		{"RESET lock_configuration", "SET/RESET"},
		{"SET VARIABLE x = 1", "SET/RESET"},
		{"PRAGMA enable_profiling", "PRAGMA statements are not allowed"},
		{"PRAGMA database_list", "PRAGMA"},
		{"CALL checkpoint()", "CALL statements are not allowed"},
		{"CHECKPOINT", "CHECKPOINT statements are not allowed"},
		{"CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", "CREATE SECRET statements are not allowed"},
		{"CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", "CREATE SECRET"},
		{"SELECT * FROM duckdb_secrets()", "duckdb_secrets"},
		{"SELECT * FROM which_secret('s3://x', 's3')", "which_secret"},
		{"CREATE TABLE x AS SELECT 1", "CREATE statements are not allowed"},
		{"CREATE MACRO m() AS 1", "CREATE"},
		{"INSERT INTO events (event_id) VALUES ('x')", "INSERT statements are not allowed"},
		{"DELETE FROM events", "DELETE statements are not allowed"},
		{"UPDATE events SET kind = 'info'", "UPDATE statements are not allowed"},
		{"DROP TABLE events", "DROP statements are not allowed"},
		{"VACUUM", "VACUUM"},
		{"BEGIN TRANSACTION", "transaction control"},
		{"SELECT 1; DROP TABLE events", "exactly one statement"},
		{"DELETE FROM events; SELECT 1", "exactly one statement"},
		{"SELECT 1;\nSELECT 2", "exactly one statement"},
		{"SELECT count(*) FROM range(1000000000) a, range(1000) b WHERE a.range % 7 = b.range", "query.timeout"},
	} {
		code, body := s.sql(t, c.sql)
		if code != 400 || !strings.Contains(body, "refused by the analyst SQL sandbox") || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %.300s; want 400 refused saying %q", c.sql, code, body, c.want)
		}
	}
	for _, p := range []string{exported, exported + ".csv", exported + ".duckdb", filepath.Join(dir, "serve.duckdb.tmp")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was created", p)
		}
	}
	// A huge result is cut at query.max_bytes and says so; the body stays
	// near the cap.
	code, body := s.sql(t, "SELECT repeat('x', 1000000) AS s FROM range(1000)")
	var res struct {
		Rows        [][]any
		Truncated   bool
		TruncatedBy string `json:"truncated_by"`
	}
	if err := json.Unmarshal([]byte(body), &res); code != 200 || err != nil || !res.Truncated || res.TruncatedBy != "query.max_bytes" || len(res.Rows) != 1 || len(body) > 1<<20+64<<10 {
		t.Errorf("1 GB asked under a 1 MiB cap: %d, %d rows, truncated %v by %q, %d bytes, %v", code, len(res.Rows), res.Truncated, res.TruncatedBy, len(body), err)
	}
	// Cross-site requests that run SQL, and foreign Host headers (DNS
	// rebinding), never reach the sandbox.
	for _, c := range []struct {
		name string
		hdr  []string
	}{
		{"cross-site page", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}},
		{"foreign Origin, no Sec-Fetch-Site (an older browser)", []string{"Sec-Fetch-Site", "", "Origin", "http://evil.example:8080"}},
		{"DNS rebinding", []string{"Host", "evil.example:" + s.host[strings.LastIndex(s.host, ":")+1:]}},
	} {
		if code, body := s.sql(t, "SELECT 1", c.hdr...); code != 403 {
			t.Errorf("API, %s: %d %.200s; want 403", c.name, code, body)
		}
		if code, _ := s.console(t, "SELECT 1", c.hdr...); code != 403 {
			t.Errorf("console, %s: %d; want 403", c.name, code)
		}
	}
	if code, body := s.request(t, http.MethodGet, "/api/incidents", "", "", "Host", "attacker.example"); code != 403 || !strings.Contains(body, "serve.allowed_hosts") {
		t.Errorf("GET /api/incidents with a foreign Host: %d %.200s", code, body)
	}
	// No SQL on GET.
	if code, body := s.request(t, http.MethodGet, "/console?sql="+url.QueryEscape("SELECT 'ran-on-get' AS marker"), "", ""); code != 200 || strings.Contains(body, "<td>ran-on-get</td>") || !strings.Contains(body, `id="pending"`) {
		t.Errorf("GET /console?sql= ran the statement (%d)", code)
	}
	// The same statement posted by the page's form runs.
	if code, body := s.console(t, "SELECT 'ran-on-post' AS marker"); code != 200 || !strings.Contains(body, "<td>ran-on-post</td>") {
		t.Errorf("POST /console: %d, the statement did not run", code)
	}
	// Still the same data and settings.
	if code, body := s.sql(t, "SELECT count(*) AS n, current_setting('enable_external_access') AS ext, current_setting('lock_configuration') AS locked FROM events"); code != 200 || !strings.Contains(body, "[113, false, true]") {
		t.Errorf("after the attempts: %d %s", code, body)
	}
}

// faultline serve's RSS stays within duckdb.memory_limit plus the margin
// docs/operations.md documents (1 GiB for DuckDB's vectors outside its
// memory limit, plus query.max_bytes per concurrent statement) under 20
// concurrent requests for huge results. Before the caps, one request for
// SELECT repeat('x', 1000000) FROM range(1000) took serve from 83 MB to
// 7.3 GB, and 20 of them passed 9 GB (docs/benchmarks.md).
func TestSecurityServeRSSUnderHugeResults(t *testing.T) {
	if testing.Short() {
		t.Skip("20 concurrent huge results; skipped with -short")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "serve.duckdb")
	if err := os.Rename(queryDB(t), db); err != nil {
		t.Fatal(err)
	}
	const memoryLimit, maxBytes, maxConcurrent = 1 << 30, 32 << 20, 4
	s := startServed(t, dir, db, fmt.Sprintf("duckdb:\n  memory_limit: 1GiB\nquery:\n  max_bytes: %d\n  max_concurrent: %d\n", maxBytes, maxConcurrent))
	base := s.rss(t, "VmRSS")
	margin := int64(1<<30 + maxConcurrent*maxBytes)
	for _, q := range []string{
		"SELECT repeat('x', 1000000) AS s FROM range(1000)",
		"SELECT repeat(service, 200000) AS s, * FROM events, range(20)",
	} {
		var wg sync.WaitGroup
		codes := make(chan int, 20)
		sizes := make(chan int, 20)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, _ := json.Marshal(map[string]string{"sql": q})
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.base+"/api/query", bytes.NewReader(b))
				if err != nil {
					codes <- -1
					return
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					codes <- -1
					return
				}
				defer resp.Body.Close()
				n, _ := io.Copy(io.Discard, resp.Body)
				codes <- resp.StatusCode
				sizes <- int(n)
			}()
		}
		wg.Wait()
		close(codes)
		close(sizes)
		for c := range codes {
			if c != 200 && c != 400 && c != 503 {
				t.Errorf("%s: HTTP %d", q, c)
			}
		}
		for n := range sizes {
			if n > maxBytes+1<<20 {
				t.Errorf("%s: a %d-byte body under a %d-byte cap", q, n, maxBytes)
			}
		}
		hwm := s.rss(t, "VmHWM")
		t.Logf("%s x20: serve RSS %d MiB at start, peak %d MiB (bound %d MiB)", q, base>>20, hwm>>20, (base+memoryLimit+margin)>>20)
		if hwm-base > memoryLimit+margin {
			t.Errorf("%s x20: serve's peak RSS grew by %d MiB, more than duckdb.memory_limit (%d MiB) + %d MiB", q, (hwm-base)>>20, memoryLimit>>20, margin>>20)
		}
	}
}

// A compression bomb given to faultline load costs what the decompression
// cap allows, not several times it: the .gz is counted before anything is
// allocated and refused as one dead letter.
func TestSecurityGzipBomb(t *testing.T) {
	dir := t.TempDir()
	bomb := filepath.Join(dir, "bomb.json.gz")
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 1024 { // 1 GiB of zeros in about 1 MB
		if _, err := zw.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bomb, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	const cap = 256 << 20
	// through the launcher (main_test.go): the Maxrss of a child of this
	// test process would include this process's own peak
	cmd := faultlineCmd(context.Background(), dir, "load", "--db", filepath.Join(dir, "b.duckdb"), "--log-level", "error", bomb)
	cmd.Env = append(cmd.Env, fmt.Sprintf("FAULTLINE_TRANSFORM_MAX_DECOMPRESSED_BYTES=%d", cap), "FAULTLINE_TEST_MAIN=", "FAULTLINE_TEST_PEAK_RSS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("faultline load of a bomb: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "decompressed_too_large: 1") {
		t.Errorf("the bomb is not one decompressed_too_large dead letter:\n%s", out)
	}
	m := regexp.MustCompile(`peak-rss (\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the launcher wrote no peak-rss line:\n%s", out)
	}
	maxrss, _ := strconv.ParseInt(string(m[1]), 10, 64)
	t.Logf("faultline load of a %d-byte gzip of 1 GiB, cap %d MiB: max RSS %d MiB", b.Len(), cap>>20, maxrss>>20)
	if maxrss > cap {
		t.Errorf("faultline load of a gzip bomb: max RSS %d MiB, over the %d MiB decompression cap", maxrss>>20, cap>>20)
	}
}
