package queries

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Topology returns the dependency edges used for w: the configured ones
// (origin "config") merged with those inferred from the events (unless
// correlation.infer_topology is off). One row per (from, to, origin).
func (e *Engine) Topology(ctx context.Context, w Window) ([]Edge, error) {
	s, err := e.open(ctx, w, "")
	if err != nil {
		return nil, err
	}
	defer s.close()
	return e.edges(ctx, s, s.params["base_from"], s.params["until"])
}

// edges returns the configured edges and those inferred from events between
// from and to (RFC 3339 strings).
func (e *Engine) edges(ctx context.Context, s *session, from, to any) ([]Edge, error) {
	var out []Edge
	for from, tos := range e.topology {
		for _, to := range tos {
			if to != "" && to != from {
				out = append(out, Edge{From: from, To: to, Origin: "config"})
			}
		}
	}
	if e.cfg.InferTopology {
		rows, err := s.query(ctx, "topology", sqlText("topology"), map[string]any{"topo_from": from, "topo_to": to})
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var ed Edge
			if err := rows.Scan(&ed.From, &ed.To, &ed.Origin, &ed.Events); err != nil {
				return nil, fmt.Errorf("read topology: %w", err)
			}
			out = append(out, ed)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read topology: %w", err)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		return a.Origin < b.Origin
	})
	return out, nil
}

// graph is the merged dependency graph: deps[a] are the services a depends on.
type graph struct {
	deps map[string][]string
}

func newGraph(edges []Edge) graph {
	g := graph{deps: map[string][]string{}}
	seen := map[[2]string]bool{}
	for _, e := range edges {
		k := [2]string{e.From, e.To}
		if seen[k] {
			continue
		}
		seen[k] = true
		g.deps[e.From] = append(g.deps[e.From], e.To)
	}
	for k := range g.deps {
		sort.Strings(g.deps[k])
	}
	return g
}

// distances returns, for every service reachable from `from` by following
// dependencies at most maxHops times, the number of hops (from itself: 0).
func (g graph) distances(from string, maxHops int) map[string]int {
	d := map[string]int{from: 0}
	frontier := []string{from}
	for hop := 1; hop <= maxHops && len(frontier) > 0; hop++ {
		var next []string
		for _, s := range frontier {
			for _, t := range g.deps[s] {
				if _, ok := d[t]; !ok {
					d[t] = hop
					next = append(next, t)
				}
			}
		}
		frontier = next
	}
	return d
}

// dependsOn reports whether a depends directly on b.
func (g graph) dependsOn(a, b string) bool {
	for _, t := range g.deps[a] {
		if t == b {
			return true
		}
	}
	return false
}

// graphFor returns the merged dependency graph for events between from and to.
func (e *Engine) graphFor(ctx context.Context, s *session, from, to time.Time) (graph, error) {
	ed, err := e.edges(ctx, s, from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return graph{}, err
	}
	return newGraph(ed), nil
}
