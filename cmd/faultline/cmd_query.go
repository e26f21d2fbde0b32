package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/queries"
)

func newQueryCmd(a *app) *cobra.Command {
	var (
		named, since, until, format, out string
	)
	cmd := &cobra.Command{
		Use:   `query ["SELECT ..." | --named NAME]`,
		Short: "Run analyst SQL (sandboxed) or a named correlation query",
		Long: `query runs one read-only SQL statement over the events (tables events,
dead_letters; views changes, errors) in a sandbox: no file, network or
extension access, settings locked, query.timeout, query.max_rows and
query.max_bytes applied. Rows are written as they arrive; a result cut by a
cap ends with a "truncated" line (table, csv) and a warning on stderr.

--named runs a correlation query over --since/--until:
  incidents, suspects, cascade, regions, change-failure-rate, series, spikes, topology
(docs/query.md lists their columns; docs/correlation.md explains the method).

Times are RFC 3339 (2025-10-20T07:00:00Z) or relative to now (-2h, -30m, -7d, now).
Output: table on a terminal, json (an array of objects) otherwise; csv; parquet
(needs --out FILE). With --out and no --format the format comes from the
file's extension: .csv, .json, .parquet, .txt (table); any other extension
gets json. A --format that contradicts the extension is an error.`,
		Example: `  faultline query "SELECT service, count(*) FROM errors GROUP BY ALL ORDER BY 2 DESC LIMIT 10"
  faultline query --named incidents --since -24h
  faultline query --named suspects --since 2025-10-20T06:00:00Z --until 2025-10-20T09:00:00Z --format json
  faultline query --named change-failure-rate --since -7d --format csv > cfr.csv
  faultline query --named series --since -2h --format parquet --out series.parquet
  faultline query --named suspects --since -24h --out suspects.csv
  faultline --db /var/lib/faultline/faultline.duckdb query "DESCRIBE events"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("query takes one SQL statement, got %d arguments: quote the SQL, e.g. faultline query \"SELECT count(*) FROM errors\"", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if (len(args) == 1) == (named != "") {
				return usageError{errors.New(`give either one SQL statement ("SELECT ...") or --named NAME, not both or neither`)}
			}
			if len(args) == 1 && (since != "" || until != "") {
				return usageError{errors.New("--since and --until apply to --named queries; put the time range in the SQL's WHERE clause")}
			}
			now := time.Now().UTC()
			var w queries.Window
			var err error
			if w.Since, err = parseWhen(since, now); err != nil {
				return usageError{fmt.Errorf("--since: %w", err)}
			}
			if w.Until, err = parseWhen(until, now); err != nil {
				return usageError{fmt.Errorf("--until: %w", err)}
			}
			if !w.Since.IsZero() && !w.Until.IsZero() && !w.Until.After(w.Since) {
				return usageError{fmt.Errorf("--until %s is not after --since %s: swap them, or widen the window", w.Until.Format(time.RFC3339), w.Since.Format(time.RFC3339))}
			}
			if format, err = queryFormat(format, out, isTerminal(cmd.OutOrStdout())); err != nil {
				return usageError{err}
			}
			if format == "parquet" && out == "" {
				return usageError{errors.New("--format parquet needs --out FILE")}
			}
			if err := checkOut(out, "result."+format); err != nil {
				return err
			}
			// A misspelt name is a usage error before anything is opened.
			if _, ok := queries.CanonicalName(named); named != "" && !ok {
				return usageError{queries.UnknownQueryError(named, status.Closest(named, queries.NamedQueries))}
			}
			// An export to a file is not cut by the on-screen caps
			// (query.max_rows, query.max_bytes: it is streamed to the file)
			// unless --max-rows or --max-bytes is given.
			export := out != "" && !cmd.Flags().Changed("max-rows") && !cmd.Flags().Changed("max-bytes")
			q, sr, closeQ, err := a.querier(ctx, export)
			if err != nil {
				return err
			}
			defer closeQ()
			var sum queries.Summary
			if named != "" {
				// An empty window is an error that says what the database holds.
				sp, err := dataSpan(ctx, sr, w)
				if err != nil {
					return err
				}
				if sp.InWindow == 0 {
					return emptyWindowError(w, sp, a.dbLabel())
				}
				t, err := q.Named(ctx, named, w)
				if errors.Is(err, queries.ErrUnknownQuery) {
					return usageError{err}
				}
				if err != nil {
					return err
				}
				sum, err = writeResult(cmd.OutOrStdout(), format, out, func(rw queries.RowWriter) (queries.Summary, error) { return queries.StreamTable(t, rw) })
				if err != nil {
					return err
				}
			} else {
				sum, err = writeResult(cmd.OutOrStdout(), format, out, func(rw queries.RowWriter) (queries.Summary, error) { return q.Stream(ctx, args[0], rw) })
				if err != nil {
					return err
				}
			}
			if sum.Truncated && export {
				return fmt.Errorf("the export to %s was cut at %d rows by the server's %s: raise it on the server, or stop serve and run query against the file", out, sum.Rows, sum.TruncatedBy)
			}
			if sum.Truncated {
				a.log.Warn("result "+sum.Notice(), "rows", sum.Rows, "cap", sum.TruncatedBy)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&named, "named", "", "named query: "+strings.Join(queries.NamedQueries, ", "))
	f.StringVar(&since, "since", "", "start of the window (RFC 3339 or relative like -2h); default: all data")
	f.StringVar(&until, "until", "", "end of the window, exclusive (RFC 3339 or relative); default: now and later")
	f.StringVar(&format, "format", "", "table, csv, json or parquet (default: from --out's extension .txt, .csv, .json or .parquet, else table on a terminal, else json)")
	f.StringVar(&out, "out", "", "write to this file instead of standard output (required for parquet)")
	f.Duration("timeout", 0, "statement timeout (config key query.timeout)")
	f.Int("max-rows", 0, "most rows returned (config key query.max_rows)")
	f.Int64("max-bytes", 0, "most result bytes returned, values counted as text (config key query.max_bytes)")
	f.String("server", "", "URL of a running faultline serve (config key query.server)")
	f.String("token", "", "bearer token for --server (config key query.token; prefer FAULTLINE_QUERY_TOKEN)")
	a.bind(cmd, map[string]string{"timeout": "query.timeout", "max-rows": "query.max_rows", "max-bytes": "query.max_bytes", "server": "query.server", "token": "query.token"})
	return cmd
}

// outFormats are the formats an --out file's extension selects; the first
// extension of a format is the one suggested for it.
var outFormats = []struct{ ext, format string }{
	{".csv", "csv"}, {".json", "json"}, {".parquet", "parquet"}, {".txt", "table"},
}

// queryFormat is the format query writes: --format when given (an error if
// it is not supported, or contradicts --out's extension), else the one
// --out's extension names (.csv, .json, .parquet, .txt), else table on a
// terminal, else json.
func queryFormat(format, out string, terminal bool) (string, error) {
	ext := strings.ToLower(filepath.Ext(out))
	byExt := ""
	for _, o := range outFormats {
		if o.ext == ext {
			byExt = o.format
		}
	}
	switch {
	case format == "" && byExt != "":
		return byExt, nil
	case format == "" && out == "" && terminal:
		return "table", nil
	case format == "":
		return "json", nil
	case !validFormat(format):
		return "", fmt.Errorf("--format %q is not supported: use %s", format, strings.Join(queries.Formats, ", "))
	case byExt != "" && byExt != format:
		want := ""
		for _, o := range outFormats {
			if o.format == format && want == "" {
				want = o.ext
			}
		}
		return "", fmt.Errorf("--format %s contradicts --out %s (a %s file gets %s): drop --format to write %s, or name the file %s for %s", format, out, ext, byExt, byExt, want, format)
	}
	return format, nil
}

func validFormat(f string) bool {
	for _, x := range queries.Formats {
		if f == x {
			return true
		}
	}
	return false
}

// writeResult runs produce with a writer for format, on standard output or
// the file out, and returns how the result ended. Rows are written as they
// arrive (parquet: collected, within the caps, then written) through a
// 64 KiB buffer, flushed at the end and when producing fails, so what was
// written before an error still arrives.
func writeResult(stdout io.Writer, format, out string, produce func(queries.RowWriter) (queries.Summary, error)) (sum queries.Summary, err error) {
	if format == "parquet" {
		var c queries.Collect
		if sum, err = produce(&c); err != nil {
			return sum, err
		}
		return sum, queries.WriteParquet(out, c.Done(sum))
	}
	w := stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return sum, fmt.Errorf("--out: %w", err)
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		w = f
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	defer func() {
		// Runs before the file's Close (deferred earlier).
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
	}()
	fw, err := queries.NewWriter(bw, format)
	if err != nil {
		return sum, err
	}
	if sum, err = produce(fw); err != nil {
		return sum, err
	}
	return sum, fw.Finish(sum)
}

// querier returns what answers queries: a running server when query.server
// is set, else the DuckDB file opened in this process.
func (a *app) querier(ctx context.Context, export bool) (queries.Querier, spanReader, func(), error) {
	// A running faultline serve holds the file: ask it over HTTP.
	if c, err := a.serverClient(); err != nil {
		return nil, nil, nil, err
	} else if c != nil {
		return c, c, func() {}, nil
	}
	db, err := a.openExisting(ctx, a.cfg.DB)
	if err != nil {
		return nil, nil, nil, err
	}
	qc := a.cfg.Query
	if export {
		// As good as no cap (the sandbox asks DuckDB for MaxRows+1 rows
		// and compares running sizes with MaxBytes: no overflow).
		qc.MaxRows, qc.MaxBytes = math.MaxInt32, math.MaxInt64/2
	}
	l, err := queries.NewLocal(ctx, db.DB, qc, a.cfg.Correlation, a.cfg.Topology)
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return l, l.Engine, func() { db.Close() }, nil
}

// dbLabel names what query and report read: the server or the file.
func (a *app) dbLabel() string {
	if a.cfg.Query.Server != "" {
		return "at " + a.cfg.Query.Server
	}
	return a.cfg.DB
}

// openExisting opens a DuckDB file that must already exist, explaining the
// one-process-per-file rule when another process holds it.
func (a *app) openExisting(ctx context.Context, path string) (*store.DB, error) {
	if err := mustExist(path); err != nil {
		return nil, err
	}
	db, err := a.openDB(ctx, path)
	if err != nil {
		if store.IsLockConflict(err) {
			// DuckDB's own words (which process), without the store's
			// hint for writers (merge): this advice is a reader's.
			cause := err
			if u := errors.Unwrap(err); u != nil {
				cause = u
			}
			return nil, fmt.Errorf("database %s is in use by another process (a faultline serve, ingest, load or query; DuckDB allows one process per file): if it is a faultline serve, ask it with --server URL; otherwise wait for it or stop it (%w)", path, cause)
		}
		return nil, err
	}
	return db, nil
}

// mustExist says, in one line, that the database file is missing (with a
// close existing name: a typo must not create an empty file) or unreadable.
func mustExist(path string) error {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("database %s: %w (check its permissions)", path, err)
	}
	if near := nearbyDatabase(path); near != "" {
		return fmt.Errorf("database %s does not exist (did you mean %s?): pass --db %s, or load events into a new file with faultline load / faultline ingest", path, near, near)
	}
	return fmt.Errorf("database %s does not exist: pass --db FILE, or load events first (faultline load / faultline ingest)", path)
}

// nearbyDatabase is the .duckdb file in path's directory closest to its
// name, or "".
func nearbyDatabase(path string) string {
	dir := filepath.Dir(path)
	matches, _ := filepath.Glob(filepath.Join(dir, "*.duckdb"))
	names := make([]string, 0, len(matches))
	for _, m := range matches {
		names = append(names, filepath.Base(m))
	}
	c := status.Closest(filepath.Base(path), names)
	if c == "" {
		return ""
	}
	if dir == "." && !strings.HasPrefix(path, "./") {
		return c
	}
	return filepath.Join(dir, c)
}

// parseWhen parses an RFC 3339 time, "now", or a duration relative to now
// such as -2h, -30m, -7d (d = 24h).
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, nil
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+"):
		d, err := parseRelative(s)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2025-10-20T07:00:00Z), a date (2025-10-20), now, or a relative time like -2h, -30m, -7d", s)
}

func parseRelative(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		n, err := strconv.ParseFloat(strings.TrimSuffix(s, "d"), 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a relative time like -7d", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a relative time like -2h or -30m", s)
	}
	return d, nil
}
