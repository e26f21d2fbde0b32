package dashboards

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform"
)

// The fixture: dynamodb gets a critical route-table change at 07:00 (by
// alice, the root cause), a low-risk deploy of search happened at 06:40 (a
// decoy), then dynamodb breaks at 07:05, payments at 07:07 and checkout at
// 07:09 (checkout -> payments -> dynamodb), all in us-east-1, until the data
// ends at 07:30. search stays quiet.
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

// seedEvents stores the fixture's events through testkit (ingest's sink),
// as read from partition 0 of the app-errors topic.
func seedEvents(t testing.TB, db *store.DB, evs []fixEvent) {
	t.Helper()
	out := make([]transform.Event, len(evs))
	for i, e := range evs {
		provider := ""
		if e.source == "cloudtrail" { // as the CloudTrail decoder sets it
			provider = transform.ProviderAWS
		}
		out[i] = transform.Event{
			EventID: e.id, Time: e.at, ObservedTime: e.at, Source: e.source, Kind: e.kind, Service: e.service,
			Operation: e.operation, Region: e.region, AccountID: "123456789012", Resource: e.resource, Actor: e.actor,
			ChangeType: e.changeType, RiskClass: e.risk, PeerService: e.peer, Message: e.msg,
			Lineage: transform.Lineage{Topic: "app-errors"}, CloudProvider: provider,
		}
	}
	testkit.Seed(t, db, out...)
}

func fixtureEvents() []fixEvent {
	evs := []fixEvent{
		{id: decoy, source: "deploy", kind: "change", service: "search", operation: "Deploy", region: "us-east-1", actor: "ci-bot", resource: "search:1.4.2", changeType: "deploy", risk: "low", at: t0.Add(-20 * time.Minute)},
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

type fixture struct {
	db    *store.DB
	incID string // the one incident the engine finds
	opts  Options
	srv   *Server
	ts    *httptest.Server
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
	return &fixture{db: f.db, incID: f.incID, opts: o, srv: srv, ts: ts}
}

// newFixture opens an in-memory faultline DB with the fixture events, two
// dead letters and two Kafka positions, and serves it.
func newFixture(t testing.TB, mutate func(*Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	db := testkit.OpenDB(t)
	seedEvents(t, db, fixtureEvents())
	for i, reason := range []string{"invalid_json", "invalid_json", "unknown_format"} {
		testkit.SeedDeadLetters(t, db, testkit.DeadLetter{Time: t0.Add(time.Duration(i) * time.Minute), DeadLetter: transform.DeadLetter{
			Reason: reason, Message: "bad record: fix the producer", Format: "app", Raw: []byte("xx"), RawSize: 2,
			Lineage: transform.Lineage{Topic: "app-errors", Offset: int64(i)}}})
	}
	for p := range 2 {
		testkit.SeedPositions(t, db, testkit.Position{Position: store.Position{Source: "kafka:app-errors", Part: int32(p), Next: int64(100 + p)},
			UpdatedAt: t0.Add(30 * time.Minute)})
	}
	engine := queries.NewEngine(db.DB, queries.DefaultCorrelationConfig(), fixTopo)
	sandbox, err := queries.NewSandbox(ctx, db.DB, queries.Config{Timeout: 10 * time.Second, MaxRows: 50, MaxBytes: 1 << 20, MaxConcurrent: 4, ExportMaxRows: 100000, ExportMaxBytes: 1 << 30, MemoryLimit: "1GB"})
	if err != nil {
		t.Fatal(err)
	}
	incs, err := engine.Incidents(ctx, queries.Window{})
	if err != nil || len(incs) != 1 {
		t.Fatalf("the fixture must hold one incident: %v %+v", err, incs)
	}
	o := Options{
		Config:  DefaultConfig(),
		Engine:  engine,
		Sandbox: sandbox,
		Now:     func() time.Time { return t0.Add(35 * time.Minute) },
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
	return &fixture{db: db, incID: incs[0].ID, opts: o, srv: srv, ts: ts}
}

func (f *fixture) get(t testing.TB, path string, hdr ...string) (answer, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

// post sends a form to path, as the console's form does from its own page.
func (f *fixture) post(t testing.TB, path string, form url.Values, hdr ...string) (answer, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", f.ts.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

// answer is a response that do has read and closed: its status and header.
type answer struct {
	StatusCode int
	Header     http.Header
}

// do sends req and returns the response's status, header and body.
func do(t testing.TB, req *http.Request) (answer, string) {
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
	return answer{StatusCode: resp.StatusCode, Header: resp.Header}, string(b)
}
