package queries

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/transform"
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
	since, until := w.Bounds()
	c := e.cfg
	from := since.Add(-max(c.BaselineWindow+c.BaselineGap, c.Lookback+c.RateWindow)) // base_from (open)
	ed, err := e.edges(ctx, s, [][2]time.Time{{from, until}})
	if err != nil {
		return nil, err
	}
	return ed[0], nil
}

// edges returns, for each window [from, to), the configured edges and
// those inferred from the events in it. The evidence of a window's whole
// minutes comes from the rollup edge_minutes (sql/topology_minutes.sql),
// that of the part of a minute at either end from its events, found in Go
// (sql/topology_events.sql, transform.DependencyEvidence): one statement
// for all windows.
func (e *Engine) edges(ctx context.Context, s *session, windows [][2]time.Time) ([][]Edge, error) {
	evs := make([][]topoEvidence, len(windows))
	if e.cfg.InferTopology && len(windows) > 0 {
		ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
		params := map[string]any{}
		var branches []string
		add := func(stage string, i int, from, to time.Time) {
			if from.Before(to) {
				bp := map[string]any{"topo_from": ts(from), "topo_to": ts(to), "batch": int64(i)}
				branches = append(branches, branch(stage, len(branches), bp, params))
			}
		}
		for i, w := range windows {
			wf, wt := wholeMinutes(w[0], w[1])
			add("topology_minutes", i, wf, wt)
			add("topology_events", i, w[0], wf)
			add("topology_events", i, wt, w[1])
		}
		if len(branches) > 0 {
			if err := e.readEvidence(ctx, s, strings.Join(branches, "\nUNION ALL\n"), params, evs); err != nil {
				return nil, err
			}
		}
	}
	out := make([][]Edge, len(windows))
	for i := range windows {
		out[i] = e.mergeEdges(evs[i])
	}
	return out, nil
}

// readEvidence runs q (branches of sql/topology_minutes.sql and
// sql/topology_events.sql) and appends each window's evidence to evs[b].
func (e *Engine) readEvidence(ctx context.Context, s *session, q string, params map[string]any, evs [][]topoEvidence) error {
	rows, err := s.query(ctx, "topology", q, params)
	if err != nil {
		return err
	}
	defer rows.Close()
	var finder transform.Finder
	var buf []transform.Evidence
	for rows.Next() {
		var b int
		var n int64
		var from, origin, ref, source, kind, service, peer, message, attrs, actor, region sql.NullString
		if err := rows.Scan(&b, &from, &origin, &ref, &n, &source, &kind, &service, &peer, &message, &attrs, &actor, &region); err != nil {
			return fmt.Errorf("read topology: %w", err)
		}
		if origin.Valid { // a rolled-up row
			evs[b] = append(evs[b], topoEvidence{from: from.String, origin: origin.String, ref: ref.String, events: n})
			continue
		}
		key, ok := transform.EvidenceRow{
			Source: source.String, Kind: kind.String, Service: service.String, HasService: service.Valid,
			Peer: peer.String, HasPeer: peer.Valid, Message: message.String, HasMessage: message.Valid,
			Attributes: attrs.String, HasAttrs: attrs.Valid, Actor: actor.String, HasActor: actor.Valid,
			Region: region.String, HasRegion: region.Valid,
		}.Relevant()
		if !ok {
			continue
		}
		buf = finder.Find(&key, buf[:0])
		for _, x := range buf {
			evs[b] = append(evs[b], topoEvidence{from: x.From, origin: x.Origin, ref: x.Ref, events: n})
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read topology: %w", err)
	}
	return nil
}

// mergeEdges returns the configured edges and those inferred from evs,
// sorted.
func (e *Engine) mergeEdges(evs []topoEvidence) []Edge {
	var out []Edge
	for from, tos := range e.topology {
		for _, to := range tos {
			if to != "" && to != from {
				out = append(out, Edge{From: from, To: to, Origin: "config"})
			}
		}
	}
	out = append(out, inferEdges(evs)...)
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
	return out
}

// topoEvidence is one piece of dependency evidence (transform.Evidence)
// and how many events of a window showed it.
type topoEvidence struct {
	from, origin, ref string
	events            int64
}

// inferEdges turns the evidence rows into dependency edges: each ref is
// parsed into the service it names and, when it names one, the concrete
// resource (transform.ParseHost, ParseURL, ParseARN); the caller depends on
// both. CloudTrail calls are attributed to the application service whose
// role made them; load balancers depend on the target groups an alarm or a
// change names with them.
func inferEdges(evs []topoEvidence) []Edge {
	agg := map[[3]string]int64{}
	add := func(from, to, origin string, n int64) {
		if from == "" || to == "" || from == to {
			return
		}
		agg[[3]string{from, to, origin}] += n
	}
	addRef := func(from string, r transform.Ref, origin string, n int64) {
		add(from, r.Service, origin, n)
		add(from, r.Resource, origin, n)
	}
	apps := map[string]bool{} // services that log errors naming what they call
	for _, ev := range evs {
		switch ev.origin {
		case "peer_service", "attribute", "message":
			apps[ev.from] = true
		}
	}
	for _, ev := range evs {
		switch ev.origin {
		case "peer_service":
			addRef(ev.from, transform.ParseHost(ev.ref), ev.origin, ev.events)
		case "attribute":
			for _, r := range attributeRefs(ev.ref) {
				addRef(ev.from, r, ev.origin, ev.events)
			}
		case "message":
			addRef(ev.from, messageRef(ev.ref), ev.origin, ev.events)
		case "config_relationship":
			add(ev.from, configService(ev.ref), ev.origin, ev.events)
		case "cloudtrail_role":
			owner := roleOwner(ev.from, apps)
			if owner == "" {
				continue
			}
			add(owner, transform.ParseARN(ev.from).Resource, ev.origin, ev.events)
			add(owner, transform.RefService(ev.ref), ev.origin, ev.events)
		case "association":
			lbs, tgs := elbAssociation(ev.ref)
			for _, lb := range lbs {
				for _, tg := range tgs {
					add(lb, tg, ev.origin, ev.events)
				}
			}
		}
	}
	out := make([]Edge, 0, len(agg))
	for k, n := range agg {
		out = append(out, Edge{From: k[0], To: k[1], Origin: k[2], Events: n})
	}
	return out
}

// attributeRefs parses the tab-separated "key":"value" attributes of one
// event shape (transform.DependencyEvidence, origin attribute).
func attributeRefs(ref string) []transform.Ref {
	kv := map[string]string{}
	for _, p := range strings.Split(ref, "\t") {
		k, v, ok := strings.Cut(p, ":")
		if !ok {
			continue
		}
		k = strings.Trim(strings.TrimSpace(k), `"`)
		v = strings.Trim(strings.TrimSpace(v), `"`)
		kv[k] = v
	}
	var out []transform.Ref
	for _, k := range []string{"server.address", "net.peer.name"} {
		if v := kv[k]; v != "" {
			out = append(out, transform.ParseHost(v))
		}
	}
	for _, k := range []string{"url.full", "http.url"} {
		if v := kv[k]; v != "" {
			out = append(out, transform.ParseURL(v))
		}
	}
	if v := kv["rpc.service"]; v != "" && (kv["rpc.system"] == "" || strings.EqualFold(kv["rpc.system"], "aws-api")) {
		out = append(out, transform.Ref{Service: transform.RefService(v)})
	}
	if v := kv["db.system"]; v != "" {
		out = append(out, transform.Ref{Service: transform.RefService(v)})
	}
	if v := kv["aws.s3.bucket"]; v != "" {
		out = append(out, transform.Ref{Service: "s3", Resource: "s3::bucket/" + strings.ToLower(v)})
	}
	return out
}

// messageRef parses a host name or ARN found in an error message.
func messageRef(ref string) transform.Ref {
	ref = strings.TrimRight(ref, ".,;:)")
	if strings.HasPrefix(ref, "arn:") {
		return transform.ParseARN(ref)
	}
	if h, ok := strings.CutPrefix(ref, "lookup "); ok {
		ref = h
	}
	if h, ok := strings.CutPrefix(ref, "UnknownHostException: "); ok {
		ref = h
	}
	return transform.ParseHost(ref)
}

// configServices maps AWS Config resource type namespaces whose lower-case
// name is not CloudTrail's service name.
var configServices = map[string]string{
	"elasticloadbalancingv2": "elasticloadbalancing", "apigatewayv2": "apigateway", "opensearchservice": "es",
	"elasticsearch": "es", "cloudwatch": "monitoring", "stepfunctions": "states", "secretsmanager": "secretsmanager",
}

// configService names the service of an AWS Config resource type
// (AWS::ElasticLoadBalancingV2::LoadBalancer -> elasticloadbalancing).
func configService(resourceType string) string {
	parts := strings.Split(resourceType, "::")
	if len(parts) < 2 {
		return ""
	}
	ns := strings.ToLower(parts[1])
	if s, ok := configServices[ns]; ok {
		return s
	}
	return transform.RefService(ns)
}

// roleOwner returns the application service an IAM role (or an assumed-role
// session) belongs to, among apps: the role is named after it
// (cart-task-role, cart_role, prod-cart) or the session is (a Lambda
// function's session is the function name). The longest match wins.
func roleOwner(actor string, apps map[string]bool) string {
	_, rest, ok := strings.Cut(actor, ":assumed-role/")
	if !ok {
		return ""
	}
	role, session, _ := strings.Cut(rest, "/")
	role, session = strings.ToLower(role), strings.ToLower(session)
	best := ""
	for svc := range apps {
		s := strings.ToLower(svc)
		if len(s) < 3 || len(s) <= len(best) {
			continue
		}
		if role == s || strings.HasPrefix(role, s+"-") || strings.HasPrefix(role, s+"_") || strings.HasSuffix(role, "-"+s) ||
			session == s || strings.HasPrefix(session, s+"-") {
			best = svc
		}
	}
	return best
}

// elbAssociation parses an association ref: a region, then tab-separated
// load balancer, listener and target group ARNs or alarm dimensions
// ("LoadBalancer":"app/cart-alb/50dc6c495c0c9188",
// "TargetGroup":"targetgroup/cart-tg/73e2d6bc24d8a067").
func elbAssociation(ref string) (lbs, tgs []string) {
	parts := strings.Split(ref, "\t")
	region := parts[0]
	for _, p := range parts[1:] {
		var r transform.Ref
		switch {
		case strings.HasPrefix(p, "arn:"):
			r = transform.ParseARN(p)
		case strings.HasPrefix(p, `"LoadBalancer"`), strings.HasPrefix(p, `"TargetGroup"`):
			_, v, _ := strings.Cut(p, ":")
			v = strings.Trim(strings.TrimSpace(v), `"`)
			if strings.HasPrefix(p, `"LoadBalancer"`) {
				v = "loadbalancer/" + v
			}
			r = transform.ParseARN("arn:aws:elasticloadbalancing:" + region + "::" + v)
		}
		switch {
		case strings.Contains(r.Resource, ":loadbalancer/"):
			lbs = appendUnique(lbs, r.Resource)
		case strings.Contains(r.Resource, ":targetgroup/"):
			tgs = appendUnique(tgs, r.Resource)
		}
	}
	return lbs, tgs
}

func appendUnique(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
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

// batchGraphs returns the merged dependency graph of each batch of
// incidents, for the events from its look-back to its last error.
func (e *Engine) batchGraphs(ctx context.Context, s *session, bs []candidateBatch) ([]graph, error) {
	windows := make([][2]time.Time, len(bs))
	for i, b := range bs {
		windows[i] = [2]time.Time{b.chgFrom, b.errTo}
	}
	eds, err := e.edges(ctx, s, windows)
	if err != nil {
		return nil, err
	}
	out := make([]graph, len(eds))
	for i, ed := range eds {
		out[i] = newGraph(ed)
	}
	return out, nil
}
