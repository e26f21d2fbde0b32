package dashboards

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform"
)

// commitSearchSpike commits, through ingest's real sink, ten minutes of
// errors of search (quiet in the fixture) with the Kafka position they
// advance, as ingest does.
func commitSearchSpike(t *testing.T, db *store.DB) {
	t.Helper()
	var evs []transform.Event
	for m := 12; m < 22; m++ {
		for k := range 20 {
			at := t0.Add(time.Duration(m)*time.Minute + time.Duration(k)*time.Second)
			evs = append(evs, transform.Event{
				EventID: fmt.Sprintf("search-%d-%d", m, k), Time: at, ObservedTime: at,
				Source: transform.SourceApp, Kind: transform.KindError, Service: "search", Region: "us-east-1",
				Message: "search failed", SeverityNumber: 17,
				Lineage: transform.Lineage{Topic: "app-errors", Partition: 0, Offset: int64(200 + m*20 + k)},
			})
		}
	}
	testkit.Commit(t, db, []store.Position{{Source: "kafka:app-errors", Part: 0, Next: 1000}}, evs...)
}

// cacheLookups returns the cache's hit and miss counts from /metrics; a
// miss is a computation that reached the engine.
func cacheLookups(t *testing.T, f *fixture) (hit, miss int) {
	t.Helper()
	_, metrics := f.get(t, "/metrics")
	for _, l := range strings.Split(metrics, "\n") {
		for _, p := range []struct {
			prefix string
			n      *int
		}{{`faultline_dashboard_cache_lookups_total{result="hit"} `, &hit}, {`faultline_dashboard_cache_lookups_total{result="miss"} `, &miss}} {
			if v, ok := strings.CutPrefix(l, p.prefix); ok {
				if _, err := fmt.Sscan(v, p.n); err != nil {
					t.Fatalf("metric line %q: %v", l, err)
				}
			}
		}
	}
	return hit, miss
}

func TestCacheAnswersRepeatsUntilACommit(t *testing.T) {
	f := newFixture(t, nil)
	// /api/incidents asks for incidents and suspects: two lookups each time.
	_, first := f.get(t, "/api/incidents")
	_, again := f.get(t, "/api/incidents")
	if hit, miss := cacheLookups(t, f); hit != 2 || miss != 2 {
		t.Errorf("two identical requests: %d hits, %d misses; want 2 and 2 (computed once, answered once from memory)", hit, miss)
	}
	if first != again {
		t.Errorf("the cached answer differs:\n%s\n%s", first, again)
	}
	if strings.Contains(first, `"search"`) {
		t.Fatalf("search is quiet in the fixture, yet: %s", first)
	}

	commitSearchSpike(t, f.db)
	_, after := f.get(t, "/api/incidents")
	if hit, miss := cacheLookups(t, f); hit != 2 || miss != 4 {
		t.Errorf("after a commit: %d hits, %d misses in all; want 2 and 4 (the commit must invalidate)", hit, miss)
	}
	if !strings.Contains(after, `"search"`) {
		t.Errorf("after search's errors were committed the incidents still lack it: %s", after)
	}
}

func TestCacheOff(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Config.CacheEntries = 0 })
	if f.srv.cache != nil {
		t.Fatal("with cache_entries 0 the server has a cache")
	}
	_, first := f.get(t, "/api/incidents")
	_, again := f.get(t, "/api/incidents")
	if first != again {
		t.Errorf("two identical uncached requests differ:\n%s\n%s", first, again)
	}
	if _, metrics := f.get(t, "/metrics"); strings.Contains(metrics, "faultline_dashboard_cache_lookups_total") {
		t.Errorf("with cache_entries 0, /metrics still counts cache lookups")
	}
}

// Handlers sort what the engine returns in place; a cached answer must not
// be shared with them.
func TestCacheHandsOutCopies(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	a, err := cachedSlice(ctx, f.srv.cache, "suspects", queries.Window{}, f.opts.Engine.Suspects)
	if err != nil || len(a) < 2 {
		t.Fatalf("suspects: %v, %d", err, len(a))
	}
	a[0], a[1] = a[1], a[0]
	b, err := cachedSlice(ctx, f.srv.cache, "suspects", queries.Window{}, f.opts.Engine.Suspects)
	if err != nil {
		t.Fatal(err)
	}
	if b[0].EventID == a[0].EventID {
		t.Errorf("a caller's reordering leaked into the cached answer")
	}
}

// A request that goes away stops waiting at once, and the computation it
// started still finishes and serves the next request.
func TestCacheCallerLeavesComputationStays(t *testing.T) {
	f := newFixture(t, nil)
	c, err := newCache(f.opts.Engine.DataVersion, 16, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int64
	gated := func(ctx context.Context, w queries.Window) ([]queries.Incident, error) {
		if calls.Add(1) == 1 {
			close(started)
		}
		<-release
		return f.opts.Engine.Incidents(ctx, w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := cachedSlice(ctx, c, "incidents", queries.Window{}, gated)
		errc <- err
	}()
	<-started
	cancel() // the caller goes away while the answer is being computed
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("a caller whose request ended: %v, want its cancellation", err)
	}
	close(release)
	// The next caller shares the computation still under way (or finds its
	// answer stored): either way the gated function ran once.
	incs, err := cachedSlice(context.Background(), c, "incidents", queries.Window{}, gated)
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 || calls.Load() != 1 {
		t.Errorf("%d incidents after %d engine calls, want the fixture's one incident from the single detached computation", len(incs), calls.Load())
	}
}
