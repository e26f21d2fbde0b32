package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
)

func summaryInt(t *testing.T, out, pattern string) int {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("summary lacks %q:\n%s", pattern, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestLoadCommand loads the sample files twice: the second load adds nothing.
func TestLoadCommand(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "l.duckdb")
	samples := "../../transform/testdata/samples"
	out, _, err := runCmd(ctx, t, "load", "--db", db, "--log-level", "warn", samples)
	if err != nil {
		t.Fatal(err)
	}
	files := summaryInt(t, out, `files:\s+(\d+) \(`)
	if loaded := summaryInt(t, out, `\((\d+) loaded`); loaded != files || files == 0 {
		t.Errorf("first load: %d of %d files loaded\n%s", loaded, files, out)
	}
	if ev := summaryInt(t, out, `(?m)^events:\s+(\d+)`); ev < 200 {
		t.Errorf("first load: %d events, want the samples' 200+\n%s", ev, out)
	}
	out, _, err = runCmd(ctx, t, "load", "--db", db, "--log-level", "warn", samples)
	if err != nil {
		t.Fatal(err)
	}
	if ev := summaryInt(t, out, `(?m)^events:\s+(\d+)`); ev != 0 {
		t.Errorf("second load added %d events\n%s", ev, out)
	}
	if un := summaryInt(t, out, `(\d+) unchanged`); un != files {
		t.Errorf("second load: %d unchanged, want %d\n%s", un, files, out)
	}
}

// A file truncated since it was loaded is left as loaded: the command ends
// with one line naming the file and --replace-changed, and the flag reloads.
func TestLoadCommandChangedFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, file := filepath.Join(dir, "l.duckdb"), filepath.Join(dir, "app.ndjson")
	line := func(i int) string {
		return fmt.Sprintf(`{"time":"2025-10-20T07:%02d:00Z","service":"checkout","level":"error","message":"m%d"}`, i, i)
	}
	if err := os.WriteFile(file, []byte(line(1)+"\n"+line(2)+"\n"+line(3)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(ctx, t, "load", "--db", db, "--log-level", "error", file); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(line(1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(ctx, t, "load", "--db", db, "--log-level", "error", file)
	if err == nil || !strings.Contains(err.Error(), "--replace-changed") || !strings.Contains(err.Error(), "app.ndjson") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("truncated file: %v; want one line naming the file and --replace-changed", err)
	}
	if !strings.Contains(out, "1 changed and left as loaded") {
		t.Errorf("summary does not count the file left as loaded:\n%s", out)
	}
	out, _, err = runCmd(ctx, t, "load", "--db", db, "--log-level", "error", "--replace-changed", file)
	if err != nil || !strings.Contains(out, "1 changed and reloaded") || summaryInt(t, out, `(?m)^events:\s+(\d+)`) != 1 {
		t.Fatalf("--replace-changed: %v\n%s", err, out)
	}
}

// TestLoadCloudFormats: --format gcpaudit and azureactivity load the real
// Google Cloud and Azure samples with no dead letter, each event carrying
// its provider.
func TestLoadCloudFormats(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		format, dir, provider string
		events                int
	}{
		{"gcpaudit", "gcp", "gcp", 15},
		{"azureactivity", "azure", "azure", 8},
	} {
		t.Run(tc.format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.duckdb")
			out, _, err := runCmd(ctx, t, "load", "--db", path, "--log-level", "warn", "--format", tc.format, filepath.Join("../../transform/testdata/samples", tc.dir))
			if err != nil {
				t.Fatal(err)
			}
			if ev, dl := summaryInt(t, out, `(?m)^events:\s+(\d+)`), summaryInt(t, out, `(?m)^dead letters:\s+(\d+)`); ev != tc.events || dl != 0 {
				t.Fatalf("%d events, %d dead letters; want %d, 0\n%s", ev, dl, tc.events, out)
			}
			db, err := store.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM events WHERE cloud_provider = ?", tc.provider).Scan(&n); err != nil || n != tc.events {
				t.Fatalf("%d %s events (%v), want %d", n, tc.provider, err, tc.events)
			}
		})
	}
}

// TestIngestCommandUsage: a mistake in how a command is called is a usage
// error (exit status 2) that says what to do. Missing or extra positional
// arguments used to get cobra's "requires at least 1 arg(s), only received
// 0" with exit status 1.
func TestIngestCommandUsage(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ingest", "--topic", "noformat"}, ""},
		{[]string{"ingest", "--topic", "t=xml"}, ""},
		{[]string{"load", "--format", "xml", "."}, ""},
		{[]string{"load"}, "needs at least one FILE or DIR"},
		// It used to create the database, print a summary of zeros and
		// end in "stat ...: no such file or directory".
		{[]string{"load", "../../transform/testdata/sampels"}, "does not exist: did you mean ../../transform/testdata/samples? (nothing was loaded)"},
		{[]string{"merge"}, "needs at least one DuckDB FILE"},
		{[]string{"query", "SELECT", "1"}, "quote the SQL"},
	} {
		db := filepath.Join(t.TempDir(), "x.duckdb")
		_, _, err := runCmd(ctx, t, append(c.args, "--db", db)...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want a usage error saying %q", c.args, err, c.want)
		}
		if _, err := os.Stat(db); err == nil {
			t.Errorf("%v: created the database %s", c.args, db)
		}
	}
}

// TestIngestUnknownBrokerHost: a batch ingest whose --brokers names a host
// DNS does not know is a usage error at once (it retried for
// ingest.give_up_after, 2m, first).
func TestIngestUnknownBrokerHost(t *testing.T) {
	const host = "faultline-no-such-broker.invalid"
	var dnsErr *net.DNSError
	if _, err := net.DefaultResolver.LookupHost(t.Context(), host); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Skipf("this machine's DNS does not answer %s with no such host (got %v)", host, err)
	}
	db := filepath.Join(t.TempDir(), "x.duckdb")
	_, _, err := runCmd(t.Context(), t, "ingest", "--db", db, "--brokers", host+":9092", "--topic", "t=cloudtrail", "--exit-when-caught-up")
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "no such host "+host) || !strings.Contains(err.Error(), "fix --brokers") {
		t.Errorf("err = %v, want a usage error naming the host and --brokers", err)
	}
}

// TestMergeCommandNotADatabase: a FILE that is not a DuckDB database (or a
// directory, or missing) is refused before the target is created; a text
// file got "Catalog Error: Cannot launch in-memory database in read-only
// mode!" and an empty target.
func TestMergeCommandNotADatabase(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(text, []byte(`{"service":"x"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ src, want string }{
		{text, "it is not a DuckDB database file (name an existing faultline DuckDB file)"},
		{dir, "it is a directory"},
		{filepath.Join(dir, "missing.duckdb"), "no such file or directory"},
	} {
		target := filepath.Join(t.TempDir(), "all.duckdb")
		_, _, err := runCmd(t.Context(), t, "merge", "--db", target, c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("merge %s: %v, want %q", c.src, err, c.want)
		}
		if _, err := os.Stat(target); err == nil {
			t.Errorf("merge %s created the target", c.src)
		}
	}
}

// TestMergeCommand loads the samples into a.duckdb and one sample directory
// into b.duckdb too (records both files hold), then merges both into a new
// file: every record once, and a second merge adds nothing.
func TestMergeCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b, all := filepath.Join(dir, "a.duckdb"), filepath.Join(dir, "b.duckdb"), filepath.Join(dir, "all.duckdb")
	samples := "../../transform/testdata/samples"
	out, _, err := runCmd(ctx, t, "load", "--db", a, "--log-level", "warn", samples)
	if err != nil {
		t.Fatal(err)
	}
	total := summaryInt(t, out, `(?m)^events:\s+(\d+)`)
	out, _, err = runCmd(ctx, t, "load", "--db", b, "--log-level", "warn", samples+"/cloudtrail")
	if err != nil {
		t.Fatal(err)
	}
	shared := summaryInt(t, out, `(?m)^events:\s+(\d+)`)
	if shared == 0 || shared >= total {
		t.Fatalf("b holds %d of a's %d events; the test needs a proper subset", shared, total)
	}
	out, _, err = runCmd(ctx, t, "merge", "--db", all, "--log-level", "warn", a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := summaryInt(t, out, `a\.duckdb: (\d+) events added`); got != total {
		t.Errorf("merge of a added %d events, want %d\n%s", got, total, out)
	}
	if got := summaryInt(t, out, `b\.duckdb: (\d+) events added`); got != 0 {
		t.Errorf("merge of b added %d events, want 0 (a held them all)\n%s", got, out)
	}
	if got := summaryInt(t, out, `b\.duckdb: \d+ events added \((\d+) already present\)`); got != shared {
		t.Errorf("merge of b found %d already present, want %d\n%s", got, shared, out)
	}
	out, _, err = runCmd(ctx, t, "query", "--db", all, "--format", "csv", "SELECT count(*) AS n FROM events")
	if err != nil {
		t.Fatal(err)
	}
	if got := summaryInt(t, out, `(?m)^(\d+)$`); got != total {
		t.Errorf("merged file holds %d events, want %d", got, total)
	}
	// The rollups came along: every merged event once in activity_minutes,
	// every change in changes.
	out, _, err = runCmd(ctx, t, "query", "--db", all, "--format", "csv",
		"SELECT (SELECT sum(events) FROM activity_minutes) = count(*) AND (SELECT count(*) FROM changes) = count(*) FILTER (WHERE kind = 'change') AS ok FROM events")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "true") {
		t.Errorf("the merged file's rollups do not match its events:\n%s", out)
	}
	_, _, err = runCmd(ctx, t, "merge", "--db", all, "--log-level", "warn", filepath.Join(dir, "missing.duckdb"))
	if err == nil {
		t.Errorf("merging a missing file succeeded")
	}
}

// TestLoadCommandEmptyFile: load of a 0-byte file says it is empty and
// exits 1 (nothing to load, as for a directory without files) before the
// database is created; it printed a summary with one dead letter and exited
// 0.
func TestLoadCommandEmptyFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "trail.json")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "l.duckdb")
	out, _, err := runCmd(t.Context(), t, "load", "--db", db, empty)
	var ue usageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), empty+": the file is empty (0 bytes), nothing was loaded") {
		t.Errorf("load of an empty file: %v, want a failure (exit 1) saying it is empty", err)
	}
	if out != "" {
		t.Errorf("load of an empty file printed %q", out)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("load of an empty file created the database")
	}
}

// TestFailedRunLeavesNoNewFile: a merge that fails on a source another
// process holds, into a --db it created, removes that empty file (it was
// left behind, and the next run took it for a real database); a file that
// existed before is kept.
func TestFailedRunLeavesNoNewFile(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx := t.Context()
	src, err := store.Open(ctx, "src.duckdb")
	if err != nil {
		t.Fatal(err)
	}
	src.Close()
	defer holdDB(t, "src.duckdb")()
	_, _, err = runCmd(ctx, t, "merge", "--db", "all.duckdb", "src.duckdb")
	if err == nil {
		t.Fatal("merge of a held source succeeded")
	}
	if _, serr := os.Stat("all.duckdb"); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("the failed merge (%v) left all.duckdb behind: %v", err, serr)
	}
	kept, err := store.Open(ctx, "kept.duckdb")
	if err != nil {
		t.Fatal(err)
	}
	kept.Close()
	if _, _, err = runCmd(ctx, t, "merge", "--db", "kept.duckdb", "src.duckdb"); err == nil {
		t.Fatal("merge of a held source succeeded")
	}
	if _, err := os.Stat("kept.duckdb"); err != nil {
		t.Errorf("a failed merge removed the existing target: %v", err)
	}

	// A first ingest of a topic that does not exist fails at once (batch
	// mode), and takes its new file with it.
	b := startBrokerCmd(t, "broker", "--listen", "127.0.0.1:0", "--topic", "real:1")
	_, _, err = runCmd(ctx, t, "ingest", "--db", "k.duckdb", "--brokers", b.addr, "--topic", "nope=app", "--exit-when-caught-up")
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("ingest of a missing topic: %v", err)
	}
	if _, serr := os.Stat("k.duckdb"); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("the failed ingest (%v) left k.duckdb behind: %v", err, serr)
	}

	// A streaming ingest stopped (Ctrl-C) before the first message
	// succeeds, and takes its new file with it; once it has stored
	// something, the file stays.
	stopped := func(db string, after time.Duration) {
		t.Helper()
		sctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(after, cancel)
		if _, _, err := runCmd(sctx, t, "ingest", "--db", db, "--brokers", b.addr, "--topic", "real=app"); err != nil {
			t.Fatalf("ingest stopped by a signal: %v, want a clean stop", err)
		}
	}
	stopped("s.duckdb", 2*time.Second)
	if _, serr := os.Stat("s.duckdb"); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("the ingest stopped before any message left s.duckdb behind: %v", serr)
	}
	one := `{"time":"2026-03-02T09:00:00Z","service":"api","level":"error","message":"boom"}` + "\n"
	if err := os.WriteFile("one.ndjson", []byte(one), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(ctx, t, "produce", "--brokers", b.addr, "--topic", "real", "one.ndjson"); err != nil {
		t.Fatal(err)
	}
	stopped("s.duckdb", 8*time.Second) // ample time to store the message
	if _, serr := os.Stat("s.duckdb"); serr != nil {
		t.Fatalf("the ingest stopped after a message removed its file: %v", serr)
	}
	if n := countEvents(t, "s.duckdb"); n != 1 {
		t.Errorf("the stopped ingest stored %d events, want 1", n)
	}
}
