package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/internal/testkit"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln := testkit.Listen(t)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRunBrokerUnavailableThenBack starts ingest before the broker exists;
// it retries (without exiting) and loads everything once the broker is up.
func TestRunBrokerUnavailableThenBack(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	db := openDB(t, "")
	o := testOptions(t, []string{addr}, db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	o.Config.RetryMaxBackoff = 500 * time.Millisecond
	logs := testkit.NewLogs()
	o.Logger = logs.Logger()
	done := make(chan error, 1)
	go func() { done <- Run(runCtx(t, 90*time.Second), o) }()

	logs.AwaitCount(t, "retrying", 3, 30*time.Second) // several failed attempts
	select {
	case err := <-done:
		t.Fatalf("ingest exited while the broker was down: %v", err)
	default:
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(2, "trail"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var recs []rec
	for i := 0; i < 500; i++ {
		recs = append(recs, rec{"trail", int32(i % 2), ctRecord(fmt.Sprintf("ev-%d", i), i)})
	}
	produce(t, c.ListenAddrs(), recs)
	// The group may have joined before the records were produced; the
	// high watermark is read at assignment, so wait for the count instead
	// of relying on exit-when-caught-up alone.
	testkit.Await(t, 60*time.Second, "500 events after the broker came back", func() bool {
		return queryInt(t, db, "SELECT count(*) FROM events") >= 500
	})
	if n := queryInt(t, db, "SELECT count(DISTINCT event_id) FROM events"); n != 500 {
		t.Fatalf("events after the broker came back = %d, want 500", n)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events"); n != 500 {
		t.Errorf("events = %d, want 500", n)
	}
}

// deleteRecords advances the log start offset of partition 0 (retention).
func deleteRecords(t *testing.T, addrs []string, topic string, before int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	p := kmsg.NewDeleteRecordsRequestTopicPartition()
	p.Partition, p.Offset = 0, before
	rt.Partitions = append(rt.Partitions, p)
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 5000
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if e := resp.Topics[0].Partitions[0].ErrorCode; e != 0 {
		t.Fatalf("delete records: error code %d", e)
	}
}

// TestRunDataLoss: retention deleted messages ingest had not read. Ingest
// stops with a data loss error naming the partition and offsets, and with
// allow_data_loss skips to the log start.
func TestRunDataLoss(t *testing.T) {
	c := newCluster(t, 1, "trail")
	batch := func(from int) []rec {
		var out []rec
		for i := from; i < from+100; i++ {
			out = append(out, rec{"trail", 0, ctRecord(fmt.Sprintf("ev-%d", i), i)})
		}
		return out
	}
	produce(t, c.ListenAddrs(), batch(0))
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	if err := Run(runCtx(t, 60*time.Second), o); err != nil {
		t.Fatal(err)
	}
	produce(t, c.ListenAddrs(), batch(100))
	deleteRecords(t, c.ListenAddrs(), "trail", 150)

	err := Run(runCtx(t, 60*time.Second), o)
	var dl *DataLossError
	if !errors.As(err, &dl) {
		t.Fatalf("err = %v, want a DataLossError", err)
	}
	if dl.Topic != "trail" || dl.Partition != 0 || dl.Stored != 100 || dl.LogStart != 150 {
		t.Errorf("data loss error = %+v", dl)
	}
	for _, want := range []string{"data loss", `"trail" partition 0`, "100", "150", "--allow-data-loss"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events"); n != 100 {
		t.Errorf("events after refusing = %d, want 100", n)
	}

	o.Config.AllowDataLoss = true
	if err := Run(runCtx(t, 60*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events"); n != 150 {
		t.Errorf("events after skipping = %d, want 150 (0-99 and 150-199)", n)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events WHERE src_offset BETWEEN 100 AND 149"); n != 0 {
		t.Errorf("%d events from deleted offsets", n)
	}
}

// TestMetricsAndHealth runs ingest with metrics and reads them over HTTP.
func TestMetricsAndHealth(t *testing.T) {
	c := newCluster(t, 1, "trail")
	var recs []rec
	for i := 0; i < 50; i++ {
		recs = append(recs, rec{"trail", 0, ctRecord(fmt.Sprintf("ev-%d", i), i)})
	}
	recs = append(recs, rec{"trail", 0, []byte("{")})
	produce(t, c.ListenAddrs(), recs)
	db := openDB(t, "")
	reg := prometheus.NewRegistry()
	h := &status.Tracker{}
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	o.Registerer, o.Status = reg, h
	if err := Run(runCtx(t, 60*time.Second), o); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, addr, Handler(reg, h), testLogger(t)) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	get := func(path string) (code int, body string) {
		testkit.Await(t, 10*time.Second, "the metrics server to answer "+path, func() bool {
			resp, err := testkit.Get(t, "http://"+addr+path)
			if err != nil {
				return false // not listening yet
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			code, body = resp.StatusCode, string(b)
			return err == nil
		})
		return code, body
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics status %d", code)
	}
	for _, want := range []string{
		`faultline_ingest_events_total{source="trail"} 50`,
		`faultline_ingest_dead_letters_total{reason="invalid_json"} 1`,
		`faultline_ingest_records_total 51`,
		`faultline_ingest_lag_messages{partition="0",topic="trail"} 0`,
		`faultline_ingest_inflight_bytes 0`,
		`faultline_ingest_commit_seconds_count`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz = %d %q", code, body)
	}
}

// TestRunBrokerRestart stops the broker mid-stream and starts it again on
// the same port with the same data directory: ingest retries while it is
// down and then loads everything, exactly once.
func TestRunBrokerRestart(t *testing.T) {
	port := freePort(t)
	dataDir := t.TempDir()
	start := func(seed bool) *kfake.Cluster {
		opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(dataDir)}
		if seed {
			opts = append(opts, kfake.SeedTopics(2, "trail"))
		}
		c, err := kfake.NewCluster(opts...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	batch := func(from, to int) []rec {
		var out []rec
		for i := from; i < to; i++ {
			out = append(out, rec{"trail", int32(i % 2), ctRecord(fmt.Sprintf("ev-%05d", i), i)})
		}
		return out
	}
	c := start(true)
	produce(t, c.ListenAddrs(), batch(0, 2000))
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	o.Config.ExitWhenCaughtUp = false
	o.Config.RetryMaxBackoff = 500 * time.Millisecond
	logs := testkit.NewLogs()
	o.Logger = logs.Logger()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	waitFor := func(n int64) {
		t.Helper()
		testkit.Await(t, 60*time.Second, fmt.Sprintf("%d events", n), func() bool {
			return queryInt(t, db, "SELECT count(*) FROM events") >= n
		})
	}
	waitFor(1)
	retries := logs.Count("retrying")
	c.Close()
	logs.AwaitCount(t, "retrying", retries+3, 30*time.Second) // ingest noticed and retried while the broker is gone
	select {
	case err := <-done:
		t.Fatalf("ingest exited while the broker was down: %v", err)
	default:
	}
	c = start(false)
	defer c.Close()
	produce(t, c.ListenAddrs(), batch(2000, 3000))
	waitFor(3000)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events"); n != 3000 {
		t.Errorf("events = %d, want 3000", n)
	}
	if n := queryInt(t, db, "SELECT count(DISTINCT event_id) FROM events"); n != 3000 {
		t.Errorf("distinct events = %d, want 3000", n)
	}
}

// TestRunBrokerRefusedWarns: a batch run against a port where nothing
// listens (a typo in --brokers, Kafka not started) says so at its first
// failed attempt, naming the address, the error and what to check, and
// keeps retrying (TestRunBrokerUnavailableThenBack: a broker that is
// starting still works).
func TestRunBrokerRefusedWarns(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	db := openDB(t, "")
	o := testOptions(t, []string{addr}, db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	logs := testkit.NewLogs()
	o.Logger = logs.Logger()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()

	logs.AwaitCount(t, "kafka brokers unreachable, retrying", 1, 30*time.Second)
	line := logs.Lines("kafka brokers unreachable, retrying")[0]
	for _, want := range []string{"brokers=" + addr, "connection refused", "check --brokers (kafka.brokers)", "is Kafka running", "ingest.give_up_after"} {
		if !strings.Contains(line, want) {
			t.Errorf("first warning %q lacks %q", line, want)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("batch run ended at the first refused connection: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after stop = %v", err)
	}
}

// TestRunBrokerHostNotFound: when DNS says the brokers' host does not
// exist, a batch run fails at once naming the flag (waiting cannot make the
// name appear); a streaming run keeps retrying and warns.
func TestRunBrokerHostNotFound(t *testing.T) {
	const host = "faultline-no-such-broker.invalid" // RFC 6761: never resolves
	var dnsErr *net.DNSError
	if _, err := net.DefaultResolver.LookupHost(t.Context(), host); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Skipf("this machine's DNS does not answer %s with no such host (got %v)", host, err)
	}
	broker := host + ":9092"
	t.Run("batch", func(t *testing.T) {
		o := testOptions(t, []string{broker}, openDB(t, ""), TopicConfig{Name: "trail", Format: "cloudtrail"})
		done := make(chan error, 1)
		go func() { done <- Run(runCtx(t, 60*time.Second), o) }()
		var err error
		select {
		case err = <-done:
		case <-time.After(30 * time.Second): // give_up_after is 2m
			t.Fatal("a batch run against a host that does not exist is still retrying after 30s")
		}
		if _, ok := errors.AsType[*UnknownBrokersError](err); !ok {
			t.Fatalf("Run = %v, want *UnknownBrokersError", err)
		}
		if msg := err.Error(); !strings.Contains(msg, "no such host "+host) || !strings.Contains(msg, "fix --brokers (kafka.brokers)") {
			t.Errorf("error %q: want it to name the host and the flag", msg)
		}
	})
	t.Run("streaming", func(t *testing.T) {
		o := testOptions(t, []string{broker}, openDB(t, ""), TopicConfig{Name: "trail", Format: "cloudtrail"})
		o.Config.ExitWhenCaughtUp = false
		logs := testkit.NewLogs()
		o.Logger = logs.Logger()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- Run(ctx, o) }()
		logs.AwaitCount(t, "kafka brokers unreachable, retrying", 2, 30*time.Second)
		if line := logs.Lines("kafka brokers unreachable, retrying")[0]; !strings.Contains(line, "no such host") || !strings.Contains(line, "check --brokers") {
			t.Errorf("warning %q: want the DNS error and what to check", line)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("streaming Run after stop = %v", err)
		}
	})
}
