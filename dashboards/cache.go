package dashboards

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/faultline/faultline/queries"
)

// cachedEngine answers repeated correlation questions from memory while the
// data has not changed. During an incident every open page refreshes every
// serve.refresh and several analysts watch the same default view: without
// it each of them re-runs the whole correlation (about a second of CPU over
// 10M events) for an identical answer.
//
// An answer depends only on the window and the data (the engine never reads
// the clock), and every write to the events goes through ingest's exactly-once
// commit, which moves ingest_offsets in the same transaction; so the data
// version is read from that small table on every call, and an entry is used
// only while the version it was computed at is still current. Concurrent
// identical calls share one computation. Callers get their own copy of the
// top-level slice (handlers sort it in place).
type cachedEngine struct {
	next    Engine
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

// dataVersionSQL changes whenever a commit lands: a commit adds or advances
// an ingest_offsets row and stamps it with the commit time.
const dataVersionSQL = `SELECT count(*)::VARCHAR || '/' || coalesce(sum(next_offset), 0)::VARCHAR || '/' ||
	coalesce(max(updated_at)::VARCHAR, '') FROM ingest_offsets`

func dbVersion(db *sql.DB) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		var v string
		err := db.QueryRowContext(ctx, dataVersionSQL).Scan(&v)
		return v, err
	}
}

func newCachedEngine(next Engine, version func(context.Context) (string, error), max int, reg *prometheus.Registry) (*cachedEngine, error) {
	c := &cachedEngine{next: next, version: version, max: max, entries: map[string]cacheEntry{}}
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
func lookup[T any](ctx context.Context, c *cachedEngine, key string, compute func(context.Context) (T, error)) (T, error) {
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
func (c *cachedEngine) store(key, ver string, v any) {
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

func cachedSlice[T any](ctx context.Context, c *cachedEngine, method string, w queries.Window, fn func(context.Context, queries.Window) ([]T, error)) ([]T, error) {
	v, err := lookup(ctx, c, windowKey(method, w, ""), func(ctx context.Context) ([]T, error) { return fn(ctx, w) })
	return slices.Clone(v), err
}

func (c *cachedEngine) Incidents(ctx context.Context, w queries.Window) ([]queries.Incident, error) {
	return cachedSlice(ctx, c, "incidents", w, c.next.Incidents)
}

func (c *cachedEngine) Suspects(ctx context.Context, w queries.Window) ([]queries.Suspect, error) {
	return cachedSlice(ctx, c, "suspects", w, c.next.Suspects)
}

func (c *cachedEngine) Cascade(ctx context.Context, w queries.Window) ([]queries.CascadeStep, error) {
	return cachedSlice(ctx, c, "cascade", w, c.next.Cascade)
}

func (c *cachedEngine) Regions(ctx context.Context, w queries.Window) ([]queries.RegionShare, error) {
	return cachedSlice(ctx, c, "regions", w, c.next.Regions)
}

func (c *cachedEngine) ChangeFailureRate(ctx context.Context, w queries.Window) ([]queries.ChangeFailure, error) {
	return cachedSlice(ctx, c, "change-failure-rate", w, c.next.ChangeFailureRate)
}

func (c *cachedEngine) Series(ctx context.Context, w queries.Window) ([]queries.SeriesPoint, error) {
	return cachedSlice(ctx, c, "series", w, c.next.Series)
}

func (c *cachedEngine) Topology(ctx context.Context, w queries.Window) ([]queries.Edge, error) {
	return cachedSlice(ctx, c, "topology", w, c.next.Topology)
}

// Named is not cached: its windows come from API clients (any since and
// until), and a named query's table can be large.
func (c *cachedEngine) Named(ctx context.Context, name string, w queries.Window) (queries.Table, error) {
	return c.next.Named(ctx, name, w)
}
