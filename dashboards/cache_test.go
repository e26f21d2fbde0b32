package dashboards

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform"
)

// countingEngine passes every call to the real engine and counts the
// Incidents calls that reach it.
type countingEngine struct {
	Engine
	incidents atomic.Int64
}

func (c *countingEngine) Incidents(ctx context.Context, w queries.Window) ([]queries.Incident, error) {
	c.incidents.Add(1)
	return c.Engine.Incidents(ctx, w)
}

// commitSearchSpike commits, through ingest's real sink, ten minutes of
// errors of search (quiet in the fixture) with the Kafka position they
// advance, as ingest does.
func commitSearchSpike(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := transform.NewBuilder(mem)
	defer b.Release()
	for m := 12; m < 22; m++ {
		for k := range 20 {
			at := t0.Add(time.Duration(m)*time.Minute + time.Duration(k)*time.Second)
			b.Append(&transform.Event{
				EventID: fmt.Sprintf("search-%d-%d", m, k), Time: at, ObservedTime: at,
				Source: transform.SourceApp, Kind: transform.KindError, Service: "search", Region: "us-east-1",
				Message: "search failed", SeverityNumber: 17,
				Lineage: transform.Lineage{Topic: "app-errors", Partition: 0, Offset: int64(200 + m*20 + k)},
			})
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	sink, err := db.NewSink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if err := sink.Commit(ctx, &store.Batch{Events: rec, Positions: []store.Position{{Source: "kafka:app-errors", Part: 0, Next: 1000}}}); err != nil {
		t.Fatal(err)
	}
}

func TestCacheAnswersRepeatsUntilACommit(t *testing.T) {
	var ce *countingEngine
	f := newFixture(t, func(o *Options) {
		ce = &countingEngine{Engine: o.Engine}
		o.Engine = ce
	})
	_, first := f.get(t, "/api/incidents")
	_, again := f.get(t, "/api/incidents")
	if got := ce.incidents.Load(); got != 1 {
		t.Errorf("two identical requests reached the engine %d times, want 1", got)
	}
	if first != again {
		t.Errorf("the cached answer differs:\n%s\n%s", first, again)
	}
	if strings.Contains(first, `"search"`) {
		t.Fatalf("search is quiet in the fixture, yet: %s", first)
	}

	commitSearchSpike(t, f.db)
	_, after := f.get(t, "/api/incidents")
	if got := ce.incidents.Load(); got != 2 {
		t.Errorf("after a commit the engine ran %d times in all, want 2 (the commit must invalidate)", got)
	}
	if !strings.Contains(after, `"search"`) {
		t.Errorf("after search's errors were committed the incidents still lack it: %s", after)
	}

	// /api/incidents asks for incidents and suspects: each was computed
	// twice (first request, after the commit) and answered once from memory.
	_, metrics := f.get(t, "/metrics")
	for _, want := range []string{
		`faultline_dashboard_cache_lookups_total{result="hit"} 2`,
		`faultline_dashboard_cache_lookups_total{result="miss"} 4`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestCacheOff(t *testing.T) {
	var ce *countingEngine
	f := newFixture(t, func(o *Options) {
		ce = &countingEngine{Engine: o.Engine}
		o.Engine = ce
		o.Config.CacheEntries = 0
	})
	f.get(t, "/api/incidents")
	f.get(t, "/api/incidents")
	if got := ce.incidents.Load(); got != 2 {
		t.Errorf("with cache_entries 0, two requests reached the engine %d times, want 2", got)
	}
}

// Handlers sort what the engine returns in place; a cached answer must not
// be shared with them.
func TestCacheHandsOutCopies(t *testing.T) {
	f := newFixture(t, nil)
	c, ok := f.srv.engine.(*cachedEngine)
	if !ok {
		t.Fatalf("the server's engine is %T, want the cache", f.srv.engine)
	}
	ctx := context.Background()
	a, err := c.Suspects(ctx, queries.Window{})
	if err != nil || len(a) < 2 {
		t.Fatalf("suspects: %v, %d", err, len(a))
	}
	a[0], a[1] = a[1], a[0]
	b, err := c.Suspects(ctx, queries.Window{})
	if err != nil {
		t.Fatal(err)
	}
	if b[0].EventID == a[0].EventID {
		t.Errorf("a caller's reordering leaked into the cached answer")
	}
}

// gatedEngine holds Incidents until release is closed.
type gatedEngine struct {
	Engine
	release chan struct{}
	calls   atomic.Int64
}

func (g *gatedEngine) Incidents(ctx context.Context, w queries.Window) ([]queries.Incident, error) {
	g.calls.Add(1)
	<-g.release
	return g.Engine.Incidents(ctx, w)
}

// A request that goes away stops waiting at once, and the computation it
// started still finishes and serves the next request.
func TestCacheCallerLeavesComputationStays(t *testing.T) {
	f := newFixture(t, nil)
	g := &gatedEngine{Engine: f.opts.Engine, release: make(chan struct{})}
	c, err := newCachedEngine(g, dbVersion(f.db.DB), 16, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Incidents(ctx, queries.Window{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a caller whose request ended: %v, want its deadline", err)
	}
	close(g.release)
	var incs []queries.Incident
	deadline := time.Now().Add(10 * time.Second)
	for len(incs) == 0 && time.Now().Before(deadline) {
		if incs, err = c.Incidents(context.Background(), queries.Window{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(incs) != 1 || g.calls.Load() != 1 {
		t.Errorf("%d incidents after %d engine calls, want the fixture's one incident from the single detached computation", len(incs), g.calls.Load())
	}
}
