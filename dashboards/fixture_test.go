package dashboards

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/queries"
)

// The fixture: dynamodb gets a critical route-table change at 07:00 (by
// alice, the root cause), a low-risk deploy of search happened at 05:00 (a
// decoy), then dynamodb breaks at 07:05, payments at 07:07 and checkout at
// 07:09 (checkout -> payments -> dynamodb), all in us-east-1.
var (
	t0        = time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)
	fixTopo   = map[string][]string{"checkout": {"payments"}, "payments": {"dynamodb"}}
	rootCause = "chg-root"
	decoy     = "chg-decoy"
)

type fixEvent struct {
	id, source, kind, service, operation, region, actor, resource, changeType, risk, peer, msg string
	at                                                                                         time.Time
}

func insertEvents(t testing.TB, db *sql.DB, evs []fixEvent) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := tx.Prepare(`INSERT INTO events (event_id, time, observed_time, source, kind, service, operation, region,
			account_id, resource, actor, change_type, risk_class, peer_service, message, attributes, src_topic, src_partition, src_offset)
			VALUES (?, ?, ?, ?, ?, nullif(?, ''), nullif(?, ''), nullif(?, ''), '123456789012', nullif(?, ''), nullif(?, ''),
			        nullif(?, ''), nullif(?, ''), nullif(?, ''), nullif(?, ''), '{}', 'app-errors', 0, 0)`)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		_, err := stmt.Exec(e.id, e.at, e.at, e.source, e.kind, e.service, e.operation, e.region, e.resource, e.actor, e.changeType, e.risk, e.peer, e.msg)
		if err != nil {
			t.Fatalf("insert fixture event %s: %v", e.id, err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func fixtureEvents() []fixEvent {
	evs := []fixEvent{
		{id: decoy, source: "deploy", kind: "change", service: "search", operation: "Deploy", region: "us-east-1", actor: "ci-bot", resource: "search:1.4.2", changeType: "deploy", risk: "low", at: t0.Add(-2 * time.Hour)},
		{id: rootCause, source: "cloudtrail", kind: "change", service: "dynamodb", operation: "ReplaceRoute", region: "us-east-1", actor: "alice", resource: "rtb-0abc", changeType: "networking", risk: "critical", at: t0},
	}
	// quiet baseline: one error every 10 minutes per service from 05:00
	n := 0
	for _, svc := range []string{"dynamodb", "payments", "checkout", "search"} {
		for m := -120; m < 0; m += 10 {
			n++
			evs = append(evs, fixEvent{id: fmt.Sprintf("base-%d", n), source: "app", kind: "error", service: svc, region: "us-east-1", msg: "timeout", at: t0.Add(time.Duration(m) * time.Minute)})
		}
	}
	// the spike
	for i, svc := range []string{"dynamodb", "payments", "checkout"} {
		peer := map[string]string{"checkout": "payments", "payments": "dynamodb"}[svc]
		for m := 5 + 2*i; m < 30; m++ {
			for k := range 5 + 3*(3-i) {
				n++
				evs = append(evs, fixEvent{id: fmt.Sprintf("err-%d", n), source: "app", kind: "error", service: svc, region: "us-east-1", peer: peer,
					msg: svc + " failed", at: t0.Add(time.Duration(m)*time.Minute + time.Duration(k)*time.Second)})
			}
		}
	}
	return evs
}

// fixtureEngine answers like queries.Engine for the fixture above.
// TODO(dashboards): replace with queries.NewEngine once branch queries lands.
type fixtureEngine struct{ db *sql.DB }

var fixIncident = queries.Incident{
	ID: "inc-20251020-0705-dynamodb", Onset: t0.Add(5 * time.Minute), Peak: t0.Add(10 * time.Minute), Ongoing: true,
	Services: []string{"dynamodb", "payments", "checkout"}, Regions: []string{"us-east-1"}, PeakErrorsPerMin: 14, TotalErrors: 700,
}

func overlaps(w queries.Window, t time.Time) bool {
	return (w.Since.IsZero() || !t.Before(w.Since)) && (w.Until.IsZero() || t.Before(w.Until))
}

func (f fixtureEngine) Incidents(_ context.Context, w queries.Window) ([]queries.Incident, error) {
	if overlaps(w, fixIncident.Onset) {
		return []queries.Incident{fixIncident}, nil
	}
	return nil, nil
}

func (f fixtureEngine) Suspects(_ context.Context, w queries.Window) ([]queries.Suspect, error) {
	if !overlaps(w, fixIncident.Onset) {
		return nil, nil
	}
	return []queries.Suspect{
		{IncidentID: fixIncident.ID, Rank: 2, EventID: decoy, Time: t0.Add(-2 * time.Hour), Service: "search", Operation: "Deploy", Actor: "ci-bot", RiskClass: "low", LeadMinutes: 125, Score: 0.12, Evidence: "unrelated service, 125 min before onset"},
		{IncidentID: fixIncident.ID, Rank: 1, EventID: rootCause, Time: t0, Service: "dynamodb", Operation: "ReplaceRoute", Resource: "rtb-0abc", Actor: "alice", Region: "us-east-1", RiskClass: "critical", LeadMinutes: 5, Score: 0.91, Evidence: "5 min before onset on dynamodb, the first service to break; 3 services spiked after it"},
	}, nil
}

func (f fixtureEngine) Cascade(_ context.Context, w queries.Window) ([]queries.CascadeStep, error) {
	if !overlaps(w, fixIncident.Onset) {
		return nil, nil
	}
	return []queries.CascadeStep{
		{IncidentID: fixIncident.ID, Order: 2, Service: "payments", Region: "us-east-1", Onset: t0.Add(7 * time.Minute), PeakErrorsPerMin: 11, Via: []string{"dynamodb"}},
		{IncidentID: fixIncident.ID, Order: 1, Service: "dynamodb", Region: "us-east-1", Onset: t0.Add(5 * time.Minute), PeakErrorsPerMin: 14},
		{IncidentID: fixIncident.ID, Order: 3, Service: "checkout", Region: "us-east-1", Onset: t0.Add(9 * time.Minute), PeakErrorsPerMin: 8, Via: []string{"payments"}},
	}, nil
}

func (f fixtureEngine) Regions(_ context.Context, w queries.Window) ([]queries.RegionShare, error) {
	if !overlaps(w, fixIncident.Onset) {
		return nil, nil
	}
	return []queries.RegionShare{{IncidentID: fixIncident.ID, Region: "us-east-1", Errors: 700, Changes: 1, ErrorShare: 1, ChangeShare: 1, Warning: "confined to us-east-1"}}, nil
}

func (f fixtureEngine) ChangeFailureRate(context.Context, queries.Window) ([]queries.ChangeFailure, error) {
	return []queries.ChangeFailure{{Dimension: "operation", Value: "ReplaceRoute", Changes: 1, Failed: 1, Rate: 1}}, nil
}

func (f fixtureEngine) Series(ctx context.Context, w queries.Window) ([]queries.SeriesPoint, error) {
	since, until := sqlWindow(w)
	rows, err := f.db.QueryContext(ctx, `SELECT service, region, date_trunc('minute', time) AS m, count(*) FILTER (WHERE kind = 'error'), count(*)
		FROM events WHERE time >= ? AND time < ? AND service IS NOT NULL GROUP BY ALL ORDER BY m, service`, since, until)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []queries.SeriesPoint
	for rows.Next() {
		var p queries.SeriesPoint
		if err := rows.Scan(&p.Service, &p.Region, &p.Minute, &p.Errors, &p.Events); err != nil {
			return nil, err
		}
		p.Minute = p.Minute.UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

func (f fixtureEngine) Named(ctx context.Context, name string, w queries.Window) (queries.Table, error) {
	if name != "errors_by_service" {
		return queries.Table{}, fmt.Errorf("unknown named query %q", name)
	}
	return sqlTable(ctx, f.db, "SELECT service, count(*) AS errors FROM errors GROUP BY service ORDER BY service", 100)
}

// fixtureSandbox refuses what the real sandbox refuses in the tests below.
// TODO(dashboards): replace with the queries sandbox once it lands.
func fixtureSandbox(db *sql.DB, maxRows int) Sandbox {
	return SandboxFunc(func(ctx context.Context, q string) (queries.Table, error) {
		l := strings.ToLower(q)
		for _, bad := range []string{"read_csv", "read_text", "copy", "attach", "install", "load ", "set ", "pragma"} {
			if strings.Contains(l, bad) {
				return queries.Table{}, fmt.Errorf("sandbox: %q is not allowed in analyst SQL", strings.TrimSpace(bad))
			}
		}
		return sqlTable(ctx, db, q, maxRows)
	})
}

func sqlTable(ctx context.Context, db *sql.DB, q string, maxRows int) (queries.Table, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return queries.Table{}, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	t := queries.Table{Columns: cols}
	for rows.Next() {
		if len(t.Rows) == maxRows {
			t.Truncated = true
			break
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return t, err
		}
		t.Rows = append(t.Rows, vals)
	}
	return t, rows.Err()
}

type fixture struct {
	db   *store.DB
	opts Options
	srv  *Server
	ts   *httptest.Server
}

// with serves the same database with changed options.
func (f *fixture) with(t testing.TB, mutate func(*Options)) *fixture {
	t.Helper()
	o := f.opts
	mutate(&o)
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &fixture{db: f.db, opts: o, srv: srv, ts: ts}
}

// newFixture opens an in-memory faultline DB with the fixture events, two
// dead letters and two Kafka positions, and serves it.
func newFixture(t testing.TB, mutate func(*Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	insertEvents(t, db.DB, fixtureEvents())
	for i, reason := range []string{"invalid_json", "invalid_json", "unknown_format"} {
		if _, err := db.Exec(`INSERT INTO dead_letters (time, reason, message, format, raw, raw_size, src_topic, src_partition, src_offset)
			VALUES (?, ?, 'bad record: fix the producer', 'app', 'xx', 2, 'app-errors', 0, ?)`, t0.Add(time.Duration(i)*time.Minute), reason, i); err != nil {
			t.Fatal(err)
		}
	}
	for p := range 2 {
		if _, err := db.Exec(`INSERT INTO ingest_offsets VALUES ('kafka:app-errors', ?, ?, ?)`, p, 100+p, t0.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	o := Options{
		Config:   DefaultConfig(),
		Engine:   fixtureEngine{db.DB},
		Sandbox:  fixtureSandbox(db.DB, 50),
		DB:       db.DB,
		Topology: fixTopo,
		Now:      func() time.Time { return t0.Add(35 * time.Minute) },
	}
	if mutate != nil {
		mutate(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &fixture{db: db, opts: o, srv: srv, ts: ts}
}

func (f *fixture) get(t testing.TB, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}
