package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/faultline/faultline/dashboards"
	"github.com/faultline/faultline/dashboards/report"
	"github.com/faultline/faultline/ingest"
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
			return runServe(cmd.Context(), a)
		},
	}
	f := cmd.Flags()
	f.String("listen", "", "host:port to serve on (config serve.listen; default 127.0.0.1:8080)")
	f.Duration("refresh", 0, "live refresh interval of the pages while ingesting, 0 = off (config serve.refresh; default 10s)")
	f.StringSlice("brokers", nil, "Kafka bootstrap brokers, comma separated (config kafka.brokers)")
	f.String("postgres-listen", "", "host:port for the PostgreSQL wire protocol, off unless set; without serve.postgres.password only a loopback address (config serve.postgres.listen; docs/postgres.md)")
	a.bind(cmd, map[string]string{"listen": "serve.listen", "refresh": "serve.refresh", "brokers": "kafka.brokers", "postgres-listen": "serve.postgres.listen"})
	return cmd
}

func runServe(ctx context.Context, a *app) error {
	// Without topics to ingest, serve only reads: a mistyped --db must not
	// create and serve an empty file.
	if len(a.cfg.Kafka.Topics) == 0 {
		if err := mustExist(a.cfg.DB); err != nil {
			return err
		}
	} else if _, err := os.Stat(a.cfg.DB); errors.Is(err, os.ErrNotExist) {
		a.log.Info("creating a new database for ingest", "db", a.cfg.DB)
	}
	db, err := a.openDB(ctx, a.cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	return serveDB(ctx, a, db, nil)
}

// serveDB runs ingest (when kafka.topics are configured), the report
// schedules and the HTTP server over db until ctx ends. ready, if not nil,
// is called with the server's base URL once it listens.
func serveDB(ctx context.Context, a *app, db *store.DB, ready func(url string)) error {
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

	// Listen first: a busy address fails before anything starts.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Serve.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another process using it? pick another with --listen)", cfg.Serve.Listen, err)
	}
	defer ln.Close()

	// Build everything that can fail before starting goroutines: an early
	// return must not leave ingest running on a database about to close.
	var ingesting atomic.Bool
	st := &status.Tracker{}
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
		MaxRows: cfg.Query.MaxRows,
		Log:     a.log,
	})
	if err != nil {
		return err
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
		if pgln, err = lc.Listen(ctx, "tcp", cfg.Serve.Postgres.Listen); err != nil {
			return fmt.Errorf("listen on %s (serve.postgres.listen): %w (is another process using it? pick another with --postgres-listen)", cfg.Serve.Postgres.Listen, err)
		}
		defer pgln.Close()
	}

	g, gctx := errgroup.WithContext(ctx)
	if len(cfg.Kafka.Topics) > 0 {
		opts := ingest.Options{
			Kafka: cfg.Kafka, Config: cfg.Ingest, Transform: cfg.Transform, DB: db,
			Logger: a.log, Registerer: reg, Status: st,
		}
		ingesting.Store(true)
		g.Go(func() error {
			defer ingesting.Store(false)
			if err := ingest.Run(gctx, opts); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("ingest: %w", err)
			}
			a.log.Info("ingest stopped; still serving the file")
			return nil
		})
	} else {
		a.log.Info("no kafka.topics configured: serving the file without ingesting", "db", cfg.DB)
	}

	if sched != nil {
		g.Go(func() error { return sched.Run(gctx) })
	}

	a.log.Info("serving dashboards", "url", "http://"+ln.Addr().String())
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
