package queries

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// candidate is one row of sql/candidates.sql: a change near an incident with
// the raw facts of its score.
type candidate struct {
	Suspect
	serviceMatch, regionMatch, accountMatch, resourceMatch bool
	nameMatch                                              bool   // a name the change touches appears in the first errors
	matchedName, matchedService                            string // "record cart-db.internal.example.com", "cart"
	servicesAfter, servicesTotal                           int64
	beforeRate, afterRate                                  float64
	symptom                                                string
	symptomShare                                           float64
	riseLead                                               float64 // minutes before the errors began to rise (negative: after)
	downstream                                             bool    // its service broke only after a dependency did
	versionShare                                           float64 // deploy: share of the service's first errors with the new version
	newVersion                                             string
	node                                                   nodeMatch // resources it touched that the broken services reach
	graph                                                  graph     // the topology of its incident's batch
	roots                                                  []string  // where its incident started: broken services no broken dependency of which broke before them
	provider                                               string    // the change's cloud provider ("" unknown)
	otherCloud                                             string    // the incident's providers ("azure") when the change is in none of them and no dependency path links it
	explainedBy                                            string    // another incident whose errors name what it touched (this one's do not)
}

// resourceEvidence reports whether the incident's errors name what the
// change touched: its resource, a touched name, a resource node the broken
// services depend on, or (a deploy) its new version.
func (c *candidate) resourceEvidence() bool {
	return c.resourceMatch || c.nameMatch || c.node.hit || c.versionShare >= versionMatch
}

// explainedFactor multiplies the score of a change that is more likely
// another incident's cause (explaining away).
const explainedFactor = 0.5

// globalServices are AWS services whose changes are recorded in one region
// (usually us-east-1) but act everywhere.
var globalServices = map[string]bool{
	"iam": true, "route53": true, "cloudfront": true, "organizations": true, "sts": true,
	"waf": true, "globalaccelerator": true, "shield": true, "route53domains": true,
}

func (c *candidate) elsewhere() bool {
	return c.otherCloud != "" || (!c.regionMatch && !globalServices[c.Service] && c.Region != "global" && c.Region != "aws-global")
}

// incidentProviders maps each incident to the cloud providers of its
// regions ("gcp", or "aws+gcp"), from regionProviders; an incident none of
// whose regions has a known provider is absent.
func incidentProviders(incidents []Incident, regions map[string]string) map[string]string {
	out := map[string]string{}
	for _, in := range incidents {
		var ps []string
		for _, r := range in.Regions {
			for p := range strings.SplitSeq(regions[r], "+") {
				if p != "" && !slices.Contains(ps, p) {
					ps = append(ps, p)
				}
			}
		}
		if len(ps) > 0 {
			slices.Sort(ps)
			out[in.ID] = strings.Join(ps, "+")
		}
	}
	return out
}

// inOtherCloud reports whether a change of provider p is in another cloud
// than an incident on incProviders: both known, and p not among them.
func inOtherCloud(p, incProviders string) bool {
	if p == "" || incProviders == "" {
		return false
	}
	return !slices.Contains(strings.Split(incProviders, "+"), p)
}

// riskScore maps the catalogue risk class to [0,1]; unknown is a bit above low.
func riskScore(class string) float64 {
	switch strings.ToLower(class) {
	case "critical":
		return 1
	case "high":
		return 0.75
	case "medium":
		return 0.5
	case "low":
		return 0.2
	}
	return 0.3
}

// ratioScore maps the after/before error rate ratio to [0,1]: no rise is 0, a
// 100-fold rise or more is 1 (log scale). Half an error per minute is added
// to both sides so a quiet "before" does not divide by zero.
func ratioScore(before, after float64) float64 {
	r := (after + 0.5) / (before + 0.5)
	return clamp01(math.Log10(r) / 2)
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }

func round4(x float64) float64 { return math.Round(x*10000) / 10000 }

// brokenDistance is the smallest topology distance from any broken service
// to service, and the broken services at that distance.
type brokenDistance struct {
	dist int // -1 = not reachable
	via  []string
}

func (e *Engine) distanceTo(g graph, broken []string, service string) brokenDistance {
	best := brokenDistance{dist: -1}
	for _, b := range broken {
		d, ok := g.distances(b, e.cfg.MaxDistance)[service]
		if !ok {
			continue
		}
		switch {
		case best.dist < 0 || d < best.dist:
			best = brokenDistance{dist: d, via: []string{b}}
		case d == best.dist:
			best.via = append(best.via, b)
		}
	}
	return best
}

// leadScore is 1 right before the errors began to rise and halves every
// half-life before that; a change made while the errors were already
// rising (more than a minute after they began) cannot have started them:
// its score halves every 2 minutes after that.
func leadScore(riseLead, halfLife float64) float64 {
	if riseLead >= 0 {
		return math.Pow(0.5, riseLead/halfLife)
	}
	return math.Pow(0.5, math.Max(-riseLead-1, 0)/2)
}

// versionMatch: a deploy whose new version is on at least this share of
// its service's first errors counts as a resource match.
const versionMatch = 0.5

// effectiveDistance combines the distance to the change's service (bd)
// with what the topology knows about the resources it touched: a touched
// resource the broken services reach is what the evidence names (the
// score takes the nearer of it and the service), and a change that touched
// only resources of a kind the broken services use, but not theirs
// (another load balancer, another record), is one hop further than its
// service. The second result says which of the two applied.
func effectiveDistance(c *candidate, bd brokenDistance) (brokenDistance, string) {
	switch {
	case c.node.dist >= 0:
		return brokenDistance{dist: c.node.dist, via: c.node.via.via}, "node"
	case c.node.sibling && bd.dist > 0:
		return brokenDistance{dist: bd.dist + 1, via: bd.via}, "sibling"
	}
	return bd, ""
}

// score fills Score, Components and Evidence of c; roots are where its
// incident started, bd the distance from them to its service.
func (e *Engine) score(c *candidate, roots []string, bd brokenDistance) {
	w := e.cfg.Weights
	total := w.Lead + w.Scope + w.Topology + w.Spread + w.Risk + w.Ratio + w.Symptom
	lead := leadScore(c.riseLead, e.cfg.LeadHalfLife.Minutes())
	eff, how := effectiveDistance(c, bd)
	service := 0.4
	if c.downstream {
		service = 0.2
	}
	nodeHit := c.node.hit
	scope := 0.0
	for _, p := range []struct {
		ok bool
		w  float64
	}{{c.serviceMatch, service}, {c.resourceMatch || c.nameMatch || nodeHit || c.versionShare >= versionMatch, 0.3}, {c.regionMatch, 0.2}, {c.accountMatch, 0.1}} {
		if p.ok {
			scope += p.w
		}
	}
	topo := 0.0
	if d := eff.dist; d >= 0 || bd.dist >= 0 {
		if how == "node" && bd.dist >= 0 && bd.dist < d {
			d = bd.dist // the service is nearer than the resource
		}
		topo = math.Pow(0.5, float64(d)/2) // 1, 0.71, 0.5, 0.35 for 0..3 hops
	}
	spread := 0.0
	if c.servicesTotal > 0 {
		spread = float64(c.servicesAfter) / float64(c.servicesTotal)
	}
	parts := map[string]float64{
		"lead":     w.Lead * lead / total,
		"scope":    w.Scope * scope / total,
		"topology": w.Topology * topo / total,
		"spread":   w.Spread * spread / total,
		"risk":     w.Risk * riskScore(c.RiskClass) / total,
		"ratio":    w.Ratio * ratioScore(c.beforeRate, c.afterRate) / total,
		"symptom":  w.Symptom * math.Min(1, 2*c.symptomShare) / total,
	}
	if topo > 0 {
		c.otherCloud = "" // a known dependency path crosses the clouds
	}
	factor := 1.0
	if c.elsewhere() {
		factor = e.cfg.OtherRegionFactor
	}
	if c.explainedBy != "" {
		factor *= explainedFactor
	}
	sum := 0.0
	for k, v := range parts {
		v *= factor
		parts[k] = round4(v)
		sum += v
	}
	c.Score = round4(sum)
	c.Components = parts
	c.Evidence = evidence(c, roots, bd, eff, how, factor)
}

// evidence writes the score in words, so an SRE can check each claim.
func evidence(c *candidate, broken []string, bd, eff brokenDistance, how string, factor float64) string {
	var b strings.Builder
	op := c.Operation
	if op == "" {
		op = "change"
	}
	target := c.Resource
	if target == "" {
		target = c.Service
	}
	fmt.Fprintf(&b, "%s on %s", op, target)
	if c.Actor != "" {
		fmt.Fprintf(&b, " by %s", c.Actor)
	}
	fmt.Fprintf(&b, " in %s, %s", c.Region, leadText(c.LeadMinutes))
	if rise := c.LeadMinutes - c.riseLead; rise >= 1 {
		if c.riseLead >= 0 {
			fmt.Fprintf(&b, " (%s the errors began to rise, %.0f min before onset)", strings.TrimSuffix(leadText(c.riseLead), " onset"), rise)
		} else {
			fmt.Fprintf(&b, " (%.0f min after the errors began to rise, %.0f min before onset)", -c.riseLead, rise)
		}
	}
	switch {
	case how == "node" && eff.dist == 0:
		fmt.Fprintf(&b, "; changed %s, which is itself broken", describeNode(c.node.node))
	case how == "node":
		fmt.Fprintf(&b, "; changed %s, a dependency of %s (distance %d)", describeNode(c.node.node), strings.Join(eff.via, ", "), eff.dist)
	case c.downstream && bd.dist < 0:
		fmt.Fprintf(&b, "; %s is itself broken, but only after a service it depends on broke: no dependency path from where the failure started (%s) to it", c.Service, strings.Join(broken, ", "))
	case bd.dist == 0:
		fmt.Fprintf(&b, "; %s is itself broken", c.Service)
	case bd.dist > 0:
		fmt.Fprintf(&b, "; %s is a dependency of %s (distance %d)", c.Service, strings.Join(bd.via, ", "), bd.dist)
	default:
		fmt.Fprintf(&b, "; no known dependency path from where the failure started (%s) to %s", strings.Join(broken, ", "), c.Service)
	}
	if how == "sibling" {
		fmt.Fprintf(&b, "; it touched no %s the broken services depend on, only others (counted one hop further)", c.node.kind)
	}
	if c.versionShare > 0 && c.newVersion != "" {
		fmt.Fprintf(&b, "; %.0f%% of the first errors of %s after it carry its new version %s", c.versionShare*100, c.Service, c.newVersion)
	}
	if c.nameMatch {
		verb := "name"
		if c.symptom == "dns" && c.symptomShare > 0 && strings.HasPrefix(c.matchedName, "record ") {
			verb = "fail to resolve"
		}
		fmt.Fprintf(&b, "; changed %s, which the first errors of %s %s", c.matchedName, c.matchedService, verb)
	}
	var scope []string
	if c.resourceMatch {
		scope = append(scope, "its resource appears in the errors")
	}
	switch {
	case c.otherCloud != "":
		scope = append(scope, fmt.Sprintf("other cloud than the errors (%s; they are on %s) (score x %g)", c.provider, c.otherCloud, factor/explainedOf(c)))
	case c.regionMatch:
		scope = append(scope, "same region as the errors")
	case c.elsewhere():
		scope = append(scope, fmt.Sprintf("other region than the errors (score x %g)", factor/explainedOf(c)))
	default:
		scope = append(scope, "global service")
	}
	if c.accountMatch {
		scope = append(scope, "same account")
	}
	fmt.Fprintf(&b, "; %s", strings.Join(scope, ", "))
	if c.symptom != "" && c.symptomShare > 0 {
		fmt.Fprintf(&b, "; %.0f%% of the first errors are %s failures, typical of a %s change", c.symptomShare*100, symptomWords[c.symptom], c.ChangeType)
	}
	if c.explainedBy != "" {
		fmt.Fprintf(&b, "; the errors of incident %s name what it touched, these do not: more likely that incident's cause (score x %g)", c.explainedBy, explainedFactor)
	}
	fmt.Fprintf(&b, "; %d of %d broken services spiked after it", c.servicesAfter, c.servicesTotal)
	risk := c.RiskClass
	if risk == "" {
		risk = "unknown"
	}
	fmt.Fprintf(&b, "; risk %s; errors %s/min before -> %s/min after", risk, rateText(c.beforeRate), rateText(c.afterRate))
	return b.String()
}

var symptomWords = map[string]string{
	"dns": "DNS resolution", "auth": "authorization", "throttling": "throttling/capacity",
	"load_balancer": "load balancer (5xx, unhealthy target)", "network": "connection/timeout",
}

func explainedOf(c *candidate) float64 {
	if c.explainedBy != "" {
		return explainedFactor
	}
	return 1
}

func leadText(lead float64) string {
	switch {
	case lead < 0:
		return "in the onset minute"
	case lead < 1:
		return fmt.Sprintf("%.0f s before onset", lead*60)
	}
	return fmt.Sprintf("%.0f min before onset", lead)
}

func rateText(r float64) string {
	if r >= 10 || r == math.Trunc(r) {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}

// Suspects returns, for each incident in w, its top correlation.top_suspects
// changes ranked by score (rank 1 = most likely cause).
func (e *Engine) Suspects(ctx context.Context, w Window) ([]Suspect, error) {
	all, err := e.rankAll(ctx, w)
	if err != nil {
		return nil, err
	}
	var out []Suspect
	for _, s := range all {
		if s.Rank <= e.cfg.TopSuspects {
			out = append(out, s)
		}
	}
	return out, nil
}

// rankAll scores and ranks every candidate of every incident in w.
func (e *Engine) rankAll(ctx context.Context, w Window) ([]Suspect, error) {
	s, incidents, err := e.openIncidents(ctx, w)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if len(incidents) == 0 {
		return nil, nil
	}
	cands, err := e.readCandidates(ctx, s, incidents)
	if err != nil {
		return nil, err
	}
	// A change whose resources another incident's errors name, but not
	// this one's, is more likely that incident's cause (explaining away).
	named := map[string][]string{} // event id -> incidents whose errors name what it touched
	for i := range cands {
		if c := &cands[i]; c.resourceEvidence() {
			named[c.EventID] = append(named[c.EventID], c.IncidentID)
		}
	}
	regions, err := regionProviders(ctx, s)
	if err != nil {
		return nil, err
	}
	incProviders := incidentProviders(incidents, regions)
	byIncident := map[string][]*candidate{}
	dcache := map[[2]string]brokenDistance{}
	for i := range cands {
		c := &cands[i]
		if ip := incProviders[c.IncidentID]; inOtherCloud(c.provider, ip) {
			c.otherCloud = ip
		}
		if inc := named[c.EventID]; len(inc) > 0 && !c.resourceEvidence() {
			c.explainedBy = inc[0]
		}
		k := [2]string{c.IncidentID, c.Service}
		bd, ok := dcache[k]
		if !ok {
			bd = e.distanceTo(c.graph, c.roots, c.Service)
			dcache[k] = bd
		}
		e.score(c, c.roots, bd)
		byIncident[c.IncidentID] = append(byIncident[c.IncidentID], c)
	}
	var out []Suspect
	for _, in := range incidents {
		cs := byIncident[in.ID]
		sort.SliceStable(cs, func(i, j int) bool {
			a, b := cs[i], cs[j]
			if a.Score != b.Score {
				return a.Score > b.Score
			}
			if a.LeadMinutes != b.LeadMinutes {
				return a.LeadMinutes < b.LeadMinutes
			}
			return a.EventID < b.EventID
		})
		for i, c := range cs {
			c.Rank = i + 1
			out = append(out, c.Suspect)
		}
	}
	return out, nil
}

// candidateBatch is a set of incidents close in time whose candidates are
// read with one query, bounded to the times they need.
type candidateBatch struct {
	ids                            []string
	chgFrom, chgTo, errFrom, errTo time.Time
}

// batchGap: incidents whose look-back windows lie closer than this are read
// in one candidates query (one query's fixed cost vs. scanning the gap).
// 56bf513 meant to raise it to 6h but left the code at 30 minutes; that is
// what has been measured and tested since.
const batchGap = 30 * time.Minute

// batches groups incidents (in onset order) whose look-back windows lie
// within batchGap of each other.
func (e *Engine) batches(incidents []Incident, until time.Time) []candidateBatch {
	var out []candidateBatch
	for _, in := range incidents {
		rise := in.rise
		if rise.IsZero() || rise.After(in.Onset) {
			rise = in.Onset
		}
		cf, ct := rise.Add(-e.cfg.Lookback), in.Onset.Add(time.Minute)
		ef, et := in.Onset, in.Recovery
		if in.Ongoing || et.IsZero() {
			et = until
		}
		if n := len(out); n > 0 && !cf.After(out[n-1].chgTo.Add(batchGap)) {
			b := &out[n-1]
			b.ids = append(b.ids, in.ID)
			if cf.Before(b.chgFrom) {
				b.chgFrom = cf
			}
			b.chgTo = maxTime(b.chgTo, ct)
			b.errTo = maxTime(b.errTo, et)
			continue
		}
		out = append(out, candidateBatch{ids: []string{in.ID}, chgFrom: cf, chgTo: ct, errFrom: ef, errTo: et})
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (e *Engine) readCandidates(ctx context.Context, s *session, incidents []Incident) ([]candidate, error) {
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	byID := map[string]Incident{}
	for _, in := range incidents {
		byID[in.ID] = in
	}
	firsts, err := readFirsts(ctx, s)
	if err != nil {
		return nil, err
	}
	// Each batch's changes and errors are read with the batch's own time
	// bounds (one UNION ALL branch per batch of the CTEs cand_chg and
	// cand_err); the lists the candidates statement joins are keyed by
	// incident, so they gather every batch's rows and sql/candidates.sql
	// runs once for all.
	ids := []string{}
	downInc, downSvc := []string{}, []string{}
	dInc, dSvc, dDist := []string{}, []string{}, []int64{}
	cInc, cEvt, cDist, cFlags := []string{}, []string{}, []int64{}, []int64{}
	vInc, vEvt, vVer, vShare := []string{}, []string{}, []string{}, []float64{}
	type batchOf struct {
		index int
		graph graph
		roots []string
	}
	batchIncident := map[string]batchOf{}
	matches := map[[2]string]nodeMatch{}
	var bps []map[string]any // each batch's parameters
	bs := e.batches(incidents, s.until)
	graphs, err := e.batchGraphs(ctx, s, bs)
	if err != nil {
		return nil, err
	}
	for bi, b := range bs {
		g := graphs[bi]
		// Where each incident started (its roots), and the services that
		// broke only after a service they depend on broke.
		roots := map[string][]string{}
		for _, id := range b.ids {
			down := downstream(g, byID[id].Services, firsts[id])
			for _, svc := range down {
				downInc, downSvc = append(downInc, id), append(downSvc, svc)
			}
			for _, svc := range byID[id].Services {
				if !slices.Contains(down, svc) {
					roots[id] = append(roots[id], svc)
				}
			}
		}
		// Distance from each incident's nearest root to every node
		// reachable from them: a change can only explain what lies
		// downstream of it, so the services that broke because a dependency
		// did are not where the distance is measured from.
		reach := map[string]map[string]int{}
		for _, id := range b.ids {
			best := map[string]int{}
			for _, svc := range roots[id] {
				for t, d := range g.distances(svc, e.cfg.MaxDistance) {
					if old, ok := best[t]; !ok || d < old {
						best[t] = d
					}
				}
			}
			reach[id] = best
			for t, d := range best {
				dInc, dSvc, dDist = append(dInc, id), append(dSvc, t), append(dDist, int64(d))
			}
			batchIncident[id] = batchOf{index: bi, graph: g, roots: roots[id]}
		}
		bp := map[string]any{
			"incident_ids": b.ids, "chg_from": ts(b.chgFrom), "chg_to": ts(b.chgTo),
			"err_from": ts(b.errFrom), "err_to": ts(b.errTo),
		}
		// what the changes touched, against what the broken services reach
		m, err := e.changeMatches(ctx, s, g, reach, roots, bp)
		if err != nil {
			return nil, err
		}
		for k, nm := range m {
			flags := int64(0)
			if nm.sibling {
				flags |= 1
			}
			if nm.hit {
				flags |= 2
			}
			cInc, cEvt, cDist, cFlags = append(cInc, k[0]), append(cEvt, k[1]), append(cDist, int64(nm.dist)), append(cFlags, flags)
			matches[k] = nm
		}
		if err := readVersions(ctx, s, bp); err != nil {
			return nil, err
		}
		bps = append(bps, bp)
		ids = append(ids, b.ids...)
		vInc, vEvt = append(vInc, bp["v_incident"].([]string)...), append(vEvt, bp["v_event"].([]string)...)
		vVer, vShare = append(vVer, bp["v_version"].([]string)...), append(vShare, bp["v_share"].([]float64)...)
	}
	params := map[string]any{
		"incident_ids": ids, "d_incident": dInc, "d_service": dSvc, "d_dist": dDist,
		"c_incident": cInc, "c_event": cEvt, "c_dist": cDist, "c_flags": cFlags,
		"v_incident": vInc, "v_event": vEvt, "v_version": vVer, "v_share": vShare,
		"down_incident": downInc, "down_service": downSvc,
	}
	q := withBranches([][2]string{{"cand_chg", "candidate_changes"}, {"cand_err", "candidate_errors"}}, bps, "candidates", params)
	out, err := readCandidateBatch(ctx, s, q, params)
	if err != nil {
		return nil, err
	}
	// In batch order (the incidents' onset order), then as the statement
	// sorts them: the order explaining-away reads them in (rankAll).
	sort.SliceStable(out, func(i, j int) bool {
		return batchIncident[out[i].IncidentID].index < batchIncident[out[j].IncidentID].index
	})
	for i := range out {
		bo := batchIncident[out[i].IncidentID]
		out[i].graph, out[i].roots = bo.graph, bo.roots
		if m, ok := matches[[2]string{out[i].IncidentID, out[i].EventID}]; ok {
			out[i].node = m
		} else {
			out[i].node = nodeMatch{dist: -1}
		}
	}
	return out, nil
}

// readVersions sets the lists v_incident, v_event, v_version and v_share
// of params: for each deploy of the batch, the share of the deployed
// service's first errors that carry its new version (sql/versions.sql).
// Batches without deploys skip the query (it reads the errors' attributes).
func readVersions(ctx context.Context, s *session, params map[string]any) error {
	vInc, vEvt, vVer, vShare := []string{}, []string{}, []string{}, []float64{}
	defer func() {
		params["v_incident"], params["v_event"], params["v_version"], params["v_share"] = vInc, vEvt, vVer, vShare
	}()
	var n int64
	row := s.conn.QueryRowContext(ctx, `SELECT count(*) FROM change_events WHERE source = 'deploy'
		AND time >= CAST($1 AS TIMESTAMPTZ) AND time < CAST($2 AS TIMESTAMPTZ)`, params["chg_from"], params["chg_to"])
	if err := row.Scan(&n); err != nil {
		return fmt.Errorf("count deploys: %w", err)
	}
	if n == 0 {
		return nil
	}
	rows, err := s.query(ctx, "versions", sqlText("versions"), params)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var inc, evt, ver string
		var share float64
		if err := rows.Scan(&inc, &evt, &ver, &share); err != nil {
			return fmt.Errorf("read deploy versions: %w", err)
		}
		vInc, vEvt, vVer, vShare = append(vInc, inc), append(vEvt, evt), append(vVer, ver), append(vShare, share)
	}
	return rows.Err()
}

// readFirsts returns each incident's broken services with the minute their
// first spike started.
func readFirsts(ctx context.Context, s *session) (map[string]map[string]int64, error) {
	rows, err := s.query(ctx, "firsts", `SELECT incident_id, service, min(start_m) FROM incident_series GROUP BY ALL`, nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]int64{}
	for rows.Next() {
		var id, svc string
		var m int64
		if err := rows.Scan(&id, &svc, &m); err != nil {
			return nil, fmt.Errorf("read first spikes: %w", err)
		}
		if out[id] == nil {
			out[id] = map[string]int64{}
		}
		out[id][svc] = m
	}
	return out, rows.Err()
}

// downstream returns the broken services whose first spike came after the
// first spike of a broken service they depend on directly: they broke
// because of it, so a change of theirs is a less likely cause.
func downstream(g graph, broken []string, first map[string]int64) []string {
	var out []string
	for _, s := range broken {
		for _, d := range broken {
			if d != s && first[d] < first[s] && g.dependsOn(s, d) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

func readCandidateBatch(ctx context.Context, s *session, q string, params map[string]any) ([]candidate, error) {
	var out []candidate
	rows, err := s.query(ctx, "candidates", q, params)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c candidate
		var src, svc, op, res, actor, region, acct, ctype, risk *string
		if err := rows.Scan(&c.IncidentID, &c.EventID, &c.Time, &src, &svc, &op, &res, &actor, &region,
			&acct, &ctype, &risk, &c.LeadMinutes, &c.riseLead, &c.serviceMatch, &c.downstream, &c.regionMatch, &c.accountMatch,
			&c.resourceMatch, &c.nameMatch, &c.matchedName, &c.matchedService, &c.servicesAfter, &c.servicesTotal, &c.beforeRate, &c.afterRate,
			&c.symptom, &c.symptomShare, &c.versionShare, &c.newVersion, &c.provider); err != nil {
			return nil, fmt.Errorf("read suspect candidates: %w", err)
		}
		c.Time = c.Time.UTC()
		c.Source, c.Service, c.Operation, c.Resource = deref(src), deref(svc), deref(op), deref(res)
		c.Actor, c.Region, c.AccountID, c.ChangeType, c.RiskClass = deref(actor), deref(region), deref(acct), deref(ctype), deref(risk)
		c.LeadMinutes = math.Round(c.LeadMinutes*100) / 100
		out = append(out, c)
	}
	return out, rows.Err()
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
