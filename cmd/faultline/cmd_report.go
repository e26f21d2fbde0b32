package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline/dashboards/report"
	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/queries"
)

func newReportCmd(a *app) *cobra.Command {
	var since, until, format, out, title, schedule string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write an impact report (markdown, HTML or JSON, with charts) for a time window",
		Long: `report writes an impact report over --since/--until: a summary, then per
incident its window, peak and totals, the suspect changes with their evidence
(the most likely one first), the cascade across services, the affected regions
with the regional concentration warning and the time to recover; and for the
window the change failure rate by change type, service and actor, the top
error sources, dead letters and ingest positions.

Times are RFC 3339 (2025-10-20T07:00:00Z), a date (2025-10-20), now, or
relative to now (-24h, -30m, -7d). Without --since and --until the report
covers the 24 hours up to the latest error in the database (so historical
data is reported, not the empty day before now). A window without events is
an error that says what the database holds.

Formats: md (charts are SVG files in <out>.files/ beside the report), html (one
self-contained file, charts inline) and json (the machine form, same numbers as
faultline query --named ...). Without --out the report goes to standard
output (markdown then has no charts). The format defaults to --out's extension.

--schedule NAME runs one schedule of the reports: config section now (report
in its dir, webhook if configured), as faultline serve would at its cron time,
and prints the report's path. A webhook that does not take the summary after
its retries makes the run fail (exit status 1), the report being written.

The report opens the DuckDB file itself, or, with --server (config
query.server), asks a running faultline serve, which holds the file while it
runs. docs/reports.md.`,
		Example: `  faultline report --since -24h --out outage.md
  faultline report --since 2025-10-20T06:00:00Z --until 2025-10-20T09:00:00Z --format html --out outage.html
  faultline report --since -7d --format json > week.json
  faultline report --server http://127.0.0.1:8080 --since -6h --out last6h.html
  faultline report --schedule daily`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			now := time.Now().UTC()
			if schedule != "" {
				if since != "" || out != "" || format != "" {
					return usageError{errors.New("--schedule takes its window, format and directory from the schedule's config; drop --since, --out and --format")}
				}
				return a.runSchedule(ctx, cmd, schedule, now)
			}
			w, err := reportWindow(since, until, now)
			if err != nil {
				return usageError{err}
			}
			if format == "" {
				switch ext := strings.ToLower(filepath.Ext(out)); ext {
				case "", ".md", ".markdown", ".txt", ".html", ".htm", ".json":
				default:
					// --out outage.pdf used to get markdown under that name.
					return usageError{fmt.Errorf("--out %s: the format cannot be told from %s: name the file .md, .html or .json, or pass --format (md, html or json; print the html to PDF from a browser)", out, ext)}
				}
				format = formatFromExt(out)
			}
			if !slices.Contains(report.Formats, format) {
				return usageError{fmt.Errorf("--format %q is not supported: use md, html or json", format)}
			}
			if err := checkOut(out, "report."+format); err != nil {
				return err
			}
			src, closeSrc, err := a.reportSource(ctx)
			if err != nil {
				return err
			}
			defer closeSrc()
			sp, err := dataSpan(ctx, src, w)
			if err != nil {
				return err
			}
			if since == "" && until == "" {
				w = defaultWindow(sp, now)
				if sp, err = dataSpan(ctx, src, w); err != nil {
					return err
				}
				a.log.Info("no --since/--until: reporting the 24 hours up to the latest error", "since", w.Since.Format(time.RFC3339), "until", w.Until.Format(time.RFC3339))
			}
			if sp.InWindow == 0 {
				return emptyWindowError(w, sp, a.dbLabel())
			}
			r, err := report.Build(ctx, src, report.Options{Title: title, Window: w, Now: now})
			if err != nil {
				return err
			}
			if out == "" {
				rd, err := report.Render(r, format, "")
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(rd.Body)
				return err
			}
			assets := ""
			if format == report.FormatMarkdown {
				assets = report.AssetsDir(out)
			}
			rd, err := report.Render(r, format, assets)
			if err != nil {
				return err
			}
			if err := report.Write(out, rd); err != nil {
				return err
			}
			a.log.Info("report written", "path", out, "format", format, "incidents", r.Summary.Incidents, "files_beside", len(rd.Files)) // chart SVGs written next to a markdown report; HTML inlines them
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "start of the window (RFC 3339, date, now, or relative like -24h); default: 24h before --until")
	f.StringVar(&until, "until", "", "end of the window, exclusive; default: the minute after the latest error (with --since: now)")
	f.StringVar(&format, "format", "", "md, html or json (default: from --out's extension, else md)")
	f.StringVar(&out, "out", "", "write the report to this file (atomically; markdown charts go to <name>.files/)")
	f.StringVar(&title, "title", "", "report title (default \"Impact report\")")
	f.StringVar(&schedule, "schedule", "", "run the configured schedule with this name now")
	f.String("server", "", "URL of a running faultline serve to ask instead of opening the file (config key query.server)")
	f.String("token", "", "bearer token for --server (config key query.token)")
	a.bind(cmd, map[string]string{"server": "query.server", "token": "query.token"})
	return cmd
}

// reportSource returns what reports read (and what the commands ask about
// the data before they report): a running faultline serve when query.server
// is set (--server), else the read model over the DuckDB file opened here.
func (a *app) reportSource(ctx context.Context) (reportReader, func(), error) {
	if c, err := a.serverClient(); err != nil {
		return nil, nil, err
	} else if c != nil {
		return c, func() {}, nil
	}
	db, err := a.openExisting(ctx, a.cfg.DB)
	if err != nil {
		return nil, nil, err
	}
	return a.engine(db), func() { db.Close() }, nil
}

func (a *app) runSchedule(ctx context.Context, cmd *cobra.Command, name string, now time.Time) error {
	var names []string
	for _, sc := range a.cfg.Reports.Schedules {
		names = append(names, sc.Name)
		if sc.Name != name {
			continue
		}
		src, closeSrc, err := a.reportSource(ctx)
		if err != nil {
			return err
		}
		defer closeSrc()
		s, err := report.NewScheduler(a.cfg.Reports, src, a.log.With("component", "reports"))
		if err != nil {
			return err
		}
		path, err := s.Fire(ctx, sc, now)
		var we *report.WebhookError
		if errors.As(err, &we) {
			// The report is written: say where, then fail the run.
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return fmt.Errorf("%w; the report is written to %s: check webhook.url of schedule %s (reports.schedules) and that its receiver is up, then run faultline report --schedule %s again", err, path, name, name)
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(cmd.OutOrStdout(), path)
		return err
	}
	if len(names) == 0 {
		return usageError{fmt.Errorf("--schedule %q: no schedules are configured (add them under reports.schedules; see faultline.example.yaml)", name)}
	}
	hint := ""
	if c := status.Closest(name, names); c != "" {
		hint = " (did you mean " + c + "?)"
	}
	return usageError{fmt.Errorf("--schedule %q is not configured%s: use one of %s", name, hint, strings.Join(names, ", "))}
}

// checkOut says, before any work, that --out cannot be written as a file:
// it names a directory, or its directory does not exist. An empty path is
// standard output. Permissions are left to the write itself. example is a
// file name to suggest inside a directory.
func checkOut(path, example string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usageError{fmt.Errorf("--out %s is a directory: name a file, e.g. --out %s", path, filepath.Join(path, example))}
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return usageError{fmt.Errorf("--out %s: directory %s does not exist: create it first or name a file in an existing directory", path, dir)}
	}
	return nil
}

// formatFromExt picks the report format from a file name: .html/.htm,
// .json, else markdown.
func formatFromExt(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".htm":
		return report.FormatHTML
	case ".json":
		return report.FormatJSON
	}
	return report.FormatMarkdown
}

// reportWindow parses --since/--until; since defaults to 24 hours before
// until, until to now.
func reportWindow(since, until string, now time.Time) (queries.Window, error) {
	u, err := parseWhen(until, now)
	if err != nil {
		return queries.Window{}, fmt.Errorf("--until: %w", err)
	}
	if u.IsZero() {
		u = now
	}
	s, err := parseWhen(since, now)
	if err != nil {
		return queries.Window{}, fmt.Errorf("--since: %w", err)
	}
	if s.IsZero() {
		s = u.Add(-24 * time.Hour)
	}
	if !u.After(s) {
		return queries.Window{}, fmt.Errorf("--until %s is not after --since %s", u.Format(time.RFC3339), s.Format(time.RFC3339))
	}
	return queries.Window{Since: s, Until: u}, nil
}

// engine is the correlation engine over db with the configured topology.
func (a *app) engine(db *store.DB) *queries.Engine {
	return queries.NewEngine(db.DB, a.cfg.Correlation, a.cfg.Topology)
}

// newReportScheduler returns the scheduler faultline serve runs for the
// reports: section, reading through the serve process's engine.
// Run it in serve's errgroup: g.Go(func() error { return s.Run(ctx) });
// it returns nil when ctx ends and never fails the group.
func (a *app) newReportScheduler(eng report.Source) (*report.Scheduler, error) {
	return report.NewScheduler(a.cfg.Reports, eng, a.log.With("component", "reports"))
}

// reportReader is a report.Source that also tells the span of the data
// (*queries.Engine, *client.Client).
type reportReader interface {
	report.Source
	EventSpan(ctx context.Context) (queries.EventSpan, error)
}
