package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/faultline/faultline/ingest/status"
)

// TestRunMissingTopicBatch: a batch run over a topic that does not exist
// fails at once, naming the topic and the close existing name.
func TestRunMissingTopicBatch(t *testing.T) {
	c := newCluster(t, 2, "cloudtrail", "app-errors")
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "cloudtrial", Format: "cloudtrail"}, TopicConfig{Name: "app-errors", Format: "app"})
	o.Status = &status.Tracker{}
	o.Registerer = prometheus.NewRegistry()
	t0 := time.Now()
	err := Run(runCtx(t, 60*time.Second), o)
	var me *MissingTopicsError
	if !errors.As(err, &me) {
		t.Fatalf("Run = %v, want *MissingTopicsError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "cloudtrial (did you mean cloudtrail?)") || strings.Contains(msg, "app-errors") || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming cloudtrial with the suggestion, not app-errors", msg)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("took %s to notice the missing topic", d)
	}
	st := o.Status.Snapshot()
	if len(st.MissingTopics) != 1 || st.MissingTopics[0] != (status.MissingTopic{Topic: "cloudtrial", Suggestion: "cloudtrail"}) {
		t.Errorf("status missing topics = %+v", st.MissingTopics)
	}
}

// TestRunMissingTopicStreaming: a streaming run consumes the topics that
// exist, reports the missing one (status, /healthz, metric) and picks it up
// once it is created.
func TestRunMissingTopicStreaming(t *testing.T) {
	c := newCluster(t, 1, "trail")
	var recs []rec
	for i := 0; i < 50; i++ {
		recs = append(recs, rec{"trail", 0, ctRecord(fmt.Sprintf("t-%d", i), i)})
	}
	produce(t, c.ListenAddrs(), recs)
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"}, TopicConfig{Name: "late", Format: "cloudtrail"})
	o.Config.ExitWhenCaughtUp = false
	o.Kafka.SessionTimeout = 6 * time.Second // probe every 2s
	o.Status = &status.Tracker{}
	reg := prometheus.NewRegistry()
	o.Metrics = NewMetrics(reg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	}()
	waitFor(t, 60*time.Second, "events of the existing topic", func() bool { return queryInt(t, db, "SELECT count(*) FROM events") == 50 })
	st := o.Status.Snapshot()
	if len(st.MissingTopics) != 1 || st.MissingTopics[0].Topic != "late" {
		t.Fatalf("missing topics = %+v", st.MissingTopics)
	}
	rr := httptest.NewRecorder()
	Handler(reg, o.Status).ServeHTTP(rr, httptest.NewRequestWithContext(t.Context(), "GET", "/healthz", nil))
	if rr.Code != http.StatusServiceUnavailable || !strings.Contains(rr.Body.String(), "late") {
		t.Errorf("/healthz = %d %q, want 503 naming the topic", rr.Code, rr.Body.String())
	}
	if got := testutil.ToFloat64(o.Metrics.MissingTopics.WithLabelValues("late")); got != 1 {
		t.Errorf("faultline_ingest_topic_missing{topic=late} = %v, want 1", got)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "late", 1, 1
	req.Topics = append(req.Topics, rt)
	if _, err := req.RequestWith(context.Background(), cl); err != nil {
		t.Fatal(err)
	}
	var late []rec
	for i := 0; i < 30; i++ {
		late = append(late, rec{"late", 0, ctRecord(fmt.Sprintf("l-%d", i), i)})
	}
	produce(t, c.ListenAddrs(), late)
	waitFor(t, 60*time.Second, "events of the created topic", func() bool {
		return queryInt(t, db, "SELECT count(*) FROM events WHERE src_topic = 'late'") == 30
	})
	if st := o.Status.Snapshot(); len(st.MissingTopics) != 0 || len(st.Problems()) != 0 {
		t.Errorf("after creating the topic: missing %+v, problems %v", st.MissingTopics, st.Problems())
	}
}

// TestRunUnreachableBrokers: a batch run gives up after
// ingest.give_up_after with an error; a streaming run keeps retrying and
// reports the brokers as unreachable in its status and metrics.
func TestRunUnreachableBrokers(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	db := openDB(t, "")
	o := testOptions(t, []string{addr}, db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	o.Kafka.SessionTimeout = 6 * time.Second
	o.Config.GiveUpAfter = 2 * time.Second
	o.Config.RetryMaxBackoff = 200 * time.Millisecond
	t0 := time.Now()
	err := Run(runCtx(t, 60*time.Second), o)
	if err == nil || !strings.Contains(err.Error(), "cannot reach Kafka at "+addr) || !strings.Contains(err.Error(), "give_up_after") {
		t.Fatalf("batch Run = %v, want the unreachable brokers named", err)
	}
	if d := time.Since(t0); d > 15*time.Second {
		t.Errorf("gave up after %s, want about give_up_after (2s)", d)
	}

	o.Config.ExitWhenCaughtUp = false
	o.Status = &status.Tracker{}
	o.Metrics = NewMetrics(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	waitFor(t, 10*time.Second, "disconnected status", func() bool {
		st := o.Status.Snapshot()
		return st.Running && !st.Connected && st.LastError != ""
	})
	if got := testutil.ToFloat64(o.Metrics.BrokerConnected); got != 0 {
		t.Errorf("faultline_ingest_broker_connected = %v, want 0", got)
	}
	if got := testutil.ToFloat64(o.Metrics.KafkaErrors); got < 1 {
		t.Errorf("faultline_ingest_kafka_errors_total = %v, want > 0", got)
	}
	rr := httptest.NewRecorder()
	Handler(prometheus.NewRegistry(), o.Status).ServeHTTP(rr, httptest.NewRequestWithContext(t.Context(), "GET", "/readyz", nil))
	if rr.Code != http.StatusServiceUnavailable || !strings.Contains(rr.Body.String(), `"connected": false`) {
		t.Errorf("/readyz = %d %s, want 503 with connected false", rr.Code, rr.Body.String())
	}
	select {
	case err := <-done:
		t.Fatalf("streaming Run returned %v while the brokers were unreachable, want it to retry", err)
	case <-time.After(2 * time.Second):
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("streaming Run after cancel = %v", err)
	}
}

// heldGroup is a consumer group member speaking the protocol by hand: it
// takes every partition of a topic as the group's leader and then, like a
// killed process whose session has not expired, holds them without reading.
type heldGroup struct {
	t      *testing.T
	cl     *kgo.Client
	group  string
	topic  string
	parts  int32
	member string
	gen    int32
	stop   chan struct{}
	done   chan struct{}
}

func holdPartitions(t *testing.T, addrs []string, group, topic string, parts int32, session time.Duration) *heldGroup {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	h := &heldGroup{t: t, cl: cl, group: group, topic: topic, parts: parts, stop: make(chan struct{}), done: make(chan struct{})}
	if !h.join(session) {
		t.Fatal("the hand-made member is not the group's leader")
	}
	go func() {
		defer close(h.done)
		for {
			select {
			case <-h.stop:
				return // dies: no heartbeat, no leave
			case <-time.After(200 * time.Millisecond):
			}
			req := kmsg.NewPtrHeartbeatRequest()
			req.Group, req.Generation, req.MemberID = h.group, h.gen, h.member
			resp, err := req.RequestWith(context.Background(), h.cl)
			if err == nil && resp.ErrorCode == 27 { // REBALANCE_IN_PROGRESS: join again, keep everything
				h.join(session)
			}
		}
	}()
	return h
}

// join joins (or rejoins) the group and, as its leader, assigns every
// partition to itself. It reports whether it was the leader.
func (h *heldGroup) join(session time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	meta := kmsg.ConsumerMemberMetadata{Topics: []string{h.topic}}
	for {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.ProtocolType = h.group, h.member, "consumer"
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = int32(session.Milliseconds()), int32(session.Milliseconds())
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = "range", meta.AppendTo(nil)
		req.Protocols = append(req.Protocols, p)
		resp, err := req.RequestWith(ctx, h.cl)
		if err != nil {
			h.t.Errorf("join group: %v", err)
			return false
		}
		if resp.ErrorCode == 79 { // MEMBER_ID_REQUIRED
			h.member = resp.MemberID
			continue
		}
		if resp.ErrorCode != 0 {
			h.t.Errorf("join group: error code %d", resp.ErrorCode)
			return false
		}
		h.member, h.gen = resp.MemberID, resp.Generation
		sync := kmsg.NewPtrSyncGroupRequest()
		sync.Group, sync.Generation, sync.MemberID = h.group, h.gen, h.member
		sync.ProtocolType, sync.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
		leader := resp.LeaderID == resp.MemberID
		if leader {
			for _, m := range resp.Members {
				var a kmsg.ConsumerMemberAssignment
				if m.MemberID == h.member {
					at := kmsg.ConsumerMemberAssignmentTopic{Topic: h.topic}
					for p := range h.parts {
						at.Partitions = append(at.Partitions, p)
					}
					a.Topics = append(a.Topics, at)
				}
				ga := kmsg.NewSyncGroupRequestGroupAssignment()
				ga.MemberID, ga.MemberAssignment = m.MemberID, a.AppendTo(nil)
				sync.GroupAssignment = append(sync.GroupAssignment, ga)
			}
		}
		sresp, err := sync.RequestWith(ctx, h.cl)
		if err != nil || sresp.ErrorCode != 0 {
			if err == nil && sresp.ErrorCode == 27 {
				continue
			}
			h.t.Errorf("sync group: %v (code %v)", err, sresp)
			return false
		}
		return leader
	}
}

// kill stops the member's heartbeats without leaving the group.
func (h *heldGroup) kill() {
	close(h.stop)
	<-h.done
}

// TestRunCaughtUpWaitsForHeldPartitions is the rerun after a crash: the
// killed process's session still holds every partition, so this member is
// assigned none. Caught up means every partition read up to its high
// watermark at start, so the run waits (it used to log "caught up
// partitions=0" and exit 0 having read nothing), gives up with an error
// naming the partitions if that lasts give_up_after, and reads everything
// once the dead session expires.
func TestRunCaughtUpWaitsForHeldPartitions(t *testing.T) {
	const n = 400
	c := newCluster(t, 2, "trail")
	var recs []rec
	for i := 0; i < n; i++ {
		recs = append(recs, rec{"trail", int32(i % 2), ctRecord(fmt.Sprintf("h-%d", i), i)})
	}
	produce(t, c.ListenAddrs(), recs)
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	o.Kafka.SessionTimeout = 6 * time.Second

	t.Run("gives up while held", func(t *testing.T) {
		h := holdPartitions(t, c.ListenAddrs(), o.Kafka.Group, "trail", 2, 30*time.Second)
		defer h.kill()
		o := o
		o.Config.GiveUpAfter = 4 * time.Second
		err := Run(runCtx(t, 60*time.Second), o)
		if err == nil || !strings.Contains(err.Error(), "not caught up") || !strings.Contains(err.Error(), "trail[0] at 0 of 200 (held by another member") {
			t.Fatalf("Run = %v, want not caught up naming the held partitions", err)
		}
		if got := queryInt(t, db, "SELECT count(*) FROM events"); got != 0 {
			t.Errorf("events = %d, want 0 (nothing was assigned)", got)
		}
	})

	t.Run("reads everything once the session expires", func(t *testing.T) {
		o := o
		o.Kafka.Group += "-2"
		h := holdPartitions(t, c.ListenAddrs(), o.Kafka.Group, "trail", 2, 6*time.Second)
		done := make(chan error, 1)
		go func() { done <- Run(runCtx(t, 90*time.Second), o) }()
		select {
		case err := <-done:
			t.Fatalf("Run returned %v while another member held every partition", err)
		case <-time.After(3 * time.Second):
		}
		h.kill()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := queryInt(t, db, "SELECT count(DISTINCT event_id) FROM events"); got != n {
			t.Errorf("events = %d, want %d", got, n)
		}
	})
}

// TestRunLeavesGroupOnShutdown: a process that stops (SIGTERM, caught up)
// leaves the consumer group, so the next run gets the partitions at once
// instead of waiting out kafka.session_timeout.
func TestRunLeavesGroupOnShutdown(t *testing.T) {
	c := newCluster(t, 2, "trail")
	var recs []rec
	for i := 0; i < 100; i++ {
		recs = append(recs, rec{"trail", int32(i % 2), ctRecord(fmt.Sprintf("s-%d", i), i)})
	}
	produce(t, c.ListenAddrs(), recs)
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	o.Kafka.SessionTimeout = 30 * time.Second
	o.Config.ExitWhenCaughtUp = false
	o.Status = &status.Tracker{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	waitFor(t, 60*time.Second, "first run's events", func() bool { return queryInt(t, db, "SELECT count(*) FROM events") == 100 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	produce(t, c.ListenAddrs(), recs[:10])
	o.Config.ExitWhenCaughtUp = true
	t0 := time.Now()
	if err := Run(runCtx(t, 90*time.Second), o); err != nil {
		t.Fatal(err)
	}
	d := time.Since(t0)
	t.Logf("the second run took %s (session timeout 30s)", d.Round(time.Millisecond))
	if d > 15*time.Second {
		t.Errorf("second run took %s: the first did not leave the group (session timeout 30s)", d)
	}
	if got := queryInt(t, db, "SELECT count(*) FROM events"); got != 110 {
		t.Errorf("events = %d, want 110", got)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRunInterruptedAtStart: a stop signal that arrives while Run is still
// starting (before it has asked the brokers anything) is a clean stop, not
// an error: the command exits 0 having read nothing. (A docs script once
// saw "read stored offsets: context canceled" and exit 1 for a SIGINT at
// that moment.)
func TestRunInterruptedAtStart(t *testing.T) {
	c := newCluster(t, 1, "trail")
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	o.Config.ExitWhenCaughtUp = false
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Run(ctx, o); err != nil {
		t.Fatalf("Run with its context already cancelled = %v, want nil (a clean stop)", err)
	}
}
