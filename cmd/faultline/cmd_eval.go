package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/queries/eval"
	"github.com/faultline/faultline/transform/simulate"
)

func newEvalCmd(a *app) *cobra.Command {
	var (
		scenarios  int
		seed       int64
		families   string
		out        string
		keep       string
		noTopology bool
		check      bool
		sf         simulateFlags
	)
	cmd := &cobra.Command{
		Use:   "eval --scenarios N --seed S",
		Short: "Measure the correlation's accuracy over simulated outages",
		Long: `eval runs simulate -> load -> correlate over N scenarios (seeds S..S+N-1,
cycling through the families, quiet days included) and compares what the
correlation found with each scenario's truth (a two-incidents scenario plants
two incidents, scored one by one):

  top-1 / top-3 accuracy   the planted root cause is ranked first / in the top 3
                           of the incident that matches the outage
  mean reciprocal rank     mean of 1/rank (0 when not ranked)
  false incidents          incidents that match no planted one, per day of
                           window (quiet days and beside planted incidents)
  onset error              |found onset - true onset| in minutes

Each scenario is loaded once into its own DuckDB file (eval.duckdb beside
the scenario) with the same loader as faultline load, and correlated twice with the correlation: settings
of the configuration: with no topology configured (only what the engine
infers from the events, as on a stranger's account; the targets apply to
this) and with the scenario's topology (skip it with --no-topology). Targets:
top-1 >= 0.95, top-3 = 1.0, false incidents <= 0.1 per day. --duration,
--scale and --services shape every scenario (24-hour windows at --scale 25
with --services 30 are production-like: about 14 million events each).
See docs/simulate.md.`,
		Example: `  faultline eval --scenarios 24 --seed 1
  faultline eval --scenarios 60 --seed 100 --out eval.json --check
  faultline eval --scenarios 4 --families quiet --duration 24h --no-topology
  faultline eval --scenarios 2 --families lb-change,quiet --duration 24h --scale 25 --services 30 --no-topology
  faultline eval --scenarios 6 --families two-incidents,slow-ramp --keep /tmp/eval`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := sf.options()
			if err != nil {
				return err
			}
			if scenarios <= 0 {
				return usageError{fmt.Errorf("--scenarios %d: must be positive", scenarios)}
			}
			var fams []string
			if families != "" {
				for _, f := range strings.Split(families, ",") {
					f = strings.TrimSpace(f)
					if _, err := simulate.ResolveFamily(f, 0); err != nil || f == simulate.FamilyRandom {
						hint := ""
						if c := status.Closest(f, simulate.Families); c != "" {
							hint = " (did you mean " + c + "?)"
						}
						return usageError{fmt.Errorf("--families: %q is not a scenario family%s: use %s", f, hint, strings.Join(simulate.Families, ", "))}
					}
					fams = append(fams, f)
				}
			}
			if err := checkOut(out, "eval.json"); err != nil { // before the scenarios run, not after
				return err
			}
			cfg := eval.Config{Scenarios: scenarios, Seed: seed, Families: fams, Options: o, Workdir: keep, Keep: keep != ""}
			p := &duckPipeline{a: a, noTopology: noTopology}
			w := cmd.OutOrStdout()
			progress := func(r eval.Result) {
				a.log.Info("scenario evaluated", "n", r.Index+1, "of", scenarios, "scenario", r.Scenario, "kind", r.Kind, "seed", r.Seed, "rank", r.Rank,
					"false_incidents", r.False, "seconds", fmt.Sprintf("%.1f", r.Seconds))
			}
			rep, err := eval.Run(cmd.Context(), cfg, p, progress)
			if err != nil {
				return err
			}
			if err := rep.WriteTable(w); err != nil {
				return err
			}
			if out != "" {
				b, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					return fmt.Errorf("encode report: %w", err)
				}
				if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
					return fmt.Errorf("write report: %w", err)
				}
				fmt.Fprintf(w, "report: %s\n", out)
			}
			if check {
				return rep.Check()
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&scenarios, "scenarios", 20, "number of scenarios")
	f.Int64Var(&seed, "seed", 1, "seed of the first scenario (scenario i uses seed+i)")
	f.StringVar(&families, "families", "", "comma-separated families to cycle through (default: all, quiet included)")
	f.StringVar(&out, "out", "", "write the report as JSON to this file")
	f.StringVar(&keep, "keep", "", "write and keep the scenario directories here (default: a temporary directory, removed)")
	f.BoolVar(&noTopology, "no-topology", false, "correlate only with no topology configured (skip the run with the scenarios' topology)")
	f.BoolVar(&check, "check", false, "exit with an error when a target is missed")
	sf.add(cmd, simulate.DefaultOptions().Duration)
	return cmd
}

// duckPipeline loads a scenario into a fresh DuckDB file with the
// loader of faultline load and correlates it with the queries engine.
type duckPipeline struct {
	a          *app
	noTopology bool
}

func (p *duckPipeline) Run(ctx context.Context, sc *simulate.Scenario, man simulate.Manifest) (obs eval.Observation, err error) {
	// A file beside the scenario, not memory: a production-size day (14
	// million events at --scale 25 --services 30) does not fit the memory
	// limit, and --keep keeps the file for inspection.
	db, err := p.a.openDB(ctx, filepath.Join(man.Dir, "eval.duckdb"))
	if err != nil {
		return obs, err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	sum, err := ingest.LoadPaths(ctx, db, []string{man.DataDir}, ingest.LoadOptions{Config: p.a.cfg.Ingest, Transform: p.a.cfg.Transform, Logger: p.a.log})
	obs.Events, obs.DeadLetters = sum.Events, sum.DeadLetterTotal()
	if err != nil {
		return obs, fmt.Errorf("load %s: %w", man.DataDir, err)
	}
	w := queries.Window{Since: sc.Truth.Window.Since, Until: sc.Truth.Window.Until}
	t0 := time.Now()
	correlate := func(topo map[string][]string) (c eval.Correlation, err error) {
		eng := queries.NewEngine(db.DB, p.a.cfg.Correlation, topo)
		if c.Incidents, err = eng.Incidents(ctx, w); err != nil {
			return c, fmt.Errorf("incidents: %w", err)
		}
		if c.Suspects, err = eng.Suspects(ctx, w); err != nil {
			return c, fmt.Errorf("suspects: %w", err)
		}
		return c, nil
	}
	// No topology configured: only what the engine infers (the configuration's
	// own topology: section is a user's choice and still applies).
	if obs.Correlation, err = correlate(p.a.cfg.Topology); err != nil {
		return obs, err
	}
	if !p.noTopology {
		topo := map[string][]string{}
		for k, v := range p.a.cfg.Topology {
			topo[k] = v
		}
		for k, v := range sc.Topology {
			topo[k] = v
		}
		c, err := correlate(topo)
		if err != nil {
			return obs, err
		}
		obs.WithTopology = &c
	}
	p.a.log.Debug("correlated", "incidents", len(obs.Incidents), "suspects", len(obs.Suspects), "seconds", time.Since(t0).Seconds())
	return obs, nil
}
