package dashboards

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/faultline/faultline/queries"
)

// countingSandbox counts the statements that reach the sandbox.
type countingSandbox struct {
	Sandbox
	n atomic.Int64
}

func (c *countingSandbox) Stream(ctx context.Context, q string, w queries.RowWriter) (queries.Summary, error) {
	c.n.Add(1)
	return c.Sandbox.Stream(ctx, q, w)
}

// No SQL runs on a GET: the console shows ?sql= in its form and runs
// nothing, whatever else the URL says; the API has no GET route for SQL.
func TestNoSQLOnGET(t *testing.T) {
	base := newFixture(t, nil)
	cs := &countingSandbox{Sandbox: base.opts.Sandbox}
	f := base.with(t, func(o *Options) { o.Sandbox = cs })
	for _, path := range []string{
		"/console?sql=" + url.QueryEscape("SELECT octet_length(content) FROM read_blob('faultline.duckdb')"),
		"/console?sql=" + url.QueryEscape("SELECT count(*) FROM events") + "&run=1",
		"/console?sql=SELECT+1&method=post",
		"/api/query?sql=SELECT+1",
		"/?sql=SELECT+1",
	} {
		resp, body := f.get(t, path)
		if resp.StatusCode >= 500 {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if strings.Contains(body, `id="result"`) {
			t.Errorf("GET %s shows a result table", path)
		}
	}
	if n := cs.n.Load(); n != 0 {
		t.Fatalf("%d statements reached the sandbox on GET; want 0", n)
	}
	// The page stays usable: its form posts the statement, which runs.
	resp, body := f.post(t, "/console", url.Values{"sql": {"SELECT count(*) AS n FROM events"}})
	if resp.StatusCode != 200 || !strings.Contains(body, `id="result"`) || cs.n.Load() != 1 {
		t.Fatalf("POST /console: %d, result shown %v, %d statements", resp.StatusCode, strings.Contains(body, `id="result"`), cs.n.Load())
	}
}

// Cross-site and cross-origin requests that run SQL, or read the API, are
// refused; the same requests from the server's own pages or from clients
// that are not browsers (no Origin, no Sec-Fetch-Site) pass.
func TestCrossSiteRefused(t *testing.T) {
	base := newFixture(t, nil)
	cs := &countingSandbox{Sandbox: base.opts.Sandbox}
	f := base.with(t, func(o *Options) { o.Sandbox = cs })
	query := func(hdr ...string) (answer, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.ts.URL+"/api/query", strings.NewReader(`{"sql": "SELECT 1"}`))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return do(t, req)
	}
	for _, c := range []struct {
		name string
		hdr  []string
		want int
	}{
		{"no browser headers (CLI, curl)", nil, 200},
		{"same-origin page", []string{"Sec-Fetch-Site", "same-origin", "Origin", f.ts.URL}, 200},
		{"cross-site page", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, 403},
		{"same-site page", []string{"Sec-Fetch-Site", "same-site", "Origin", "http://other.localhost"}, 403},
		{"old browser, foreign Origin", []string{"Origin", "https://evil.example"}, 403},
		{"old browser, null Origin", []string{"Origin", "null"}, 403},
	} {
		resp, body := query(c.hdr...)
		if resp.StatusCode != c.want {
			t.Errorf("POST /api/query, %s: %d %s, want %d", c.name, resp.StatusCode, body, c.want)
		}
		if c.want == 403 && !strings.Contains(body, "refused") {
			t.Errorf("POST /api/query, %s: %s does not say refused", c.name, body)
		}
	}
	// The console's form from another site.
	resp, _ := f.post(t, "/console", url.Values{"sql": {"SELECT 1"}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if resp.StatusCode != 403 {
		t.Errorf("cross-site POST /console = %d, want 403", resp.StatusCode)
	}
	if n := cs.n.Load(); n != 2 {
		t.Errorf("%d statements reached the sandbox; want the 2 allowed ones", n)
	}
	// Reading the API from another site; following a link to a page is fine.
	for path, want := range map[string]int{"/api/incidents": 403, "/metrics": 403, "/": 200, "/console": 200, "/incidents/" + f.incID: 200} {
		resp, _ := f.get(t, path, "Sec-Fetch-Site", "cross-site")
		if resp.StatusCode != want {
			t.Errorf("cross-site GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// Foreign Host headers (DNS rebinding) are refused unless configured;
// the server's own addresses and localhost pass; /healthz always answers.
func TestHostCheck(t *testing.T) {
	f := newFixture(t, nil)
	get := func(f *fixture, path, host string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.ts.URL+path, nil)
		req.Host = host
		resp, body := do(t, req)
		if resp.StatusCode == 403 && !strings.Contains(body, "serve.allowed_hosts") {
			t.Errorf("Host %s refused without naming serve.allowed_hosts: %s", host, body)
		}
		return resp.StatusCode
	}
	u, _ := url.Parse(f.ts.URL)
	for host, want := range map[string]int{
		u.Host:                      200,
		"localhost:" + u.Port():     200,
		"LocalHost":                 200,
		"dashboards.localhost:8080": 200,
		"[::1]:8080":                200,
		"127.0.0.1":                 200,
		"evil.example:" + u.Port():  403,
		"evil.example":              403,
		"127.0.0.1.nip.io":          403,
		"8.8.8.8":                   403,
		"faultline.example.com":     403,
	} {
		if got := get(f, "/api/incidents", host); got != want {
			t.Errorf("Host %q: %d, want %d", host, got, want)
		}
	}
	if got := get(f, "/healthz", "evil.example"); got != 200 {
		t.Errorf("/healthz with a foreign Host = %d, want 200", got)
	}
	// POST with a foreign Host never reaches the sandbox.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.ts.URL+"/api/query", strings.NewReader(`{"sql": "SELECT 1"}`))
	req.Host = "evil.example"
	req.Header.Set("Content-Type", "application/json")
	if resp, _ := do(t, req); resp.StatusCode != 403 {
		t.Errorf("POST /api/query with a foreign Host = %d", resp.StatusCode)
	}
	named := f.with(t, func(o *Options) { o.Config.AllowedHosts = []string{"faultline.example.com"} })
	if got := get(named, "/", "faultline.example.com:443"); got != 200 {
		t.Errorf("configured host: %d", got)
	}
	if got := get(named, "/", "evil.example"); got != 403 {
		t.Errorf("unconfigured host with allowed_hosts set: %d", got)
	}
	open := f.with(t, func(o *Options) { o.Config.AllowedHosts = []string{"*"} })
	if got := get(open, "/", "anything.example"); got != 200 {
		t.Errorf(`allowed_hosts ["*"]: %d`, got)
	}
	listen := f.with(t, func(o *Options) { o.Config.Listen = "faultline.internal:8080" })
	if got := get(listen, "/", "faultline.internal:8080"); got != 200 {
		t.Errorf("the host name of serve.listen: %d", got)
	}
}

// A value JSON cannot hold (a year past 9999) is a 500 that says what went
// wrong, never a 200 with an empty body.
func TestAPINeverEmpty200(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.db.Exec(`INSERT INTO events (event_id, time, observed_time, source, kind, service, severity_number, severity_text, attributes)
		VALUES ('far', TIMESTAMPTZ '9999-12-31 23:59:30+00', now(), 'app', 'error', 'checkout', 17, 'ERROR', '{}')`); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/incidents", "/api/changes", "/api/series", "/api/suspects", "/api/ingest"} {
		resp, body := f.get(t, path)
		if strings.TrimSpace(body) == "" {
			t.Errorf("GET %s: %d with an empty body", path, resp.StatusCode)
		}
		if resp.StatusCode != 200 && (resp.StatusCode != 500 || !strings.Contains(body, "internal error")) {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if resp.StatusCode == 200 && !strings.HasPrefix(strings.TrimSpace(body), "{") {
			t.Errorf("GET %s: 200 but not a JSON object: %.80s", path, body)
		}
	}
	// Analyst SQL shows such a time as text.
	resp, body := postQuery(t, f, "application/json", `{"sql": "SELECT TIMESTAMPTZ '9999-12-31 23:59:30+00' + INTERVAL 1 MINUTE AS t"}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"10000-01-01T00:00:30Z"`) {
		t.Errorf("a time past 9999 through SQL: %d %s", resp.StatusCode, body)
	}
}

// /api/query streams: the byte cap cuts the result and says so; the body
// stays near the cap whatever the statement asks for.
func TestAPIQueryByteCap(t *testing.T) {
	f := newFixture(t, nil) // query.max_bytes 1 MiB
	resp, body := postQuery(t, f, "application/json", `{"sql": "SELECT repeat('x', 100000) AS s FROM range(1000)"}`)
	got := decode[struct {
		Columns     []string
		ColumnTypes []string `json:"column_types"`
		Rows        [][]any
		Truncated   bool
		TruncatedBy string `json:"truncated_by"`
		RowCount    int    `json:"row_count"`
		ByteCount   int64  `json:"byte_count"`
	}](t, body)
	if resp.StatusCode != 200 || !got.Truncated || got.TruncatedBy != "query.max_bytes" || len(got.Rows) != 10 || got.RowCount != 10 || got.ByteCount != 1_000_000 {
		t.Fatalf("100 MB asked under a 1 MiB cap: %d, %d rows, truncated %v by %q, counts %d/%d", resp.StatusCode, len(got.Rows), got.Truncated, got.TruncatedBy, got.RowCount, got.ByteCount)
	}
	if len(body) > 1<<20+64<<10 {
		t.Errorf("body is %d bytes for a 1 MiB cap", len(body))
	}
	if strings.Join(got.ColumnTypes, ",") != "VARCHAR" {
		t.Errorf("column types %v", got.ColumnTypes)
	}
}
