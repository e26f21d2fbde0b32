package dashboards

import (
	"context"
	"encoding/json"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/faultline/faultline/dashboards/chart"
	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/queries"
)

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return v
}

func TestAuth(t *testing.T) {
	basic := func(u, p string) string {
		r, _ := http.NewRequestWithContext(t.Context(), "GET", "/", nil)
		r.SetBasicAuth(u, p)
		return r.Header.Get("Authorization")
	}
	cases := []struct {
		name       string
		cfg        func(*Config)
		path, auth string
		want       int
	}{
		{"open by default", nil, "/api/incidents", "", 200},
		{"healthz needs nothing", func(c *Config) { c.Token = "s3cret" }, "/healthz", "", 200},
		{"token missing", func(c *Config) { c.Token = "s3cret" }, "/api/incidents", "", 401},
		{"token wrong", func(c *Config) { c.Token = "s3cret" }, "/api/incidents", "Bearer nope", 401},
		{"token right", func(c *Config) { c.Token = "s3cret" }, "/api/incidents", "Bearer s3cret", 200},
		{"token guards metrics", func(c *Config) { c.Token = "s3cret" }, "/metrics", "", 401},
		{"token guards pages", func(c *Config) { c.Token = "s3cret" }, "/", "", 401},
		{"token guards static", func(c *Config) { c.Token = "s3cret" }, "/static/style.css", "", 401},
		{"basic right", func(c *Config) { c.Username, c.Password = "sre", "pw" }, "/changes", basic("sre", "pw"), 200},
		{"basic wrong password", func(c *Config) { c.Username, c.Password = "sre", "pw" }, "/changes", basic("sre", "px"), 401},
		{"basic wrong user", func(c *Config) { c.Username, c.Password = "sre", "pw" }, "/changes", basic("srf", "pw"), 401},
		{"both set, basic accepted", func(c *Config) { c.Token, c.Username, c.Password = "tok", "sre", "pw" }, "/services", basic("sre", "pw"), 200},
		{"both set, token accepted", func(c *Config) { c.Token, c.Username, c.Password = "tok", "sre", "pw" }, "/services", "Bearer tok", 200},
		{"token is not a password", func(c *Config) { c.Token, c.Username, c.Password = "tok", "sre", "pw" }, "/services", basic("sre", "tok"), 401},
	}
	base := newFixture(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := base.with(t, func(o *Options) {
				if tc.cfg != nil {
					tc.cfg(&o.Config)
				}
			})
			resp, body := f.get(t, tc.path, "Authorization", tc.auth)
			if resp.StatusCode != tc.want {
				t.Fatalf("GET %s: status %d, want %d: %s", tc.path, resp.StatusCode, tc.want, body)
			}
			if tc.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}

func TestAPIIncidents(t *testing.T) {
	f := newFixture(t, nil)
	resp, body := f.get(t, "/api/incidents")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	got := decode[struct {
		Window    queries.Window    `json:"window"`
		Incidents []IncidentSummary `json:"incidents"`
	}](t, body)
	if len(got.Incidents) != 1 || got.Incidents[0].ID != f.incID {
		t.Fatalf("incidents = %+v", got.Incidents)
	}
	if ts := got.Incidents[0].TopSuspect; ts == nil || ts.EventID != rootCause || ts.Rank != 1 {
		t.Errorf("top suspect = %+v, want %s at rank 1", ts, rootCause)
	}
	// default window: the DefaultRange up to the minute after the last event
	if want := t0.Add(30 * time.Minute); !got.Window.Until.Equal(want) || !got.Window.Since.Equal(want.Add(-6*time.Hour)) {
		t.Errorf("default window = %v..%v, want 6h up to %v", got.Window.Since, got.Window.Until, want)
	}
	// a window before the incident has none
	_, body = f.get(t, "/api/incidents?since=2025-10-20T01:00:00Z&until=2025-10-20T02:00:00Z")
	if n := len(decode[struct{ Incidents []IncidentSummary }](t, body).Incidents); n != 0 {
		t.Errorf("incidents before the outage = %d, want 0", n)
	}
}

func TestAPIIncidentDetail(t *testing.T) {
	f := newFixture(t, nil)
	resp, body := f.get(t, "/api/incidents/"+f.incID)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	d := decode[IncidentDetail](t, body)
	all, err := f.opts.Engine.Incidents(context.Background(), queries.Window{})
	if err != nil || len(all) != 1 {
		t.Fatal(all, err)
	}
	got, _ := json.Marshal(d.Incident)
	want, _ := json.Marshal(all[0])
	if string(got) != string(want) {
		t.Errorf("incident found from its id differs from the all-time one:\n got %s\nwant %s", got, want)
	}
	if len(d.Suspects) < 2 || d.Suspects[0].EventID != rootCause || d.Suspects[0].Rank != 1 || d.Suspects[0].Evidence == "" {
		t.Errorf("suspects not ranked root cause first with evidence: %+v", d.Suspects)
	}
	if !slices.ContainsFunc(d.Suspects[1:], func(s queries.Suspect) bool { return s.EventID == decoy }) {
		t.Errorf("the decoy is not ranked below the root cause: %+v", d.Suspects)
	}
	var order []string
	for _, c := range d.Cascade {
		order = append(order, c.Service)
	}
	if strings.Join(order, ">") != "dynamodb>payments>checkout" {
		t.Errorf("cascade order = %v", order)
	}
	if len(d.Regions) != 1 || d.Regions[0].Warning == "" {
		t.Errorf("regions = %+v, want one with a warning", d.Regions)
	}
	for _, p := range d.Series {
		if p.Service == "search" {
			t.Fatalf("series holds search, which is not in the incident")
		}
	}
	if len(d.Series) == 0 || len(d.Changes) == 0 {
		t.Errorf("series %d points, changes %d: want both", len(d.Series), len(d.Changes))
	}

	resp, body = f.get(t, "/api/incidents/inc-nope")
	if resp.StatusCode != 404 || !strings.Contains(body, `incident \"inc-nope\" not found`) {
		t.Errorf("unknown incident: %d %s", resp.StatusCode, body)
	}
}

func TestAPIListsAndFilters(t *testing.T) {
	f := newFixture(t, nil)
	type changes struct{ Changes []queries.Change }
	cases := []struct {
		path  string
		check func(t *testing.T, body string)
	}{
		{"/api/suspects?incident=" + f.incID, func(t *testing.T, body string) {
			s := decode[struct{ Suspects []queries.Suspect }](t, body)
			if len(s.Suspects) < 2 || s.Suspects[0].IncidentID != f.incID {
				t.Errorf("suspects = %+v, want at least 2 of %s", s.Suspects, f.incID)
			}
		}},
		{"/api/suspects?incident=other", func(t *testing.T, body string) {
			if !strings.Contains(body, `"suspects": []`) {
				t.Errorf("want an empty list: %s", body)
			}
		}},
		{"/api/cascade?incident=" + f.incID, func(t *testing.T, body string) {
			if n := strings.Count(body, `"order"`); n != 3 {
				t.Errorf("cascade steps = %d, want 3", n)
			}
		}},
		{"/api/regions", func(t *testing.T, body string) {
			if !strings.Contains(body, "of the errors on aws/us-east-1") {
				t.Errorf("regions: %s", body)
			}
		}},
		{"/api/change-failure-rate", func(t *testing.T, body string) {
			if !strings.Contains(body, `"ReplaceRoute"`) {
				t.Errorf("change failure rate: %s", body)
			}
		}},
		{"/api/series?service=payments", func(t *testing.T, body string) {
			s := decode[struct{ Series []struct{ Service string } }](t, body)
			if len(s.Series) == 0 {
				t.Fatal("no series points")
			}
			for _, p := range s.Series {
				if p.Service != "payments" {
					t.Fatalf("series filter let %q through", p.Service)
				}
			}
		}},
		{"/api/changes", func(t *testing.T, body string) {
			c := decode[changes](t, body)
			if len(c.Changes) != 2 || c.Changes[0].EventID != rootCause {
				t.Errorf("changes newest first = %+v", c.Changes)
			}
		}},
		{"/api/changes?risk=low", func(t *testing.T, body string) {
			c := decode[changes](t, body)
			if len(c.Changes) != 1 || c.Changes[0].EventID != decoy {
				t.Errorf("risk=low: %+v", c.Changes)
			}
		}},
		{"/api/changes?actor=alice&type=networking&operation=ReplaceRoute&region=us-east-1&service=dynamodb", func(t *testing.T, body string) {
			c := decode[changes](t, body)
			if len(c.Changes) != 1 || c.Changes[0].EventID != rootCause {
				t.Errorf("all filters: %+v", c.Changes)
			}
		}},
		{"/api/changes?actor=bob", func(t *testing.T, body string) {
			if c := decode[changes](t, body); len(c.Changes) != 0 {
				t.Errorf("actor=bob: %+v", c.Changes)
			}
		}},
		{"/api/changes?limit=1", func(t *testing.T, body string) {
			if c := decode[changes](t, body); len(c.Changes) != 1 {
				t.Errorf("limit=1: %d changes", len(c.Changes))
			}
		}},
		{"/api/services", func(t *testing.T, body string) {
			s := decode[struct {
				Services []Service
				Edges    []queries.Edge
			}](t, body)
			state := map[string]string{}
			for _, sv := range s.Services {
				state[sv.Name] = sv.State
			}
			want := map[string]string{"checkout": "spiking", "payments": "spiking", "dynamodb": "spiking", "search": "healthy"}
			for k, v := range want {
				if state[k] != v {
					t.Errorf("service %s state %q, want %q", k, state[k], v)
				}
			}
			var edges []string
			for _, e := range s.Edges {
				edges = append(edges, e.From+">"+e.To+":"+e.Origin)
			}
			got := strings.Join(edges, " ")
			for _, want := range []string{"checkout>payments:config", "payments>dynamodb:config", "checkout>payments:peer_service"} {
				if !strings.Contains(got, want) {
					t.Errorf("edges %s lack %s", got, want)
				}
			}
		}},
		{"/api/ingest", func(t *testing.T, body string) {
			h := decode[IngestHealth](t, body)
			if h.DeadLetters != 3 || len(h.DeadLetterReasons) != 2 || h.DeadLetterReasons[0].Reason != "invalid_json" || len(h.Offsets) != 2 {
				t.Errorf("ingest health = %+v", h)
			}
			if h.Events == 0 || h.Running {
				t.Errorf("events %d running %v", h.Events, h.Running)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := f.get(t, tc.path)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			tc.check(t, body)
		})
	}
}

// TestEmptyRange: a page over a range without events says so and how to
// widen it. The overview drew an empty chart, /services and /changes an
// empty table ("0 changes"), with nothing to tell a quiet range from a
// wrong one.
func TestEmptyRange(t *testing.T) {
	f := newFixture(t, nil)
	const empty = "since=2020-01-01&until=2020-01-02"
	cases := []struct{ path, want, table string }{
		{"/?" + empty, `No errors in this range and no changes. Widen it (range=7d, or <a href="/?range=all">range=all</a> for the whole database).`, ""},
		{"/services?" + empty, `No service has errors, changes or incidents in this range. Widen it (range=7d, or <a href="/services?range=all">range=all</a>`, `id="services"`},
		{"/changes?" + empty, `No changes in this range. Widen it (range=7d, or <a href="/changes?range=all">range=all</a>`, `id="changes"`},
		{"/changes?service=nosuchsvc", `No change in this range matches the filters: clear them`, `id="changes"`},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := f.get(t, tc.path)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if !strings.Contains(body, `id="empty">`+tc.want) {
				t.Errorf("GET %s: no empty-range note %q in\n%s", tc.path, tc.want, body)
			}
			if tc.table != "" && strings.Contains(body, tc.table) {
				t.Errorf("GET %s: an empty table %s is still drawn", tc.path, tc.table)
			}
		})
	}
	// A range with events has no such note.
	for _, path := range []string{"/?range=all", "/services?range=all", "/changes?range=all"} {
		if _, body := f.get(t, path); strings.Contains(body, `id="empty"`) {
			t.Errorf("GET %s: empty-range note on a range with events", path)
		}
	}
}

func TestBadParams(t *testing.T) {
	f := newFixture(t, nil)
	cases := []struct{ path, want string }{
		{"/api/incidents?since=yesterday", `since: \"yesterday\" is not a time`},
		{"/api/series?until=2025-13-01", `until: \"2025-13-01\" is not a time`},
		{"/api/incidents?since=2025-10-20T08:00:00Z&until=2025-10-20T07:00:00Z", "must be before until"},
		{"/api/changes?range=-5h", `range: \"-5h\" is not allowed`},
		{"/api/changes?range=10s", `range: \"10s\" is not allowed`},
		{"/api/changes?limit=0", `limit: \"0\" is not allowed`},
		{"/api/changes?limit=lots", `limit: \"lots\" is not allowed`},
		{"/api/changes?risk=spicy", `risk: \"spicy\" is not allowed: use critical, high, medium or low`},
		// A typo in a parameter name used to answer everything, unfiltered.
		{"/api/changes?servce=cart", `unknown parameter \"servce\": did you mean service?`},
		{"/api/incidents?from=2025-10-20", `unknown parameter \"from\"`},
		// A filter the route does not apply, or one given twice, used to
		// answer everything as if it had been understood.
		{"/api/incidents?service=nosuchsvc", `unknown parameter \"service\": /api/incidents takes since, until, range`},
		{"/api/regions?region=mars", `unknown parameter \"region\"`},
		{"/api/changes?service=cart&service=x", `service: given 2 times: give it once`},
		// Routes without a time range answered 200 whatever their URL held.
		{"/api/ingest?since=2025-10-20", `unknown parameter \"since\": /api/ingest takes no parameters`},
		{"/api/incidents/inc-x?since=2025-10-20", `unknown parameter \"since\": /api/incidents/inc-x takes no parameters`},
		{"/api/events/ev-1?a=2025-10-20T10:00:00Z", `unknown parameter \"a\": did you mean at? /api/events/ev-1 takes at`},
		{"/api/events/ev-1?at=2025-10-20&at=2025-10-21", `at: given 2 times: give it once`},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := f.get(t, tc.path)
			if resp.StatusCode != 400 || !strings.Contains(body, tc.want) {
				t.Errorf("GET %s = %d %s, want 400 with %s", tc.path, resp.StatusCode, body, tc.want)
			}
		})
	}
	// Pages show the same message as HTML.
	resp, body := f.get(t, "/changes?risk=spicy")
	if resp.StatusCode != 400 || !strings.Contains(body, "risk: &#34;spicy&#34; is not allowed") {
		t.Errorf("page with bad param = %d %s", resp.StatusCode, body)
	}
	resp, body = f.get(t, "/api/nope")
	if resp.StatusCode != 404 || !strings.Contains(body, "no API route GET /api/nope") {
		t.Errorf("unknown API route = %d %s", resp.StatusCode, body)
	}
	resp, _ = f.get(t, "/nope")
	if resp.StatusCode != 404 {
		t.Errorf("unknown page = %d", resp.StatusCode)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.ts.URL+"/api/incidents", nil)
	if resp, _ := do(t, req); resp.StatusCode != 405 {
		t.Errorf("POST /api/incidents = %d, want 405", resp.StatusCode)
	}
}

func postQuery(t *testing.T, f *fixture, ctype, body string) (answer, string) {
	t.Helper()
	return postQueryURL(t, f, "/api/query", ctype, body)
}

func postQueryURL(t *testing.T, f *fixture, path, ctype, body string) (answer, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	return do(t, req)
}

func TestAPIQuery(t *testing.T) {
	f := newFixture(t, nil)
	cases := []struct {
		name, ctype, body string
		code              int
		want              string
	}{
		{"sql", "application/json", `{"sql": "SELECT service, count(*) AS n FROM errors GROUP BY service ORDER BY service"}`, 200, `"checkout"`},
		{"named", "application/json", `{"name": "incidents"}`, 200, `"incident_id"`},
		{"row cap", "application/json", `{"sql": "SELECT * FROM range(1000)"}`, 200, `"truncated": true`},
		{"sandbox refuses files", "application/json", `{"sql": "SELECT * FROM read_csv('/etc/passwd')"}`, 400, `refused by the analyst SQL sandbox`},
		{"sandbox refuses settings", "application/json", `{"sql": "SET memory_limit = '100GB'"}`, 400, `refused by the analyst SQL sandbox`},
		{"sandbox refuses writes", "application/json", `{"sql": "DELETE FROM events"}`, 400, `refused by the analyst SQL sandbox`},
		{"sandbox refuses two statements", "application/json", `{"sql": "SELECT 1; SELECT 2"}`, 400, `refused by the analyst SQL sandbox`},
		{"bad sql", "application/json", `{"sql": "SELEC 1"}`, 400, `syntax error`},
		{"unknown named", "application/json", `{"name": "nope"}`, 400, `unknown named query \"nope\": use one of incidents`},
		{"misspelt named", "application/json", `{"name": "suspcts"}`, 400, `unknown named query \"suspcts\" (did you mean suspects?)`},
		// the answer does not echo a huge name back whole
		{"huge name", "application/json", `{"name": "` + strings.Repeat("x", 100000) + `"}`, 400, `unknown named query \"` + strings.Repeat("x", 64) + `...\": use one of`},
		{"both", "application/json", `{"sql": "SELECT 1", "name": "x"}`, 400, "either sql or name"},
		{"empty", "application/json", `{}`, 400, "empty query"},
		{"blank sql", "application/json", `{"sql": "  "}`, 400, "sql: empty"},
		{"sql with since", "application/json", `{"sql": "SELECT 1", "since": "-1h"}`, 400, "since and until go with a named query"},
		{"unknown field", "application/json", `{"query": "SELECT 1"}`, 400, `unknown field \"query\"`},
		{"not json", "application/json", `SELECT 1`, 400, "request body"},
		// Only the first object ran, with a 200.
		{"two objects", "application/json", `{"sql": "SELECT 1"} {"sql": "SELECT 2"}`, 400, "request body: more than one JSON value"},
		{"trailing garbage", "application/json", `{"sql": "SELECT 1"} x`, 400, "request body: more than one JSON value"},
		{"trailing space", "application/json", "{\"sql\": \"SELECT 1\"}\n ", 200, `"row_count": 1`},
		{"too large", "application/json", `{"sql": "SELECT 1 -- ` + strings.Repeat("x", maxQueryBody) + `"}`, 413, "request body: larger than 1048576 bytes"},
		{"form post refused", "application/x-www-form-urlencoded", `sql=SELECT+1`, 415, "application/json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := postQuery(t, f, tc.ctype, tc.body)
			if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("status %d body %s, want %d with %s", resp.StatusCode, body, tc.code, tc.want)
			}
		})
	}
	// A window in the URL was ignored (the body's since is refused).
	resp, body := postQueryURL(t, f, "/api/query?since=2025-10-20", "application/json", `{"sql": "SELECT 1"}`)
	if resp.StatusCode != 400 || !strings.Contains(body, "POST /api/query takes no URL parameters") {
		t.Errorf("POST /api/query?since=...: %d %s, want a 400", resp.StatusCode, body)
	}
	resp, body = postQuery(t, f, "application/json", `{"sql": "SELECT 1 AS one, 'x' AS s, TIMESTAMPTZ '2025-10-20 07:00:00+00' AS t"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	tbl := decode[struct {
		Columns []string
		Rows    [][]any
	}](t, body)
	if strings.Join(tbl.Columns, ",") != "one,s,t" || len(tbl.Rows) != 1 || tbl.Rows[0][1] != "x" || tbl.Rows[0][2] != "2025-10-20T07:00:00Z" {
		t.Errorf("table = %+v", tbl)
	}
	// A named query's columns carry the type names analyst SQL's do (they
	// were empty strings).
	for _, tc := range []struct{ body, want string }{
		{`{"sql": "SELECT 1 AS one, 'x' AS s, TIMESTAMPTZ '2025-10-20 07:00:00+00' AS t"}`, "one INTEGER, s VARCHAR, t TIMESTAMPTZ"},
		{`{"name": "incidents"}`, "incident_id VARCHAR, onset TIMESTAMPTZ, peak TIMESTAMPTZ, recovery TIMESTAMPTZ, ongoing BOOLEAN, services VARCHAR[], regions VARCHAR[], peak_errors_per_min BIGINT, total_errors BIGINT"},
		{`{"name": "series"}`, "service VARCHAR, region VARCHAR, minute TIMESTAMPTZ, errors BIGINT, events BIGINT"},
	} {
		resp, body := postQuery(t, f, "application/json", tc.body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", tc.body, resp.StatusCode, body)
		}
		res := decode[struct {
			Columns     []string
			ColumnTypes []string `json:"column_types"`
		}](t, body)
		var got []string
		for i, c := range res.Columns {
			typ := "(missing)"
			if i < len(res.ColumnTypes) {
				typ = res.ColumnTypes[i]
			}
			got = append(got, c+" "+typ)
		}
		if g := strings.Join(got, ", "); g != tc.want {
			t.Errorf("%s: columns\n %s\nwant\n %s", tc.body, g, tc.want)
		}
	}
}

func TestPages(t *testing.T) {
	f := newFixture(t, nil)
	cases := []struct {
		path string
		code int
		want []string
	}{
		{"/", 200, []string{`id="incidents"`, f.incID, "ReplaceRoute", "alice", "<svg", "Errors per minute per service", "invalid_json", "kafka:app-errors"}},
		{"/?service=payments", 200, []string{`value="payments"`, "<svg"}},
		{"/incidents/" + f.incID, 200, []string{`id="suspects"`, `data-rank="1" data-event-id="chg-root" open`, "Cascade: the order services broke", `id="cascade"`, "of the errors on aws/us-east-1", "suspect #1: ReplaceRoute",
			`id="summary"`, "most likely cause: <strong>ReplaceRoute</strong>", "raw event", "/events/chg-root?at=", "/console?sql=SELECT", `class="ts-data"`}},
		{"/incidents", 200, []string{`id="incident-list"`, `data-incident="` + f.incID + `"`, "ReplaceRoute"}},
		{"/events/chg-root", 200, []string{`data-event-id="chg-root"`, "ReplaceRoute", "rtb-0abc", `class="attributes"`}},
		{"/events/nope", 404, []string{`event &#34;nope&#34; not found`}},
		{"/incidents/unknown", 404, []string{`incident &#34;unknown&#34; not found`}},
		{"/changes", 200, []string{`id="changes"`, `data-event-id="chg-root"`, `data-event-id="chg-decoy"`, `<datalist id="f-actor">`}},
		{"/changes?actor=alice", 200, []string{`data-event-id="chg-root"`}},
		{"/services", 200, []string{`id="services"`, `data-service="checkout" data-state="spiking"`, `data-service="search" data-state="healthy"`, "topology-chart"}},
		{"/console", 200, []string{`<form id="console" method="post" action="/console">`, "FROM errors"}},
		{"/console?sql=SELECT+42+AS+answer", 200, []string{`id="pending"`, ">SELECT 42 AS answer</textarea>"}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := f.get(t, tc.path)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("content type %q", ct)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, w := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, w) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, w)
				}
			}
			if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") {
				t.Errorf("Content-Security-Policy %q allows inline code or other origins", csp)
			}
			if strings.Contains(body, " style=") || strings.Contains(body, "<style") || regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(strings.ReplaceAll(body, `<script type="application/json" class="ts-data">`, "")) {
				t.Errorf("the page has inline style or script, which the policy blocks")
			}
		})
	}
	// The console runs what its form posts.
	for _, tc := range []struct {
		sql  string
		code int
		want []string
	}{
		{"SELECT service, count(*) AS n FROM errors GROUP BY service ORDER BY service", 200, []string{`id="result"`, "<th>n</th>", "<td>checkout</td>", "4 rows"}},
		{"SELECT * FROM read_csv('x')", 400, []string{`id="error"`, "refused by the analyst SQL sandbox", "read_csv(&#39;x&#39;)"}},
		{"SELECT * FROM range(1000)", 200, []string{`id="truncated"`, "query.max_rows reached", "50 rows"}},
		{"SELECT repeat('x', 100000) FROM range(100)", 200, []string{`id="truncated"`, "pass query.max_bytes", "10 rows"}},
	} {
		resp, body := f.post(t, "/console", url.Values{"sql": {tc.sql}})
		if resp.StatusCode != tc.code {
			t.Errorf("POST /console %s: status %d, want %d", tc.sql, resp.StatusCode, tc.code)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("POST /console %s: page lacks %q", tc.sql, w)
			}
		}
	}
	// The suspects table lists the root cause before the decoy.
	_, body := f.get(t, "/incidents/"+f.incID)
	if i, j := strings.Index(body, `data-event-id="chg-root"`), strings.Index(body, `data-event-id="chg-decoy"`); i < 0 || j < 0 || i > j {
		t.Errorf("root cause at %d, decoy at %d: want the root cause first", i, j)
	}
}

func TestLiveRefreshOnlyWhileIngesting(t *testing.T) {
	static := newFixture(t, nil)
	_, body := static.get(t, "/")
	if !strings.Contains(body, `data-refresh="0"`) || strings.Contains(body, `id="live-toggle"`) {
		t.Errorf("a served file must not refresh")
	}
	live := static.with(t, func(o *Options) {
		o.Ingest = func() status.Status { return status.Status{Running: true, Connected: true} }
	})
	_, body = live.get(t, "/")
	if !strings.Contains(body, `data-refresh="10"`) || !strings.Contains(body, `id="live-toggle"`) {
		t.Errorf("pages must refresh while ingesting")
	}
	_, body = live.get(t, "/console")
	if !strings.Contains(body, `data-refresh="0"`) {
		t.Errorf("the console must not refresh")
	}
}

func TestStaticHealthMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "faultline_ingest_consumer_lag", Help: "lag"}, []string{"topic", "partition"})
	reg.MustRegister(lag)
	lag.WithLabelValues("app-errors", "0").Set(7) // not read: lag comes from ingest's status
	f := newFixture(t, func(o *Options) {
		o.Registry = reg
		o.Ingest = func() status.Status {
			return status.Status{Running: true, Connected: true, Brokers: []string{"b:9092"},
				Partitions: []status.Partition{{Topic: "app-errors", Partition: 1, Owned: true, Next: 10, HighWatermark: 52, Lag: 42}}, Lag: 42}
		}
	})

	resp, body := f.get(t, "/static/style.css")
	if resp.StatusCode != 200 || !strings.Contains(body, "svg.chart") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("style.css: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, body = f.get(t, "/static/live.js")
	if resp.StatusCode != 200 || !strings.Contains(body, "faultline.paused") {
		t.Errorf("live.js: %d", resp.StatusCode)
	}
	if resp, _ := f.get(t, "/static/../server.go"); resp.StatusCode == 200 {
		t.Errorf("static served a file outside static/")
	}
	resp, body = f.get(t, "/healthz")
	if resp.StatusCode != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}
	_, body = f.get(t, "/api/ingest")
	h := decode[IngestHealth](t, body)
	if h.Offsets[0].Lag != nil || h.Offsets[1].Lag == nil || *h.Offsets[1].Lag != 42 {
		t.Errorf("lag from ingest's status: %+v", h.Offsets)
	}
	if h.Kafka == nil || !h.Kafka.Connected || h.Kafka.Lag != 42 || len(h.Problems) != 0 {
		t.Errorf("/api/ingest kafka status: %+v problems %v", h.Kafka, h.Problems)
	}
	resp, body = f.get(t, "/metrics")
	if resp.StatusCode != 200 || !strings.Contains(body, `faultline_http_requests_total{code="200",route="GET /healthz"} 1`) ||
		!strings.Contains(body, "faultline_ingest_consumer_lag") {
		t.Errorf("metrics: %d %s", resp.StatusCode, body)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	f := newFixture(t, nil)
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln) }()
	healthz := func() (*http.Response, error) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+ln.Addr().String()+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		return http.DefaultClient.Do(req)
	}
	resp, err := healthz()
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel = %v, want nil", err)
	}
	if resp, err := healthz(); err == nil {
		resp.Body.Close()
		t.Errorf("server still answers after shutdown")
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.Listen = "8080" }, "serve.listen"},
		{func(c *Config) { c.Username = "a" }, "serve.username/serve.password"},
		{func(c *Config) { c.Refresh = 10 * time.Millisecond }, "serve.refresh"},
		{func(c *Config) { c.DefaultRange = time.Second }, "serve.default_range"},
		{func(c *Config) { c.ShutdownTimeout = 0 }, "serve.shutdown_timeout"},
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want an error naming %s", err, tc.want)
		}
	}
}

func TestHealthzReportsIngestErrors(t *testing.T) {
	f := newFixture(t, nil)
	sick := f.with(t, func(o *Options) {
		o.Ingest = func() status.Status {
			return status.Status{Running: true, Brokers: []string{"b:9092"}, LastError: "dial tcp: connection refused",
				CommitError: "commit batch: disk full", MissingTopics: []status.MissingTopic{{Topic: "cloudtrial", Suggestion: "cloudtrail"}}}
		}
		o.Config.Token = "tok"
	})
	resp, body := sick.get(t, "/healthz")
	for _, want := range []string{"disk full", "cannot reach Kafka at b:9092", "cloudtrial (did you mean cloudtrail?)"} {
		if resp.StatusCode != 503 || !strings.Contains(body, want) {
			t.Errorf("healthz with a failing ingest = %d %q, want 503 naming %q", resp.StatusCode, body, want)
		}
	}
	rresp, rbody := sick.get(t, "/readyz", "Authorization", "Bearer tok")
	var ready struct {
		Ready    bool
		Problems []string
		Ingest   status.Status
	}
	if err := json.Unmarshal([]byte(rbody), &ready); err != nil || rresp.StatusCode != 503 || ready.Ready || len(ready.Problems) != 3 || ready.Ingest.Connected {
		t.Errorf("readyz = %d %+v (%v), want 503, not ready, 3 problems", rresp.StatusCode, ready, err)
	}
	_, body = sick.get(t, "/", "Authorization", "Bearer tok")
	if !strings.Contains(body, `id="ingest-problems"`) || !strings.Contains(body, "unreachable") {
		t.Errorf("overview does not show ingest's problems")
	}
}

// TestNamedQueryRowCap: a named query is cut at query.max_rows and at
// query.max_bytes (the byte cap was not applied to named queries).
func TestNamedQueryRowCap(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range []struct {
		name  string
		opts  func(*Options)
		rows  int // -1: fewer than all, more than 0
		capBy string
	}{
		{"rows", func(o *Options) { o.MaxRows = 3 }, 3, "query.max_rows"},
		{"bytes", func(o *Options) { o.MaxBytes = 1024 }, -1, "query.max_bytes"},
	} {
		capped := f.with(t, c.opts)
		resp, body := postQuery(t, capped, "application/json", `{"name": "series"}`)
		tbl := decode[struct {
			Rows        [][]any
			Truncated   bool
			TruncatedBy string `json:"truncated_by"`
		}](t, body)
		if resp.StatusCode != 200 || !tbl.Truncated || tbl.TruncatedBy != c.capBy || len(tbl.Rows) == 0 || c.rows >= 0 && len(tbl.Rows) != c.rows {
			t.Errorf("%s: status %d, %d rows, truncated %v by %q; want cut by %s", c.name, resp.StatusCode, len(tbl.Rows), tbl.Truncated, tbl.TruncatedBy, c.capBy)
		}
	}
}

// TestAPIAsDocumented: POST /api/query takes the relative times the GET
// routes and the CLI take; a known route asked with the wrong method is a
// JSON 405 naming the method to use (GET /api/query was a 404, and 405
// bodies were text).
func TestAPIAsDocumented(t *testing.T) {
	f := newFixture(t, nil) // now = t0+35m
	resp, body := postQuery(t, f, "application/json", `{"name": "incidents", "since": "-2h"}`)
	if resp.StatusCode != 200 || !strings.Contains(body, f.incID) {
		t.Errorf(`POST {"since": "-2h"} = %d %s, want the incident`, resp.StatusCode, body)
	}
	resp, body = postQuery(t, f, "application/json", `{"name": "incidents", "since": "yesterday"}`)
	if resp.StatusCode != 400 || !strings.Contains(body, `since: \"yesterday\" is not a time`) {
		t.Errorf(`POST {"since": "yesterday"} = %d %s, want 400 naming since`, resp.StatusCode, body)
	}
	resp, body = f.get(t, "/api/incidents?since=-2h")
	if resp.StatusCode != 200 || !strings.Contains(body, f.incID) {
		t.Errorf("GET since=-2h = %d %s", resp.StatusCode, body)
	}
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodGet, "/api/query", "POST"},
		{http.MethodPost, "/api/incidents", "GET"},
		{http.MethodDelete, "/api/changes", "GET"},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), tc.method, f.ts.URL+tc.path, nil)
		resp, body := do(t, req)
		var e struct{ Error string }
		if err := json.Unmarshal([]byte(body), &e); err != nil || resp.StatusCode != 405 || resp.Header.Get("Allow") != tc.allow || !strings.Contains(e.Error, "use "+tc.allow) {
			t.Errorf("%s %s = %d Allow %q %q, want a JSON 405 allowing %s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), body, tc.allow)
		}
	}
	resp, body = f.get(t, "/api/nope")
	if resp.StatusCode != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("GET /api/nope = %d %s, want a JSON 404", resp.StatusCode, body)
	}
}

// TestOverviewAsCaptioned: change markers are coloured by risk as the
// caption says (they were all grey), and range=all shows the data's span
// and its chart (it showed "— → —" and no chart).
func TestOverviewAsCaptioned(t *testing.T) {
	f := newFixture(t, nil)
	_, body := f.get(t, "/?range=all")
	if strings.Contains(body, "— → —") || !strings.Contains(body, "<svg") {
		t.Errorf("range=all: no span or no chart")
	}
	colours := 0
	for _, c := range chart.RiskColors {
		if strings.Contains(body, `stroke="`+c+`"`) {
			colours++
		}
	}
	if colours == 0 || !strings.Contains(body, `class="risk-high"`) {
		t.Errorf("overview: %d risk colours among the markers, want them coloured by risk", colours)
	}
}

// Every event link of the incident page opens its event: the error
// groups' sample links used the group's first time as at=, while the
// sample (the shortest message) is often a later event, so they said
// "not found".
func TestIncidentEventLinksResolve(t *testing.T) {
	f := newFixture(t, nil)
	resp, body := f.get(t, "/incidents/"+f.incID)
	if resp.StatusCode != 200 {
		t.Fatalf("incident page: %d", resp.StatusCode)
	}
	links := regexp.MustCompile(`href="(/events/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(links) < 3 {
		t.Fatalf("the incident page has %d event links, want its suspects' and samples'", len(links))
	}
	for _, m := range links {
		link := html.UnescapeString(m[1])
		if resp, body := f.get(t, link); resp.StatusCode != 200 {
			t.Errorf("GET %s = %d %.200s", link, resp.StatusCode, body)
		}
	}
}
