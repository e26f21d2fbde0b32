package ingest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
)

// TestRunGracefulShutdown cancels ingest mid-stream (SIGINT in the CLI): Run
// returns nil having committed what it read, the stored offsets match the
// stored events, and a second run loads exactly the rest.
func TestRunGracefulShutdown(t *testing.T) {
	const n = 20000
	c := newCluster(t, 2, "trail")
	var recs []rec
	for i := 0; i < n; i++ {
		recs = append(recs, rec{"trail", int32(i % 2), ctRecord(fmt.Sprintf("ev-%05d", i), i)})
	}
	produce(t, c.ListenAddrs(), recs)
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	o.Config.BatchMaxEvents = 1000
	o.Config.ExitWhenCaughtUp = false
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	testkit.Await(t, 60*time.Second, "the first committed batch", func() bool {
		return queryInt(t, db, "SELECT count(*) FROM events") > 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	events := queryInt(t, db, "SELECT count(*) FROM events")
	offsets := queryInt(t, db, "SELECT sum(next_offset) FROM ingest_offsets")
	t.Logf("stopped after %d of %d events", events, n)
	if events != offsets {
		t.Errorf("after shutdown: %d events but stored offsets cover %d records", events, offsets)
	}
	o.Config.ExitWhenCaughtUp = true
	if err := Run(runCtx(t, 60*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, db, "SELECT count(DISTINCT event_id) FROM events"); got != n {
		t.Errorf("distinct events after restart = %d, want %d", got, n)
	}
	if got := queryInt(t, db, "SELECT count(*) FROM events"); got != n {
		t.Errorf("events after restart = %d, want %d", got, n)
	}
}

// watchSink records the in-flight bytes gauge at every commit.
type watchSink struct {
	Sink
	m   *Metrics
	mu  sync.Mutex
	max float64
}

func (w *watchSink) Commit(ctx context.Context, b *store.Batch) error {
	w.mu.Lock()
	w.max = max(w.max, testutil.ToFloat64(w.m.InflightBytes))
	w.mu.Unlock()
	time.Sleep(5 * time.Millisecond) // a slow sink (a delay, not a wait): readers must wait for it
	return w.Sink.Commit(ctx, b)
}

// TestRunBackpressure: with a small in-flight budget and a slow sink, the
// bytes read but not committed never exceed the budget, and everything is
// still loaded.
func TestRunBackpressure(t *testing.T) {
	const n = 3000
	c := newCluster(t, 2, "trail")
	var recs []rec
	for i := 0; i < n; i++ {
		recs = append(recs, rec{"trail", int32(i % 2), ctRecord(fmt.Sprintf("ev-%05d", i), i)})
	}
	produce(t, c.ListenAddrs(), recs)
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	o.Config.BatchMaxBytes = 16 << 10
	o.Config.MaxInflightBytes = 48 << 10
	o.Metrics = NewMetrics(nil)
	s, err := db.NewSink(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := &watchSink{Sink: s, m: o.Metrics}
	o.Sink = w
	if err := Run(runCtx(t, 90*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, db, "SELECT count(*) FROM events"); got != n {
		t.Errorf("events = %d, want %d", got, n)
	}
	if w.max > float64(o.Config.MaxInflightBytes) {
		t.Errorf("in-flight bytes reached %v, over the budget %d", w.max, o.Config.MaxInflightBytes)
	}
	if w.max < float64(o.Config.BatchMaxBytes) {
		t.Errorf("in-flight bytes peaked at %v: the budget was never exercised", w.max)
	}
	if g := testutil.ToFloat64(o.Metrics.InflightBytes); g != 0 {
		t.Errorf("in-flight bytes after the run = %v, want 0", g)
	}
	t.Logf("peak in-flight %v bytes of %d", w.max, o.Config.MaxInflightBytes)
}
