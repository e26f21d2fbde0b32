package queries

import (
	"context"
	"fmt"
	"math"
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
	graph                                                  graph // the topology of its incident's batch
}

// globalServices are AWS services whose changes are recorded in one region
// (usually us-east-1) but act everywhere.
var globalServices = map[string]bool{
	"iam": true, "route53": true, "cloudfront": true, "organizations": true, "sts": true,
	"waf": true, "globalaccelerator": true, "shield": true, "route53domains": true,
}

func (c *candidate) elsewhere() bool {
	return !c.regionMatch && !globalServices[c.Service] && c.Region != "global" && c.Region != "aws-global"
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

// score fills Score, Components and Evidence of c.
func (e *Engine) score(c *candidate, broken []string, bd brokenDistance) {
	w := e.cfg.Weights
	total := w.Lead + w.Scope + w.Topology + w.Spread + w.Risk + w.Ratio + w.Symptom
	lead := math.Pow(0.5, math.Max(c.LeadMinutes, 0)/e.cfg.LeadHalfLife.Minutes())
	scope := 0.0
	for _, p := range []struct {
		ok bool
		w  float64
	}{{c.serviceMatch, 0.4}, {c.resourceMatch || c.nameMatch, 0.3}, {c.regionMatch, 0.2}, {c.accountMatch, 0.1}} {
		if p.ok {
			scope += p.w
		}
	}
	topo := 0.0
	if bd.dist >= 0 {
		topo = math.Pow(0.5, float64(bd.dist)/2) // 1, 0.71, 0.5, 0.35 for 0..3 hops
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
	factor := 1.0
	if c.elsewhere() {
		factor = e.cfg.OtherRegionFactor
	}
	sum := 0.0
	for k, v := range parts {
		v *= factor
		parts[k] = round4(v)
		sum += v
	}
	c.Score = round4(sum)
	c.Components = parts
	c.Evidence = evidence(c, broken, bd, factor)
}

// evidence writes the score in words, so an SRE can check each claim.
func evidence(c *candidate, broken []string, bd brokenDistance, factor float64) string {
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
	switch {
	case bd.dist == 0:
		fmt.Fprintf(&b, "; %s is itself broken", c.Service)
	case bd.dist > 0:
		fmt.Fprintf(&b, "; %s is a dependency of %s (distance %d)", c.Service, strings.Join(bd.via, ", "), bd.dist)
	default:
		fmt.Fprintf(&b, "; no known dependency path from the broken services (%s) to %s", strings.Join(broken, ", "), c.Service)
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
	case c.regionMatch:
		scope = append(scope, "same region as the errors")
	case factor < 1:
		scope = append(scope, fmt.Sprintf("other region than the errors (score x %g)", factor))
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
	broken := map[string][]string{}
	for _, in := range incidents {
		broken[in.ID] = in.Services
	}
	byIncident := map[string][]*candidate{}
	dcache := map[[2]string]brokenDistance{}
	for i := range cands {
		c := &cands[i]
		k := [2]string{c.IncidentID, c.Service}
		bd, ok := dcache[k]
		if !ok {
			bd = e.distanceTo(c.graph, broken[c.IncidentID], c.Service)
			dcache[k] = bd
		}
		e.score(c, broken[c.IncidentID], bd)
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
		cf, ct := in.Onset.Add(-e.cfg.Lookback), in.Onset.Add(time.Minute)
		ef, et := in.Onset, in.Recovery
		if in.Ongoing || et.IsZero() {
			et = until
		}
		if n := len(out); n > 0 && !cf.After(out[n-1].chgTo.Add(batchGap)) {
			b := &out[n-1]
			b.ids = append(b.ids, in.ID)
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
	var out []candidate
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	byID := map[string]Incident{}
	for _, in := range incidents {
		byID[in.ID] = in
	}
	for _, b := range e.batches(incidents, s.until) {
		g, err := e.graphFor(ctx, s, b.chgFrom, b.errTo)
		if err != nil {
			return nil, err
		}
		// distance from each incident's nearest broken service to every
		// service reachable from them
		dInc, dSvc, dDist := []string{}, []string{}, []int64{}
		for _, id := range b.ids {
			best := map[string]int{}
			for _, svc := range byID[id].Services {
				for t, d := range g.distances(svc, e.cfg.MaxDistance) {
					if old, ok := best[t]; !ok || d < old {
						best[t] = d
					}
				}
			}
			for t, d := range best {
				dInc, dSvc, dDist = append(dInc, id), append(dSvc, t), append(dDist, int64(d))
			}
		}
		n := len(out)
		out, err = readCandidateBatch(ctx, s, out, map[string]any{
			"incident_ids": b.ids, "chg_from": ts(b.chgFrom), "chg_to": ts(b.chgTo),
			"err_from": ts(b.errFrom), "err_to": ts(b.errTo),
			"d_incident": dInc, "d_service": dSvc, "d_dist": dDist,
		})
		if err != nil {
			return nil, err
		}
		for i := n; i < len(out); i++ {
			out[i].graph = g
		}
	}
	return out, nil
}

func readCandidateBatch(ctx context.Context, s *session, out []candidate, params map[string]any) ([]candidate, error) {
	rows, err := s.query(ctx, "candidates", sqlText("candidates"), params)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c candidate
		var src, svc, op, res, actor, region, acct, ctype, risk *string
		if err := rows.Scan(&c.IncidentID, &c.EventID, &c.Time, &src, &svc, &op, &res, &actor, &region,
			&acct, &ctype, &risk, &c.LeadMinutes, &c.serviceMatch, &c.regionMatch, &c.accountMatch,
			&c.resourceMatch, &c.nameMatch, &c.matchedName, &c.matchedService, &c.servicesAfter, &c.servicesTotal, &c.beforeRate, &c.afterRate,
			&c.symptom, &c.symptomShare); err != nil {
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
