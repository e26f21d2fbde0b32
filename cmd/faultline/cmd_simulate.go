package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/transform/simulate"
)

// simulateFlags are the flags shared by simulate and eval.
type simulateFlags struct {
	duration time.Duration
	scale    float64
	services int
	start    string
	account  string
}

func (f *simulateFlags) add(cmd *cobra.Command, duration time.Duration) {
	d := simulate.DefaultOptions()
	cmd.Flags().DurationVar(&f.duration, "duration", duration, "length of each scenario's window (at least 40m)")
	cmd.Flags().Float64Var(&f.scale, "scale", d.Scale, "multiplies every background and error rate, not the number of changes (1 = about 130 events per minute with 8 services)")
	cmd.Flags().IntVar(&f.services, "services", d.Services, "application services in the topology (4-40)")
	cmd.Flags().StringVar(&f.start, "start", d.Start.Format(time.RFC3339), "start of the window (RFC 3339, UTC)")
	cmd.Flags().StringVar(&f.account, "account", d.Account, "12-digit AWS account id")
}

func (f *simulateFlags) options() (simulate.Options, error) {
	start, err := time.Parse(time.RFC3339, f.start)
	if err != nil {
		return simulate.Options{}, usageError{fmt.Errorf("--start %q: use RFC 3339 such as 2026-03-02T09:00:00Z", f.start)}
	}
	o := simulate.Options{Start: start, Duration: f.duration, Scale: f.scale, Services: f.services, Account: f.account}
	if err := o.Validate(); err != nil {
		return o, usageError{fmt.Errorf("simulate flags: %w", err)}
	}
	return o, nil
}

func newSimulateCmd(a *app) *cobra.Command {
	var (
		scenario string
		seed     int64
		out      string
		sf       simulateFlags
	)
	cmd := &cobra.Command{
		Use:   "simulate --scenario NAME --seed N --out DIR",
		Short: "Write a synthetic outage in the real input formats, with its ground truth",
		Long: `simulate writes a synthetic but realistic outage (or a quiet period) in the real
input formats: CloudTrail S3 log files, CloudWatch Logs subscription payloads
(Firehose-style gzip objects), application error and deploy NDJSON, and AWS
Health / CloudWatch alarm EventBridge events. Background noise, unrelated
changes (some close in time, some in other regions), a planted root cause and
a cascade through a service topology are included.

DIR/data holds the inputs (load them with faultline load DIR/data),
DIR/truth.json the ground truth (root_cause_event_id, affected services and
onsets, topology), DIR/topology.yaml the topology as a config snippet and
DIR/manifest.json the file list. The same seed always gives the same bytes.

Scenarios: lb-change, dns-change, iam-policy, bad-deploy, provider-incident,
decoy-closer, dns-decoy, late-health, two-incidents, slow-ramp, deploy-decoy,
quiet, multi-cloud (a Google Cloud firewall or backend service change breaks
the services hosted on GKE, written as Cloud Logging entries; an Azure
Activity Log NSG write and an AWS security group change are decoys), random
(one of the single-cloud ones, chosen by the seed). See docs/simulate.md.`,
		Example: `  faultline simulate --scenario lb-change --seed 1 --out outage
  faultline load --db outage.duckdb outage/data
  faultline simulate --scenario random --seed 7 --duration 6h --scale 10 --out big/
  faultline simulate --scenario quiet --seed 3 --out quiet-day/
  faultline simulate --scenario multi-cloud --seed 1 --out multi-cloud/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{fmt.Errorf("--out is required: name the directory to write the scenario to")}
			}
			if err := checkScenario(scenario); err != nil {
				return err
			}
			// Files of an earlier scenario in the same directory would be
			// loaded with this one's (its truth.json describing only this).
			if files, err := os.ReadDir(out); err == nil && len(files) > 0 {
				return usageError{fmt.Errorf("--out %s already holds files (%s...): the scenario would mix with them; name a new directory, or remove this one first", out, files[0].Name())}
			} else if err != nil && !errors.Is(err, os.ErrNotExist) {
				return usageError{fmt.Errorf("--out %s: %w: name a directory (created if missing)", out, err)}
			}
			o, err := sf.options()
			if err != nil {
				return err
			}
			sc, err := simulate.Generate(scenario, seed, o)
			if err != nil {
				return usageError{err}
			}
			t0 := time.Now()
			man, err := sc.WriteDir(out)
			if err != nil {
				return err
			}
			if err := writeTopologyYAML(filepath.Join(out, "topology.yaml"), sc.Topology); err != nil {
				return err
			}
			a.log.Debug("scenario written", "dir", out, "files", len(man.Files), "seconds", time.Since(t0).Seconds())
			printScenario(cmd.OutOrStdout(), sc, man)
			return nil
		},
	}
	cmd.Flags().StringVar(&scenario, "scenario", simulate.FamilyRandom, strings.Join(simulate.Families, ", ")+" or "+simulate.FamilyRandom)
	cmd.Flags().Int64Var(&seed, "seed", 1, "random seed (same seed, same bytes)")
	cmd.Flags().StringVar(&out, "out", "", "directory to write to (created if missing; must be empty)")
	sf.add(cmd, simulate.DefaultOptions().Duration)
	return cmd
}

// writeTopologyYAML writes the topology as a faultline config snippet.
func writeTopologyYAML(path string, topo map[string][]string) error {
	b, err := yaml.Marshal(map[string]any{"topology": topo})
	if err != nil {
		return fmt.Errorf("encode topology: %w", err)
	}
	head := "# Service topology of this simulated scenario: merge into faultline.yaml (or pass --config).\n"
	if err := os.WriteFile(path, append([]byte(head), b...), 0o644); err != nil {
		return fmt.Errorf("write topology: %w", err)
	}
	return nil
}

func printScenario(w io.Writer, sc *simulate.Scenario, man simulate.Manifest) {
	tr := sc.Truth
	hm := func(t time.Time) string { return t.UTC().Format("15:04:05") }
	fmt.Fprintf(w, "scenario:    %s (seed %d)\n", sc.Family, sc.Seed)
	fmt.Fprintf(w, "window:      %s .. %s (%s), main region %s\n", tr.Window.Since.Format(time.RFC3339), tr.Window.Until.Format(time.RFC3339), tr.Window.Until.Sub(tr.Window.Since), tr.Region)
	files := map[string]int{}
	for _, f := range man.Files {
		files[f.Format]++
	}
	fmt.Fprintf(w, "written:     %s (%d files, %.1f MB)\n", man.Dir, len(man.Files), float64(man.Bytes)/1e6)
	formats := make([]string, 0, len(files))
	for f := range files {
		formats = append(formats, f)
	}
	sort.Strings(formats)
	unit := map[string]string{"cloudtrail": "records", "cloudwatch": "log events", "app": "lines", "awsevents": "events", "gcpaudit": "log entries", "azureactivity": "records"}
	total, messages := 0, 0
	for _, f := range formats {
		extra := ""
		if f == "cloudwatch" {
			extra = fmt.Sprintf(" in %d payloads", man.Messages[f])
			if man.ControlMessages > 0 {
				extra += fmt.Sprintf(" (%d of them a CONTROL_MESSAGE: a subscription health check)", man.ControlMessages)
			}
		}
		fmt.Fprintf(w, "  %-13s %5d files %8d %s%s\n", f, files[f], man.Records[f], unit[f], extra)
		total += man.Records[f]
		messages += man.Messages[f]
	}
	// What load reports: a record is what a file is split into (a
	// CloudWatch payload is one, however many log events it holds), and
	// the log events of control messages are skipped, not events.
	events := total - man.ControlLogEvents
	if man.ControlLogEvents > 0 {
		fmt.Fprintf(w, "  %-13s %5d files %8d records and log events: %d events + %d control message log event(s), which load skips\n", "total", len(man.Files), total, events, man.ControlLogEvents)
	} else {
		fmt.Fprintf(w, "  %-13s %5d files %8d events\n", "total", len(man.Files), total)
	}
	fmt.Fprintf(w, "load reports: records %d (a CloudWatch payload is one), events %d, control messages %d skipped\n", messages, events, man.ControlMessages)
	if !tr.Incident {
		fmt.Fprintf(w, "root cause:  none (quiet period: any incident found is a false alarm)\n")
	} else {
		fmt.Fprintf(w, "root cause:  %s %s %s at %s (%s, %s)\n", tr.RootCauseService, tr.RootCauseOperation, tr.RootCauseEventID, hm(tr.RootCauseTime), tr.RootCauseSource, tr.RootCauseRegion)
		fmt.Fprintf(w, "incident:    onset %s, recovery %s\n", hm(tr.Onset), hm(tr.Recovery))
		steps := make([]string, 0, len(tr.Affected))
		for _, a := range tr.Affected {
			s := fmt.Sprintf("%s (%s", a.Service, hm(a.Onset))
			if len(a.Via) > 0 {
				s += ", via " + strings.Join(a.Via, "+")
			}
			steps = append(steps, s+")")
		}
		fmt.Fprintf(w, "cascade:     %s\n", strings.Join(steps, " -> "))
	}
	fmt.Fprintf(w, "decoys:      %d unrelated changes near the onset\n", len(tr.Decoys))
	fmt.Fprintf(w, "truth:       %s\n", man.Truth)
	fmt.Fprintf(w, "load it:     faultline load %s   (topology: %s)\n", man.DataDir, filepath.Join(man.Dir, "topology.yaml"))
}

// checkScenario refuses an unknown --scenario as a usage error naming the
// closest scenario (a typo such as lb-chnage).
func checkScenario(name string) error {
	all := append(slices.Clone(simulate.Families), simulate.FamilyRandom)
	if slices.Contains(all, name) {
		return nil
	}
	hint := ""
	if c := status.Closest(name, all); c != "" {
		hint = " (did you mean " + c + "?)"
	}
	return usageError{fmt.Errorf("--scenario %q is not a scenario%s: use one of %s", name, hint, strings.Join(all, ", "))}
}
