package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/ingest/store"
)

// flakySink fails commits while fail returns true.
type flakySink struct {
	Sink
	mu    sync.Mutex
	calls int
	fail  func(call int) bool
}

func (f *flakySink) Commit(ctx context.Context, b *store.Batch) error {
	f.mu.Lock()
	f.calls++
	fail := f.fail(f.calls)
	f.mu.Unlock()
	if fail {
		return errors.New("disk full (injected)")
	}
	return f.Sink.Commit(ctx, b)
}

// TestRunCommitFailures: transient commit errors are retried and nothing is
// lost; a commit that keeps failing stops ingest with an error, marks
// /healthz unhealthy, and a restart loads everything exactly once.
func TestRunCommitFailures(t *testing.T) {
	const n = 1000
	c := newCluster(t, 1, "trail")
	var recs []rec
	for i := 0; i < n; i++ {
		recs = append(recs, rec{"trail", 0, ctRecord(fmt.Sprintf("ev-%05d", i), i)})
	}
	produce(t, c.ListenAddrs(), recs)
	db := openDB(t, "")
	s, err := db.NewSink(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// Transient: the 2nd and 3rd commits fail.
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	mem := memory.NewCheckedAllocator(newBatchAllocator())
	defer mem.AssertSize(t, 0)
	o.Allocator = mem
	o.Config.BatchMaxEvents = 200
	o.Config.RetryMaxBackoff = 200 * time.Millisecond
	o.Metrics = NewMetrics(nil)
	o.Status = &status.Tracker{}
	o.Sink = &flakySink{Sink: s, fail: func(call int) bool { return call == 2 || call == 3 }}
	if err := Run(runCtx(t, 60*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(o.Metrics.CommitRetries); got != 2 {
		t.Errorf("commit retries = %v, want 2", got)
	}
	if got := queryInt(t, db, "SELECT count(*) FROM events"); got != n {
		t.Errorf("events = %d, want %d", got, n)
	}
	if p := o.Status.Snapshot().Problems(); len(p) != 0 {
		t.Errorf("health after recovery: %v", p)
	}

	// Persistent: every commit fails; Run gives up with an error.
	produce(t, c.ListenAddrs(), recs) // n more messages (same ids, new offsets)
	o.Sink = &flakySink{Sink: s, fail: func(int) bool { return true }}
	err = Run(runCtx(t, 60*time.Second), o)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the commit error", err)
	}
	rr := httptest.NewRecorder()
	Handler(prometheus.NewRegistry(), o.Status).ServeHTTP(rr, httptest.NewRequestWithContext(t.Context(), "GET", "/healthz", nil))
	if rr.Code != http.StatusServiceUnavailable || !strings.Contains(rr.Body.String(), "disk full") {
		t.Errorf("/healthz = %d %q, want 503 naming the error", rr.Code, rr.Body.String())
	}
	if got := queryInt(t, db, "SELECT count(*) FROM events"); got != n {
		t.Errorf("events after failed run = %d, want %d", got, n)
	}
	// Restart with a working sink: the uncommitted messages are read again.
	o.Sink = nil
	if err := Run(runCtx(t, 60*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, db, "SELECT count(*) FROM events"); got != 2*n {
		t.Errorf("events after restart = %d, want %d", got, 2*n)
	}
	if got := queryInt(t, db, "SELECT count(DISTINCT src_offset) FROM events"); got != 2*n {
		t.Errorf("distinct offsets after restart = %d, want %d", got, 2*n)
	}
}

// diskFullSink fails commits with a full-disk error while full() is true.
type diskFullSink struct {
	Sink
	mu          sync.Mutex
	calls       int
	failFor     int // the first failFor commits fail
	invalidated bool
}

func (f *diskFullSink) Commit(ctx context.Context, b *store.Batch) error {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.failFor
	f.mu.Unlock()
	if fail {
		return store.NewDiskFull("/data/f.duckdb.wal", f.invalidated, errors.New(`Could not write file "/data/f.duckdb.wal": No space left on device`))
	}
	return f.Sink.Commit(ctx, b)
}

// TestRunDiskFull: a streaming run retries a full disk past the usual
// attempts and stores everything once space is back; a batch run gives up
// with the volume and what to do; an invalidated database stops at once.
func TestRunDiskFull(t *testing.T) {
	const n = 300
	c := newCluster(t, 1, "trail")
	var recs []rec
	for i := 0; i < n; i++ {
		recs = append(recs, rec{"trail", 0, ctRecord(fmt.Sprintf("df-%05d", i), i)})
	}
	produce(t, c.ListenAddrs(), recs)
	for _, tc := range []struct {
		name        string
		batch       bool
		failFor     int
		invalidated bool
		wantErr     string
		wantCalls   int
	}{
		{"streaming retries until space is back", false, commitAttempts + 3, false, "", commitAttempts + 4},
		{"batch run gives up", true, 1000, false, "then run ingest again", commitAttempts},
		{"invalidated database stops at once", false, 1000, true, "opens the file again", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t, "")
			s, err := db.NewSink(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
			o.Config.RetryMaxBackoff = 100 * time.Millisecond
			o.Config.ExitWhenCaughtUp = tc.batch
			o.Status = &status.Tracker{}
			sink := &diskFullSink{Sink: s, failFor: tc.failFor, invalidated: tc.invalidated}
			o.Sink = sink
			ctx, cancel := context.WithCancel(runCtx(t, 60*time.Second))
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- Run(ctx, o) }()
			if tc.wantErr == "" {
				for queryInt(t, db, "SELECT count(*) FROM events") < n {
					select {
					case err := <-done:
						t.Fatalf("Run ended before storing everything: %v", err)
					case <-time.After(20 * time.Millisecond):
					}
				}
				cancel()
			}
			err = <-done
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Run: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), "no space left on /") || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Run: %v, want the full volume and %q", err, tc.wantErr)
			}
			if sink.calls != tc.wantCalls {
				t.Errorf("%d commits tried, want %d", sink.calls, tc.wantCalls)
			}
			if tc.wantErr != "" {
				if p := o.Status.Snapshot().Problems(); len(p) == 0 || !strings.Contains(p[0], "no space left on") {
					t.Errorf("health: %v, want the full disk", p)
				}
			}
		})
	}
}
