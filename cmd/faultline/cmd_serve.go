package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/faultline/faultline/dashboards"
	"github.com/faultline/faultline/dashboards/report"
	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/relay"
	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/pgwire"
	"github.com/faultline/faultline/queries"
)

func newServeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Ingest, dashboards, JSON API, scheduled reports, /metrics and /healthz in one process",
		Long: `serve is the long-running faultline service. It opens the DuckDB file once
and, in one process:

  - ingests the Kafka topics in kafka.topics, exactly as 'faultline ingest'
    does (none configured: it serves the file as it is, e.g. one filled by
    'faultline load');
  - serves the dashboards and the JSON API (docs/dashboards.md, docs/api.md)
    on serve.listen (127.0.0.1:8080 by default), with an optional bearer
    token (serve.token) or basic auth (serve.username/serve.password) on
    every route but /healthz;
  - runs the report schedules in reports.schedules;
  - serves /metrics (Prometheus: ingest and HTTP) and /healthz;
  - speaks the PostgreSQL wire protocol on serve.postgres.listen when set
    (psql, Grafana, DBeaver, JDBC, psycopg; docs/postgres.md), through the
    same analyst SQL sandbox as the JSON API.

DuckDB allows one process per file: while serve runs, point 'faultline
query' and 'faultline report' at it with --server http://ADDR (or config
query.server). SIGINT/SIGTERM shut everything down gracefully.`,
		Example: `  faultline serve                                   # serve faultline.duckdb on http://127.0.0.1:8080
  faultline serve --db outage.duckdb --listen 127.0.0.1:9000
  faultline serve --config prod.yaml                # ingest kafka.topics while serving
  FAULTLINE_SERVE_TOKEN=s3cret faultline serve --listen 0.0.0.0:8080
  faultline query --server http://127.0.0.1:8080 "SELECT count(*) FROM events"
  faultline serve --postgres-listen 127.0.0.1:5432   # then: psql -h 127.0.0.1 -U faultline`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// --brokers with nothing to read from them was ignored with an
			// info line: the user meant serve to ingest.
			if cmd.Flags().Changed("brokers") && len(a.cfg.Kafka.Topics) == 0 && !a.cfg.Relay.Consume {
				return usageError{errors.New("--brokers is given but no kafka.topics are configured, so serve would not ingest: list the topics under kafka.topics in --config (faultline.example.yaml), or drop --brokers to serve the file as it is")}
			}
			return runServe(cmd.Context(), a)
		},
	}
	f := cmd.Flags()
	f.String("listen", "", "host:port to serve on (config serve.listen; default 127.0.0.1:8080)")
	f.Duration("refresh", 0, "live refresh interval of the pages while ingesting, 0 = off (config serve.refresh; default 10s)")
	f.StringSlice("brokers", nil, "Kafka bootstrap brokers, comma separated (config kafka.brokers)")
	f.String("postgres-listen", "", "host:port for the PostgreSQL wire protocol, off unless set; without serve.postgres.password only a loopback address (config serve.postgres.listen; docs/postgres.md)")
	f.String("parquet-dir", "", "export closed hours of raw events as Parquet under this directory, hive-partitioned by date, hour and source (config parquet.dir; docs/operations.md)")
	a.bind(cmd, map[string]string{"listen": "serve.listen", "refresh": "serve.refresh", "brokers": "kafka.brokers", "postgres-listen": "serve.postgres.listen", "parquet-dir": "parquet.dir"})
	return cmd
}

func runServe(ctx context.Context, a *app) error {
	// Without topics to ingest or a relay to apply, serve only reads: a
	// mistyped --db must not create and serve an empty file.
	if len(a.cfg.Kafka.Topics) == 0 && !a.cfg.Relay.Consume {
		if err := mustExist(a.cfg.DB); err != nil {
			return err
		}
	} else if _, err := os.Stat(a.cfg.DB); errors.Is(err, os.ErrNotExist) {
		a.log.Info("creating a new database for ingest (or the relay)", "db", a.cfg.DB)
	}
	// Listen first: a busy address fails before anything starts. The
	// listener outlives the database: serve keeps answering /healthz while
	// the file cannot be used.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", a.cfg.Serve.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another process using it? pick another with --listen)", a.cfg.Serve.Listen, err)
	}
	conns := newConnQueue(ln)
	defer conns.Close()
	st := &status.Tracker{}
	wait := time.Second // between attempts to open the file, doubling up to 30s
	for ctx.Err() == nil {
		db, err := a.openDB(ctx, a.cfg.DB)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var df *store.DiskFullError
			var dm *store.DamagedError
			switch {
			case errors.As(err, &df) || errors.Is(err, store.ErrInvalidated):
				// No space to replay the WAL: it opens once space is freed.
				a.log.Error("cannot open the database; serving /healthz and retrying", "db", a.cfg.DB, "retry_in", wait, "err", err)
				st.SetDatabaseError(err)
				serveDegraded(ctx, a, conns.session(), st, wait)
				wait = min(2*wait, 30*time.Second)
				continue
			case errors.As(err, &dm):
				// A damaged file does not heal: say so until stopped, never
				// exit into a restart loop.
				a.log.Error("the database is damaged; serving /healthz with what to do until stopped", "db", a.cfg.DB, "err", err)
				st.SetDatabaseError(err)
				serveDegraded(ctx, a, conns.session(), st, 0)
				return nil
			}
			return err
		}
		st.SetDatabaseError(nil)
		began := time.Now()
		err = serveDB(ctx, a, db, conns.session(), st, nil)
		db.Close()
		if errors.Is(err, store.ErrInvalidated) && ctx.Err() == nil {
			// Typically a checkpoint that found the disk full. Wait before
			// opening the file again (serving /healthz), longer each time
			// it fails again soon, so a full disk costs no CPU.
			if time.Since(began) > time.Minute {
				wait = time.Second
			}
			a.log.Error("DuckDB invalidated the database; opening it again", "db", a.cfg.DB, "retry_in", wait, "err", err)
			st.SetDatabaseError(err)
			serveDegraded(ctx, a, conns.session(), st, wait)
			wait = min(2*wait, 30*time.Second)
			continue
		}
		return err
	}
	return nil
}

// serveDB runs ingest (when kafka.topics are configured), the report
// schedules and the HTTP server over db until ctx ends. ln is the
// listener (nil: listen on serve.listen); st receives ingest's status (nil:
// a new one). ready, if not nil, is called with the server's base URL once
// it listens. It returns an error wrapping store.ErrInvalidated when DuckDB
// invalidated db (the caller may open the file again); any other error that
// stops ingest is reported on /healthz while the rest serves on.
func serveDB(ctx context.Context, a *app, db *store.DB, ln net.Listener, st *status.Tracker, ready func(url string)) error {
	cfg := a.cfg
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	engine := a.engine(db)
	// faultline_incidents() and faultline_suspects() for analyst SQL (the
	// console, the JSON API, PostgreSQL clients such as Grafana).
	if err := queries.RegisterTableFunctions(ctx, db.DB, engine); err != nil {
		return err
	}
	// The sandbox locks the database's configuration: create it after
	// everything else that changes settings (a.openDB applies duckdb:).
	sandbox, err := queries.NewSandbox(ctx, db.DB, cfg.Query)
	if err != nil {
		return err
	}

	if ln == nil {
		// Listen first: a busy address fails before anything starts.
		var lc net.ListenConfig
		if ln, err = lc.Listen(ctx, "tcp", cfg.Serve.Listen); err != nil {
			return fmt.Errorf("listen on %s: %w (is another process using it? pick another with --listen)", cfg.Serve.Listen, err)
		}
	}
	defer ln.Close()

	// Build everything that can fail before starting goroutines: an early
	// return must not leave ingest running on a database about to close.
	var ingesting atomic.Bool
	if st == nil {
		st = &status.Tracker{}
	}
	var sched *report.Scheduler
	if len(cfg.Reports.Schedules) > 0 {
		if sched, err = a.newReportScheduler(engine); err != nil {
			return usageError{fmt.Errorf("reports: %w", err)}
		}
	}
	srv, err := dashboards.New(dashboards.Options{
		Config:   cfg.Serve.Config,
		Engine:   engine,
		Sandbox:  sandbox,
		Registry: reg,
		Ingest: func() status.Status {
			s := st.Snapshot()
			s.Running = s.Running && ingesting.Load()
			return s
		},
		MaxRows:  cfg.Query.MaxRows,
		MaxBytes: cfg.Query.MaxBytes,
		Log:      a.log,
	})
	if err != nil {
		return err
	}

	var ex *store.Exporter
	if cfg.Parquet.Dir != "" {
		if ex, err = db.NewExporter(cfg.Parquet, a.log, nil); err != nil {
			return err
		}
	}
	var pub *relay.Publisher
	if cfg.Relay.Topic != "" && len(cfg.Kafka.Topics) > 0 {
		if pub, err = relay.NewPublisher(db, cfg.Kafka, cfg.Relay, nodeName(cfg.Relay.Node, db.Path), a.log); err != nil {
			return err
		}
	}
	if cfg.Relay.Consume && len(cfg.Kafka.Topics) > 0 {
		return usageError{errors.New("relay.consume: this serve process also ingests kafka.topics; the account-wide process must only apply the relay (its own partitions would count twice): remove kafka.topics from its config, and run the ingest processes separately")}
	}

	// The PostgreSQL endpoint, when serve.postgres.listen is set: the same
	// sandbox as the HTTP API.
	var pg *pgwire.Server
	var pgln net.Listener
	if cfg.Serve.Postgres.Enabled() {
		version, err := engine.DuckDBVersion(ctx)
		if err != nil {
			return err
		}
		if pg, err = pgwire.New(cfg.Serve.Postgres, sandbox, a.log, version, reg); err != nil {
			return usageError{err}
		}
		var lc net.ListenConfig
		if pgln, err = lc.Listen(ctx, "tcp", cfg.Serve.Postgres.Listen); err != nil {
			return fmt.Errorf("listen on %s (serve.postgres.listen): %w (is another process using it? pick another with --postgres-listen)", cfg.Serve.Postgres.Listen, err)
		}
		defer pgln.Close()
	}

	g, gctx := errgroup.WithContext(ctx)
	// What follows the commits (the relay publisher, the Parquet export)
	// runs beside ingest and makes its last pass after ingest's last
	// commit; without ingest it runs until serve stops.
	var after []func(context.Context) error
	if pub != nil {
		a.log.Info("relaying commits", "topic", cfg.Relay.Topic)
		after = append(after, pub.Run)
	}
	if ex != nil {
		a.log.Info("exporting closed segments as parquet", "dir", cfg.Parquet.Dir, "node", ex.Node(), "grace", cfg.Parquet.Grace.String())
		after = append(after, ex.Run)
	}
	if len(cfg.Kafka.Topics) > 0 {
		opts := ingest.Options{
			Kafka: cfg.Kafka, Config: cfg.Ingest, Transform: cfg.Transform, DB: db,
			Logger: a.log, Registerer: reg, Status: st, Relay: pub != nil,
		}
		ingesting.Store(true)
		g.Go(func() error {
			return beside(gctx, func(ctx context.Context) error {
				defer ingesting.Store(false)
				err := ingest.Run(ctx, opts)
				switch {
				case ctx.Err() != nil:
					// serve is stopping: nothing more to say
				case err == nil || errors.Is(err, context.Canceled):
					a.log.Info("ingest stopped; still serving the file")
				case errors.Is(err, store.ErrInvalidated):
					return fmt.Errorf("ingest: %w", err) // the caller opens the file again
				default:
					// Restarting would fail the same way: report it on
					// /healthz and serve on, never exit into a restart loop.
					a.log.Error("ingest stopped; still serving the file, /healthz reports it", "err", err)
					st.Stopped(err)
				}
				return nil
			}, after...)
		})
	} else {
		a.log.Info("no kafka.topics configured: serving the file without ingesting", "db", cfg.DB)
		for _, run := range after {
			g.Go(func() error { return run(gctx) })
		}
	}

	if sched != nil {
		g.Go(func() error { return sched.Run(gctx) })
	}
	if cfg.Relay.Consume {
		ap := relay.NewApplier(db, cfg.Kafka, cfg.Relay, a.log, nil)
		g.Go(func() error {
			err := ap.Run(gctx)
			if err != nil && !errors.Is(err, store.ErrInvalidated) {
				a.log.Error("relay stopped; still serving the file, restart serve to resume it", "topic", cfg.Relay.Topic, "err", err)
				return nil
			}
			return err
		})
	}

	a.log.Info("serving dashboards", "url", "http://"+ln.Addr().String())
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() && cfg.Serve.Token == "" && cfg.Serve.Username == "" {
		a.log.Warn("serving a non-loopback address without authentication: whoever reaches it reads every event",
			"addr", ln.Addr().String(), "to_protect_it", "set serve.token or serve.username/serve.password, or put an authenticating proxy in front (docs/operations.md, Exposing faultline serve)")
	}
	if ready != nil {
		ready("http://" + ln.Addr().String())
	}
	g.Go(func() error { return srv.Serve(gctx, ln) })
	if pg != nil {
		a.log.Info("serving the PostgreSQL wire protocol", "addr", pgln.Addr().String(), "tls", cfg.Serve.Postgres.TLSCert != "", "password", cfg.Serve.Postgres.Password != "")
		g.Go(func() error { return pg.Serve(gctx, pgln) })
	}
	return g.Wait()
}
