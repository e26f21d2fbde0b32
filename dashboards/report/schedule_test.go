package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/queries"
)

// syncBuffer is a log sink safe for the scheduler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logLines returns the JSON log records with the given message.
func logLines(t *testing.T, logs, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// receiver is a local webhook endpoint that fails the first `fail`
// requests with 503, then accepts and records the bodies.
type receiver struct {
	fail     int32
	calls    atomic.Int32
	mu       sync.Mutex
	bodies   [][]byte
	types    []string
	received chan struct{}
}

func newReceiver(t *testing.T, fail int32) (*receiver, *httptest.Server) {
	rc := &receiver{fail: fail, received: make(chan struct{}, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rc.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if n <= rc.fail {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, body)
		rc.types = append(rc.types, r.Header.Get("Content-Type"))
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		select {
		case rc.received <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	return rc, srv
}

// fastSleep makes backoff delays instant but keeps cancellation; it
// records the delays asked for.
type fastSleep struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (f *fastSleep) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.delays = append(f.delays, d)
	f.mu.Unlock()
	return ctx.Err()
}

func TestSchedulerFiresWritesAndDelivers(t *testing.T) {
	f := newFixtureDB(t)
	dir := t.TempDir()
	rc, srv := newReceiver(t, 2) // two 503s, then success
	logs := &syncBuffer{}
	cfg := Config{Schedules: []Schedule{{
		Name: "every-second", Cron: "* * * * * *", Window: 3 * time.Hour, Format: FormatMarkdown, Dir: dir,
		Webhook: Webhook{URL: srv.URL + "/hook?token=s3cret", Retries: 3, Backoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond},
	}}}
	s, err := NewScheduler(cfg, newSource(t, f), slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// The report clock sits in the fixture's outage so the reports have an
	// incident; the cron timer still runs on the real clock (every second).
	offset := time.Since(clock("08:00"))
	s.now = func() time.Time { return time.Now().Add(-offset) }
	s.jitter = func(n int64) int64 { return n - 1 }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("scheduler logs:\n%s", logs)
		}
	})
	testkit.Await(t, 20*time.Second, "the first report's webhook to be delivered (and logged)", func() bool {
		return len(logLines(t, logs.String(), "webhook delivered")) > 0
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}

	rc.mu.Lock()
	body, ctype := rc.bodies[0], rc.types[0]
	rc.mu.Unlock()
	if ctype != "application/json" {
		t.Errorf("webhook content type %q, want application/json", ctype)
	}
	var brief Brief
	if err := json.Unmarshal(body, &brief); err != nil {
		t.Fatalf("webhook body is not a JSON brief: %v\n%s", err, body)
	}
	if brief.Schedule != "every-second" || brief.Summary.Incidents < 1 || len(brief.Incidents) != brief.Summary.Incidents || brief.Incidents[0].TopSuspect == nil {
		t.Errorf("brief lacks the schedule or its incident: %s", body)
	}
	if !strings.HasPrefix(brief.Report, dir) || filepath.Ext(brief.Report) != ".md" {
		t.Errorf("brief names report %q, want a .md file in %s", brief.Report, dir)
	}
	written, err := os.ReadFile(brief.Report)
	if err != nil {
		t.Fatalf("the report the webhook names is not there: %v", err)
	}
	if !bytes.HasPrefix(written, []byte("# Impact report: every-second\n")) {
		t.Errorf("report %s starts with %q", brief.Report, written[:min(len(written), 60)])
	}
	// Timestamped name = the window's end, which is the brief's until.
	wantName := "every-second-" + brief.Window.Until.Format("20060102T150405Z") + ".md"
	if filepath.Base(brief.Report) != wantName {
		t.Errorf("report name %s, want %s", filepath.Base(brief.Report), wantName)
	}
	if brief.Window.Until.Sub(brief.Window.Since) != 3*time.Hour {
		t.Errorf("window %s..%s, want 3h", brief.Window.Since, brief.Window.Until)
	}
	// Atomic writes leave no temporary files; charts sit beside the report.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	charts, _ := filepath.Glob(filepath.Join(strings.TrimSuffix(brief.Report, ".md")+".files", "incident-*-errors.svg"))
	if len(charts) == 0 {
		t.Errorf("no chart written beside %s", brief.Report)
	}

	// Two retries logged as warnings with growing delays, then delivery.
	out := logs.String()
	warns := logLines(t, out, "webhook attempt failed, retrying")
	if len(warns) < 2 {
		t.Fatalf("want 2 retry warnings, got %d; logs:\n%s", len(warns), out)
	}
	d1 := time.Duration(warns[0]["retry_in"].(float64)) // slog's JSON writes durations in ns
	d2 := time.Duration(warns[1]["retry_in"].(float64))
	if d1 <= 0 || d2 <= d1 || d2 > 40*time.Millisecond {
		t.Errorf("backoff delays %s then %s: want growing, capped at 40ms", d1, d2)
	}
	ok := logLines(t, out, "webhook delivered")
	if len(ok) == 0 || ok[0]["attempts"] != float64(3) {
		t.Errorf("want a delivery logged after 3 attempts; logs:\n%s", out)
	}
	if strings.Contains(out, "s3cret") {
		t.Error("the webhook token in the URL query was logged")
	}
}

// TestSchedulerWebhookFailure: a webhook that never takes the summary is
// retried, logged at ERROR, and Fire returns the written report's path with
// a *WebhookError naming the schedule, the URL, the attempts and the last
// answer (it used to return no error, so report --schedule exited 0).
func TestSchedulerWebhookFailure(t *testing.T) {
	f := newFixtureDB(t)
	dir := t.TempDir()
	rc, srv := newReceiver(t, 1<<30) // always 503
	logs := &syncBuffer{}
	sc := Schedule{Name: "nightly", Cron: "@daily", Window: 2 * time.Hour, Format: FormatJSON, Dir: dir,
		Webhook: Webhook{URL: srv.URL, Payload: "markdown", Retries: 2, Backoff: time.Second, MaxBackoff: 3 * time.Second}}
	s, err := NewScheduler(Config{Schedules: []Schedule{sc}}, newSource(t, f), slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	fs := &fastSleep{}
	s.sleep = fs.sleep
	s.now = func() time.Time { return clock("08:00:05") }
	path, err := s.Fire(context.Background(), sc, clock("08:00"))
	var we *WebhookError
	if !errors.As(err, &we) || we.Schedule != "nightly" || we.URL != srv.URL || we.Attempts != 3 {
		t.Fatalf("Fire = %v, want a *WebhookError for schedule nightly, %s, 3 attempts", err, srv.URL)
	}
	if want := "webhook " + srv.URL + " of schedule nightly not delivered after 3 attempt(s): webhook answered 503 Service Unavailable"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if rc.calls.Load() != 3 {
		t.Errorf("webhook called %d times, want 3 (1 + 2 retries)", rc.calls.Load())
	}
	if len(fs.delays) != 2 || fs.delays[0] < 500*time.Millisecond || fs.delays[0] > time.Second || fs.delays[1] < time.Second || fs.delays[1] > 2*time.Second {
		t.Errorf("backoff delays %v: want one in [0.5s,1s] then one in [1s,2s]", fs.delays)
	}
	gaveUp := logLines(t, logs.String(), "webhook not delivered, giving up")
	if len(gaveUp) != 1 || gaveUp[0]["status"] != float64(503) || gaveUp[0]["level"] != "ERROR" {
		t.Errorf("want one error log giving up with status 503; logs:\n%s", logs)
	}
	var r Report
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report %s is not JSON: %v", path, err)
	}
	if filepath.Base(path) != "nightly-20251020T080000Z.json" || !r.Window.Since.Equal(clock("06:00")) {
		t.Errorf("report %s covers %s..%s", path, r.Window.Since, r.Window.Until)
	}
}

// TestSchedulerWebhookRetries: a schedule fired as Run fires it (the
// schedule NewScheduler kept, its defaults applied; faultline also applies
// them when it loads the configuration) tries the webhook 1 + retries
// times. retries: -1 (none) used to become 0 in NewScheduler, then the
// default 4 in Fire: five attempts.
func TestSchedulerWebhookRetries(t *testing.T) {
	f := newFixtureDB(t)
	tests := []struct {
		name    string
		retries int
		calls   int32
	}{
		{"none", -1, 1},
		{"default", 0, 5},
		{"two", 2, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc, srv := newReceiver(t, 1<<30) // always 503
			sc := Schedule{Name: "nightly", Cron: "@daily", Window: 2 * time.Hour, Format: FormatJSON, Dir: t.TempDir(),
				Webhook: Webhook{URL: srv.URL, Retries: tc.retries}}
			cfg := Config{Schedules: []Schedule{sc}}.WithDefaults()
			s, err := NewScheduler(cfg, newSource(t, f), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			s.sleep = (&fastSleep{}).sleep
			s.now = func() time.Time { return clock("08:00:05") }
			_, err = s.Fire(context.Background(), s.schedules[0], clock("08:00"))
			var we *WebhookError
			if !errors.As(err, &we) {
				t.Fatalf("Fire: %v, want the undelivered webhook as a WebhookError", err)
			}
			if got := rc.calls.Load(); got != tc.calls {
				t.Errorf("retries %d: webhook called %d times, want %d", tc.retries, got, tc.calls)
			}
		})
	}
}

// TestScheduleWithDefaults: the defaults docs/reports.md lists, and
// applying them twice changes nothing.
func TestScheduleWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		s    Schedule
		want Schedule
	}{
		{"zero", Schedule{Name: "d"}, Schedule{Name: "d", Window: 24 * time.Hour, Format: FormatMarkdown, Dir: "reports", Title: "Impact report: d",
			Webhook: Webhook{Payload: "json", Timeout: 10 * time.Second, Retries: 4, Backoff: time.Second, MaxBackoff: time.Minute}}},
		{"no retries", Schedule{Name: "d", Webhook: Webhook{Retries: -3}}, Schedule{Name: "d", Window: 24 * time.Hour, Format: FormatMarkdown, Dir: "reports", Title: "Impact report: d",
			Webhook: Webhook{Payload: "json", Timeout: 10 * time.Second, Retries: -1, Backoff: time.Second, MaxBackoff: time.Minute}}},
		{"set", Schedule{Name: "d", Window: time.Hour, Format: FormatHTML, Dir: "out", Title: "T",
			Webhook: Webhook{Payload: "markdown", Timeout: time.Second, Retries: 2, Backoff: 2 * time.Second, MaxBackoff: 5 * time.Second}},
			Schedule{Name: "d", Window: time.Hour, Format: FormatHTML, Dir: "out", Title: "T",
				Webhook: Webhook{Payload: "markdown", Timeout: time.Second, Retries: 2, Backoff: 2 * time.Second, MaxBackoff: 5 * time.Second}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			once := tc.s.WithDefaults()
			if once != tc.want {
				t.Errorf("WithDefaults = %+v, want %+v", once, tc.want)
			}
			if twice := once.WithDefaults(); twice != once {
				t.Errorf("WithDefaults twice = %+v, want %+v", twice, once)
			}
		})
	}
}

// TestSchedulerWebhookFailureKeepsRunning: in Run (faultline serve) a
// webhook that is never delivered is logged at ERROR with its error each
// time, the reports are still written, and the schedule keeps firing.
func TestSchedulerWebhookFailureKeepsRunning(t *testing.T) {
	f := newFixtureDB(t)
	dir := t.TempDir()
	_, srv := newReceiver(t, 1<<30) // always 503
	logs := &syncBuffer{}
	sc := Schedule{Name: "tick", Cron: "* * * * * *", Window: 3 * time.Hour, Format: FormatJSON, Dir: dir,
		Webhook: Webhook{URL: srv.URL, Retries: 1, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}}
	s, err := NewScheduler(Config{Schedules: []Schedule{sc}}, newSource(t, f), slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	offset := time.Since(clock("08:00"))
	s.now = func() time.Time { return time.Now().Add(-offset) }
	err = runUntil(t, s, logs, "two reports written with their webhook not delivered", func() bool {
		return len(logLines(t, logs.String(), "scheduled report written")) >= 2
	})
	if err != nil {
		t.Errorf("Run returned %v after failed deliveries, want nil", err)
	}
	gaveUp := logLines(t, logs.String(), "webhook not delivered, giving up")
	if len(gaveUp) < 2 || gaveUp[0]["level"] != "ERROR" || gaveUp[0]["err"] != "webhook answered 503 Service Unavailable" {
		t.Errorf("want an ERROR with the error for each failed delivery, got %v", gaveUp)
	}
	if failed := logLines(t, logs.String(), "scheduled report failed, will run again at its next time"); len(failed) != 0 {
		t.Errorf("a written report whose webhook failed was logged as a failed report: %v", failed)
	}
	if reports, _ := filepath.Glob(filepath.Join(dir, "tick-*.json")); len(reports) < 2 {
		t.Errorf("%d reports written, want 2 or more", len(reports))
	}
}

func TestSchedulerBuildFailureKeepsRunning(t *testing.T) {
	logs := &syncBuffer{}
	// The engine reads a closed database: every report fails, Run goes on
	// until cancelled and returns nil.
	closed := newFixtureDB(t)
	closed.db.Close()
	sc := Schedule{Name: "broken", Cron: "* * * * * *", Dir: t.TempDir()}
	s, err := NewScheduler(Config{Schedules: []Schedule{sc}}, newSource(t, closed), slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	err = runUntil(t, s, logs, "two logged report failures", func() bool {
		return len(logLines(t, logs.String(), "scheduled report failed, will run again at its next time")) >= 2
	})
	if err != nil {
		t.Errorf("Run returned %v after failures, want nil", err)
	}
}

// runUntil runs s.Run until cond holds (waiting at most 20 s), then stops
// it and returns what Run returned; a failed test prints the logs.
func runUntil(t *testing.T, s *Scheduler, logs *syncBuffer, what string, cond func() bool) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("scheduler logs:\n%s", logs)
		}
	})
	testkit.Await(t, 20*time.Second, what, cond)
	cancel()
	return <-done
}

func TestSchedulePanicIsAnError(t *testing.T) {
	s, err := NewScheduler(Config{}, panicSource{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Fire(context.Background(), Schedule{Name: "p", Cron: "@daily", Dir: t.TempDir()}, clock("08:00"))
	if err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("Fire = %v, want a panic turned into an error", err)
	}
}

// panicSource panics on its first call (a bug in report code must not
// take faultline serve down).
type panicSource struct{ Source }

func (panicSource) Impact(context.Context, queries.Window) (queries.Impact, error) {
	panic("boom")
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		s    Schedule
		want string // "" = valid
	}{
		{"defaults", Schedule{Name: "daily", Cron: "0 6 * * *"}, ""},
		{"seconds", Schedule{Name: "fast", Cron: "*/5 * * * * *"}, ""},
		{"descriptor", Schedule{Name: "d", Cron: "@every 1h"}, ""},
		{"bad cron", Schedule{Name: "x", Cron: "61 * * * *"}, "reports.schedules[0].cron"},
		{"no name", Schedule{Cron: "@daily"}, "reports.schedules[0].name"},
		{"bad name", Schedule{Name: "../etc", Cron: "@daily"}, "reports.schedules[0].name"},
		{"format", Schedule{Name: "x", Cron: "@daily", Format: "pdf"}, "reports.schedules[0].format"},
		{"window", Schedule{Name: "x", Cron: "@daily", Window: time.Second}, "reports.schedules[0].window"},
		{"url", Schedule{Name: "x", Cron: "@daily", Webhook: Webhook{URL: "ftp://h/x"}}, "reports.schedules[0].webhook.url"},
		{"payload", Schedule{Name: "x", Cron: "@daily", Webhook: Webhook{Payload: "xml"}}, "reports.schedules[0].webhook.payload"},
		{"backoff", Schedule{Name: "x", Cron: "@daily", Webhook: Webhook{Backoff: time.Minute, MaxBackoff: time.Second}}, "reports.schedules[0].webhook.max_backoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Config{Schedules: []Schedule{tt.s}}.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
	err := Config{Schedules: []Schedule{{Name: "a", Cron: "@daily"}, {Name: "a", Cron: "@daily"}}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "reports.schedules[1].name") {
		t.Errorf("duplicate names: %v", err)
	}
}

// FuzzParseCron checks the cron parser used for schedules never panics.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 6 * * *", "* * * * * *", "@every 1h", "@daily", "*/5 1-3 * JAN-MAR MON", "", "61 * * * *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		sched, err := ParseCron(spec)
		if err == nil {
			sched.Next(clock("08:00"))
		}
	})
}
