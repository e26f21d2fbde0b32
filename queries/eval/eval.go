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

// Targets are the accuracy goals of issue 5.
var Targets = struct {
	Top1, Top3, FalsePerQuietDay float64
}{Top1: 0.9, Top3: 0.98, FalsePerQuietDay: 0.1}

// Config says which scenarios to run.
type Config struct {
	Scenarios int              // how many
	Seed      int64            // scenario i uses seed Seed+i
	Families  []string         // cycled in order; empty = simulate.Families (quiet days included)
	Options   simulate.Options // for every scenario
	Workdir   string           // where scenario directories are written; "" = a temporary directory, removed afterwards
	Keep      bool             // keep the scenario directories (with Workdir)
}

// Observation is what a pipeline found for one scenario.
type Observation struct {
	Incidents   []queries.Incident
	Suspects    []queries.Suspect
	Events      int64 // events loaded
	DeadLetters int64 // records that could not be decoded
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

// Result is the score of one scenario.
type Result struct {
	Index       int     `json:"index"`
	Seed        int64   `json:"seed"`
	Scenario    string  `json:"scenario"`
	Incident    bool    `json:"incident"` // the truth has an incident
	RootCause   string  `json:"root_cause,omitempty"`
	RootCauseID string  `json:"root_cause_event_id,omitempty"`
	Rank        int     `json:"rank"`              // rank of the root cause among the suspects; 0 = not found
	Detected    bool    `json:"detected"`          // an incident matched the truth
	Matched     int     `json:"matched_incidents"` // incidents that match the truth (more than 1: split)
	False       int     `json:"false_incidents"`   // incidents that match nothing
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
	Scenarios             int                `json:"scenarios"`
	IncidentScenarios     int                `json:"incident_scenarios"`
	QuietScenarios        int                `json:"quiet_scenarios"`
	Top1                  float64            `json:"top1"`
	Top3                  float64            `json:"top3"`
	MRR                   float64            `json:"mrr"`
	Detected              float64            `json:"detection_rate"` // incident scenarios with a matched incident
	QuietDays             float64            `json:"quiet_days"`
	FalseOnQuietDays      int                `json:"false_incidents_quiet"`
	FalsePerQuietDay      float64            `json:"false_incidents_per_quiet_day"`
	FalseOnIncidentDays   int                `json:"false_incidents_incident_scenarios"` // unrelated incidents next to a real one
	MeanOnsetError        float64            `json:"mean_onset_error_min"`
	MaxOnsetError         float64            `json:"max_onset_error_min"`
	MeanRecall            float64            `json:"mean_service_recall"`
	MeanOrder             float64            `json:"mean_cascade_order"`
	Top1ByScenario        map[string]float64 `json:"top1_by_scenario"`
	DeadLetters           int64              `json:"dead_letters"`
	Events                int64              `json:"events"`
	Errors                int                `json:"pipeline_errors"`
	Seconds               float64            `json:"seconds"`
	MeetsTop1             bool               `json:"meets_top1"`
	MeetsTop3             bool               `json:"meets_top3"`
	MeetsFalsePerQuietDay bool               `json:"meets_false_incidents"`
}

// Report is the whole evaluation.
type Report struct {
	Config  ReportConfig `json:"config"`
	Summary Summary      `json:"summary"`
	Results []Result     `json:"results"`
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
		res := Score(sc.Truth, obs)
		res.Index = i
		if perr != nil {
			res.Error = perr.Error()
		}
		res.Seconds = time.Since(t0).Seconds()
		if !cfg.Keep {
			if err := os.RemoveAll(dir); err != nil {
				return rep, fmt.Errorf("remove %s: %w", dir, err)
			}
		}
		rep.Results = append(rep.Results, res)
		if progress != nil {
			progress(res)
		}
	}
	rep.Summary = Summarize(rep.Results)
	return rep, nil
}

// matchSlack is how far before the true onset a found incident may start
// and still be the same incident.
const matchSlack = 10 * time.Minute

// matches reports whether incident in is the truth's incident: it starts
// between matchSlack before the onset and the recovery, and one of its
// services is affected.
func matches(tr simulate.Truth, in queries.Incident) bool {
	if !tr.Incident || in.Onset.Before(tr.Onset.Add(-matchSlack)) || in.Onset.After(tr.Recovery) {
		return false
	}
	for _, a := range tr.Affected {
		if slices.Contains(in.Services, a.Service) {
			return true
		}
	}
	return false
}

// Score compares what a pipeline found with the truth. It is pure.
func Score(tr simulate.Truth, obs Observation) Result {
	r := Result{Seed: tr.Seed, Scenario: tr.Scenario, Incident: tr.Incident, RootCauseID: tr.RootCauseEventID,
		Events: obs.Events, DeadLetters: obs.DeadLetters, Days: tr.Window.Until.Sub(tr.Window.Since).Hours() / 24}
	if tr.Incident {
		r.RootCause = tr.RootCauseService + " " + tr.RootCauseOperation
	}
	var matched []queries.Incident
	for _, in := range obs.Incidents {
		if matches(tr, in) {
			matched = append(matched, in)
		} else {
			r.False++
		}
	}
	sort.SliceStable(matched, func(i, j int) bool { return matched[i].Onset.Before(matched[j].Onset) })
	r.Matched, r.Detected = len(matched), len(matched) > 0
	if !tr.Incident {
		if r.False > 0 {
			r.Note = fmt.Sprintf("%d incident(s) on a quiet day, first %s at %s", r.False, firstServices(obs.Incidents), obs.Incidents[0].Onset.Format("15:04"))
		}
		return r
	}
	if !r.Detected {
		r.Note = "no incident found for the planted outage"
		return r
	}
	r.OnsetError = math.Abs(matched[0].Onset.Sub(tr.Onset).Minutes())
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
	for _, a := range tr.Affected {
		if _, ok := found[a.Service]; ok {
			hit++
		}
	}
	r.Recall = float64(hit) / float64(len(tr.Affected))
	r.OrderScore = orderScore(tr.Affected, found)
	// The root cause's best rank over the matched incidents, and what the
	// first matched incident ranked first.
	first := matched[0].ID
	for _, s := range obs.Suspects {
		if !ids[s.IncidentID] {
			continue
		}
		if s.EventID == tr.RootCauseEventID && (r.Rank == 0 || s.Rank < r.Rank) {
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
	s := Summary{Scenarios: len(results), Top1ByScenario: map[string]float64{}}
	perFam := map[string][2]int{}
	var onsets []float64
	for _, r := range results {
		s.Events += r.Events
		s.DeadLetters += r.DeadLetters
		s.Seconds += r.Seconds
		if r.Error != "" {
			s.Errors++
		}
		if !r.Incident {
			s.QuietScenarios++
			s.QuietDays += r.Days
			s.FalseOnQuietDays += r.False
			continue
		}
		s.IncidentScenarios++
		s.FalseOnIncidentDays += r.False
		c := perFam[r.Scenario]
		c[1]++
		if r.Rank == 1 {
			s.Top1++
			c[0]++
		}
		perFam[r.Scenario] = c
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
	for f, c := range perFam {
		s.Top1ByScenario[f] = float64(c[0]) / float64(c[1])
	}
	s.MeetsTop1 = s.IncidentScenarios > 0 && s.Top1 >= Targets.Top1
	s.MeetsTop3 = s.IncidentScenarios > 0 && s.Top3 >= Targets.Top3
	s.MeetsFalsePerQuietDay = s.QuietScenarios > 0 && s.FalsePerQuietDay <= Targets.FalsePerQuietDay
	return s
}

// ErrTargetsMissed is returned by Report.Check when a target is missed.
var ErrTargetsMissed = errors.New("accuracy targets missed")

// Check returns ErrTargetsMissed (wrapped, naming the misses) unless every
// target is met.
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
	switch {
	case s.QuietScenarios == 0:
		miss = append(miss, "false incidents per quiet day not measured: no quiet scenario ran (run at least 6 scenarios, or add --families quiet)")
	case !s.MeetsFalsePerQuietDay:
		miss = append(miss, fmt.Sprintf("false incidents %.2f per quiet day > %.2f", s.FalsePerQuietDay, Targets.FalsePerQuietDay))
	}
	if len(miss) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrTargetsMissed, miss)
}
