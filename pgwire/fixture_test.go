package pgwire

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/queries"
)

// fixture is a real faultline database (ingest/store's schema, a file in a
// temporary directory) with events, behind a real Server on a loopback port.
type fixture struct {
	addr string
	host string
	port string
	db   *store.DB
	path string
	log  *logBuffer
	reg  *prometheus.Registry
}

// metric returns the value of a metric of the endpoint ("" labels: the
// first series).
func (f *fixture) metric(t *testing.T, name, label, value string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					match = true
				}
			}
			if !match {
				continue
			}
			if m.Gauge != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

const fixtureEvents = 1000

// events: one a minute from 2025-10-20 09:00 UTC; every third an error,
// services svc0..svc3, JSON attributes.
const fixtureSQL = `INSERT INTO events (event_id, time, observed_time, source, kind, service, operation, region,
	severity_number, severity_text, message, attributes, src_offset, src_partition)
SELECT 'e' || i, TIMESTAMPTZ '2025-10-20 09:00:00+00' + i * INTERVAL 1 MINUTE, TIMESTAMPTZ '2025-10-20 12:00:00+00',
	CASE WHEN i % 10 = 1 THEN 'deploy' ELSE 'app' END,
	CASE WHEN i % 3 = 0 THEN 'error' WHEN i % 10 = 1 THEN 'change' ELSE 'info' END,
	'svc' || (i % 4), 'op', 'us-east-1', CASE WHEN i % 3 = 0 THEN 17 ELSE 9 END, 'x',
	'message ' || i, '{"k": ' || i || ', "s": "v"}', i, 0
FROM range(` + "1000" + `) t(i)`

func defaultQueryConfig() queries.Config {
	q := queries.DefaultConfig()
	q.MemoryLimit = "1GB"
	return q
}

// start opens a database with the fixture's events and serves it with cfg
// (Listen is chosen here) until the test ends.
func start(t *testing.T, cfg Config, qcfg queries.Config) *fixture {
	t.Helper()
	return startWith(t, cfg, qcfg, func(ctx context.Context, db *store.DB) error {
		_, err := db.ExecContext(ctx, fixtureSQL)
		return err
	})
}

// startWith is start with the database filled by fill.
func startWith(t *testing.T, cfg Config, qcfg queries.Config, fill func(context.Context, *store.DB) error) *fixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pgwire.duckdb")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := fill(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := queries.RegisterTableFunctions(ctx, db.DB, queries.NewEngine(db.DB, queries.DefaultCorrelationConfig(), nil)); err != nil {
		t.Fatal(err)
	}
	sb, err := queries.NewSandbox(ctx, db.DB, qcfg)
	if err != nil {
		t.Fatal(err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	logs := &logBuffer{}
	reg := prometheus.NewRegistry()
	srv, err := New(cfg, sb, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), "v-test", reg)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Serve did not return 20s after its context ended")
		}
		if strings.Contains(logs.String(), "internal error") {
			t.Errorf("the server logged an internal error:\n%s", logs.String())
		}
	})
	host, port, _ := net.SplitHostPort(cfg.Listen)
	return &fixture{addr: cfg.Listen, host: host, port: port, db: db, path: path, log: logs, reg: reg}
}

// url is a connection string for pgx and libpq.
func (f *fixture) url(extra string) string {
	u := "postgres://faultline@" + f.addr + "/faultline?sslmode=disable"
	if extra != "" {
		u = "postgres://" + extra + "@" + f.addr + "/faultline?sslmode=disable"
	}
	return u
}

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var _ io.Writer = (*logBuffer)(nil)
