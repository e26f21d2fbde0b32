package eval

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteTable prints one line per planted incident (or quiet scenario), the
// summary against the targets with no topology configured and, when it was
// run, with the scenarios' topology, and the misses with the winning
// suspect's evidence.
func (r Report) WriteTable(w io.Writer) error {
	topoRank := map[[2]int]Result{}
	for _, x := range r.ResultsWithTopology {
		topoRank[[2]int{x.Index, x.Part}] = x
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "#\tSEED\tSCENARIO\tKIND\tRANK"
	if len(topoRank) > 0 {
		head += "\tWITH TOPO"
	}
	fmt.Fprintln(tw, head+"\tTOP SUSPECT\tINCIDENTS\tFALSE\tONSET ERR\tRECALL\tEVENTS\tDEAD\tSECONDS")
	rank := func(x Result) string {
		if !x.Incident {
			return "-"
		}
		if x.Rank > 0 {
			return fmt.Sprint(x.Rank)
		}
		return "miss"
	}
	for _, x := range r.Results {
		onset, recall := "-", "-"
		if x.Detected {
			onset = fmt.Sprintf("%.1f min", x.OnsetError)
			recall = fmt.Sprintf("%.2f", x.Recall)
		}
		top := x.TopSuspect
		if top == "" {
			top = "-"
		}
		kind := x.Kind
		if kind == "" {
			kind = "-"
		} else if x.Part > 1 {
			kind += fmt.Sprintf(" (%d)", x.Part)
		}
		line := fmt.Sprintf("%d\t%d\t%s\t%s\t%s", x.Index+1, x.Seed, x.Scenario, kind, rank(x))
		if len(topoRank) > 0 {
			line += "\t" + rank(topoRank[[2]int{x.Index, x.Part}])
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%d\t%d\t%.1f\n", line, top, x.Matched, x.False, onset, recall, x.Events, x.DeadLetters, x.Seconds)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Summary
	fmt.Fprintf(w, "\nscenarios: %d (%d planted incidents, %d quiet = %.2f quiet days; %.2f days in all)\n", s.Scenarios, s.IncidentScenarios, s.QuietScenarios, s.QuietDays, s.Days)
	fmt.Fprintln(w, "\nno topology configured (inferred from the events; the targets apply here):")
	writeSummary(w, s, true)
	if r.WithTopology != nil {
		fmt.Fprintln(w, "\nwith the scenarios' topology configured:")
		writeSummary(w, *r.WithTopology, false)
	}
	fmt.Fprintf(w, "\nevents: %d, dead letters: %d, pipeline errors: %d, %.0f s\n", s.Events, s.DeadLetters, s.Errors, s.Seconds)
	var misses []Result
	for _, x := range r.Results {
		if x.Note != "" || x.Error != "" {
			misses = append(misses, x)
		}
	}
	if len(misses) > 0 {
		fmt.Fprintln(w, "\nwhat went wrong (no topology):")
		for _, x := range misses {
			fmt.Fprintf(w, "  #%d %s seed %d: ", x.Index+1, x.Scenario, x.Seed)
			if x.Error != "" {
				fmt.Fprintf(w, "pipeline error: %s\n", x.Error)
				continue
			}
			fmt.Fprintf(w, "%s\n", x.Note)
			if x.Incident && x.RootCause != "" {
				fmt.Fprintf(w, "      truth: %s (%s)\n", x.RootCause, x.RootCauseID)
			}
			if x.Rank != 1 && x.TopEvidence != "" {
				fmt.Fprintf(w, "      rank 1 evidence: %s\n", x.TopEvidence)
			}
		}
	}
	return nil
}

func writeSummary(w io.Writer, s Summary, targets bool) {
	verdict := func(n int, what string) func(bool) string {
		return func(b bool) string {
			switch {
			case !targets:
				return ""
			case n == 0:
				return "(no " + what + " scenarios)"
			case b:
				return "ok"
			}
			return "MISSED"
		}
	}
	target := func(format string, v float64) string {
		if !targets {
			return ""
		}
		return fmt.Sprintf(format, v)
	}
	ok := verdict(s.IncidentScenarios, "incident")
	okDays := verdict(s.Scenarios, "")
	fmt.Fprintf(w, "  top-1 accuracy:          %.3f  %s %s\n", s.Top1, target("(target >= %.2f)", Targets.Top1), ok(s.MeetsTop1))
	fmt.Fprintf(w, "  top-3 accuracy:          %.3f  %s %s\n", s.Top3, target("(target >= %.2f)", Targets.Top3), ok(s.MeetsTop3))
	fmt.Fprintf(w, "  mean reciprocal rank:    %.3f\n", s.MRR)
	fmt.Fprintf(w, "  false incidents per day: %.2f   %s %s  [%d in %.2f days: %d on quiet days (%.2f per quiet day), %d beside a planted incident]\n",
		s.FalsePerDay, target("(target <= %.2f)", Targets.FalsePerDay), okDays(s.MeetsFalsePerDay), s.FalseIncidents, s.Days, s.FalseOnQuietDays, s.FalsePerQuietDay, s.FalseOnIncidentDays)
	fmt.Fprintf(w, "  incidents detected:      %.3f\n", s.Detected)
	fmt.Fprintf(w, "  onset error:             mean %.2f min, max %.2f min\n", s.MeanOnsetError, s.MaxOnsetError)
	fmt.Fprintf(w, "  affected services found: %.3f (cascade order agreement %.3f)\n", s.MeanRecall, s.MeanOrder)
	fmt.Fprintf(w, "  top-1 by scenario:       %s\n", byKey(s.Top1ByScenario))
	fmt.Fprintf(w, "  top-1 by kind:           %s\n", byKey(s.Top1ByKind))
}

func byKey(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
