package queries

import (
	"context"
	"fmt"
	"sort"
)

// Cascade returns, for each incident in w, the services in the order they
// broke, each with the services it depends on (merged topology) that broke
// before it: the edges the failure most likely travelled along.
func (e *Engine) Cascade(ctx context.Context, w Window) ([]CascadeStep, error) {
	s, incidents, err := e.openIncidents(ctx, w)
	if err != nil {
		return nil, err
	}
	defer s.close()
	spikes, err := readSpikes(ctx, s)
	if err != nil {
		return nil, err
	}
	graphs := map[string]graph{} // incident id -> topology of its batch
	bs := e.batches(incidents, s.until)
	gs, err := e.batchGraphs(ctx, s, bs)
	if err != nil {
		return nil, err
	}
	for i, b := range bs {
		for _, id := range b.ids {
			graphs[id] = gs[i]
		}
	}
	type key struct{ inc, svc string }
	steps := map[key]*CascadeStep{}
	var order []key
	for _, sp := range spikes {
		if sp.IncidentID == "" {
			continue
		}
		k := key{sp.IncidentID, sp.Service}
		st, ok := steps[k]
		if !ok {
			st = &CascadeStep{IncidentID: sp.IncidentID, Service: sp.Service, Region: sp.Region, Onset: sp.Start}
			steps[k] = st
			order = append(order, k)
		}
		if sp.Start.Before(st.Onset) || (sp.Start.Equal(st.Onset) && sp.Region < st.Region) {
			st.Onset, st.Region = sp.Start, sp.Region
		}
		st.PeakErrorsPerMin = max(st.PeakErrorsPerMin, sp.PeakErrors)
		st.Errors += sp.Errors
	}
	out := make([]CascadeStep, 0, len(order))
	for _, k := range order {
		out = append(out, *steps[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.IncidentID != b.IncidentID {
			return a.IncidentID < b.IncidentID
		}
		if !a.Onset.Equal(b.Onset) {
			return a.Onset.Before(b.Onset)
		}
		if a.PeakErrorsPerMin != b.PeakErrorsPerMin {
			return a.PeakErrorsPerMin > b.PeakErrorsPerMin // the loudest of one minute first
		}
		return a.Service < b.Service
	})
	for i := range out {
		if i == 0 || out[i].IncidentID != out[i-1].IncidentID {
			out[i].Order = 1
		} else {
			out[i].Order = out[i-1].Order + 1
		}
		out[i].Via = []string{}
		for j := i - 1; j >= 0 && out[j].IncidentID == out[i].IncidentID; j-- {
			if graphs[out[i].IncidentID].dependsOn(out[i].Service, out[j].Service) {
				out[i].Via = append(out[i].Via, out[j].Service)
			}
		}
		sort.Strings(out[i].Via)
	}
	return out, nil
}

// Regions returns each region's share of errors and changes per incident in
// w (and for the whole window, incident_id ""), with a warning on incidents
// confined to one region.
func (e *Engine) Regions(ctx context.Context, w Window) ([]RegionShare, error) {
	s, incidents, err := e.openIncidents(ctx, w)
	if err != nil {
		return nil, err
	}
	defer s.close()
	nsvc := map[string]int{}
	for _, in := range incidents {
		nsvc[in.ID] = len(in.Services)
	}
	providers, err := regionProviders(ctx, s)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, "regions", sqlText("regions"), nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RegionShare
	for rows.Next() {
		var r RegionShare
		if err := rows.Scan(&r.IncidentID, &r.Region, &r.Errors, &r.Changes, &r.ErrorShare, &r.ChangeShare); err != nil {
			return nil, fmt.Errorf("read regions: %w", err)
		}
		r.ErrorShare, r.ChangeShare = round4(r.ErrorShare), round4(r.ChangeShare)
		r.Provider = providers[r.Region]
		if r.IncidentID != "" && r.Errors > 0 && r.ErrorShare >= e.cfg.ConfinedShare {
			r.Warning = fmt.Sprintf("%.0f%% of the errors on %s (%d services): the services this incident broke all depend on this one region; check for a regional dependency or missing failover",
				r.ErrorShare*100, r.Where(), nsvc[r.IncidentID])
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// regionProviders maps each region to the cloud provider its events name
// ("gcp"), or to several joined with "+" ("aws+gcp" for a 'global' both
// use); a region no event names a provider for is absent.
func regionProviders(ctx context.Context, s *session) (map[string]string, error) {
	rows, err := s.query(ctx, "region_providers", sqlText("region_providers"), nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var region, provider string
		if err := rows.Scan(&region, &provider); err != nil {
			return nil, fmt.Errorf("read region providers: %w", err)
		}
		if p := out[region]; p != "" {
			provider = p + "+" + provider // rows come sorted by provider
		}
		out[region] = provider
	}
	return out, rows.Err()
}

// ChangeFailureRate returns, per operation, service, actor and change_type,
// the changes in w and how many of them ranked in the top
// correlation.failure_top_n suspects of an incident with a score of at least
// correlation.failure_min_score.
func (e *Engine) ChangeFailureRate(ctx context.Context, w Window) ([]ChangeFailure, error) {
	ranked, err := e.rankAll(ctx, w)
	if err != nil {
		return nil, err
	}
	failed := []string{}
	seen := map[string]bool{}
	for _, s := range ranked {
		if s.Rank <= e.cfg.FailureTopN && s.Score >= e.cfg.FailureScore && !seen[s.EventID] {
			seen[s.EventID] = true
			failed = append(failed, s.EventID)
		}
	}
	sort.Strings(failed)
	s, err := e.open(ctx, w, "")
	if err != nil {
		return nil, err
	}
	defer s.close()
	rows, err := s.query(ctx, "change_failure_rate", sqlText("change_failure_rate"), map[string]any{"failed": failed})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ChangeFailure
	for rows.Next() {
		var c ChangeFailure
		if err := rows.Scan(&c.Dimension, &c.Value, &c.Changes, &c.Failed, &c.Rate); err != nil {
			return nil, fmt.Errorf("read change failure rate: %w", err)
		}
		c.Rate = round4(c.Rate)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Impact is everything the correlation says about one window: what a
// report is built from.
type Impact struct {
	Incidents     []Incident      `json:"incidents"`
	Suspects      []Suspect       `json:"suspects"`
	Cascade       []CascadeStep   `json:"cascade"`
	Regions       []RegionShare   `json:"regions"`
	ChangeFailure []ChangeFailure `json:"change_failure_rate"`
}

// Impact returns the incidents, suspects, cascade, regions and change
// failure rate of w: the answers of the named queries of the same names.
func (e *Engine) Impact(ctx context.Context, w Window) (Impact, error) {
	var im Impact
	var err error
	if im.Incidents, err = e.Incidents(ctx, w); err != nil {
		return im, fmt.Errorf("incidents: %w", err)
	}
	if im.Suspects, err = e.Suspects(ctx, w); err != nil {
		return im, fmt.Errorf("suspects: %w", err)
	}
	if im.Cascade, err = e.Cascade(ctx, w); err != nil {
		return im, fmt.Errorf("cascade: %w", err)
	}
	if im.Regions, err = e.Regions(ctx, w); err != nil {
		return im, fmt.Errorf("regions: %w", err)
	}
	if im.ChangeFailure, err = e.ChangeFailureRate(ctx, w); err != nil {
		return im, fmt.Errorf("change failure rate: %w", err)
	}
	return im, nil
}
