package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/faultline/faultline/queries/eval"
	"github.com/faultline/faultline/transform/simulate"
)

func TestSimulateCmd(t *testing.T) {
	t.Chdir(t.TempDir())
	out, err := runCLI(t, "simulate", "--scenario", "iam-policy", "--seed", "4", "--duration", "1h", "--out", "a")
	if err != nil {
		t.Fatal(err)
	}
	var tr simulate.Truth
	b, err := os.ReadFile(filepath.Join("a", "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scenario:    iam-policy (seed 4)", tr.RootCauseEventID, "cloudtrail", "cloudwatch", "faultline load a/data"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	var topo struct {
		Topology map[string][]string `yaml:"topology"`
	}
	y, err := os.ReadFile(filepath.Join("a", "topology.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(y, &topo); err != nil || !sameTopology(topo.Topology, tr.Topology) {
		t.Errorf("topology.yaml (%v) does not hold the truth's topology: %v vs %v", err, topo.Topology, tr.Topology)
	}
	if _, err := runCLI(t, "simulate", "--scenario", "iam-policy", "--seed", "4", "--duration", "1h", "--out", "b"); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(filepath.Join("b", "truth.json"))
	if !bytes.Equal(b, b2) {
		t.Error("same seed, different truth.json")
	}
	// A second scenario into a directory that holds one would mix their
	// files (and load as both): refused, and the first is left as it was.
	_, err = runCLI(t, "simulate", "--scenario", "multi-cloud", "--seed", "1", "--duration", "1h", "--out", "b")
	if err == nil || !strings.Contains(err.Error(), "already holds files") || !strings.Contains(err.Error(), "name a new directory") {
		t.Errorf("simulate into a used directory: %v, want refused", err)
	}
	if b3, _ := os.ReadFile(filepath.Join("b", "truth.json")); !bytes.Equal(b, b3) {
		t.Error("the refused run changed b/truth.json")
	}

	for _, args := range [][]string{
		{"simulate", "--scenario", "nope", "--out", "c"},
		{"simulate", "--scenario", "quiet"},
		{"simulate", "--duration", "5m", "--out", "c"},
		{"simulate", "--start", "yesterday", "--out", "c"},
	} {
		_, err := runCLI(t, args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: error %v, want a usage error", args, err)
		}
	}
}

func sameTopology(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !slices.Equal(v, w) {
			return false
		}
	}
	return true
}

func TestEvalCmd(t *testing.T) {
	t.Chdir(t.TempDir())
	out, err := runCLI(t, "eval", "--scenarios", "2", "--seed", "3", "--families", "bad-deploy,quiet", "--duration", "1h", "--out", "r.json", "--keep", "kept")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"top-1 accuracy:", "false incidents per day:", "no topology configured", "with the scenarios' topology configured", "bad-deploy", "report: r.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var rep eval.Report
	b, err := os.ReadFile("r.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	s := rep.Summary
	if s.Scenarios != 2 || s.IncidentScenarios != 1 || s.QuietScenarios != 1 || s.Errors != 0 || s.DeadLetters != 0 || s.Events < 1000 {
		t.Errorf("summary %+v", s)
	}
	if r := rep.Results[0]; r.Scenario != "bad-deploy" || !r.Detected || r.Events == 0 || r.Topology {
		t.Errorf("the bad deploy was not loaded and detected: %+v", r)
	}
	if rep.WithTopology == nil || len(rep.ResultsWithTopology) != 2 || !rep.ResultsWithTopology[0].Topology || !rep.ResultsWithTopology[0].Detected {
		t.Errorf("no correlation with the topology: %+v", rep.WithTopology)
	}
	if _, err := os.Stat(filepath.Join("kept", "000-bad-deploy-3", "truth.json")); err != nil {
		t.Errorf("--keep: %v", err)
	}
	_, err = runCLI(t, "eval", "--scenarios", "1", "--families", "random")
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("--families random: error %v, want a usage error", err)
	}
	_, err = runCLI(t, "eval", "--scenarios", "1", "--families", "lb-chang")
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "did you mean lb-change?") {
		t.Errorf("--families lb-chang: error %v, want a usage error suggesting lb-change", err)
	}
	// An --out that cannot be written is refused before any scenario runs
	// (it failed after all of them).
	_, err = runCLI(t, "eval", "--scenarios", "50", "--out", filepath.Join("missing-dir", "r.json"))
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("--out in a missing directory: error %v, want a usage error", err)
	}
}

// TestSimulateScenarioFlagHelp: simulate's and demo's --scenario help
// names every scenario (they listed six of the fourteen).
func TestSimulateScenarioFlagHelp(t *testing.T) {
	root := newRootCmd()
	for _, name := range []string{"simulate", "demo"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		usage := cmd.Flags().Lookup("scenario").Usage
		for _, f := range append(slices.Clone(simulate.Families), simulate.FamilyRandom) {
			if !strings.Contains(usage, f) {
				t.Errorf("%s --scenario help %q does not name %s", name, usage, f)
			}
		}
	}
}

// TestScenarioTypo: a misspelt --scenario names the closest one, in
// simulate and in demo (the message listed all fourteen, no suggestion).
func TestScenarioTypo(t *testing.T) {
	for _, args := range [][]string{
		{"simulate", "--scenario", "lb-chnage", "--out", t.TempDir()},
		{"demo", "--scenario", "lb-chnage", "--no-serve"},
	} {
		_, err := runCLI(t, args...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), `--scenario "lb-chnage" is not a scenario (did you mean lb-change?)`) {
			t.Errorf("%v: %v, want a usage error suggesting lb-change", args, err)
		}
	}
}

// TestSimulateSaysWhatLoadReports: simulate's total counts CloudWatch log
// events and the log event of a CONTROL_MESSAGE, load counts a payload as
// one record and skips control messages; simulate says which is which and
// what load will report, and load's summary says what it counts (simulate
// said 15152 events, load 15151).
func TestSimulateSaysWhatLoadReports(t *testing.T) {
	t.Chdir(t.TempDir())
	out, err := runCLI(t, "simulate", "--scenario", "lb-change", "--seed", "1", "--duration", "1h", "--out", "a")
	if err != nil {
		t.Fatal(err)
	}
	total := summaryInt(t, out, `(?m)^  total .* (\d+) records and log events: `)
	events := summaryInt(t, out, `records and log events: (\d+) events \+ `)
	control := summaryInt(t, out, `events \+ (\d+) control message log event`)
	if control == 0 || events+control != total {
		t.Errorf("total %d records and log events, %d events + %d control log events:\n%s", total, events, control, out)
	}
	want := map[string]int{
		"records":          summaryInt(t, out, `load reports: records (\d+) \(`),
		"events":           summaryInt(t, out, `load reports: .*, events (\d+),`),
		"control messages": summaryInt(t, out, `load reports: .*, control messages (\d+) skipped`),
	}
	if want["events"] != events {
		t.Errorf("load reports %d events, the total says %d:\n%s", want["events"], events, out)
	}
	lout, _, err := runCmd(t.Context(), t, "load", "--db", "a.duckdb", "--log-level", "warn", "a/data")
	if err != nil {
		t.Fatal(err)
	}
	for what, n := range want {
		if got := summaryInt(t, lout, `(?m)^`+what+`:\s+(\d+) `); got != n {
			t.Errorf("load: %s %d, simulate said %d:\n%s", what, got, n, lout)
		}
	}
	for _, says := range []string{"records:          " + fmt.Sprint(want["records"]) + " read (", "events:           " + fmt.Sprint(events) + " added", "health checks: no events"} {
		if !strings.Contains(lout, says) {
			t.Errorf("load summary lacks %q:\n%s", says, lout)
		}
	}
}
