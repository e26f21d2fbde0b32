package dashboards

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/faultline/faultline/queries"
)

// cache answers repeated correlation questions from memory while the data
// has not changed. During an incident every open page refreshes every
// serve.refresh and several analysts watch the same default view: without
// it each of them re-runs the whole correlation (about a second of CPU over
// 10M events) for an identical answer.
//
// An answer depends only on the window and the data (the engine never reads
// the clock), and every write to the events goes through ingest's
// exactly-once commit, which moves the data version (queries'
// Engine.DataVersion) in the same transaction; so the version is read on
// every call, and an entry is used only while the version it was computed
// at is still current. Concurrent identical calls share one computation.
// Callers get their own copy of the top-level slice (handlers sort it in
// place). A nil *cache computes every call.
type cache struct {
	version func(context.Context) (string, error)
	max     int

	mu      sync.Mutex
	entries map[string]cacheEntry
	group   singleflight.Group

	lookups *prometheus.CounterVec // result: hit, miss, bypass
}

type cacheEntry struct {
	version string
	value   any
}

func newCache(version func(context.Context) (string, error), max int, reg *prometheus.Registry) (*cache, error) {
	c := &cache{version: version, max: max, entries: map[string]cacheEntry{}}
	c.lookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_dashboard_cache_lookups_total",
		Help: "Correlation answers the dashboards looked up in their cache, by result: hit, miss (computed) or bypass (data version unreadable).",
	}, []string{"result"})
	if err := reg.Register(c.lookups); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, fmt.Errorf("register cache metrics: %w", err)
		}
		c.lookups = are.ExistingCollector.(*prometheus.CounterVec)
	}
	return c, nil
}

func windowKey(method string, w queries.Window, extra string) string {
	return method + "|" + w.Since.UTC().Format(time.RFC3339Nano) + "|" + w.Until.UTC().Format(time.RFC3339Nano) + "|" + extra
}

// computeTimeout bounds a shared computation, which runs detached from the
// request that started it so that one client going away does not cancel it
// for the others waiting on it.
const computeTimeout = 2 * time.Minute

// lookup returns the cached answer for key at the current data version, or
// computes it (once for all concurrent callers) and keeps it. A caller whose
// request ends stops waiting at once.
func lookup[T any](ctx context.Context, c *cache, key string, compute func(context.Context) (T, error)) (T, error) {
	var zero T
	ver, err := c.version(ctx)
	if err != nil {
		c.lookups.WithLabelValues("bypass").Inc()
		return compute(ctx)
	}
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.version == ver {
		c.lookups.WithLabelValues("hit").Inc()
		return e.value.(T), nil
	}
	c.lookups.WithLabelValues("miss").Inc()
	ch := c.group.DoChan(ver+"\x00"+key, func() (any, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), computeTimeout)
		defer cancel()
		v, err := compute(cctx)
		if err != nil {
			return v, err
		}
		c.store(key, ver, v)
		return v, nil
	})
	select {
	case <-ctx.Done():
		return zero, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return zero, r.Err
		}
		return r.Val.(T), nil
	}
}

// store keeps v for key; when the cache is full it drops the entries of
// older data versions first, and everything only if that is not enough.
func (c *cache) store(key, ver string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k, e := range c.entries {
			if e.version != ver {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[key] = cacheEntry{version: ver, value: v}
}

// cachedSlice answers fn(ctx, w) from c (computing it on a miss).
func cachedSlice[T any](ctx context.Context, c *cache, method string, w queries.Window, fn func(context.Context, queries.Window) ([]T, error)) ([]T, error) {
	if c == nil {
		return fn(ctx, w)
	}
	v, err := lookup(ctx, c, windowKey(method, w, ""), func(ctx context.Context) ([]T, error) { return fn(ctx, w) })
	return slices.Clone(v), err
}

// The correlation answers the handlers ask for, through the cache. Named
// queries are not cached: their windows come from API clients (any since
// and until), and a named query's table can be large.

func (s *Server) incidents(ctx context.Context, w queries.Window) ([]queries.Incident, error) {
	return cachedSlice(ctx, s.cache, "incidents", w, s.engine.Incidents)
}

func (s *Server) suspects(ctx context.Context, w queries.Window) ([]queries.Suspect, error) {
	return cachedSlice(ctx, s.cache, "suspects", w, s.engine.Suspects)
}

func (s *Server) cascade(ctx context.Context, w queries.Window) ([]queries.CascadeStep, error) {
	return cachedSlice(ctx, s.cache, "cascade", w, s.engine.Cascade)
}

func (s *Server) regions(ctx context.Context, w queries.Window) ([]queries.RegionShare, error) {
	return cachedSlice(ctx, s.cache, "regions", w, s.engine.Regions)
}

func (s *Server) changeFailureRate(ctx context.Context, w queries.Window) ([]queries.ChangeFailure, error) {
	return cachedSlice(ctx, s.cache, "change-failure-rate", w, s.engine.ChangeFailureRate)
}

func (s *Server) series(ctx context.Context, w queries.Window) ([]queries.SeriesPoint, error) {
	return cachedSlice(ctx, s.cache, "series", w, s.engine.Series)
}

func (s *Server) topology(ctx context.Context, w queries.Window) ([]queries.Edge, error) {
	return cachedSlice(ctx, s.cache, "topology", w, s.engine.Topology)
}
