package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

//go:embed segments_list.sql
var segmentsListSQL string

//go:embed segments_rows.sql
var segmentsRowsSQL string

// SegmentsConfig configures the Parquet export of raw events (config
// section parquet). The export is off unless Dir is set.
type SegmentsConfig struct {
	// Dir is the directory the segments are written under, e.g. a shared
	// volume or a mounted object store path; "" turns the export off.
	Dir string `mapstructure:"dir"`
	// Node names this process's file in every segment directory, so that
	// several processes can export into one Dir; "" is <host>-<db file
	// name>. Every process writing to Dir needs its own.
	Node string `mapstructure:"node"`
	// Grace is how long past an hour's end the newest event of the file
	// must be before the hour is closed and exported (late CloudTrail
	// arrives up to ~15 minutes after the fact).
	Grace time.Duration `mapstructure:"grace"`
	// Interval is how often closed segments are looked for.
	Interval time.Duration `mapstructure:"interval"`
}

// DefaultSegmentsConfig: off; when on, hours close 15 minutes after their
// end and are looked for every minute.
func DefaultSegmentsConfig() SegmentsConfig {
	return SegmentsConfig{Grace: 15 * time.Minute, Interval: time.Minute}
}

var nodeRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Validate names every invalid key, its value and what is allowed.
func (c SegmentsConfig) Validate() error {
	var errs []error
	if c.Node != "" && !nodeRE.MatchString(c.Node) {
		errs = append(errs, fmt.Errorf("parquet.node: %q is not allowed: use letters, digits, '.', '_' and '-' (it is part of a file name)", c.Node))
	}
	if c.Grace < 0 {
		errs = append(errs, fmt.Errorf("parquet.grace: %s is not allowed: use 0 or more, e.g. 15m", c.Grace))
	}
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("parquet.interval: %s is not allowed: use a positive duration, e.g. 1m", c.Interval))
	}
	return errors.Join(errs...)
}

// Segment is one exported Parquet file: the events of one source in one
// UTC hour held by this process's file.
type Segment struct {
	Hour   time.Time // start of the hour, UTC
	Source string
	Events int64
	Path   string
}

// Exporter writes closed time segments of the events table as Parquet
// files, hive-partitioned as
//
//	<dir>/date=YYYY-MM-DD/hour=HH/source=<source>/<node>.parquet
//
// A segment is the events of one source in one UTC hour; it is closed
// when the newest event of the file is at least Grace past the hour's end.
// Each file is written to a temporary name in its directory, synced and
// renamed over the final name, so readers see either the old or the new
// file, never part of one; a crash leaves at most a *.tmp file, removed by
// the next export of that segment. A segment is written again when the
// number of events the file holds for it changed (late events, a replay),
// never appended to, so a re-export gives the same file and nothing is
// exported twice. Not safe for concurrent use: run one Run per Exporter.
type Exporter struct {
	db   *DB
	cfg  SegmentsConfig
	node string
	log  *slog.Logger
	mem  memory.Allocator
	done map[segKey]int64 // events of each segment as exported (or found on disk)
}

type segKey struct {
	hour   int64 // hours since the epoch
	source string
}

// NewExporter returns an exporter of db's events; cfg.Dir must be set.
// mem allocates the Arrow batches read from DuckDB (nil: the default).
func (db *DB) NewExporter(cfg SegmentsConfig, log *slog.Logger, mem memory.Allocator) (*Exporter, error) {
	if cfg.Dir == "" {
		return nil, errors.New("parquet.dir is empty: set it to the directory the segments go to")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	node := cfg.Node
	if node == "" {
		host, _ := os.Hostname()
		base := strings.TrimSuffix(filepath.Base(db.Path), filepath.Ext(db.Path))
		node = strings.Trim(regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(host+"-"+base, "_"), "._-")
		if node == "" {
			node = "faultline"
		}
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	// The directory itself is created, its parent must exist: a typo in
	// the path is an error, not a new tree of directories.
	if parent := filepath.Dir(filepath.Clean(cfg.Dir)); !isDir(parent) {
		return nil, fmt.Errorf("parquet.dir %s: its parent directory %s does not exist (check the path, or create it)", cfg.Dir, parent)
	}
	if err := os.Mkdir(cfg.Dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("parquet.dir %s: %w (point parquet.dir at a writable directory)", cfg.Dir, err)
	}
	if !isDir(cfg.Dir) {
		return nil, fmt.Errorf("parquet.dir %s is not a directory: point parquet.dir (--parquet-dir) at a directory, or a new name in an existing one", cfg.Dir)
	}
	return &Exporter{db: db, cfg: cfg, node: node, log: log, mem: mem, done: map[segKey]int64{}}, nil
}

// Node is the name of this process's file in each segment directory.
func (e *Exporter) Node() string { return e.node }

// Run exports closed segments every Interval until ctx ends, then once
// more every segment, the open ones included, so that a cleanly stopped
// process leaves all its events in Parquet (an open segment that grows
// later is written again). An export that fails is logged and retried at
// the next interval: it never stops ingest.
func (e *Exporter) Run(ctx context.Context) error {
	t := time.NewTicker(e.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := e.Export(ctx, false); err != nil && ctx.Err() == nil {
			e.log.Warn("parquet export failed; retrying at the next interval", "dir", e.cfg.Dir, "interval", e.cfg.Interval, "err", err)
		}
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if _, err := e.Export(fctx, true); err != nil {
				e.log.Warn("parquet export at stop failed; the next start exports the missing segments", "dir", e.cfg.Dir, "err", err)
			}
			return nil
		case <-t.C:
		}
	}
}

// Export writes every closed segment (every segment when all is true)
// whose event count differs from its file's, and returns what it wrote.
func (e *Exporter) Export(ctx context.Context, all bool) ([]Segment, error) {
	var closedBefore any // NULL: every hour
	if !all {
		var newest sql.NullTime
		if err := e.db.QueryRowContext(ctx, "SELECT max(time) FROM events").Scan(&newest); err != nil {
			return nil, fmt.Errorf("find the newest event: %w", Classify(err, e.db.Path))
		}
		if !newest.Valid {
			return nil, nil
		}
		closedBefore = newest.Time.Add(-e.cfg.Grace).Truncate(time.Hour).Unix()
	}
	todo, err := e.list(ctx, closedBefore)
	if err != nil {
		return nil, err
	}
	var out []Segment
	for _, s := range todo {
		path := e.path(s.k)
		n, ok := e.done[s.k]
		if !ok {
			n = parquetRows(path) // -1 when absent or unreadable
		}
		if n == s.n {
			e.done[s.k] = n
			continue
		}
		if err := e.write(ctx, s.k, path); err != nil {
			return out, err
		}
		e.done[s.k] = s.n
		out = append(out, Segment{Hour: time.Unix(s.k.hour*3600, 0).UTC(), Source: s.k.source, Events: s.n, Path: path})
		e.log.Info("parquet segment exported", "path", path, "events", s.n, "rewrite", n >= 0)
	}
	return out, nil
}

type seg struct {
	k segKey
	n int64
}

// list returns the segments of hours before closedBefore (epoch seconds;
// nil: all) with their event counts.
func (e *Exporter) list(ctx context.Context, closedBefore any) ([]seg, error) {
	rows, err := e.db.QueryContext(ctx, segmentsListSQL, sql.Named("closed_before", closedBefore))
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", Classify(err, e.db.Path))
	}
	defer rows.Close()
	var out []seg
	for rows.Next() {
		var s seg
		if err := rows.Scan(&s.k.hour, &s.k.source, &s.n); err != nil {
			return nil, fmt.Errorf("list segments: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	return out, nil
}

// path is <dir>/date=YYYY-MM-DD/hour=HH/source=<source>/<node>.parquet.
func (e *Exporter) path(k segKey) string {
	h := time.Unix(k.hour*3600, 0).UTC()
	return filepath.Join(e.cfg.Dir, "date="+h.Format("2006-01-02"), "hour="+h.Format("15"),
		"source="+hivePart(k.source), e.node+".parquet")
}

// hivePart escapes what cannot stand in a path segment as Hive does (%XX).
func hivePart(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || strings.ContainsRune(`"#%'*/:=?\{[]^`, r) {
			fmt.Fprintf(&b, "%%%02X", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// write exports one segment to path: temporary file, sync, rename, sync
// of the directory.
func (e *Exporter) write(ctx context.Context, k segKey, path string) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create segment directory: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("create segment file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("export segment: %w", err)
	}
	defer conn.Close()
	from := k.hour * 3600
	werr := conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rr, err := ar.QueryContext(ctx, segmentsRowsSQL, sql.Named("source", k.source), sql.Named("from", from), sql.Named("to", from+3600))
		if err != nil {
			return Classify(err, e.db.Path)
		}
		defer rr.Release()
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithAllocator(e.mem),
			parquet.WithCreatedBy("faultline"))
		fw, err := pqarrow.NewFileWriter(rr.Schema(), f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(e.mem)))
		if err != nil {
			return err
		}
		for rr.Next() {
			if err := fw.WriteBuffered(rr.RecordBatch()); err != nil {
				fw.Close()
				return err
			}
		}
		if err := rr.Err(); err != nil {
			fw.Close()
			return err
		}
		return fw.Close() // closes f too
	})
	if werr != nil {
		return fmt.Errorf("write segment %s: %w", path, werr)
	}
	// pqarrow closed f; reopen to sync its contents before the rename.
	if err := syncPath(tmp); err != nil {
		return fmt.Errorf("sync segment %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename segment into place: %w", err)
	}
	if err := syncPath(dir); err != nil {
		return fmt.Errorf("sync segment directory %s: %w", dir, err)
	}
	return nil
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// parquetRows is the row count in the footer of the Parquet file at path,
// -1 when there is none or it cannot be read (it is then written again).
func parquetRows(path string) int64 {
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return -1
	}
	defer r.Close()
	return r.NumRows()
}

// isDir reports whether path is an existing directory.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
