package queries

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Grouping spikes into incidents. Spikes close in time are candidates for
// one incident (an island: each starts at most merge_gap after the latest
// end before it), but an island is split into the groups that belong
// together:
//
//   - spikes of one service (in any region);
//   - spikes in one region whose errors name each other's service or a
//     common peer (the callee their errors name, or for CloudTrail's own
//     failed calls the service whose role made them);
//   - a short spike (not sustained) whose errors name nothing joins the
//     group of its region it overlaps most in time; spikes whose errors name
//     nothing and that are outages of their own (sustained), or have no
//     named group in their region to join, form one group per region (what
//     names nothing cannot be told apart, so time decides, as before).
//
// So two unrelated outages that overlap in time (a bad deploy in us-east-1
// and a load balancer change in eu-west-1, or two services in one region
// that neither call each other nor fail on a common dependency) become two
// incidents, each with its own suspects.

// peerShare: a peer named by at least this share of a spike's errors (and
// by at least peerMinErrors of them) links the spike to others.
const (
	peerShare     = 0.2
	peerMinErrors = 3
)

type spikeKey struct {
	service, region string
	start           int64
}

type spikeRow struct {
	spikeKey
	end       int64
	sustained bool
}

// groupSpikes reads the spikes, groups them and writes the groups as the
// connection's TEMP table spike_groups (service, region, start_m, grp) that
// sql/incident_series.sql reads.
func (e *Engine) groupSpikes(ctx context.Context, s *session) error {
	rows, err := s.query(ctx, "spikes", `SELECT service, region, start_m, end_m, longest_run >= $min_spike_minutes
		FROM spikes ORDER BY start_m, end_m, service, region`, nil)
	if err != nil {
		return err
	}
	sp, err := func() ([]spikeRow, error) {
		defer rows.Close()
		var sp []spikeRow
		for rows.Next() {
			var r spikeRow
			if err := rows.Scan(&r.service, &r.region, &r.start, &r.end, &r.sustained); err != nil {
				return nil, err
			}
			sp = append(sp, r)
		}
		return sp, rows.Err()
	}()
	if err != nil {
		return fmt.Errorf("read spikes: %w", err)
	}
	gap := minutes(e.cfg.MergeGap)
	// Islands in time.
	var islands [][]spikeRow
	maxEnd := int64(0)
	for i, r := range sp {
		if i == 0 || r.start-maxEnd > gap {
			islands = append(islands, nil)
			maxEnd = r.end
		}
		islands[len(islands)-1] = append(islands[len(islands)-1], r)
		maxEnd = max(maxEnd, r.end)
	}
	// Peers only for islands that can become an incident and have more
	// than one service to split.
	var need [][]spikeRow
	for _, is := range islands {
		sustained, svcs := false, map[string]bool{}
		for _, r := range is {
			sustained = sustained || r.sustained
			svcs[r.service] = true
		}
		if sustained && len(svcs) > 1 {
			need = append(need, is)
		}
	}
	peers, err := e.spikePeers(ctx, s, need)
	if err != nil {
		return err
	}
	var gSvc, gReg []string
	var gStart, gGrp []int64
	next := int64(0)
	for _, is := range islands {
		for _, grp := range splitIsland(is, peers) {
			for _, r := range grp {
				gSvc, gReg, gStart, gGrp = append(gSvc, r.service), append(gReg, r.region), append(gStart, r.start), append(gGrp, next)
			}
			next++
		}
	}
	q := `CREATE OR REPLACE TEMP TABLE spike_groups AS
		SELECT unnest(CAST($g_service AS VARCHAR[])) AS service, unnest(CAST($g_region AS VARCHAR[])) AS region,
		       unnest(CAST($g_start AS BIGINT[])) AS start_m, unnest(CAST($g_grp AS BIGINT[])) AS grp`
	args, err := s.args(q, map[string]any{"g_service": gSvc, "g_region": gReg, "g_start": gStart, "g_grp": gGrp})
	if err != nil {
		return err
	}
	if _, err := s.conn.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("correlation stage spike_groups: %w", err)
	}
	s.created = append(s.created, "spike_groups")
	return nil
}

// spikePeers returns, for the spikes of the given islands, the peers their
// errors name with at least peerShare of the spike's errors. Islands less
// than an hour apart are read as one span.
func (e *Engine) spikePeers(ctx context.Context, s *session, islands [][]spikeRow) (map[spikeKey][]string, error) {
	out := map[spikeKey][]string{}
	type span struct{ from, to int64 }
	var spans []span
	for _, is := range islands {
		lo, hi := is[0].start, is[0].end
		for _, r := range is {
			lo, hi = min(lo, r.start), max(hi, r.end)
		}
		if n := len(spans); n > 0 && lo-spans[n-1].to < 60 {
			spans[n-1].to = max(spans[n-1].to, hi)
			continue
		}
		spans = append(spans, span{lo, hi})
	}
	// One statement for all spans, one UNION ALL branch per span with its
	// own time bounds; a spike's rows come from the one span its start
	// lies in.
	ts := func(m int64) string { return minuteTime(m).Format(time.RFC3339) }
	params := map[string]any{}
	var qs []string
	for i, sp := range spans {
		qs = append(qs, branch("spike_peers", i, map[string]any{
			"peer_from": ts(sp.from), "peer_to": ts(sp.to + 1), "peer_from_m": sp.from, "peer_to_m": sp.to,
		}, params))
	}
	if len(qs) == 0 {
		return out, nil
	}
	rows, err := s.query(ctx, "spike_peers", strings.Join(qs, "\nUNION ALL\n"), params)
	if err != nil {
		return nil, err
	}
	total := map[spikeKey]int64{}
	counts := map[spikeKey]map[string]int64{}
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			var k spikeKey
			var peer string
			var n int64
			if err := rows.Scan(&k.service, &k.region, &k.start, &peer, &n); err != nil {
				return err
			}
			total[k] += n
			if peer = strings.ToLower(peer); peer != "" {
				if counts[k] == nil {
					counts[k] = map[string]int64{}
				}
				counts[k][peer] += n
			}
		}
		return rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("read spike peers: %w", err)
	}
	for k, m := range counts {
		for p, n := range m {
			if n >= peerMinErrors && float64(n) >= peerShare*float64(total[k]) {
				out[k] = append(out[k], p)
			}
		}
		sort.Strings(out[k])
	}
	return out, nil
}

// splitIsland splits the spikes of one island into the groups that belong
// together (see the top of this file), in order of their first spike.
func splitIsland(is []spikeRow, peers map[spikeKey][]string) [][]spikeRow {
	parent := make([]int, len(is))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) {
		if ra, rb := find(a), find(b); ra != rb {
			if ra < rb {
				parent[rb] = ra
			} else {
				parent[ra] = rb
			}
		}
	}
	apps := map[string]bool{}
	for _, r := range is {
		apps[r.service] = true
	}
	// Each spike's dominant peers as service names: a role names the
	// service it belongs to.
	names := make([]map[string]bool, len(is))
	for i, r := range is {
		names[i] = map[string]bool{}
		for _, p := range peers[r.spikeKey] {
			if role, ok := strings.CutPrefix(p, "role:"); ok {
				if o := roleOwner("arn:aws:sts:::assumed-role/"+role, apps); o != "" {
					names[i][o] = true
				}
				continue
			}
			names[i][p] = true
		}
	}
	named := make([]bool, len(is))
	for i := range is {
		named[i] = len(names[i]) > 0
	}
	for i := range is {
		for j := i + 1; j < len(is); j++ {
			a, b := is[i], is[j]
			if a.service == b.service {
				union(i, j)
				continue
			}
			if !sameRegion(a.region, b.region) {
				continue
			}
			linked := names[i][b.service] || names[j][a.service]
			for p := range names[i] {
				if names[j][p] {
					linked = true
					break
				}
			}
			if linked {
				union(i, j)
			}
		}
	}
	// Groups that name nothing join the named group of their region they
	// overlap most, else the other unnamed groups of their region.
	groupNamed := map[int]bool{}
	for i := range is {
		if named[i] {
			groupNamed[find(i)] = true
		}
	}
	spans := map[int][2]int64{}
	for i, r := range is {
		root := find(i)
		sp, ok := spans[root]
		if !ok {
			sp = [2]int64{r.start, r.end}
		}
		spans[root] = [2]int64{min(sp[0], r.start), max(sp[1], r.end)}
	}
	// Decide every unnamed group's place first, then merge, so that the
	// merges do not change what the decisions see.
	var merges [][2]int
	var orphans []int // unnamed spikes with no named group in their region
	groupSustained := map[int]bool{}
	for i, r := range is {
		if r.sustained {
			groupSustained[find(i)] = true
		}
	}
	for i := range is {
		root := find(i)
		if groupNamed[root] {
			continue
		}
		if groupSustained[root] {
			// an outage of its own whose errors name nothing: not folded
			// into another one just because it overlaps in time
			orphans = append(orphans, i)
			continue
		}
		best, bestOverlap := -1, int64(-1<<62)
		for j := range is {
			rj := find(j)
			if !groupNamed[rj] || !sameRegion(is[i].region, is[j].region) {
				continue
			}
			a, b := spans[root], spans[rj]
			ov := min(a[1], b[1]) - max(a[0], b[0]) // negative: the gap between them
			if ov > bestOverlap || ov == bestOverlap && rj < best {
				best, bestOverlap = rj, ov
			}
		}
		if best >= 0 {
			merges = append(merges, [2]int{i, best})
		} else {
			orphans = append(orphans, i)
		}
	}
	for _, m := range merges {
		union(m[0], m[1])
	}
	for x, i := range orphans {
		for _, j := range orphans[x+1:] {
			if sameRegion(is[i].region, is[j].region) {
				union(i, j)
			}
		}
	}
	byRoot := map[int][]spikeRow{}
	var roots []int
	for i, r := range is {
		root := find(i)
		if _, ok := byRoot[root]; !ok {
			roots = append(roots, root)
		}
		byRoot[root] = append(byRoot[root], r)
	}
	out := make([][]spikeRow, 0, len(roots))
	for _, root := range roots {
		out = append(out, byRoot[root])
	}
	return out
}

// sameRegion: series of one region, or of a global service (IAM, Route
// 53 errors without a region), can belong together.
func sameRegion(a, b string) bool {
	return a == b || a == "global" || b == "global"
}
