//go:build integration && faults

package integration

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// kafkaProxy is a toxiproxy proxy in front of the broker's PROXIED
// listener, which advertises the proxy's address: clients that bootstrap
// through it reach the broker only through it (scripts/integration.sh).
type kafkaProxy struct {
	*toxiproxy.Proxy
	addr string
}

func startKafkaProxy(t *testing.T) *kafkaProxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	addr := env(t, "FAULTLINE_IT_PROXY_LISTEN")
	p := toxiproxy.NewProxy(srv, "kafka", addr, env(t, "FAULTLINE_IT_PROXY_UPSTREAM"))
	if err := p.Start(); err != nil {
		t.Fatalf("start toxiproxy on %s: %v", addr, err)
	}
	t.Cleanup(p.Stop)
	return &kafkaProxy{Proxy: p, addr: addr}
}

// toxic adds a toxic ("latency", "timeout", "reset_peer", "limit_data") on
// stream ("upstream" or "downstream") with attributes as JSON.
func (p *kafkaProxy) toxic(t *testing.T, name, typ, stream, attrs string) {
	t.Helper()
	js := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"toxicity":1,"attributes":%s}`, name, typ, stream, attrs)
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
		t.Fatalf("add toxic %s: %v", js, err)
	}
}

func (p *kafkaProxy) clear(t *testing.T) {
	t.Helper()
	p.Toxics.ResetToxics(t.Context())
}

// TestFaultNetwork runs `faultline ingest` (streaming, --metrics-listen)
// with the brokers behind toxiproxy through five network faults while an
// independent producer writes directly to the broker: latency, connections
// reset every 700ms (mid-fetch, mid-heartbeat, mid-offset-commit), responses
// cut after 32 KiB, a broker that accepts connections and never answers,
// and a refused connection. During the outages ingest must stay calm (CPU
// measured), report the disconnection on /healthz, /readyz and /metrics,
// and afterwards catch up by itself with every event stored exactly once.
func TestFaultNetwork(t *testing.T) {
	proxy := startKafkaProxy(t)
	dir := t.TempDir()
	topic := newTopic(t, 3)
	dbPath := dir + "/net.duckdb"
	maddr := freeAddr(t)
	base := "http://" + maddr
	const chunk = 3000
	produced := 0
	produceChunk := func() {
		runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic, appEvents(t, dir, "net", produced, chunk))
		produced += chunk
	}
	caughtUp := func() bool {
		r, ok := getReadyz(t, base)
		var next int64
		for _, pt := range r.Ingest.Partitions {
			next += pt.Next
		}
		return ok && r.Ready && next == int64(produced) && r.Ingest.Lag == 0
	}
	produceChunk()
	p := startProc(t, faultlineBin(t), append(ingestEnv, "FAULTLINE_KAFKA_SESSION_TIMEOUT=10s"),
		"ingest", "--log-format", "json", "--log-level", "warn", "--db", dbPath, "--brokers", proxy.addr,
		"--group", topic, "--topic", topic+"=app", "--metrics-listen", maddr)
	await(t, 2*time.Minute, "ingest through the proxy catches up", caughtUp)
	if v := metric(t, base, "faultline_ingest_broker_connected"); v != 1 {
		t.Errorf("faultline_ingest_broker_connected = %v while connected, want 1", v)
	}

	// phase runs fault for hold while a chunk is produced, then removes it
	// and measures how long ingest takes to catch up.
	phase := func(name string, hold time.Duration, fault, heal func()) {
		t.Helper()
		fault()
		produceChunk()
		time.Sleep(hold)
		heal()
		d := await(t, 3*time.Minute, name+": ingest catches up after the fault", caughtUp)
		t.Logf("%s: caught up %s after the fault was removed", name, d.Round(100*time.Millisecond))
		if !p.alive() {
			t.Fatalf("%s: ingest exited\n%s", name, p.stderr)
		}
	}
	phase("latency 200ms±100ms", 5*time.Second, func() {
		proxy.toxic(t, "lat-down", "latency", "downstream", `{"latency":200,"jitter":100}`)
		proxy.toxic(t, "lat-up", "latency", "upstream", `{"latency":200,"jitter":100}`)
	}, func() { proxy.clear(t) })
	phase("connections reset every 700ms", 15*time.Second, func() {
		proxy.toxic(t, "reset", "reset_peer", "upstream", `{"timeout":700}`)
	}, func() { proxy.clear(t) })
	phase("responses cut after 32 KiB", 10*time.Second, func() {
		proxy.toxic(t, "cut", "limit_data", "downstream", `{"bytes":32768}`)
	}, func() { proxy.clear(t) })

	// Outages: the broker accepts connections and never answers, then
	// refuses them. ingest reports it, uses little CPU, and waits.
	outage := func(name string, fault, heal func()) {
		t.Helper()
		fault()
		start := time.Now()
		var health string
		await(t, time.Minute, name+": /healthz reports the brokers unreachable", func() bool {
			code, body := httpGet(t, base+"/healthz")
			health = body
			return code == 503 && strings.Contains(body, "cannot reach Kafka at "+proxy.addr)
		})
		t.Logf("%s: /healthz after %s: %s", name, time.Since(start).Round(100*time.Millisecond), strings.TrimSpace(health))
		if v := metric(t, base, "faultline_ingest_broker_connected"); v != 0 {
			t.Errorf("%s: faultline_ingest_broker_connected = %v, want 0", name, v)
		}
		if r, ok := getReadyz(t, base); !ok || r.Ready || r.Ingest.Connected || r.Ingest.DisconnectedSince.IsZero() {
			t.Errorf("%s: /readyz = %+v, want not ready, disconnected, with the time since", name, r)
		}
		produceChunk() // the producer goes on, directly to the broker
		cpu0, t0 := p.cpuSeconds(t), time.Now()
		time.Sleep(20 * time.Second)
		cpu := (p.cpuSeconds(t) - cpu0) / time.Since(t0).Seconds()
		t.Logf("%s: ingest used %.1f%% of a core over 20s while the brokers were unreachable", name, 100*cpu)
		if cpu > 0.10 {
			t.Errorf("%s: ingest used %.0f%% of a core while the brokers were unreachable: a busy loop", name, 100*cpu)
		}
		heal()
		d := await(t, 3*time.Minute, name+": ingest catches up after the outage", caughtUp)
		t.Logf("%s: caught up %s after the brokers came back", name, d.Round(100*time.Millisecond))
		if v := metric(t, base, "faultline_ingest_broker_connected"); v != 1 {
			t.Errorf("%s: faultline_ingest_broker_connected = %v after recovery, want 1", name, v)
		}
		if code, body := httpGet(t, base+"/healthz"); code != 200 {
			t.Errorf("%s: /healthz = %d %q after recovery", name, code, body)
		}
	}
	outage("broker accepts and never answers", func() {
		proxy.toxic(t, "hole-up", "timeout", "upstream", `{"timeout":0}`)
		proxy.toxic(t, "hole-down", "timeout", "downstream", `{"timeout":0}`)
	}, func() { proxy.clear(t) })
	outage("connection refused", proxy.Stop, func() {
		if err := proxy.Start(); err != nil {
			t.Fatal(err)
		}
	})

	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.exit(t, time.Minute); err != nil {
		t.Fatalf("ingest after SIGTERM: %v\n%s", err, p.stderr)
	}
	db := openStore(t, dbPath)
	checkExactlyOnce(t, db, topic, "net", produced)
	n := queryInt(t, db, `SELECT count(*) FROM events`)
	faultReport(t, int64(produced), n, n-queryInt(t, db, `SELECT count(DISTINCT trace_id) FROM events`), queryInt(t, db, `SELECT count(*) FROM dead_letters`), 0)
	t.Logf("ingest warned %d times (retries)", strings.Count(p.stderr.String(), `"level":"WARN"`))
}

// TestFaultNetworkBatchGivesUp: a batch run against a broker that accepts
// connections but never answers gives up after --give-up-after with exit 1
// and a message naming the brokers, using little CPU while it waits; the
// same run without the fault finishes with every event once.
func TestFaultNetworkBatchGivesUp(t *testing.T) {
	proxy := startKafkaProxy(t)
	dir := t.TempDir()
	topic := newTopic(t, 3)
	dbPath := dir + "/batch.duckdb"
	runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic, appEvents(t, dir, "give", 0, 2000))
	args := []string{"ingest", "--log-format", "json", "--log-level", "warn", "--db", dbPath, "--brokers", proxy.addr,
		"--group", topic, "--topic", topic + "=app", "--exit-when-caught-up", "--give-up-after", "20s"}
	proxy.toxic(t, "hole-up", "timeout", "upstream", `{"timeout":0}`)
	proxy.toxic(t, "hole-down", "timeout", "downstream", `{"timeout":0}`)
	start := time.Now()
	p := startProc(t, faultlineBin(t), ingestEnv, args...)
	time.Sleep(5 * time.Second)
	cpu0, t0 := p.cpuSeconds(t), time.Now()
	time.Sleep(10 * time.Second)
	cpu := (p.cpuSeconds(t) - cpu0) / time.Since(t0).Seconds()
	err := p.exit(t, 2*time.Minute)
	took := time.Since(start)
	last := lastLine(p.stderr.String())
	t.Logf("exit after %s (%v), %.1f%% of a core while waiting: %s", took.Round(100*time.Millisecond), err, 100*cpu, last)
	if err == nil {
		t.Fatal("the batch run exited 0 without reaching the brokers")
	}
	if !strings.Contains(last, "cannot reach Kafka at "+proxy.addr) || !strings.Contains(last, "give_up_after") {
		t.Errorf("the last line does not name the brokers and the limit: %q", last)
	}
	if took > 90*time.Second {
		t.Errorf("gave up after %s, want about --give-up-after (20s)", took)
	}
	if cpu > 0.10 {
		t.Errorf("%.0f%% of a core while the broker did not answer: a busy loop", 100*cpu)
	}
	proxy.clear(t)
	if err := startProc(t, faultlineBin(t), ingestEnv, args...).exit(t, 3*time.Minute); err != nil {
		t.Fatalf("the rerun without the fault: %v", err)
	}
	db := openStore(t, dbPath)
	checkExactlyOnce(t, db, topic, "give", 2000)
}
