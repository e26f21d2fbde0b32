package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/relay"
	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/transform"
)

func newIngestCmd(a *app) *cobra.Command {
	var topics []string
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Stream Kafka topics into the DuckDB file, exactly once",
		Long: `ingest consumes the configured topics (kafka.topics, or --topic NAME=FORMAT)
with a consumer group, decodes every message with the topic's format and
commits events, dead letters and the next offset of each partition in one
DuckDB transaction. It resumes from the offsets stored in DuckDB, so a crash
at any instant neither loses nor duplicates events. See docs/ingest.md.

--exit-when-caught-up makes a batch run: it exits 0 once every partition of
the topics is stored up to its high watermark at start (by this process, or
by whoever held it), exits 1 at once if a topic does not exist (naming a
close existing one), exits 2 at once if DNS knows no broker's host name
(a typo in --brokers), and exits 1 after --give-up-after (2m) without progress
(brokers unreachable, partitions held by a killed process's session). A
streaming run retries and waits instead, and reports the problem on
/healthz and /readyz (--metrics-listen). SIGINT/SIGTERM commit what was read
and leave the consumer group, so the next process gets the partitions at
once; after a SIGKILL they come back after kafka.session_timeout (30s).

Formats: auto, cloudtrail, cloudwatch, awsevents, app, otlp, gcpaudit (Google Cloud
Logging / audit logs from a log sink), azureactivity (Azure Monitor records: Activity
Log and resource logs; Event Hubs speaks Kafka, see docs/ingest.md).`,
		Example: `  faultline ingest --brokers localhost:9092 --topic cloudtrail=cloudtrail --topic app-errors=app
  faultline ingest --db outage.duckdb --exit-when-caught-up     # batch run: stop once caught up
  faultline ingest --metrics-listen :9464                       # /metrics, /healthz and /readyz
  faultline ingest --parquet-dir /mnt/segments                  # also export closed hours as Parquet
  faultline ingest --allow-data-loss                            # skip messages deleted by retention`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			kc := a.cfg.Kafka
			if len(topics) > 0 {
				kc.Topics = nil
				for _, t := range topics {
					name, format, ok := strings.Cut(t, "=")
					if !ok || name == "" {
						return usageError{fmt.Errorf("--topic %q: want NAME=FORMAT, e.g. --topic app-errors=app", t)}
					}
					if _, err := transform.ParseFormat(format); err != nil {
						return usageError{fmt.Errorf("--topic %q: %w", t, err)}
					}
					kc.Topics = append(kc.Topics, ingest.TopicConfig{Name: name, Format: format})
				}
			}
			if len(kc.Topics) == 0 {
				return usageError{errors.New("no topics to consume: pass --topic NAME=FORMAT or set kafka.topics in the config file")}
			}
			ctx := cmd.Context()
			nf := aboutToOpen(a.cfg.DB)
			db, err := a.openWriterDB(ctx, a.cfg.DB)
			if err != nil {
				if ctx.Err() != nil && errors.Is(err, context.Canceled) {
					return nil // interrupted while starting: nothing was read
				}
				return err
			}
			defer func() { err = a.closeOrDiscard(db, nf, err, ctx.Err() != nil) }()
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			st := &status.Tracker{}
			// Not ready until ingest has reached the brokers: /readyz
			// answers from the moment metrics_listen serves, before Run.
			st.Start(kc.Brokers, kc.Group, nil)
			opts := ingest.Options{
				Kafka: kc, Config: a.cfg.Ingest, Transform: a.cfg.Transform, DB: db,
				Logger: a.log, Registerer: reg, Status: st, Relay: a.cfg.Relay.Topic != "",
			}
			err = runWithMetrics(ctx, a, reg, st, func(ctx context.Context) error {
				wait := time.Second
				for {
					began := time.Now()
					err := withSegments(ctx, a, opts.DB, func(ctx context.Context) error { return ingest.Run(ctx, opts) })
					if !errors.Is(err, store.ErrInvalidated) || a.cfg.Ingest.ExitWhenCaughtUp || ctx.Err() != nil {
						return err
					}
					// Streaming: DuckDB gave up on the open database (a
					// checkpoint found the disk full); open the file again,
					// waiting for space, and resume from its offsets.
					if time.Since(began) > time.Minute {
						wait = time.Second
					}
					a.log.Error("DuckDB invalidated the database; opening it again", "db", a.cfg.DB, "retry_in", wait, "err", err)
					db.Close()
					db = nil
					st.SetDatabaseError(err)
					if db, err = reopen(ctx, a, st, wait); err != nil {
						if ctx.Err() != nil {
							return nil // stopped while waiting for space
						}
						return err
					}
					opts.DB = db
					wait = min(2*wait, 30*time.Second)
				}
			})
			if _, ok := errors.AsType[*ingest.UnknownBrokersError](err); ok {
				return usageError{err} // a typo in --brokers (exit status 2)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringSlice("brokers", nil, "Kafka bootstrap brokers, comma separated (config kafka.brokers)")
	f.StringArrayVar(&topics, "topic", nil, "topic to consume as NAME=FORMAT, repeatable (replaces kafka.topics)")
	f.String("group", "", "consumer group (config kafka.group)")
	f.Bool("exit-when-caught-up", false, "batch run: exit 0 once every partition of the topics is stored up to its high watermark at start; a missing topic or no progress for --give-up-after exits 1 (config ingest.exit_when_caught_up)")
	f.Duration("give-up-after", 0, "batch run: exit 1 after this long without progress, e.g. brokers unreachable (config ingest.give_up_after; default 2m)")
	f.Bool("allow-data-loss", false, "when retention deleted unread messages, skip them with a warning instead of stopping (config ingest.allow_data_loss)")
	f.String("metrics-listen", "", "serve /metrics, /healthz and /readyz on this address, e.g. :9464 (config ingest.metrics_listen)")
	f.String("parquet-dir", "", "export closed hours of raw events as Parquet under this directory, hive-partitioned by date, hour and source (config parquet.dir; docs/operations.md)")
	a.bind(cmd, map[string]string{"parquet-dir": "parquet.dir",
		"brokers": "kafka.brokers", "group": "kafka.group", "exit-when-caught-up": "ingest.exit_when_caught_up",
		"allow-data-loss": "ingest.allow_data_loss", "metrics-listen": "ingest.metrics_listen", "give-up-after": "ingest.give_up_after",
	})
	return cmd
}

// reopen opens the DuckDB file again after DuckDB invalidated it, first
// after wait, then retrying with backoff while there is no space to replay
// its WAL (reported on st).
func reopen(ctx context.Context, a *app, st *status.Tracker, wait time.Duration) (*store.DB, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		db, err := a.openWriterDB(ctx, a.cfg.DB)
		if err == nil {
			st.SetDatabaseError(nil)
			return db, nil
		}
		var df *store.DiskFullError
		if !errors.As(err, &df) && !errors.Is(err, store.ErrInvalidated) {
			return nil, err
		}
		st.SetDatabaseError(err)
		wait = min(2*wait, 30*time.Second)
		a.log.Error("cannot open the database, retrying", "db", a.cfg.DB, "retry_in", wait, "err", err)
	}
}

// withSegments runs fn and, beside it, the Parquet export of db's closed
// segments if parquet.dir is set and the relay publisher of db's outbox if
// relay.topic is set; when fn returns, both finish their work (every
// segment written once more, the outbox published) before withSegments
// returns.
func withSegments(ctx context.Context, a *app, db *store.DB, fn func(context.Context) error) error {
	var runs []func(context.Context) error
	if a.cfg.Parquet.Dir != "" {
		ex, err := db.NewExporter(a.cfg.Parquet, a.log, nil)
		if err != nil {
			return err
		}
		a.log.Info("exporting closed segments as parquet", "dir", a.cfg.Parquet.Dir, "node", ex.Node(), "grace", a.cfg.Parquet.Grace.String())
		runs = append(runs, ex.Run)
	}
	if a.cfg.Relay.Topic != "" {
		p, err := relay.NewPublisher(db, a.cfg.Kafka, a.cfg.Relay, nodeName(a.cfg.Relay.Node, db.Path), a.log)
		if err != nil {
			return err
		}
		a.log.Info("relaying commits", "topic", a.cfg.Relay.Topic)
		runs = append(runs, p.Run)
	}
	return beside(ctx, fn, runs...)
}

// beside runs fn and, beside it, each of runs. The runs' context ends only
// once fn has returned, not when ctx ends: a stop signal cancels ctx while
// fn still commits its last batch, and the runs' last pass (the Parquet
// export of every segment, the relay's publish of the outbox) must see that
// commit. beside returns fn's error after every run has returned.
func beside(ctx context.Context, fn func(context.Context) error, runs ...func(context.Context) error) error {
	if len(runs) == 0 {
		return fn(ctx)
	}
	bctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	var wg sync.WaitGroup
	for _, run := range runs {
		wg.Go(func() { _ = run(bctx) }) // each logs its own failures and retries
	}
	err := fn(ctx)
	stop()
	wg.Wait()
	return err
}

// nodeName is name, or <host>-<db file name> when name is empty.
func nodeName(name, db string) string {
	if name != "" {
		return name
	}
	host, _ := os.Hostname()
	return host + "-" + strings.TrimSuffix(filepath.Base(db), filepath.Ext(db))
}

// runWithMetrics runs fn and, if ingest.metrics_listen is set, the metrics
// and health endpoint beside it until fn returns.
func runWithMetrics(ctx context.Context, a *app, reg *prometheus.Registry, h *status.Tracker, fn func(context.Context) error) error {
	addr := a.cfg.Ingest.MetricsListen
	if addr == "" {
		return fn(ctx)
	}
	g, gctx := errgroup.WithContext(ctx)
	sctx, stopServe := context.WithCancel(gctx)
	g.Go(func() error { return ingest.Serve(sctx, addr, ingest.Handler(reg, h), a.log) })
	g.Go(func() error {
		defer stopServe()
		return fn(gctx)
	})
	return g.Wait()
}
