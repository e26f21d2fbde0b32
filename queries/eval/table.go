package eval

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteTable prints one line per scenario, the summary against the
// targets, and the misses with the winning suspect's evidence.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSEED\tSCENARIO\tRANK\tTOP SUSPECT\tINCIDENTS\tFALSE\tONSET ERR\tRECALL\tEVENTS\tDEAD\tSECONDS")
	for _, x := range r.Results {
		rank := "-"
		if x.Incident {
			rank = "miss"
			if x.Rank > 0 {
				rank = fmt.Sprint(x.Rank)
			}
		}
		onset, recall := "-", "-"
		if x.Detected {
			onset = fmt.Sprintf("%.1f min", x.OnsetError)
			recall = fmt.Sprintf("%.2f", x.Recall)
		}
		top := x.TopSuspect
		if top == "" {
			top = "-"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%d\t%d\t%.1f\n", x.Index+1, x.Seed, x.Scenario, rank, top, x.Matched, x.False, onset, recall, x.Events, x.DeadLetters, x.Seconds)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Summary
	verdict := func(n int, what string) func(bool) string {
		return func(b bool) string {
			switch {
			case n == 0:
				return "(no " + what + " scenarios)"
			case b:
				return "ok"
			}
			return "MISSED"
		}
	}
	ok, okQuiet := verdict(s.IncidentScenarios, "incident"), verdict(s.QuietScenarios, "quiet")
	fmt.Fprintf(w, "\nscenarios: %d (%d with an incident, %d quiet = %.2f quiet days)\n", s.Scenarios, s.IncidentScenarios, s.QuietScenarios, s.QuietDays)
	fmt.Fprintf(w, "top-1 accuracy:            %.3f  (target >= %.2f) %s\n", s.Top1, Targets.Top1, ok(s.MeetsTop1))
	fmt.Fprintf(w, "top-3 accuracy:            %.3f  (target >= %.2f) %s\n", s.Top3, Targets.Top3, ok(s.MeetsTop3))
	fmt.Fprintf(w, "mean reciprocal rank:      %.3f\n", s.MRR)
	fmt.Fprintf(w, "false incidents/quiet day: %.2f   (target <= %.2f) %s  [%d on quiet days; %d unrelated ones in incident scenarios]\n", s.FalsePerQuietDay, Targets.FalsePerQuietDay, okQuiet(s.MeetsFalsePerQuietDay), s.FalseOnQuietDays, s.FalseOnIncidentDays)
	fmt.Fprintf(w, "incidents detected:        %.3f\n", s.Detected)
	fmt.Fprintf(w, "onset error:               mean %.2f min, max %.2f min\n", s.MeanOnsetError, s.MaxOnsetError)
	fmt.Fprintf(w, "affected services found:   %.3f (cascade order agreement %.3f)\n", s.MeanRecall, s.MeanOrder)
	fams := make([]string, 0, len(s.Top1ByScenario))
	for f := range s.Top1ByScenario {
		fams = append(fams, f)
	}
	sort.Strings(fams)
	parts := make([]string, 0, len(fams))
	for _, f := range fams {
		parts = append(parts, fmt.Sprintf("%s %.2f", f, s.Top1ByScenario[f]))
	}
	fmt.Fprintf(w, "top-1 by scenario:         %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(w, "events: %d, dead letters: %d, pipeline errors: %d, %.0f s\n", s.Events, s.DeadLetters, s.Errors, s.Seconds)
	var misses []Result
	for _, x := range r.Results {
		if x.Note != "" || x.Error != "" {
			misses = append(misses, x)
		}
	}
	if len(misses) > 0 {
		fmt.Fprintln(w, "\nwhat went wrong:")
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
