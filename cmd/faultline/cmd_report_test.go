package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faultline/faultline/dashboards"
	"github.com/faultline/faultline/dashboards/report"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform"
)

// outageDB writes a DuckDB file with a small outage on 2025-10-20: quiet
// traffic from 06:00, a route change at 07:01:30, orders erroring 07:04-07:30
// and checkout 07:06-07:30 at 30 and 20 errors per minute.
func outageDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outage.duckdb")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	testkit.Seed(t, db, outageEvents()...)
	return path
}

// outageEvents is the outage of outageDB.
func outageEvents() []transform.Event {
	at := func(clock string) time.Time {
		t, err := time.Parse(time.RFC3339, "2025-10-20T"+clock+"Z")
		if err != nil {
			panic(err)
		}
		return t
	}
	var evs []transform.Event
	for _, s := range []string{"orders", "checkout"} {
		evs = append(evs, testkit.Repeat(24, "bg-"+s+"-", testkit.Every(at("06:00:07"), 5*time.Minute),
			transform.Event{Source: "app", Kind: "error", Service: s, Region: "us-east-1", SeverityNumber: 17, Message: "background"})...)
	}
	evs = append(evs, testkit.Repeat(26*30, "o-", testkit.Every(at("07:04:01"), 2*time.Second), transform.Event{
		ObservedTime: at("07:04:01"), Source: "app", Kind: "error", Service: "orders", Region: "us-east-1", SeverityNumber: 17,
		ErrorCode: "DynamoDBTimeout", Message: "timeout"})...)
	evs = append(evs, testkit.Repeat(24*20, "c-", testkit.Every(at("07:06:01"), 3*time.Second), transform.Event{
		ObservedTime: at("07:06:01"), Source: "app", Kind: "error", Service: "checkout", Region: "us-east-1", SeverityNumber: 17,
		ErrorCode: "UpstreamTimeout", Message: "upstream"})...)
	return append(evs, transform.Event{EventID: "ct-route", Time: at("07:01:30"), ObservedTime: at("07:01:30"), Source: "cloudtrail",
		Kind: "change", Service: "ec2", Operation: "ReplaceRoute", Region: "us-east-1", Resource: "rtb-1", Actor: "alice",
		ChangeType: "networking", RiskClass: "critical"})
}

func TestReportCommand(t *testing.T) {
	ctx := context.Background()
	dbPath := outageDB(t)
	dir := t.TempDir()
	window := []string{"--since", "2025-10-20T06:00:00Z", "--until", "2025-10-20T08:00:00Z"}

	// Markdown to a file: charts beside it.
	md := filepath.Join(dir, "outage.md")
	if _, stderr, err := runCmd(ctx, t, append([]string{"--db", dbPath, "report", "--out", md}, window...)...); err != nil {
		t.Fatalf("report --out md: %v\n%s", err, stderr)
	}
	body, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"## Incident 1: orders, checkout", "**#1 ReplaceRoute**", "(outage.files/incident-1-errors.svg)"} {
		if !strings.Contains(string(body), s) {
			t.Errorf("markdown report lacks %q", s)
		}
	}
	for _, f := range []string{"incident-1-errors.svg", "incident-1-cascade.svg"} {
		if b, err := os.ReadFile(filepath.Join(dir, "outage.files", f)); err != nil || !strings.HasPrefix(string(b), "<svg") {
			t.Errorf("chart %s beside the report: %v", f, err)
		}
	}

	// JSON to stdout, format from the flag.
	stdout, stderr, err := runCmd(ctx, t, append([]string{"--db", dbPath, "report", "--format", "json"}, window...)...)
	if err != nil {
		t.Fatalf("report --format json: %v\n%s", err, stderr)
	}
	var doc struct {
		Summary struct{ Incidents, Errors int }
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if doc.Summary.Incidents != 1 || doc.Summary.Errors != 48+26*30+24*20 {
		t.Errorf("summary = %+v, want 1 incident and %d errors", doc.Summary, 48+26*30+24*20)
	}

	// HTML, format from the extension, charts inline.
	html := filepath.Join(dir, "outage.html")
	if _, stderr, err := runCmd(ctx, t, append([]string{"--db", dbPath, "report", "--out", html}, window...)...); err != nil {
		t.Fatalf("report --out html: %v\n%s", err, stderr)
	}
	if b, _ := os.ReadFile(html); strings.Count(string(b), "<svg") != 2 {
		t.Errorf("html report has %d inline charts, want 2", strings.Count(string(b), "<svg"))
	}
}

func TestReportCommandErrors(t *testing.T) {
	ctx := context.Background()
	dbPath := outageDB(t)
	dir := t.TempDir()
	tests := []struct {
		args  []string
		usage bool
		want  string
	}{
		// --out naming a directory used to end, after the work, in
		// "write /tmp: rename /.tmp.tmp-1 /tmp: file exists", the
		// temporary file made in the directory's parent.
		{[]string{"--db", dbPath, "report", "--out", dir}, true, "is a directory: name a file, e.g. --out " + filepath.Join(dir, "report.md")},
		{[]string{"--db", dbPath, "report", "--out", filepath.Join(dir, "no", "r.html")}, true, "does not exist: create it first"},
		{[]string{"--db", dbPath, "report", "--out", filepath.Join(dir, "outage.pdf")}, true, "the format cannot be told from .pdf"},
		{[]string{"--db", dbPath, "query", "--format", "csv", "--out", dir, "SELECT 1"}, true, "is a directory"},
		// query said "no events between 11:00 and 09:00" (exit 1).
		{[]string{"--db", dbPath, "query", "--named", "suspects", "--since", "2025-10-20T11:00:00Z", "--until", "2025-10-20T09:00:00Z"}, true, "--until 2025-10-20T09:00:00Z is not after --since"},
		{[]string{"--db", dbPath, "query", "--format", "parquet", "--out", filepath.Join(dir, "no", "r.parquet"), "SELECT 1"}, true, "does not exist"},
		{[]string{"--db", dbPath, "report", "--format", "pdf"}, true, `--format "pdf" is not supported`},
		{[]string{"--db", dbPath, "report", "--since", "yesterday"}, true, "--since"},
		{[]string{"--db", dbPath, "report", "--since", "2025-10-20", "--until", "2025-10-19"}, true, "is not after"},
		{[]string{"--db", dbPath, "report", "--schedule", "nope"}, true, "no schedules are configured"},
		{[]string{"--db", dbPath, "--config", hourlySchedule(t, t.TempDir(), "md", ""), "report", "--schedule", "huorly"}, true, `--schedule "huorly" is not configured (did you mean hourly?): use one of hourly`},
		{[]string{"--db", dbPath, "--config", hourlySchedule(t, t.TempDir(), "md", ""), "report", "--schedule", "weekly"}, true, `--schedule "weekly" is not configured: use one of hourly`},
		{[]string{"--db", filepath.Join(t.TempDir(), "missing.duckdb"), "report"}, false, "does not exist"},
	}
	for _, tt := range tests {
		_, _, err := runCmd(ctx, t, tt.args...)
		var ue usageError
		if err == nil || !strings.Contains(err.Error(), tt.want) || errors.As(err, &ue) != tt.usage {
			t.Errorf("%v: err = %v (usage %v), want %q (usage %v)", tt.args, err, errors.As(err, &ue), tt.want, tt.usage)
		}
	}
}

// hourlySchedule writes dir/faultline.yaml with the schedule "hourly"
// (reports in format to dir/out) and its webhook's settings, and returns
// its path.
func hourlySchedule(t *testing.T, dir, format, webhook string) string {
	t.Helper()
	cfg := filepath.Join(dir, "faultline.yaml")
	yaml := `reports:
  schedules:
    - name: hourly
      cron: "0 * * * *"
      window: 100000h
      format: ` + format + `
      dir: ` + filepath.Join(dir, "out") + `
      webhook:` + webhook + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestReportSchedule runs a configured schedule once: the YAML schedules
// list decodes, the report lands in its directory and the webhook gets the
// markdown summary.
func TestReportSchedule(t *testing.T) {
	ctx := context.Background()
	dbPath := outageDB(t)
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Header.Get("Authorization") + "\n" + string(b)
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := hourlySchedule(t, dir, "html", `
        url: `+srv.URL+`
        payload: markdown
        token: t0ken
        retries: -1
        timeout: 5s`)
	stdout, stderr, err := runCmd(ctx, t, "--config", cfg, "--db", dbPath, "report", "--schedule", "hourly")
	if err != nil {
		t.Fatalf("report --schedule: %v\n%s", err, stderr)
	}
	path := strings.TrimSpace(stdout)
	if filepath.Dir(path) != filepath.Join(dir, "out") || !strings.HasPrefix(filepath.Base(path), "hourly-") || filepath.Ext(path) != ".html" {
		t.Errorf("report path %q", path)
	}
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
	select {
	case msg := <-got:
		if !strings.HasPrefix(msg, "Bearer t0ken\n**Impact report: hourly**") || !strings.Contains(msg, "ReplaceRoute") {
			t.Errorf("webhook got %q", msg)
		}
	default:
		t.Error("the webhook was not called")
	}
}

// TestReportScheduleWebhookFails: report --schedule whose webhook does not
// take the summary after its retries fails (exit status 1, not a usage
// error) with an error naming the schedule, the webhook and its answer;
// the report is written and its path printed. It used to log the failure
// and exit 0.
func TestReportScheduleWebhookFails(t *testing.T) {
	ctx := context.Background()
	dbPath := outageDB(t)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := hourlySchedule(t, dir, "md", `
        url: `+srv.URL+`/hook?token=s3cret
        retries: 1
        backoff: 10ms
        timeout: 5s`)
	stdout, stderr, err := runCmd(ctx, t, "--config", cfg, "--db", dbPath, "report", "--schedule", "hourly")
	var ue usageError
	if err == nil || errors.As(err, &ue) {
		t.Fatalf("report --schedule with a failing webhook: %v (usage error %v), want a failure\n%s", err, errors.As(err, &ue), stderr)
	}
	path := strings.TrimSpace(stdout)
	want := "webhook " + srv.URL + "/hook?redacted of schedule hourly not delivered after 2 attempt(s): webhook answered 502 Bad Gateway; the report is written to " + path + ": check webhook.url of schedule hourly (reports.schedules) and that its receiver is up, then run faultline report --schedule hourly again"
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
	if strings.Contains(err.Error()+stderr, "s3cret") {
		t.Error("the webhook token in the URL query was shown")
	}
	if _, serr := os.Stat(path); serr != nil || filepath.Dir(path) != filepath.Join(dir, "out") {
		t.Errorf("report path %q: %v", path, serr)
	}
	if calls.Load() != 2 {
		t.Errorf("webhook called %d times, want 2 (1 + 1 retry)", calls.Load())
	}
	if !strings.Contains(stderr, "webhook not delivered, giving up") {
		t.Errorf("the failure is not logged:\n%s", stderr)
	}
}

// TestReportServer: with --server the report asks a running faultline serve
// (here its real HTTP handler over an in-memory store) and says exactly what
// a report built next to the database says.
func TestReportServer(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	testkit.Seed(t, db, outageEvents()...)
	engine := queries.NewEngine(db.DB, queries.DefaultCorrelationConfig(), nil)
	sb, err := queries.NewSandbox(ctx, db.DB, queries.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := dashboards.New(dashboards.Options{Config: dashboards.DefaultConfig(), Engine: engine, Sandbox: sb, MaxRows: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	stdout, stderr, err := runCmd(ctx, t, "--db", filepath.Join(t.TempDir(), "not-opened.duckdb"), "report", "--server", ts.URL,
		"--format", "json", "--since", "2025-10-20T06:00:00Z", "--until", "2025-10-20T08:00:00Z")
	if err != nil {
		t.Fatalf("report --server: %v\n%s", err, stderr)
	}
	var remote report.Report
	if err := json.Unmarshal([]byte(stdout), &remote); err != nil {
		t.Fatalf("not a JSON report: %v\n%s", err, stdout)
	}
	local, err := report.Build(ctx, engine, report.Options{
		Window: queries.Window{Since: remote.Window.Since, Until: remote.Window.Until}, Now: remote.GeneratedAt,
	})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := report.Render(local, report.FormatJSON, "")
	if stdout != string(want.Body) {
		t.Errorf("report over --server differs from the local report:\n got %s\nwant %s", stdout, want.Body)
	}
	if remote.Summary.Incidents != 1 {
		t.Errorf("remote report has %d incidents, want 1", remote.Summary.Incidents)
	}
}

// TestServeRunsReportSchedules: faultline serve runs a per-second schedule
// whose webhook always fails; reports keep being written, the server keeps
// answering, and serve shuts down cleanly (the failures never reach its
// errgroup).
func TestServeRunsReportSchedules(t *testing.T) {
	t.Chdir(t.TempDir())
	dbPath := outageDB(t)
	var calls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer hook.Close()
	addr := freeAddr(t)
	out := filepath.Join(t.TempDir(), "reports")
	cfg := filepath.Join(t.TempDir(), "serve.yaml")
	yaml := fmt.Sprintf(`db: %s
kafka:
  topics: []
serve:
  listen: %s
reports:
  schedules:
    - name: tick
      cron: "* * * * * *"
      window: 100000h
      format: md
      dir: %s
      webhook: {url: %s, retries: 1, backoff: 10ms, max_backoff: 20ms, timeout: 2s}
`, dbPath, addr, out, hook.URL)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- startCmd(ctx, &stdout, &stderr, "--config", cfg, "serve") }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		reports, _ := filepath.Glob(filepath.Join(out, "tick-*.md"))
		if len(reports) >= 2 && calls.Load() >= 4 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("after 60s: %d reports, %d webhook calls; serve err: %v", len(reports), calls.Load(), <-done)
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped while the schedule was failing: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	resp, err := testkit.Get(t, "http://"+addr+"/healthz")
	if err != nil {
		t.Fatalf("serve stopped answering: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %d while the webhook fails, want 200", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after shutdown, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
}
