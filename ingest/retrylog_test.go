package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/faultline/faultline/internal/testkit"
)

// TestRetryLogFirstFewThenSummaries: a request failing for minutes logs
// its first retryLogFirst failures, then a summary at most every
// retryLogEvery with the attempts, for how long, the time left before a
// batch run gives up, the last error and what to check; a success starts
// over.
func TestRetryLogFirstFewThenSummaries(t *testing.T) {
	logs := testkit.NewLogs()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	l := &retryLog{log: logs.Logger(), msg: "kafka brokers unreachable",
		giveUp: func(now time.Time) (time.Duration, bool) { return 2*time.Minute - now.Sub(t0), true }}
	fail := func(at time.Duration, i int) {
		l.failed(t0.Add(at), 204*time.Millisecond, "err", fmt.Sprintf("connection refused #%d", i), "check", "is Kafka running")
	}
	for i := range 12 { // one attempt every 4s: 0s .. 44s
		fail(time.Duration(i)*4*time.Second, i+1)
	}
	lines := logs.Lines("kafka brokers unreachable")
	want := []string{
		"kafka brokers unreachable, retrying attempt=1 wait=204ms err=connection refused #1 check=is Kafka running",
		"kafka brokers unreachable, retrying attempt=2 wait=204ms err=connection refused #2 check=is Kafka running",
		"kafka brokers unreachable, retrying attempt=3 wait=204ms err=connection refused #3 check=is Kafka running",
		// 30s after the last line (8s): the attempt at 40s
		"kafka brokers unreachable, still retrying attempts=11 for=40s giving_up_in=1m20s err=connection refused #11 check=is Kafka running",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	l.now = func() time.Time { return t0.Add(46 * time.Second) }
	l.succeeded()
	l.succeeded() // no failure since: nothing to say
	fail(50*time.Second, 13)
	got := logs.Lines("kafka brokers unreachable")
	if len(got) != 6 || got[4] != "kafka brokers unreachable: recovered failed_attempts=12 for=46s" {
		t.Fatalf("after the brokers came back:\n%s\nwant one line: kafka brokers unreachable: recovered failed_attempts=12 for=46s", strings.Join(got[4:], "\n"))
	}
	if !strings.Contains(got[5], "retrying attempt=1 ") {
		t.Errorf("after a success the next failure logs %q, want attempt=1 again", got[5])
	}
}

// TestRunBrokerRefusedWarnsAFewTimes: a batch run against a port where
// nothing listens warns at its first attempts, in JSON with the wait as a
// duration a person reads ("250ms", not 250000000), and then stays quiet
// until a summary is due, while it keeps retrying.
func TestRunBrokerRefusedWarnsAFewTimes(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	o := testOptions(t, []string{addr}, openDB(t, ""), TopicConfig{Name: "trail", Format: "cloudtrail"})
	var buf lockedBuffer
	o.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	o.Metrics = NewMetrics(nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	testkit.Await(t, 30*time.Second, "8 failed requests to the brokers", func() bool {
		return testutil.ToFloat64(o.Metrics.KafkaErrors) >= 8
	})
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Run after stop = %v", err)
	}
	var warned []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, "kafka brokers unreachable") {
			warned = append(warned, rec)
		}
	}
	if len(warned) != retryLogFirst {
		t.Fatalf("%d warnings for %v failed requests, want the first %d only", len(warned), testutil.ToFloat64(o.Metrics.KafkaErrors), retryLogFirst)
	}
	for _, rec := range warned {
		if w, ok := rec["wait"]; ok {
			s, isString := w.(string)
			if _, err := time.ParseDuration(s); !isString || err != nil {
				t.Errorf("wait = %#v, want a duration such as \"250ms\"", w)
			}
		}
	}
	if _, ok := warned[0]["wait"]; !ok {
		t.Errorf("first warning %v has no wait", warned[0])
	}
}
