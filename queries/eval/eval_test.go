package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform/simulate"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(min float64) time.Time { return t0.Add(time.Duration(min * float64(time.Minute))) }

// truth is a hand-built incident: root cause at 9:50, checkout breaks at
// 9:53, web at 9:55, recovery at 10:10, window 9:00-11:00.
func truth() simulate.Truth {
	return simulate.Truth{
		Scenario: "lb-change", Seed: 7, Incident: true, Region: "us-east-1",
		Window: simulate.Window{Since: t0, Until: at(120)},
		IncidentTruth: simulate.IncidentTruth{
			RootCauseEventID: "root", RootCauseService: "elasticloadbalancing", RootCauseOperation: "ModifyListener",
			RootCauseTime: at(50), Onset: at(53), Recovery: at(70),
			Affected: []simulate.AffectedService{
				{Service: "checkout", Region: "us-east-1", Onset: at(53), Recovery: at(69)},
				{Service: "web", Region: "us-east-1", Onset: at(55), Recovery: at(70), Via: []string{"checkout"}},
			},
		},
	}
}

func suspects(id string, events ...string) []queries.Suspect {
	out := make([]queries.Suspect, len(events))
	for i, e := range events {
		out[i] = queries.Suspect{IncidentID: id, Rank: i + 1, EventID: e, Service: "svc-" + e, Operation: "Op", Score: 1 / float64(i+1), Evidence: "because " + e}
	}
	return out
}

func TestScore(t *testing.T) {
	tests := []struct {
		name  string
		truth simulate.Truth
		obs   Observation
		want  Result
	}{
		{
			name:  "top-1 with the cascade in order",
			truth: truth(),
			obs: Observation{Correlation: Correlation{
				Incidents: []queries.Incident{{ID: "i1", Onset: at(53), Services: []string{"checkout", "web"}}},
				Suspects:  suspects("i1", "root", "decoy"),
			}},
			want: Result{Rank: 1, Detected: true, Matched: 1, OnsetError: 0, Recall: 1, OrderScore: 1, TopSuspect: "svc-root Op"},
		},
		{
			name:  "ranked third, onset 2 minutes late, cascade reversed, one false incident later",
			truth: truth(),
			obs: Observation{Correlation: Correlation{
				Incidents: []queries.Incident{
					{ID: "i1", Onset: at(55), Services: []string{"web", "checkout"}},
					{ID: "i2", Onset: at(100), Services: []string{"payments"}},
				},
				Suspects: append(suspects("i1", "a", "b", "root"), suspects("i2", "root")...),
			}},
			want: Result{Rank: 3, Detected: true, Matched: 1, False: 1, OnsetError: 2, Recall: 1, OrderScore: 0, TopSuspect: "svc-a Op"},
		},
		{
			name:  "split incident: best rank over both, recall over both",
			truth: truth(),
			obs: Observation{Correlation: Correlation{
				Incidents: []queries.Incident{
					{ID: "late", Onset: at(56), Services: []string{"web"}},
					{ID: "early", Onset: at(53), Services: []string{"checkout"}},
				},
				Suspects: append(suspects("early", "x", "root"), suspects("late", "root")...),
			}},
			want: Result{Rank: 1, Detected: true, Matched: 2, OnsetError: 0, Recall: 1, OrderScore: 1, TopSuspect: "svc-x Op"},
		},
		{
			name:  "incident in unaffected services or too early is false; outage missed",
			truth: truth(),
			obs: Observation{Correlation: Correlation{
				Incidents: []queries.Incident{
					{ID: "i1", Onset: at(54), Services: []string{"payments"}},
					{ID: "i2", Onset: at(30), Services: []string{"checkout"}},
				},
				Suspects: suspects("i1", "root"),
			}},
			want: Result{Rank: 0, Detected: false, False: 2},
		},
		{
			name:  "quiet day with one incident",
			truth: simulate.Truth{Scenario: "quiet", Window: simulate.Window{Since: t0, Until: at(24 * 60)}},
			obs:   Observation{Correlation: Correlation{Incidents: []queries.Incident{{ID: "q", Onset: at(80), Services: []string{"search"}}}}},
			want:  Result{False: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := Score(tt.truth, tt.obs)
			if len(all) != 1 {
				t.Fatalf("%d results for one planted incident", len(all))
			}
			got, w := all[0], tt.want
			if got.Rank != w.Rank || got.Detected != w.Detected || got.Matched != w.Matched || got.False != w.False ||
				math.Abs(got.OnsetError-w.OnsetError) > 1e-9 || got.Recall != w.Recall || got.OrderScore != w.OrderScore || got.TopSuspect != w.TopSuspect {
				t.Errorf("Score:\n got  rank=%d detected=%v matched=%d false=%d onset=%.2f recall=%.2f order=%.2f top=%q\n want rank=%d detected=%v matched=%d false=%d onset=%.2f recall=%.2f order=%.2f top=%q",
					got.Rank, got.Detected, got.Matched, got.False, got.OnsetError, got.Recall, got.OrderScore, got.TopSuspect,
					w.Rank, w.Detected, w.Matched, w.False, w.OnsetError, w.Recall, w.OrderScore, w.TopSuspect)
			}
			if (got.Rank != 1 || got.False > 0) && got.Note == "" {
				t.Error("a miss or a false incident has no note")
			}
		})
	}
}

// Two incidents in one window: each is scored on its own, and an incident
// is false only if it matches neither.
func TestScoreTwoIncidents(t *testing.T) {
	tr := truth()
	tr.Scenario = "two-incidents"
	tr.Kind = "lb-change"
	tr.Also = []simulate.IncidentTruth{{Kind: "bad-deploy", RootCauseEventID: "deploy", RootCauseService: "orders", RootCauseOperation: "deploy",
		Onset: at(56), Recovery: at(75), Affected: []simulate.AffectedService{{Service: "orders", Region: "eu-west-1", Onset: at(56), Recovery: at(75)}}}}
	obs := Observation{Correlation: Correlation{
		Incidents: []queries.Incident{
			{ID: "lb", Onset: at(53), Services: []string{"checkout", "web"}},
			{ID: "dep", Onset: at(56), Services: []string{"orders"}},
			{ID: "noise", Onset: at(58), Services: []string{"search"}},
		},
		Suspects: append(suspects("lb", "root", "deploy"), suspects("dep", "x", "deploy")...),
	}}
	rs := Score(tr, obs)
	if len(rs) != 2 || rs[0].Part != 1 || rs[1].Part != 2 || rs[0].Kind != "lb-change" || rs[1].Kind != "bad-deploy" {
		t.Fatalf("results %+v", rs)
	}
	if rs[0].Rank != 1 || rs[0].False != 1 || rs[1].Rank != 2 || rs[1].False != 0 || rs[1].Matched != 1 {
		t.Errorf("first: rank %d false %d; second: rank %d false %d matched %d", rs[0].Rank, rs[0].False, rs[1].Rank, rs[1].False, rs[1].Matched)
	}
	s := Summarize(rs)
	if s.IncidentScenarios != 2 || s.Scenarios != 1 || s.Top1 != 0.5 || s.Top3 != 1 || s.FalseIncidents != 1 || s.Top1ByKind["bad-deploy"] != 0 {
		t.Errorf("summary %+v", s)
	}
}

func TestSummarize(t *testing.T) {
	results := []Result{
		{Index: 0, Scenario: "lb-change", Kind: "lb-change", Incident: true, Rank: 1, Detected: true, OnsetError: 1, Recall: 1, OrderScore: 1, Days: 0.25},
		{Index: 1, Scenario: "lb-change", Kind: "lb-change", Incident: true, Rank: 2, Detected: true, OnsetError: 3, Recall: 0.5, OrderScore: 1, Days: 0.25, False: 1},
		{Index: 2, Scenario: "dns-change", Kind: "dns-change", Incident: true, Rank: 0, Detected: false, Days: 0.25},
		{Index: 3, Scenario: "iam-policy", Kind: "iam-policy", Incident: true, Rank: 4, Detected: true, OnsetError: 2, Recall: 1, OrderScore: 0, Days: 0.25},
		{Index: 4, Scenario: "quiet", False: 1, Days: 0.5},
		{Index: 5, Scenario: "quiet", False: 0, Days: 0.5, DeadLetters: 3, Error: "boom"},
	}
	s := Summarize(results)
	check := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("top1", s.Top1, 0.25)
	check("top3", s.Top3, 0.5)
	check("mrr", s.MRR, (1+0.5+0+0.25)/4)
	check("detected", s.Detected, 0.75)
	check("quiet days", s.QuietDays, 1)
	check("false per quiet day", s.FalsePerQuietDay, 1)
	check("mean onset", s.MeanOnsetError, 2)
	check("max onset", s.MaxOnsetError, 3)
	check("recall", s.MeanRecall, 2.5/3)
	check("lb top1", s.Top1ByScenario["lb-change"], 0.5)
	check("lb top1 by kind", s.Top1ByKind["lb-change"], 0.5)
	check("days", s.Days, 2)
	check("false per day", s.FalsePerDay, 1)
	if s.IncidentScenarios != 4 || s.QuietScenarios != 2 || s.FalseOnIncidentDays != 1 || s.FalseOnQuietDays != 1 || s.Errors != 1 || s.DeadLetters != 3 {
		t.Errorf("counts: %+v", s)
	}
	if s.Scenarios != 6 || s.FalseIncidents != 2 {
		t.Errorf("scenarios %d, false %d", s.Scenarios, s.FalseIncidents)
	}
	if s.MeetsTop1 || s.MeetsTop3 || s.MeetsFalsePerDay {
		t.Error("targets reported as met")
	}
	err := Report{Summary: s}.Check()
	if !errors.Is(err, ErrTargetsMissed) || !strings.Contains(err.Error(), "top-1 0.25") {
		t.Errorf("Check: %v", err)
	}
}

// TestRunCallsPipeline runs the real simulator with a pipeline that answers
// from the truth (a perfect correlator) and one that finds nothing.
func TestRunCallsPipeline(t *testing.T) {
	perfect := PipelineFunc(func(_ context.Context, sc *simulate.Scenario, man simulate.Manifest) (Observation, error) {
		if man.Records["app"] == 0 {
			return Observation{}, errors.New("nothing written")
		}
		tr := sc.Truth
		if !tr.Incident {
			return Observation{WithTopology: &Correlation{}}, nil
		}
		svcs := []string{}
		for _, a := range tr.Affected {
			svcs = append(svcs, a.Service)
		}
		c := Correlation{
			Incidents: []queries.Incident{{ID: "x", Onset: tr.Onset.Truncate(time.Minute), Services: svcs}},
			Suspects:  []queries.Suspect{{IncidentID: "x", Rank: 1, EventID: tr.RootCauseEventID}},
		}
		for i, pl := range tr.Also {
			id := fmt.Sprint("also", i)
			c.Incidents = append(c.Incidents, queries.Incident{ID: id, Onset: pl.Onset.Truncate(time.Minute), Services: []string{pl.Affected[0].Service}})
			c.Suspects = append(c.Suspects, queries.Suspect{IncidentID: id, Rank: 1, EventID: pl.RootCauseEventID})
		}
		return Observation{Correlation: c, WithTopology: &c}, nil
	})
	cfg := Config{Scenarios: len(simulate.Families), Seed: 10, Options: simulate.Options{Duration: time.Hour, Services: 8}}
	var seen []string
	rep, err := Run(context.Background(), cfg, perfect, func(r Result) {
		if r.Part <= 1 {
			seen = append(seen, r.Scenario)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != strings.Join(simulate.Families, ",") {
		t.Errorf("scenarios %v, want every family once: %v", seen, simulate.Families)
	}
	if s := rep.Summary; s.Top1 != 1 || s.Top3 != 1 || s.FalsePerDay != 0 || s.QuietScenarios != 1 || s.MaxOnsetError >= 1 || rep.Check() != nil {
		t.Errorf("a perfect pipeline scored %+v (check: %v)", s, rep.Check())
	}
	var sb strings.Builder
	if rep.WithTopology == nil || rep.WithTopology.Top1 != 1 || len(rep.ResultsWithTopology) != len(rep.Results) {
		t.Errorf("with topology: %+v", rep.WithTopology)
	}
	if err := rep.WriteTable(&sb); err != nil || !strings.Contains(sb.String(), "top-1 accuracy:          1.000") || !strings.Contains(sb.String(), "with the scenarios' topology configured") {
		t.Errorf("table: %v\n%s", err, sb.String())
	}

	blind := PipelineFunc(func(context.Context, *simulate.Scenario, simulate.Manifest) (Observation, error) {
		return Observation{}, errors.New("engine down")
	})
	rep, err = Run(context.Background(), Config{Scenarios: 2, Seed: 1, Families: []string{"bad-deploy"}, Options: cfg.Options}, blind, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Summary; s.Top1 != 0 || s.Errors != 2 || s.Detected != 0 {
		t.Errorf("a failing pipeline scored %+v", s)
	}
}
