package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline/cmd/faultline/bench"
)

func newBenchCmd(a *app) *cobra.Command {
	var (
		quick    bool
		out      string
		events   int
		reps     int
		steady   time.Duration
		profile  string
		only     string
		memLimit string
		qevents  []int
		qruns    int
		stage    bench.StageArgs
		brokers  string
		samples  string
		stEvents int
		python   string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure ingest and the named queries against their limits on this machine, as ratios",
		Long: `bench generates an ingest corpus (mostly CloudTrail records of 1-3 KB,
CloudWatch Logs payloads, application errors), puts it in an embedded broker
and measures, interleaved over several repetitions, each in its own process:
  a  a raw kafka-go consume loop that discards the messages (the Kafka read limit)
  b  decode + Arrow, from memory
  c  pre-built Arrow batches committed to DuckDB through the ingest sink
  d  DuckDB's own read_json loading the same records as NDJSON (near-limit)
  e  faultline ingest end to end, from the topics into a DuckDB file
  f  faultline load of 100k CloudTrail records as NDJSON
  g  DuckDB read_json of that file into a table of its own
  i  f into a file that already holds two loads of the same records
  h  a Python consumer (confluent-kafka + duckdb + pyarrow) of the same
     topics, if make bench-python installed it (else skipped, with a note)
then steady RSS while ingesting, bytes on disk per event against read_json's
table of the same records (per source: the bench corpus and the real
samples), and each named query over generated events tables of 1M (and, in
full mode, 10M and 100M) events against the same SQL run directly through DuckDB. It
prints one table and writes one JSON file. The machine's other load adds
noise: compare the ratios, not the absolute numbers. See docs/benchmarks.md.`,
		Example: `  faultline bench --quick                      # about 5 minutes: 200k events, 3 reps, 1M-event queries
  faultline bench --out bench.json             # full: 2M events, 5 reps, 1M, 10M and 100M-event queries
  faultline bench --quick --profile prof/      # also write a CPU profile per stage run
  faultline bench --quick --only queries       # only the named queries
  faultline bench --quick --only storage       # only bytes per event against read_json
  faultline bench --only queries --query-events 10000000 --query-runs 3
  go tool pprof -top bin/faultline prof/e-e2e-1.pprof`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if stage.Stage != "" {
				// A stage process started by the benchmark itself.
				if brokers != "" {
					stage.Brokers = strings.Split(brokers, ",")
				}
				s, err := bench.RunStage(ctx, stage)
				if err != nil {
					return err
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(s)
			}
			o := bench.FullOptions()
			if quick {
				o = bench.QuickOptions()
			}
			if cmd.Flags().Changed("events") {
				o.Events = events
			}
			if cmd.Flags().Changed("reps") {
				o.Reps = reps
			}
			if cmd.Flags().Changed("steady") {
				o.Steady = steady
			}
			if cmd.Flags().Changed("query-events") {
				o.QueryEvents = qevents
			}
			if cmd.Flags().Changed("query-runs") {
				o.QueryRuns = qruns
			}
			if cmd.Flags().Changed("duckdb-memory-limit") {
				o.MemoryLimit = memLimit
			}
			if cmd.Flags().Changed("storage-events") {
				o.StorageEvents = stEvents
			}
			o.Python = python
			if !cmd.Flags().Changed("python-consumer") {
				o.Python = ".cache/pyvenv/bin/python"
			}
			o.Samples = samples
			if !cmd.Flags().Changed("samples") {
				o.Samples = findSamples()
			} else if st, err := os.Stat(samples); samples != "" && (err != nil || !st.IsDir()) {
				return usageError{fmt.Errorf("--samples %s: not a directory: name the folder of the real samples (cloudtrail/, cloudwatch/, events/, gcp/, azure/) or \"\" to skip them", samples)}
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the faultline executable to run the stages: %w", err)
			}
			o.Exe, o.Log, o.Progress, o.ProfileDir, o.Only = exe, a.log, cmd.ErrOrStderr(), profile, only
			if profile != "" {
				if err := os.MkdirAll(profile, 0o755); err != nil {
					return fmt.Errorf("profile directory: %w", err)
				}
			}
			if err := o.Validate(); err != nil {
				return usageError{err}
			}
			r, err := bench.Run(ctx, o)
			if err != nil {
				return err
			}
			if err := r.WriteTable(cmd.OutOrStdout()); err != nil {
				return err
			}
			if out != "" {
				if err := r.WriteJSON(out); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "bench: results written to %s\n", out)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&quick, "quick", false, "quick run (about 5 minutes): 200k events, 3 repetitions, queries over 1M events, 20 s steady ingest")
	f.StringVar(&out, "out", "bench-results.json", "write the results as JSON to this file (empty: do not write)")
	f.IntVar(&events, "events", 0, "ingest corpus size in events (default 200000 quick, 2000000 full)")
	f.IntVar(&reps, "reps", 0, "interleaved repetitions of the ingest stages (default 3 quick, 5 full)")
	f.DurationVar(&steady, "steady", 0, "how long to ingest while sampling RSS (default 20s quick, 3m full; 0 skips)")
	f.IntSliceVar(&qevents, "query-events", nil, "events tables the named queries run over (default 1000000 quick, 1000000,10000000,100000000 full)")
	f.IntVar(&qruns, "query-runs", 0, "timed runs per named query and table (default 5 quick, 7 full)")
	f.StringVar(&only, "only", "", "run only one part: ingest (stages, steady RSS and storage), storage (bytes per event only) or queries")
	f.StringVar(&samples, "samples", "", "folder of the real samples for the storage measurement (default: ../shared/data or ../../shared/data if there; \"\" skips them)")
	f.StringVar(&python, "python-consumer", "", "Python interpreter with duckdb, confluent-kafka and pyarrow for stage h (default .cache/pyvenv/bin/python, made by make bench-python; \"\" skips it)")
	f.IntVar(&stEvents, "storage-events", 0, "events (bench corpus) or records (samples) per source in the storage measurement (default 50000 quick, 100000 full)")
	f.StringVar(&profile, "profile", "", "write a CPU profile of every stage run into this directory")
	f.StringVar(&memLimit, "duckdb-memory-limit", "", "duckdb.memory_limit of every DuckDB file the stages and queries open (default: the product default, 2GB; \"\" = DuckDB's own, 80% of RAM)")
	// The stage process interface (used by bench itself).
	f.StringVar(&stage.Stage, "stage", "", "run one stage and print its sample as JSON (internal)")
	f.StringVar(&stage.Corpus, "corpus", "", "corpus file (internal)")
	f.StringVar(&stage.NDJSON, "ndjson", "", "corpus as NDJSON (internal)")
	f.StringVar(&stage.CloudTrail, "cloudtrail", "", "CloudTrail records as NDJSON (internal)")
	f.StringVar(&stage.Python, "python", "", "Python interpreter of stage h (internal)")
	f.Int64Var(&stage.Events, "events-in-corpus", 0, "events in the corpus (internal)")
	f.Int64Var(&stage.Bytes, "bytes", 0, "raw bytes of the corpus (internal)")
	f.StringVar(&brokers, "brokers", "", "embedded broker address (internal)")
	f.StringVar(&stage.Dir, "dir", "", "scratch directory (internal)")
	f.IntVar(&stage.Rep, "rep", 0, "repetition (internal)")
	f.DurationVar(&stage.Duration, "duration", 0, "steady duration (internal)")
	f.StringVar(&stage.Profile, "stage-profile", "", "CPU profile file of the stage (internal)")
	f.StringVar(&stage.MemoryLimit, "stage-memory-limit", "", "duckdb.memory_limit of the stage (internal)")
	for _, n := range []string{"stage", "corpus", "ndjson", "cloudtrail", "python", "events-in-corpus", "bytes", "brokers", "dir", "rep", "duration", "stage-profile", "stage-memory-limit"} {
		_ = f.MarkHidden(n)
	}
	return cmd
}

// findSamples looks for the real samples beside the repository (the
// project's shared/data), from the working directory.
func findSamples() string {
	for _, d := range []string{"../shared/data", "../../shared/data"} {
		if st, err := os.Stat(d + "/cloudtrail"); err == nil && st.IsDir() {
			return d
		}
	}
	return ""
}
