package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/dashboards"
	"github.com/faultline/faultline/dashboards/client"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform"
)

var t0 = time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)

// serve starts a real dashboards server over an in-memory database with a
// quiet hour, a change at 07:00 and an error spike on api from 07:03 on.
func serve(t *testing.T, cfg dashboards.Config) (*httptest.Server, *queries.Engine, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db := testkit.OpenDB(t)
	six, seven := time.Date(2025, 10, 20, 6, 0, 0, 0, time.UTC), time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)
	now := time.Now().UTC()
	var evs []transform.Event
	for _, svc := range []string{"api", "db"} {
		evs = append(evs, testkit.Repeat(12, "base-", testkit.Every(six, 5*time.Minute), transform.Event{ObservedTime: now,
			Source: "app", Kind: "error", Service: svc, Region: "us-east-1", Message: "slow"})...)
	}
	evs = append(evs, transform.Event{EventID: "chg-1", Time: seven, ObservedTime: now, Source: "cloudtrail", Kind: "change",
		Service: "db", Operation: "ModifyDBInstance", Region: "us-east-1", Actor: "bob", Resource: "db-1", RiskClass: "high", ChangeType: "database"})
	evs = append(evs, testkit.Repeat(400, "err-", testkit.Every(seven.Add(3*time.Minute), 3*time.Second), transform.Event{ObservedTime: now,
		Source: "app", Kind: "error", Service: "api", Region: "us-east-1", PeerService: "db", Message: "db timeout"})...)
	testkit.Seed(t, db, evs...)
	engine := queries.NewEngine(db.DB, queries.DefaultCorrelationConfig(), map[string][]string{"api": {"db"}})
	sb, err := queries.NewSandbox(ctx, db.DB, queries.Config{Timeout: 10 * time.Second, MaxRows: 100, MaxBytes: 32 << 20, MaxConcurrent: 4, ExportMaxRows: 100000, ExportMaxBytes: 1 << 30, MemoryLimit: "1GB"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := dashboards.New(dashboards.Options{Config: cfg, Engine: engine, Sandbox: sb, MaxRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, engine, db
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(w) == "null" {
		w = []byte("[]") // the API sends empty lists, never null
	}
	if string(g) != string(w) {
		t.Errorf("%s over HTTP differs from local:\n got %s\nwant %s", what, g, w)
	}
}

// The client answers exactly what the engine answers locally.
func TestClientMatchesLocal(t *testing.T) {
	ts, engine, _ := serve(t, dashboards.DefaultConfig())
	ctx := context.Background()
	c, err := client.New(ts.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []queries.Window{{}, {Since: t0.Add(-2 * time.Hour), Until: t0.Add(time.Hour)}, {Since: t0}, {Until: t0}} {
		incs, err := c.Incidents(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := engine.Incidents(ctx, w)
		same(t, "incidents", incs, want)
		sus, err := c.Suspects(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		wantSus, _ := engine.Suspects(ctx, w)
		same(t, "suspects", sus, wantSus)
		casc, _ := c.Cascade(ctx, w)
		wantCasc, _ := engine.Cascade(ctx, w)
		same(t, "cascade", casc, wantCasc)
		regs, _ := c.Regions(ctx, w)
		wantRegs, _ := engine.Regions(ctx, w)
		same(t, "regions", regs, wantRegs)
		cfr, _ := c.ChangeFailureRate(ctx, w)
		wantCfr, _ := engine.ChangeFailureRate(ctx, w)
		same(t, "change failure rate", cfr, wantCfr)
		ser, _ := c.Series(ctx, w)
		wantSer, _ := engine.Series(ctx, w)
		same(t, "series", ser, wantSer)
		top, _ := c.Topology(ctx, w)
		wantTop, _ := engine.Topology(ctx, w)
		same(t, "topology", top, wantTop)
		st, err := c.Stats(ctx, w, 5)
		if err != nil {
			t.Fatal(err)
		}
		wantSt, _ := engine.Stats(ctx, w, 5)
		same(t, "stats", st, wantSt)
		es, err := c.EventSpan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantEs, _ := engine.EventSpan(ctx)
		same(t, "event span", es, wantEs)
		im, err := c.Impact(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		wantIm, _ := engine.Impact(ctx, w)
		same(t, "impact incidents", im.Incidents, wantIm.Incidents)
		same(t, "impact suspects", im.Suspects, wantIm.Suspects)
		same(t, "impact cascade", im.Cascade, wantIm.Cascade)
		same(t, "impact regions", im.Regions, wantIm.Regions)
		same(t, "impact change failure rate", im.ChangeFailure, wantIm.ChangeFailure)
	}
	incs, _ := engine.Incidents(ctx, queries.Window{})
	sus, _ := engine.Suspects(ctx, queries.Window{})
	if len(incs) != 1 || len(sus) == 0 || sus[0].EventID != "chg-1" {
		t.Fatalf("fixture: want one incident with chg-1 as top suspect, got %+v / %+v", incs, sus)
	}

	tbl, err := c.SQL(ctx, "SELECT service, count(*) AS n FROM errors GROUP BY service ORDER BY service")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tbl.Columns, ",") != "service,n" || len(tbl.Rows) != 2 || tbl.Rows[0][0] != "api" || tbl.Rows[0][1] != int64(412) {
		t.Errorf("SQL table = %+v", tbl)
	}
	named, err := c.Named(ctx, "incidents", queries.Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(named.Rows) != 1 || named.Columns[0] != "incident_id" || named.Rows[0][0] != incs[0].ID {
		t.Errorf("named incidents = %+v", named)
	}
}

func TestClientErrors(t *testing.T) {
	ts, _, _ := serve(t, func() dashboards.Config {
		c := dashboards.DefaultConfig()
		c.Token, c.Username, c.Password = "tok", "sre", "pw"
		return c
	}())
	ctx := context.Background()

	c, _ := client.New(ts.URL, "tok")
	_, err := c.SQL(ctx, "SELECT * FROM read_text('/etc/passwd')")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 400 || !strings.Contains(ce.Message, "refused by the analyst SQL sandbox") {
		t.Errorf("refused SQL = %v, want a 400 naming the sandbox", err)
	}
	if _, err := c.Named(ctx, "nope", queries.Window{}); err == nil || !strings.Contains(err.Error(), `named query "nope"`) {
		t.Errorf("unknown named query = %v", err)
	}

	noauth, _ := client.New(ts.URL, "")
	if _, err := noauth.Incidents(ctx, queries.Window{}); !errors.As(err, &ce) || ce.Status != 401 || !strings.Contains(err.Error(), "query.token") {
		t.Errorf("no token = %v, want 401 saying how to authenticate", err)
	}
	u, _ := url.Parse(ts.URL)
	u.User = url.UserPassword("sre", "pw")
	basic, _ := client.New(u.String(), "")
	if _, err := basic.Incidents(ctx, queries.Window{}); err != nil {
		t.Errorf("basic auth from the URL: %v", err)
	}
	if err := noauth.Health(ctx); err != nil {
		t.Errorf("healthz needs no auth: %v", err)
	}

	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := client.New(bad, ""); err == nil || !strings.Contains(err.Error(), "query.server") {
			t.Errorf("New(%q) = %v, want an error naming query.server", bad, err)
		}
	}
	down, _ := client.New("http://127.0.0.1:1", "")
	if _, err := down.SQL(ctx, "SELECT 1"); err == nil || !strings.Contains(err.Error(), "is faultline serve running") {
		t.Errorf("server down = %v", err)
	}
}

// Stream hands rows over as they arrive and reports how the result ended;
// an "error" member after the rows (the server failed mid-result) is an
// error, not a short result that looks whole.
func TestClientStream(t *testing.T) {
	ts, _, _ := serve(t, dashboards.DefaultConfig())
	c, _ := client.New(ts.URL, "")
	var got []string
	sum, err := c.Stream(context.Background(), "SELECT 'r' || x AS s FROM range(3) t(x) ORDER BY x", rowFunc(func(v []any) error {
		got = append(got, v[0].(string))
		return nil
	}))
	if err != nil || strings.Join(got, ",") != "r0,r1,r2" || sum.Rows != 3 || sum.Bytes != 6 || sum.Truncated {
		t.Fatalf("stream: %v %+v %v", got, sum, err)
	}
	sum, err = c.Stream(context.Background(), "SELECT x FROM range(1000) t(x)", rowFunc(func([]any) error { return nil }))
	if err != nil || sum.Rows != 100 || sum.TruncatedBy != queries.CapRows {
		t.Fatalf("row cap through the client: %+v %v", sum, err)
	}

	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"columns": ["a"], "column_types": ["BIGINT"], "rows": [[1], [2]], "truncated": false, "row_count": 2, "byte_count": 2, "error": "query: conversion failed"}`)
	}))
	defer broken.Close()
	bc, _ := client.New(broken.URL, "")
	n := 0
	_, err = bc.Stream(context.Background(), "SELECT 1", rowFunc(func([]any) error { n++; return nil }))
	if err == nil || !strings.Contains(err.Error(), "conversion failed") || n != 2 {
		t.Fatalf("a result that broke off: %d rows, %v; want the 2 rows and the error", n, err)
	}
}

type rowFunc func([]any) error

func (rowFunc) Begin([]queries.Column) error { return nil }
func (f rowFunc) Row(v []any) error          { return f(v) }
