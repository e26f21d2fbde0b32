package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline/dashboards/report"
	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/broker"
	"github.com/faultline/faultline/ingest/produce"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform/simulate"
)

// demoDB is the file the demo writes when neither --db, FAULTLINE_DB nor
// the config file names one, so a demo never touches faultline.duckdb.
const demoDB = "faultline-demo.duckdb"

type demoOptions struct {
	scenario string
	seed     int64
	noServe  bool
}

func newDemoCmd(a *app) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "One command: embedded Kafka, a simulated outage, ingest, the impact report, then the dashboards",
		Long: `demo shows faultline end to end on this machine, with no services to install:

  1. simulates an outage (default: a us-east-1 style load-balancer change that
     cascades across dependent services) in the real input formats;
  2. starts the embedded Kafka-protocol broker on a free loopback port;
  3. produces the scenario's files into its topics (as 'faultline produce');
  4. ingests the topics into a DuckDB file exactly as 'faultline ingest' does;
  5. prints the impact report, and checks that the planted root cause is
     ranked first;
  6. serves the dashboards on serve.listen until Ctrl-C (--no-serve to exit).

The DuckDB file stays (default faultline-demo.duckdb), so 'faultline query
--db faultline-demo.duckdb ...' works afterwards. The next demo replaces
it, and only it or a file an earlier demo marked as its own (so do not
load your own data into a demo file); a file at --db that no demo wrote
(your own database, named by --db, FAULTLINE_DB or the config's db), a
directory, or a demo file a running demo still serves is never replaced:
the demo refuses and says so. Every
scenario runs, multi-cloud included (its Google Cloud and Azure records
get topics of their own).`,
		Example: `  make demo
  faultline demo --no-serve
  faultline demo --scenario iam-policy --seed 3 --listen 127.0.0.1:9000
  faultline query --db faultline-demo.duckdb --named suspects`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), a, cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.scenario, "scenario", simulate.FamilyLBChange, "scenario family: "+strings.Join(simulate.Families, ", ")+" or "+simulate.FamilyRandom)
	f.Int64Var(&o.seed, "seed", 1, "scenario seed (the same seed gives the same outage)")
	f.BoolVar(&o.noServe, "no-serve", false, "exit after the report instead of serving the dashboards")
	f.String("listen", "", "host:port for the dashboards (config serve.listen; default 127.0.0.1:8080)")
	a.bind(cmd, map[string]string{"listen": "serve.listen"})
	return cmd
}

// explicitDB reports whether the user chose the DuckDB file (flag, env or
// config file) rather than leaving the default.
func explicitDB(a *app, cmd *cobra.Command) bool {
	if f := cmd.Root().PersistentFlags().Lookup("db"); f != nil && f.Changed {
		return true
	}
	return os.Getenv("FAULTLINE_DB") != "" || a.v.InConfig("db")
}

func runDemo(ctx context.Context, a *app, cmd *cobra.Command, o demoOptions) error {
	out := cmd.OutOrStdout()
	start := time.Now()
	step := func(n int, format string, args ...any) {
		fmt.Fprintf(out, "[%d/6] %s\n", n, fmt.Sprintf(format, args...))
	}
	// The pipeline's own info logs would drown the steps; warnings still show.
	quiet := a.log
	if a.cfg.Log.Level == "info" {
		quiet = newLogger(a.stderr, LogConfig{Level: "warn", Format: a.cfg.Log.Format})
	}

	dbPath := a.cfg.DB
	if !explicitDB(a, cmd) {
		dbPath = demoDB
	}
	// Before any work: the demo replaces only an earlier demo's file (at
	// the default path, when the user named none, any DuckDB file: demos
	// before the mark).
	byName := dbPath == demoDB && !explicitDB(a, cmd)
	_, err := os.Lstat(dbPath)
	replace := err == nil
	if replace {
		if err := checkReplaceable(ctx, dbPath, byName); err != nil {
			return err
		}
	}

	// 1. Simulate the outage into files in the real formats.
	if err := checkScenario(o.scenario); err != nil {
		return err
	}
	sc, err := simulate.Generate(o.scenario, o.seed, simulate.Options{})
	if err != nil {
		return usageError{err}
	}
	dir, err := os.MkdirTemp("", "faultline-demo-")
	if err != nil {
		return fmt.Errorf("create a temporary directory for the scenario: %w", err)
	}
	defer os.RemoveAll(dir)
	man, err := sc.WriteDir(dir)
	if err != nil {
		return fmt.Errorf("write the scenario: %w", err)
	}
	step(1, "simulated %s (seed %d): %d files, %.1f MB in the real input formats, %s .. %s UTC",
		sc.Family, sc.Seed, len(man.Files), float64(man.Bytes)/1e6,
		sc.Truth.Window.Since.Format("2006-01-02 15:04"), sc.Truth.Window.Until.Format("15:04"))

	// 2. The embedded broker, one topic per input family of the scenario
	// (the multi-cloud family adds Google Cloud's and Azure's).
	names := sc.Topics()
	topics := make(map[string]int32, len(names))
	for _, t := range names {
		topics[t] = 3
	}
	b, err := broker.Start(ctx, "127.0.0.1:0", topics)
	if err != nil {
		return fmt.Errorf("start the embedded Kafka broker: %w", err)
	}
	defer b.Close()
	step(2, "embedded Kafka broker listening on %s (topics %v, 3 partitions each)", b.Addr(), names)

	// 3. Produce each family's files into its topic, as faultline produce does.
	var produced int
	for _, topic := range names {
		format := sc.Truth.Topics[topic]
		path := filepath.Join(man.DataDir, simulate.TopicDirs[topic])
		if files, err := os.ReadDir(path); len(files) == 0 && (err == nil || errors.Is(err, os.ErrNotExist)) {
			continue // e.g. no AWS events in this scenario
		}
		pc := produce.DefaultConfig()
		pc.Topic, pc.Format = topic, format
		sum, err := produce.Run(ctx, pc, []string{path}, produce.Options{
			Brokers: b.Addrs(), MaxDecompressedBytes: a.cfg.Transform.MaxDecompressedBytes, Log: quiet,
		})
		if err != nil {
			return fmt.Errorf("produce %s: %w", topic, err)
		}
		produced += sum.Messages
	}
	step(3, "produced %d messages", produced)

	// 4. Ingest the topics into DuckDB, exactly as faultline ingest does.
	if replace {
		// Again: a serve or demo may have opened it while this one worked.
		if err := checkReplaceable(ctx, dbPath, byName); err != nil {
			return err
		}
		fmt.Fprintf(out, "      replacing the previous demo database %s\n", dbPath)
		if err := removeDB(dbPath); err != nil {
			return fmt.Errorf("replace %s: %w", dbPath, err)
		}
	}
	db, err := a.openDB(ctx, dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	// The mark that lets the next demo replace this file (checkReplaceable).
	if _, err := db.ExecContext(ctx, "COMMENT ON TABLE ingest_offsets IS '"+demoMark+"'"); err != nil {
		return fmt.Errorf("mark %s as a demo database: %w", dbPath, err)
	}
	kc := a.cfg.Kafka
	kc.Brokers, kc.Group = b.Addrs(), "faultline-demo"
	kc.TLS, kc.SASL = ingest.TLSConfig{}, ingest.SASLConfig{}
	kc.Topics = nil
	for _, t := range names {
		kc.Topics = append(kc.Topics, ingest.TopicConfig{Name: t, Format: sc.Truth.Topics[t]})
	}
	ic := a.cfg.Ingest
	ic.ExitWhenCaughtUp = true
	t0 := time.Now()
	if err := ingest.Run(ctx, ingest.Options{Kafka: kc, Config: ic, Transform: a.cfg.Transform, DB: db, Logger: quiet}); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	// 5. Correlate and report with no topology beyond the configuration's:
	// the engine infers the dependencies from the events, as on a
	// stranger's account, so 'faultline query --named suspects' on the file
	// afterwards gives the same ranking and scores as this report.
	engine := a.engine(db)
	n, err := engine.Counts(ctx)
	if err != nil {
		return fmt.Errorf("count what was ingested: %w", err)
	}
	step(4, "ingested %d events (%d dead letters) into %s in %.1fs", n.Events, n.DeadLetters, dbPath, time.Since(t0).Seconds())

	w := queries.Window{Since: sc.Truth.Window.Since, Until: sc.Truth.Window.Until}
	r, err := report.Build(ctx, engine, report.Options{
		Title: fmt.Sprintf("faultline demo: %s outage (seed %d)", sc.Family, sc.Seed), Window: w,
	})
	if err != nil {
		return err
	}
	rd, err := report.Render(r, report.FormatMarkdown, "")
	if err != nil {
		return err
	}
	step(5, "impact report:")
	fmt.Fprintf(out, "\n%s\n", rd.Body)
	verdict := checkRootCause(ctx, out, engine, w, sc.Truth)

	if o.noServe {
		fmt.Fprintf(out, "\ndone in %.1fs. The database stays: faultline query --db %s --named suspects\n", time.Since(start).Seconds(), dbPath)
		return verdict
	}
	// While the dashboards serve, this process holds the file (DuckDB
	// allows one process per file): --db would be refused, --server works.
	fmt.Fprintf(out, "\ndone in %.1fs. The database stays (%s): after Ctrl-C, faultline query --db %s --named suspects\n", time.Since(start).Seconds(), dbPath, dbPath)

	// 6. Serve the dashboards over the same file until Ctrl-C.
	b.Close() // ingest is done; the dashboards read the file
	a.cfg.DB = dbPath
	a.cfg.Kafka.Topics = nil
	a.log = quiet
	return serveDB(ctx, a, db, nil, nil, func(url string) {
		step(6, "dashboards at %s  (Ctrl-C to stop); meanwhile: faultline query --server %s --named suspects", url, url)
	})
}

// checkRootCause prints whether the scenario's planted root cause is the
// top suspect, and returns an error if it is not.
func checkRootCause(ctx context.Context, out io.Writer, e *queries.Engine, w queries.Window, truth simulate.Truth) error {
	sus, err := e.Suspects(ctx, w)
	if err != nil {
		return err
	}
	if truth.RootCauseEventID == "" {
		fmt.Fprintf(out, "quiet scenario: no change was planted; %d suspects listed\n", len(sus))
		return nil
	}
	for _, s := range sus {
		if s.EventID != truth.RootCauseEventID {
			continue
		}
		if s.Rank == 1 {
			fmt.Fprintf(out, "root cause ranked #1: %s on %s by %s, %.0f min before onset (matches the planted change)\n",
				s.Operation, orDash(s.Resource, s.Service), orDash(s.Actor, "?"), s.LeadMinutes)
			return nil
		}
		fmt.Fprintf(out, "WARNING: the planted root cause %s (%s) is ranked #%d, not #1\n", truth.RootCauseEventID, truth.RootCauseOperation, s.Rank)
		return fmt.Errorf("the planted root cause is ranked #%d: see docs/correlation.md to tune the score", s.Rank)
	}
	fmt.Fprintf(out, "WARNING: the planted root cause %s (%s) is not among the suspects\n", truth.RootCauseEventID, truth.RootCauseOperation)
	return errors.New("the planted root cause is not among the suspects: see docs/correlation.md")
}

func orDash(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// demoMark is the comment on a demo database's ingest_offsets table.
const demoMark = "faultline demo database: the next faultline demo may replace it"

// checkReplaceable refuses to let the demo replace path unless it is a
// demo database that no process holds: one the demo marked, or, at the
// default path (byName), any DuckDB file (demos before the mark). A user's
// own database named by --db, FAULTLINE_DB or the config's db is never
// replaced, nor a file a running demo or serve still holds.
func checkReplaceable(ctx context.Context, path string, byName bool) error {
	keep := fmt.Sprintf("pass --db with a new path (the default is %s), or remove %s yourself if you mean to", demoDB, path)
	if path == demoDB {
		keep = fmt.Sprintf("pass --db with another path, or remove %s yourself if you mean to", path)
	}
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if st.Mode()&os.ModeSymlink != 0 {
		return usageError{fmt.Errorf("the demo writes a new database and will not replace %s, a symbolic link (to a database of yours?): %s", path, keep)}
	}
	if !st.Mode().IsRegular() {
		return usageError{fmt.Errorf("the demo writes a new database and %s exists and is not a file: %s", path, keep)}
	}
	mem, err := store.Open(ctx, "")
	if err != nil {
		return err
	}
	defer mem.Close()
	// Read only: nothing is written to the file, and a process that holds
	// it (DuckDB allows one writer) makes the ATTACH fail.
	if _, err := mem.ExecContext(ctx, "ATTACH '"+strings.ReplaceAll(path, "'", "''")+"' AS old_demo (READ_ONLY)"); err != nil {
		if store.IsLockConflict(err) {
			return fmt.Errorf("the demo would replace %s, but another process holds it (a running faultline demo or serve?): stop it first, or %s", path, keep)
		}
		return usageError{fmt.Errorf("the demo writes a new database and will not replace %s, which is not a faultline demo database (DuckDB cannot read it): %s", path, keep)}
	}
	var comment string
	err = mem.QueryRowContext(ctx, `SELECT coalesce(max(comment), '') FROM duckdb_tables() WHERE database_name = 'old_demo' AND table_name = 'ingest_offsets'`).Scan(&comment)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if comment != demoMark && !byName {
		return usageError{fmt.Errorf("the demo writes a new database and will not replace %s, which is not a faultline demo database: %s", path, keep)}
	}
	return nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
