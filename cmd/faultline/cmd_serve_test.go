package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform/simulate"
)

// freeAddr returns a loopback address that was free a moment ago, for a
// process the test starts to listen on. It is picked below Linux's
// ephemeral range (32768-60999), where the kernel never hands out ports for
// ":0" listeners and outgoing connections: a port from that range, released
// here, was now and then taken by another test process before the started
// one bound it (a doc script's report then read another server's data).
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 200 {
		ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000)))
		if err != nil {
			continue
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	ln := testkit.Listen(t)
	defer ln.Close()
	return ln.Addr().String()
}

// faultline serve end to end: a simulated outage is produced to an
// in-process Kafka broker; serve ingests it while serving the API, the
// dashboards and /metrics from the same DuckDB file, finds the root cause,
// and shuts down cleanly, releasing the file.
func TestServeIngestsAndServes(t *testing.T) {
	t.Chdir(t.TempDir())
	sc, err := simulate.Generate(simulate.FamilyLBChange, 1, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, simulate.Topics...))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ProducerBatchMaxBytes(16<<20), kgo.MaxBufferedRecords(100000))
	if err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	if err := sc.EachMessage(func(topic string, m simulate.Message) error {
		recs = append(recs, &kgo.Record{Topic: topic, Key: m.Key, Value: m.Value, Timestamp: m.Time})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(context.Background(), time.Minute)
	if err := cl.ProduceSync(pctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	pcancel()
	cl.Close()

	addr, pgAddr := freeAddr(t), freeAddr(t)
	dbPath := filepath.Join(t.TempDir(), "serve.duckdb")
	var topics strings.Builder
	for _, name := range simulate.Topics {
		fmt.Fprintf(&topics, "    - {name: %s, format: %s}\n", name, simulate.TopicFormats[name])
	}
	topo, _ := json.Marshal(sc.Truth.Topology) // JSON is YAML
	cfg := fmt.Sprintf(`db: %s
kafka:
  brokers: [%s]
  group: serve-test
  fetch_max_wait: 100ms
  session_timeout: 6s
  topics:
%singest:
  batch_max_wait: 100ms
topology: %s
serve:
  listen: %s
  token: tok
  refresh: 1s
  postgres:
    listen: %s
`, dbPath, cluster.ListenAddrs()[0], topics.String(), topo, addr, pgAddr)
	if err := os.WriteFile("serve.yaml", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var out, errb syncBuffer
	go func() { done <- startCmd(ctx, &out, &errb, "--config", "serve.yaml", "--log-level", "warn", "serve") }()

	base := "http://" + addr
	// What faultline query/report --server use.
	a := &app{cfg: Config{Query: queries.Config{Server: base, Token: "tok"}}}
	c, err := a.serverClient()
	if err != nil || c == nil {
		t.Fatalf("serverClient = %v, %v", c, err)
	}
	// Wait (bounded) until ingest has delivered the outage and the engine
	// ranks its root cause first.
	var incs []queries.Incident
	var sus []queries.Suspect
	testkit.Await(t, 2*time.Minute, "one incident with the root cause "+sc.Truth.RootCauseEventID+" ranked first", func() bool {
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, errb.String())
		default:
		}
		incs, _ = c.Incidents(ctx, queries.Window{})
		sus, _ = c.Suspects(ctx, queries.Window{})
		return len(incs) == 1 && len(sus) > 0 && sus[0].EventID == sc.Truth.RootCauseEventID
	})

	// The same live data over the PostgreSQL wire protocol, while serve
	// holds the file: the events the HTTP API counts.
	var httpCount queries.Collect
	sum, err := c.Stream(ctx, "SELECT count(*) FROM events", &httpCount)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := pgx.Connect(ctx, "postgres://faultline@"+pgAddr+"/faultline?sslmode=disable")
	if err != nil {
		t.Fatalf("connect to serve.postgres.listen: %v", err)
	}
	var pgCount int64
	if err := pg.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&pgCount); err != nil {
		t.Fatal(err)
	}
	pg.Close(ctx)
	// Ingest may still be committing: the later count is never smaller.
	if want, _ := httpCount.Done(sum).Rows[0][0].(int64); pgCount < want || want == 0 {
		t.Errorf("events over the wire protocol: %d, over the JSON API just before: %v", pgCount, want)
	}

	get := func(path, token string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz", ""); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, _ := get("/api/incidents", ""); code != 401 {
		t.Errorf("/api/incidents without the token = %d, want 401", code)
	}
	code, body := get("/api/ingest", "tok")
	var health struct {
		Running bool
		Events  int64
		Offsets []struct{ Source string }
	}
	if err := json.Unmarshal([]byte(body), &health); code != 200 || err != nil || !health.Running || health.Events == 0 || len(health.Offsets) == 0 {
		t.Errorf("/api/ingest = %d %s", code, body)
	}
	code, body = get("/metrics", "tok")
	for _, m := range []string{"faultline_ingest_events_total", "faultline_ingest_lag_messages", "faultline_http_requests_total"} {
		if code != 200 || !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if code, body := get("/", "tok"); code != 200 || !strings.Contains(body, `data-refresh="1"`) || !strings.Contains(body, sc.Truth.RootCauseOperation) {
		t.Errorf("overview while ingesting: %d, live refresh or root cause missing", code)
	}
	tbl, err := c.SQL(ctx, "SELECT count(*) FROM events")
	if err != nil || len(tbl.Rows) != 1 || tbl.Rows[0][0].(int64) == 0 {
		t.Errorf("analyst SQL through the server: %+v %v", tbl, err)
	}
	served := tbl.Rows[0][0].(int64)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGINT-like cancel = %v, want nil\n%s", err, errb.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not shut down")
	}
	// The file is released and holds what was served.
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatalf("reopen after shutdown: %v", err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM events").Scan(&n); err != nil || n < served {
		t.Errorf("events after shutdown = %d (%v), served %d", n, err, served)
	}
}

func TestServerClient(t *testing.T) {
	if c, err := (&app{}).serverClient(); c != nil || err != nil {
		t.Errorf("no query.server: %v %v, want nil, nil", c, err)
	}
	_, err := (&app{cfg: Config{Query: queries.Config{Server: "localhost:8080"}}}).serverClient()
	var ue usageError
	if err == nil || !asUsage(err, &ue) || !strings.Contains(err.Error(), "query.server") {
		t.Errorf("bad query.server = %v, want a usage error naming it", err)
	}
}

func TestServeBadConfig(t *testing.T) {
	t.Chdir(t.TempDir())
	_, _, err := runCmd(context.Background(), t, "serve", "--listen", "8080")
	var ue usageError
	if err == nil || !asUsage(err, &ue) || !strings.Contains(err.Error(), "serve.listen") {
		t.Errorf("serve --listen 8080 = %v, want a usage error naming serve.listen", err)
	}
}

// TestServeBrokersWithoutTopics: --brokers without kafka.topics is a usage
// error; serve used to log "no kafka.topics configured" at info and serve
// the file without ingesting.
func TestServeBrokersWithoutTopics(t *testing.T) {
	t.Chdir(t.TempDir())
	db := queryDB(t)
	// Bounded: the old code served until stopped.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, _, err := runCmd(ctx, t, "serve", "--db", db, "--listen", "127.0.0.1:0", "--brokers", "127.0.0.1:9092")
	var ue usageError
	if err == nil || !asUsage(err, &ue) || !strings.Contains(err.Error(), "no kafka.topics are configured") {
		t.Errorf("serve --brokers without topics = %v, want a usage error naming kafka.topics", err)
	}
}

// TestServeWarnsWithoutAuth: serving a non-loopback address with no token
// or basic auth warns, saying how to protect it (it was silent; the
// PostgreSQL endpoint refuses the same case outright).
func TestServeWarnsWithoutAuth(t *testing.T) {
	t.Chdir(t.TempDir())
	db := queryDB(t)
	for _, c := range []struct {
		listen, token string
		warn          bool
	}{
		{"127.0.0.1:0", "", false},
		{"0.0.0.0:0", "", true},
		{"0.0.0.0:0", "s3cret", false},
	} {
		t.Setenv("FAULTLINE_SERVE_TOKEN", c.token)
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		_, stderr, err := runCmd(ctx, t, "serve", "--db", db, "--listen", c.listen, "--log-format", "text")
		cancel()
		if err != nil {
			t.Fatalf("serve --listen %s: %v\n%s", c.listen, err, stderr)
		}
		if got := strings.Contains(stderr, "without authentication"); got != c.warn {
			t.Errorf("serve --listen %s, token %q: warned %v, want %v\n%s", c.listen, c.token, got, c.warn, stderr)
		}
	}
}
