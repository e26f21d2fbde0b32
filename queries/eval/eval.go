package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform/simulate"
)

// Targets are the accuracy goals (issue 21: on a stranger's account, with
// no topology configured): top-1 and top-3 over the planted incidents,
// false incidents per day of window (quiet days and the unrelated incidents
// next to a planted one alike).
var Targets = struct {
	Top1, Top3, FalsePerDay float64
}{Top1: 0.95, Top3: 1.0, FalsePerDay: 0.1}

// Config says which scenarios to run.
type Config struct {
	Scenarios int              // how many
	Seed      int64            // scenario i uses seed Seed+i
	Families  []string         // cycled in order; empty = simulate.Families (quiet days included)
	Options   simulate.Options // for every scenario
	Workdir   string           // where scenario directories are written; "" = a temporary directory, removed afterwards
	Keep      bool             // keep the scenario directories (with Workdir)
}

// Correlation is what the correlation found in one scenario.
type Correlation struct {
	Incidents []queries.Incident
	Suspects  []queries.Suspect
}

// Observation is what a pipeline found for one scenario: the correlation
// with no topology configured (what the engine infers from the events, as
// on a stranger's account), and, when the pipeline ran it too, with the
// scenario's topology configured.
type Observation struct {
	Correlation
	WithTopology *Correlation
	Events       int64 // events loaded
	DeadLetters  int64 // records that could not be decoded
}

// Pipeline loads a written scenario and correlates it. Implementations must
// start from an empty database per call.
type Pipeline interface {
	Run(ctx context.Context, sc *simulate.Scenario, man simulate.Manifest) (Observation, error)
}

// PipelineFunc adapts a function to Pipeline.
type PipelineFunc func(ctx context.Context, sc *simulate.Scenario, man simulate.Manifest) (Observation, error)

// Run implements Pipeline.
func (f PipelineFunc) Run(ctx context.Context, sc *simulate.Scenario, man simulate.Manifest) (Observation, error) {
	return f(ctx, sc, man)
}

// Result is the score of one planted incident (or of a quiet scenario).
type Result struct {
	Index       int     `json:"index"`
	Seed        int64   `json:"seed"`
	Scenario    string  `json:"scenario"`
	Kind        string  `json:"kind,omitempty"` // the planted incident's kind of root cause
	Part        int     `json:"part,omitempty"` // which planted incident of the scenario (1 = the first)
	Topology    bool    `json:"topology"`       // scored with the scenario's topology configured
	Incident    bool    `json:"incident"`       // the truth has an incident
	RootCause   string  `json:"root_cause,omitempty"`
	RootCauseID string  `json:"root_cause_event_id,omitempty"`
	Rank        int     `json:"rank"`              // rank of the root cause among the suspects; 0 = not found
	Detected    bool    `json:"detected"`          // an incident matched the truth
	Matched     int     `json:"matched_incidents"` // incidents that match the truth (more than 1: split)
	False       int     `json:"false_incidents"`   // incidents that match no planted incident (counted on part 1)
	OnsetError  float64 `json:"onset_error_min"`   // |found onset - true onset|, minutes (detected only)
	Recall      float64 `json:"service_recall"`    // affected services found in the matched incidents
	OrderScore  float64 `json:"cascade_order"`     // share of affected service pairs in the right onset order
	TopSuspect  string  `json:"top_suspect"`       // service operation of rank 1
	TopEvidence string  `json:"top_evidence"`      // its evidence
	TruthScore  float64 `json:"root_cause_score"`  // the root cause's score, when ranked
	TopScore    float64 `json:"top_score"`         // rank 1's score
	Events      int64   `json:"events"`            //
	DeadLetters int64   `json:"dead_letters"`      //
	Days        float64 `json:"days"`              // length of the window in days
	Seconds     float64 `json:"seconds"`           // wall time of simulate + pipeline
	Error       string  `json:"error,omitempty"`   // the pipeline failed
	Note        string  `json:"note,omitempty"`    // what went wrong, in words
}

// Summary aggregates results.
type Summary struct {
	Scenarios           int                `json:"scenarios"`
	IncidentScenarios   int                `json:"incident_scenarios"` // planted incidents (a two-incidents scenario counts twice)
	QuietScenarios      int                `json:"quiet_scenarios"`
	Days                float64            `json:"days"`            // window length of all scenarios
	FalseIncidents      int                `json:"false_incidents"` // on all scenarios
	FalsePerDay         float64            `json:"false_incidents_per_day"`
	Top1ByKind          map[string]float64 `json:"top1_by_kind"`
	Top1                float64            `json:"top1"`
	Top3                float64            `json:"top3"`
	MRR                 float64            `json:"mrr"`
	Detected            float64            `json:"detection_rate"` // incident scenarios with a matched incident
	QuietDays           float64            `json:"quiet_days"`
	FalseOnQuietDays    int                `json:"false_incidents_quiet"`
	FalsePerQuietDay    float64            `json:"false_incidents_per_quiet_day"`
	FalseOnIncidentDays int                `json:"false_incidents_incident_scenarios"` // unrelated incidents next to a real one
	MeanOnsetError      float64            `json:"mean_onset_error_min"`
	MaxOnsetError       float64            `json:"max_onset_error_min"`
	MeanRecall          float64            `json:"mean_service_recall"`
	MeanOrder           float64            `json:"mean_cascade_order"`
	Top1ByScenario      map[string]float64 `json:"top1_by_scenario"`
	DeadLetters         int64              `json:"dead_letters"`
	Events              int64              `json:"events"`
	Errors              int                `json:"pipeline_errors"`
	Seconds             float64            `json:"seconds"`
	MeetsTop1           bool               `json:"meets_top1"`
	MeetsTop3           bool               `json:"meets_top3"`
	MeetsFalsePerDay    bool               `json:"meets_false_incidents"`
}

// Report is the whole evaluation. The targets are checked on Summary: the
// correlation with no topology configured.
type Report struct {
	Config              ReportConfig `json:"config"`
	Summary             Summary      `json:"summary"`                         // no topology configured: inferred from the events
	WithTopology        *Summary     `json:"with_topology,omitempty"`         // the scenarios' topology configured
	Results             []Result     `json:"results"`                         // per planted incident or quiet scenario, no topology
	ResultsWithTopology []Result     `json:"results_with_topology,omitempty"` // the same with the topology
}

// ReportConfig records how the report was made.
type ReportConfig struct {
	Scenarios int      `json:"scenarios"`
	Seed      int64    `json:"seed"`
	Families  []string `json:"families"`
	Duration  string   `json:"duration"`
	Scale     float64  `json:"scale"`
	Services  int      `json:"services"`
	Started   string   `json:"started"`
}

// Run generates cfg.Scenarios scenarios, runs each through p and scores
// it. progress, if set, is called after each scenario. A pipeline error is
// recorded in the result (and counted) rather than stopping the run; a
// cancelled ctx stops it.
func Run(ctx context.Context, cfg Config, p Pipeline, progress func(Result)) (Report, error) {
	if cfg.Scenarios <= 0 {
		return Report{}, fmt.Errorf("scenarios: %d is not allowed: must be positive", cfg.Scenarios)
	}
	fams := cfg.Families
	if len(fams) == 0 {
		fams = simulate.Families
	}
	for _, f := range fams {
		if _, err := simulate.ResolveFamily(f, 0); err != nil {
			return Report{}, err
		}
	}
	work := cfg.Workdir
	if work == "" {
		d, err := os.MkdirTemp("", "faultline-eval-")
		if err != nil {
			return Report{}, fmt.Errorf("create work directory: %w", err)
		}
		work = d
		defer os.RemoveAll(d)
	}
	o := cfg.Options
	rep := Report{Config: ReportConfig{Scenarios: cfg.Scenarios, Seed: cfg.Seed, Families: fams, Duration: o.Duration.String(), Scale: o.Scale,
		Services: o.Services, Started: time.Now().UTC().Format(time.RFC3339)}}
	for i := range cfg.Scenarios {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		t0 := time.Now()
		seed := cfg.Seed + int64(i)
		sc, err := simulate.Generate(fams[i%len(fams)], seed, o)
		if err != nil {
			return rep, err
		}
		dir := filepath.Join(work, fmt.Sprintf("%03d-%s-%d", i, sc.Family, seed))
		man, err := sc.WriteDir(dir)
		if err != nil {
			return rep, err
		}
		obs, perr := p.Run(ctx, sc, man)
		if perr != nil && ctx.Err() != nil {
			return rep, ctx.Err()
		}
		secs := time.Since(t0).Seconds()
		finish := func(rs []Result, topo bool) []Result {
			for j := range rs {
				rs[j].Index, rs[j].Topology = i, topo
				if perr != nil {
					rs[j].Error = perr.Error()
				}
				if j == 0 {
					rs[j].Seconds = secs
				}
			}
			return rs
		}
		res := finish(Score(sc.Truth, obs), false)
		if obs.WithTopology != nil {
			rep.ResultsWithTopology = append(rep.ResultsWithTopology,
				finish(Score(sc.Truth, Observation{Correlation: *obs.WithTopology, Events: obs.Events, DeadLetters: obs.DeadLetters}), true)...)
		}
		if !cfg.Keep {
			if err := os.RemoveAll(dir); err != nil {
				return rep, fmt.Errorf("remove %s: %w", dir, err)
			}
		}
		rep.Results = append(rep.Results, res...)
		if progress != nil {
			for _, r := range res {
				progress(r)
			}
		}
	}
	rep.Summary = Summarize(rep.Results)
	if len(rep.ResultsWithTopology) > 0 {
		s := Summarize(rep.ResultsWithTopology)
		rep.WithTopology = &s
	}
	return rep, nil
}

// matchSlack is how far before the true onset a found incident may start
// and still be the same incident.
const matchSlack = 10 * time.Minute

// matches reports whether incident in is the planted incident pl: it
// starts between matchSlack before the onset and the recovery, and one of
// its services is affected.
func matches(pl simulate.IncidentTruth, in queries.Incident) bool {
	if pl.RootCauseEventID == "" || in.Onset.Before(pl.Onset.Add(-matchSlack)) || in.Onset.After(pl.Recovery) {
		return false
	}
	for _, a := range pl.Affected {
		if slices.Contains(in.Services, a.Service) {
			return true
		}
	}
	return false
}

// Score compares what a pipeline found with the truth: one Result per
// planted incident (one for a quiet scenario). Incidents that match no
// planted incident are false, counted on the first result. It is pure.
func Score(tr simulate.Truth, obs Observation) []Result {
	planted := []simulate.IncidentTruth{}
	if tr.Incident {
		planted = append(append(planted, tr.IncidentTruth), tr.Also...)
	}
	false_ := 0
	var falseInc []queries.Incident
	for _, in := range obs.Incidents {
		ok := false
		for _, pl := range planted {
			ok = ok || matches(pl, in)
		}
		if !ok {
			false_++
			falseInc = append(falseInc, in)
		}
	}
	base := Result{Seed: tr.Seed, Scenario: tr.Scenario, Incident: tr.Incident, Events: obs.Events, DeadLetters: obs.DeadLetters,
		Days: tr.Window.Until.Sub(tr.Window.Since).Hours() / 24, False: false_}
	if !tr.Incident {
		if false_ > 0 {
			base.Note = fmt.Sprintf("%d incident(s) on a quiet day, first %s at %s", false_, firstServices(falseInc), falseInc[0].Onset.Format("15:04"))
		}
		return []Result{base}
	}
	var out []Result
	for i, pl := range planted {
		r := scoreOne(pl, obs)
		r.Seed, r.Scenario, r.Incident, r.Part = tr.Seed, tr.Scenario, true, i+1
		if i == 0 {
			r.Events, r.DeadLetters, r.Days, r.False = obs.Events, obs.DeadLetters, base.Days, false_
			if false_ > 0 && r.Note == "" {
				r.Note = fmt.Sprintf("%d unrelated incident(s), first %s at %s", false_, firstServices(falseInc), falseInc[0].Onset.Format("15:04"))
			}
		}
		out = append(out, r)
	}
	return out
}

// scoreOne scores one planted incident.
func scoreOne(pl simulate.IncidentTruth, obs Observation) Result {
	r := Result{Kind: pl.Kind, RootCauseID: pl.RootCauseEventID, RootCause: pl.RootCauseService + " " + pl.RootCauseOperation}
	var matched []queries.Incident
	for _, in := range obs.Incidents {
		if matches(pl, in) {
			matched = append(matched, in)
		}
	}
	sort.SliceStable(matched, func(i, j int) bool { return matched[i].Onset.Before(matched[j].Onset) })
	r.Matched, r.Detected = len(matched), len(matched) > 0
	if !r.Detected {
		r.Note = "no incident found for the planted outage"
		return r
	}
	r.OnsetError = math.Abs(matched[0].Onset.Sub(pl.Onset).Minutes())
	ids := map[string]bool{}
	found := map[string]time.Time{} // service -> position in the found onset order (by incident order)
	pos := 0
	for _, in := range matched {
		ids[in.ID] = true
		for _, s := range in.Services {
			if _, ok := found[s]; !ok {
				found[s] = time.Unix(int64(pos), 0)
				pos++
			}
		}
	}
	hit := 0
	for _, a := range pl.Affected {
		if _, ok := found[a.Service]; ok {
			hit++
		}
	}
	r.Recall = float64(hit) / float64(len(pl.Affected))
	r.OrderScore = orderScore(pl.Affected, found)
	// The root cause's best rank over the matched incidents, and what the
	// first matched incident ranked first.
	first := matched[0].ID
	for _, s := range obs.Suspects {
		if !ids[s.IncidentID] {
			continue
		}
		if s.EventID == pl.RootCauseEventID && (r.Rank == 0 || s.Rank < r.Rank) {
			r.Rank, r.TruthScore = s.Rank, s.Score
		}
		if s.IncidentID == first && s.Rank == 1 {
			r.TopSuspect = s.Service + " " + s.Operation
			r.TopEvidence = s.Evidence
			r.TopScore = s.Score
		}
	}
	switch {
	case r.Rank == 0:
		r.Note = "root cause not among the suspects"
	case r.Rank > 1:
		r.Note = fmt.Sprintf("root cause ranked %d (score %.3f) behind %s (score %.3f)", r.Rank, r.TruthScore, r.TopSuspect, r.TopScore)
	}
	return r
}

func firstServices(ins []queries.Incident) string {
	if len(ins) == 0 || len(ins[0].Services) == 0 {
		return "?"
	}
	return fmt.Sprint(ins[0].Services)
}

// orderScore is the share of pairs of affected services (with different
// true onsets, both found) whose found order agrees with the true order; 1
// when there is no such pair.
func orderScore(aff []simulate.AffectedService, found map[string]time.Time) float64 {
	agree, pairs := 0, 0
	for i := range aff {
		for j := i + 1; j < len(aff); j++ {
			a, b := aff[i], aff[j]
			fa, okA := found[a.Service]
			fb, okB := found[b.Service]
			if !okA || !okB || a.Onset.Equal(b.Onset) {
				continue
			}
			pairs++
			if a.Onset.Before(b.Onset) == fa.Before(fb) {
				agree++
			}
		}
	}
	if pairs == 0 {
		return 1
	}
	return float64(agree) / float64(pairs)
}

// Summarize aggregates results into the headline metrics. It is pure.
func Summarize(results []Result) Summary {
	s := Summary{Top1ByScenario: map[string]float64{}, Top1ByKind: map[string]float64{}}
	perFam, perKind := map[string][2]int{}, map[string][2]int{}
	scenarios := map[int]bool{}
	var onsets []float64
	for _, r := range results {
		if !scenarios[r.Index] {
			scenarios[r.Index] = true
			s.Days += r.Days
			s.FalseIncidents += r.False
			if r.Error != "" {
				s.Errors++
			}
		}
		s.Events += r.Events
		s.DeadLetters += r.DeadLetters
		s.Seconds += r.Seconds
		if !r.Incident {
			s.QuietScenarios++
			s.QuietDays += r.Days
			s.FalseOnQuietDays += r.False
			continue
		}
		s.IncidentScenarios++
		s.FalseOnIncidentDays += r.False
		c, k := perFam[r.Scenario], perKind[r.Kind]
		c[1]++
		k[1]++
		if r.Rank == 1 {
			s.Top1++
			c[0]++
			k[0]++
		}
		perFam[r.Scenario], perKind[r.Kind] = c, k
		if r.Rank >= 1 && r.Rank <= 3 {
			s.Top3++
		}
		if r.Rank > 0 {
			s.MRR += 1 / float64(r.Rank)
		}
		if r.Detected {
			s.Detected++
			onsets = append(onsets, r.OnsetError)
			s.MeanRecall += r.Recall
			s.MeanOrder += r.OrderScore
		}
	}
	s.Scenarios = len(scenarios)
	if n := float64(s.IncidentScenarios); n > 0 {
		s.Top1, s.Top3, s.MRR = s.Top1/n, s.Top3/n, s.MRR/n
		if s.Detected > 0 {
			s.MeanRecall /= s.Detected
			s.MeanOrder /= s.Detected
		}
		s.Detected /= n
	}
	for _, o := range onsets {
		s.MeanOnsetError += o / float64(len(onsets))
		s.MaxOnsetError = max(s.MaxOnsetError, o)
	}
	if s.QuietDays > 0 {
		s.FalsePerQuietDay = float64(s.FalseOnQuietDays) / s.QuietDays
	}
	if s.Days > 0 {
		s.FalsePerDay = float64(s.FalseIncidents) / s.Days
	}
	for f, c := range perFam {
		s.Top1ByScenario[f] = float64(c[0]) / float64(c[1])
	}
	for f, c := range perKind {
		s.Top1ByKind[f] = float64(c[0]) / float64(c[1])
	}
	s.MeetsTop1 = s.IncidentScenarios > 0 && s.Top1 >= Targets.Top1
	s.MeetsTop3 = s.IncidentScenarios > 0 && s.Top3 >= Targets.Top3
	s.MeetsFalsePerDay = s.Days > 0 && s.FalsePerDay <= Targets.FalsePerDay
	return s
}

// ErrTargetsMissed is returned by Report.Check when a target is missed.
var ErrTargetsMissed = errors.New("accuracy targets missed")

// Check returns ErrTargetsMissed (wrapped, naming the misses) unless every
// target is met by the correlation with no topology configured. With no
// incident scenario top-1 and top-3 are not measured, which is a miss too.
func (r Report) Check() error {
	s := r.Summary
	var miss []string
	switch {
	case s.IncidentScenarios == 0:
		miss = append(miss, "top-1 and top-3 not measured: no scenario with an incident ran (run more scenarios, or other --families)")
	case !s.MeetsTop1:
		miss = append(miss, fmt.Sprintf("top-1 %.2f < %.2f", s.Top1, Targets.Top1))
	}
	if s.IncidentScenarios > 0 && !s.MeetsTop3 {
		miss = append(miss, fmt.Sprintf("top-3 %.2f < %.2f", s.Top3, Targets.Top3))
	}
	if !s.MeetsFalsePerDay {
		miss = append(miss, fmt.Sprintf("false incidents %.2f per day > %.2f", s.FalsePerDay, Targets.FalsePerDay))
	}
	if len(miss) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrTargetsMissed, miss)
}
