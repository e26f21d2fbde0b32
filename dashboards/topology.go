package dashboards

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"
	"strings"

	"github.com/faultline/faultline/queries"
)

// The services page's graph: a layered drawing (callers left, what they
// depend on right) in which no edge passes through a box. Each service sits
// in the column of its dependency depth; an edge that skips columns passes
// through a free slot of every column in between (a "waypoint" that takes
// room like a small box), so between two columns an edge only runs in the
// gap, and inside a column only through its own slot. The order within a
// column follows the neighbours' average position (a few sweeps), which
// keeps crossings few. Edges against the layering (cycles) go round above
// the graph.

const (
	topoColW    = 230 // column pitch
	topoNodeW   = 170
	topoNodeH   = 34
	topoNodeGap = 14 // between two boxes of a column
	topoWayH    = 14 // the slot a passing edge takes
	topoTop     = 34 // room above the graph for edges that go round
	topoLeft    = 20
)

// topoItem is a box (a service) or a waypoint in one column.
type topoItem struct {
	service string // "" for a waypoint
	edge    int    // waypoint: the index of its edge
	x, y, h float64
	order   float64
}

// topoEdge is one drawn dependency: its points from the caller's box to the
// dependency's box.
type topoEdge struct {
	From, To string
	Config   bool // configured (solid) rather than inferred (dashed)
	Origins  []string
	Back     bool         // against the layering (a cycle): drawn round the top
	Points   [][2]float64 // start, the waypoints' left and right ends, end
}

type topoLayout struct {
	Width, Height float64
	Nodes         map[string]topoItem
	Edges         []topoEdge
}

// layoutTopology places svcs and routes edges (already pruned to svcs).
func layoutTopology(svcs []Service, edges []queries.Edge) topoLayout {
	names := map[string]bool{}
	for _, s := range svcs {
		names[s.Name] = true
	}
	// one drawn edge per pair: configured wins over inferred
	type pair struct{ from, to string }
	origins := map[pair][]string{}
	var pairs []pair
	for _, e := range edges {
		if !names[e.From] || !names[e.To] || e.From == e.To {
			continue
		}
		k := pair{e.From, e.To}
		if origins[k] == nil {
			pairs = append(pairs, k)
		}
		if !slices.Contains(origins[k], e.Origin) {
			origins[k] = append(origins[k], e.Origin)
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to)) })
	deps := map[string][]string{}
	for _, p := range pairs {
		deps[p.from] = append(deps[p.from], p.to)
	}
	// depth = the longest chain of dependencies below a service (cycles cut)
	depth := map[string]int{}
	var visit func(n string, seen map[string]bool) int
	visit = func(n string, seen map[string]bool) int {
		if d, ok := depth[n]; ok {
			return d
		}
		if seen[n] {
			return 0
		}
		seen[n] = true
		d := 0
		for _, m := range deps[n] {
			d = max(d, visit(m, seen)+1)
		}
		delete(seen, n)
		depth[n] = d
		return d
	}
	maxD := 0
	for _, s := range svcs {
		maxD = max(maxD, visit(s.Name, map[string]bool{}))
	}
	col := func(n string) int { return maxD - depth[n] }
	cols := make([][]*topoItem, maxD+1)
	items := map[string]*topoItem{}
	sorted := slices.Clone(svcs)
	slices.SortFunc(sorted, func(a, b Service) int { return cmp.Compare(a.Name, b.Name) })
	for i, s := range sorted {
		it := &topoItem{service: s.Name, h: topoNodeH, order: float64(i)}
		items[s.Name] = it
		cols[col(s.Name)] = append(cols[col(s.Name)], it)
	}
	out := topoLayout{Nodes: map[string]topoItem{}}
	// waypoints: one per column an edge skips
	ways := make([][]*topoItem, len(pairs))
	for i, p := range pairs {
		e := topoEdge{From: p.from, To: p.to, Origins: origins[p], Config: slices.Contains(origins[p], "config")}
		cf, ct := col(p.from), col(p.to)
		if ct <= cf {
			e.Back = true
		}
		for c := cf + 1; c < ct; c++ {
			w := &topoItem{edge: i, h: topoWayH, order: items[p.from].order}
			cols[c] = append(cols[c], w)
			ways[i] = append(ways[i], w)
		}
		out.Edges = append(out.Edges, e)
	}
	// neighbours of each item in the column before and after it
	left, right := map[*topoItem][]*topoItem{}, map[*topoItem][]*topoItem{}
	link := func(a, b *topoItem) {
		right[a] = append(right[a], b)
		left[b] = append(left[b], a)
	}
	for i, p := range pairs {
		if out.Edges[i].Back {
			continue
		}
		chain := append([]*topoItem{items[p.from]}, ways[i]...)
		chain = append(chain, items[p.to])
		for k := 0; k+1 < len(chain); k++ {
			link(chain[k], chain[k+1])
		}
	}
	sortCol := func(c []*topoItem, by map[*topoItem][]*topoItem) {
		for _, it := range c {
			if ns := by[it]; len(ns) > 0 {
				sum := 0.0
				for _, n := range ns {
					sum += n.order
				}
				it.order = sum / float64(len(ns))
			}
		}
		slices.SortStableFunc(c, func(a, b *topoItem) int {
			return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.service, b.service), cmp.Compare(a.edge, b.edge))
		})
		for i, it := range c {
			it.order = float64(i)
		}
	}
	for _, c := range cols {
		sortCol(c, nil)
	}
	for range 4 {
		for i := 1; i < len(cols); i++ {
			sortCol(cols[i], left)
		}
		for i := len(cols) - 2; i >= 0; i-- {
			sortCol(cols[i], right)
		}
	}
	// coordinates
	for ci, c := range cols {
		y := float64(topoTop)
		for _, it := range c {
			it.x = float64(topoLeft + ci*topoColW)
			it.y = y
			gap := float64(topoNodeGap)
			if it.service == "" {
				gap = 4
			}
			y += it.h + gap
		}
		out.Height = max(out.Height, y)
	}
	out.Width = float64(topoLeft+len(cols)*topoColW) - (topoColW - topoNodeW) + topoLeft
	out.Height += 10
	for name, it := range items {
		out.Nodes[name] = *it
	}
	for i, p := range pairs {
		e := &out.Edges[i]
		a, b := items[p.from], items[p.to]
		if e.Back {
			// out of the caller's right into the gap, up the gap to the top
			// margin, across, down the gap left of the dependency, into it:
			// gaps and the margin hold no box
			const g = (topoColW - topoNodeW) / 3
			y := float64(topoTop) / 2
			e.Points = [][2]float64{{a.x + topoNodeW, a.y + a.h/2}, {a.x + topoNodeW + g, a.y + a.h/2}, {a.x + topoNodeW + g, y},
				{b.x - g, y}, {b.x - g, b.y + b.h/2}, {b.x, b.y + b.h/2}}
			continue
		}
		e.Points = append(e.Points, [2]float64{a.x + topoNodeW, a.y + a.h/2})
		for _, w := range ways[i] {
			e.Points = append(e.Points, [2]float64{w.x, w.y + w.h/2}, [2]float64{w.x + topoNodeW, w.y + w.h/2})
		}
		e.Points = append(e.Points, [2]float64{b.x, b.y + b.h/2})
	}
	return out
}

// topologyChart draws the layout: boxes red when spiking, green when
// healthy; edges solid when configured, dashed when inferred.
func topologyChart(svcs []Service, edges []queries.Edge) template.HTML {
	if len(svcs) == 0 {
		return ""
	}
	l := layoutTopology(svcs, edges)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart topology-chart" viewBox="0 0 %.0f %.0f" width="%.0f" role="img" aria-label="service topology" xmlns="http://www.w3.org/2000/svg"><title>Service topology</title>`, l.Width, l.Height, l.Width)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#666"/></marker></defs>`)
	for _, e := range l.Edges {
		dash := ` stroke-dasharray="5 4"`
		if e.Config {
			dash = ""
		}
		fmt.Fprintf(&b, `<path class="edge" data-from="%s" data-to="%s" d="%s" fill="none" stroke="#666"%s marker-end="url(#arrow)"><title>%s depends on %s (%s)</title></path>`,
			esc(e.From), esc(e.To), edgePath(e), dash, esc(e.From), esc(e.To), esc(strings.Join(e.Origins, ", ")))
	}
	byName := map[string]Service{}
	for _, s := range svcs {
		byName[s.Name] = s
	}
	names := make([]string, 0, len(l.Nodes))
	for n := range l.Nodes {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p, s := l.Nodes[n], byName[n]
		fill, stroke := "#e5f5e0", "#31a354"
		if s.State == "spiking" {
			fill, stroke = "#fee0d2", "#de2d26"
		}
		fmt.Fprintf(&b, `<g class="node %s" data-service="%s"><rect x="%.1f" y="%.1f" width="%d" height="%d" rx="6" fill="%s" stroke="%s" stroke-width="2"/>`,
			esc(s.State), esc(s.Name), p.x, p.y, topoNodeW, topoNodeH, fill, stroke)
		fmt.Fprintf(&b, `<text class="legend" x="%.1f" y="%.1f">%s</text><text class="via" x="%.1f" y="%.1f">%s · %s · %s</text><title>%s: %s</title></g>`,
			p.x+8, p.y+15, esc(s.Name), p.x+8, p.y+29, esc(s.State), counted(s.Errors, "error"), counted(s.Changes, "change"), esc(s.Name), esc(s.State))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// edgePath is the SVG path of an edge: straight inside a waypoint's slot,
// an S-curve across each gap between columns.
func edgePath(e topoEdge) string {
	pts := e.Points
	if len(pts) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "M%.1f %.1f", pts[0][0], pts[0][1])
	if e.Back {
		for _, p := range pts[1:] {
			fmt.Fprintf(&b, " L%.1f %.1f", p[0], p[1])
		}
		return b.String()
	}
	for i := 1; i < len(pts); i++ {
		p, q := pts[i-1], pts[i]
		if i%2 == 1 { // across a gap
			mx := (p[0] + q[0]) / 2
			fmt.Fprintf(&b, " C%.1f %.1f %.1f %.1f %.1f %.1f", mx, p[1], mx, q[1], q[0], q[1])
		} else { // through a waypoint's slot
			fmt.Fprintf(&b, " L%.1f %.1f", q[0], q[1])
		}
	}
	return b.String()
}

// counted writes n with its noun, singular for one: "1 change", "3 errors".
func counted(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
