package store

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/faultline/faultline/internal/tick"
	"github.com/faultline/faultline/transform"
)

//go:embed schema.sql
var schemaSQL string

// migrations[v] brings the data of a version v file to version v+1, after
// schema.sql has added the new columns. Version 2 to 3 is a rewrite of the
// file (rewrite, migrate_v3.sql), not an in-place step.
var migrations = map[int]string{
	1: migrateV2SQL,
	3: strings.Replace(migrateV4SQL, "{{rebuild}}", rebuildSQL, 1),
	4: strings.Replace(migrateV5SQL, "{{rebuild}}", rebuildEdgesSQL, 1),
}

//go:embed migrate_v5.sql
var migrateV5SQL string

//go:embed migrate_v2.sql
var migrateV2SQL string

//go:embed migrate_v3.sql
var migrateV3SQL string

// storageVersion is the DuckDB storage format of the files faultline
// writes. v1.5.0 (DuckDB 1.5 and newer read it) lets a column be stored
// with ZSTD, which events.attributes is; files of an older format are
// rewritten once (schema version 3).
const storageVersion = "v1.5.0"

// checkpointThreshold is the WAL size at which DuckDB checkpoints.
const checkpointThreshold = "256MB"

// SchemaVersion is the version schema.sql creates. Version 2 added
// events.cloud_provider; version 3 stores events.attributes with ZSTD in
// DuckDB's storage format v1.5.0; version 4 adds the rollups the sink keeps
// with every commit (error_minutes, activity_minutes, change_events);
// version 5 adds edge_minutes, the dependency evidence per minute.
const SchemaVersion = 5

// rewriteVersion is the schema version below which Open rewrites the file
// (version 3); later versions migrate in place.
const rewriteVersion = 3

// DB is an open faultline DuckDB file.
type DB struct {
	*sql.DB
	Connector *duckdb.Connector
	Path      string
	// threshold is the checkpoint_threshold set (open, Apply), which a
	// sink restores after a batch that checkpointed at its commit.
	threshold string
}

// Open opens (creating if needed) the DuckDB file at path and migrates its
// schema. path "" opens an in-memory database. A file of schema version 2
// or older, or in a DuckDB storage format older than storageVersion, is
// rewritten into a new file that replaces it (see rewrite).
func Open(ctx context.Context, path string) (*DB, error) {
	db, err := open(ctx, path)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return db, nil
	}
	old, err := db.needsRewrite(ctx)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if !old {
		return db, nil
	}
	if err := db.rewrite(ctx); err != nil { // closes db
		return nil, err
	}
	return open(ctx, path)
}

// open opens path and brings its schema up to date in place (every
// version but the storage rewrite).
func open(ctx context.Context, path string) (*DB, error) {
	if strings.ContainsAny(path, "?") {
		return nil, fmt.Errorf("open duckdb %q: a database path may not contain '?': rename the file or its directory", path)
	}
	if err := CheckHeader(path); err != nil {
		return nil, err
	}
	// New files are created in storageVersion; an existing file keeps the
	// format it has until rewrite replaces it.
	c, err := duckdb.NewConnector(path+"?storage_compatibility_version="+storageVersion, nil)
	if err != nil {
		cerr := Classify(err, path)
		var df *DiskFullError
		var dm *DamagedError
		if errors.As(cerr, &df) || errors.As(cerr, &dm) || errors.Is(cerr, ErrInvalidated) {
			return nil, openFailure(path, cerr) // damaged, or no space to replay the WAL
		}
		return nil, fmt.Errorf("open duckdb %q: %w (%s)", path, err, openHint(err))
	}
	db := &DB{DB: sql.OpenDB(c), Connector: c, Path: path, threshold: checkpointThreshold}
	// A batch is tens of MB: with DuckDB's default checkpoint_threshold
	// (16 MB) every commit would also checkpoint. Checkpoint every few
	// batches instead; the WAL replays on the next open after a crash.
	if _, err := db.ExecContext(ctx, "SET checkpoint_threshold = '"+checkpointThreshold+"'"); err != nil {
		db.Close()
		return nil, fmt.Errorf("set checkpoint_threshold: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, openFailure(path, Classify(err, path))
	}
	return db, nil
}

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.ExecContext(ctx, schemaSQL); err != nil {
		// Applying the schema writes (its views are replaced) even when it
		// is current. On a full disk a current file still opens, so that it
		// can be queried, and the first commit says what is wrong.
		var df *DiskFullError
		var version int
		if errors.As(Classify(err, db.Path), &df) && !df.Invalidated &&
			db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&version) == nil && version == SchemaVersion {
			return nil
		}
		return fmt.Errorf("create schema: %w", err)
	}
	var n, version int
	if err := db.QueryRowContext(ctx, "SELECT count(*), coalesce(max(version), 0) FROM schema_version").Scan(&n, &version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if n == 0 {
		if _, err := db.ExecContext(ctx, "INSERT INTO schema_version VALUES (?)", SchemaVersion); err != nil {
			return fmt.Errorf("record schema version: %w", err)
		}
		return nil
	}
	if version > SchemaVersion {
		return fmt.Errorf("%s has schema version %d, newer than this faultline's %d: use the faultline release that wrote it (or a newer one)", db.Path, version, SchemaVersion)
	}
	for ; version < SchemaVersion; version++ {
		if migrations[version] == "" {
			break // the file rewrite (Open) takes it from here
		}
		if err := db.migrateFrom(ctx, version); err != nil {
			return err
		}
	}
	return nil
}

// needsRewrite says whether the file must be rewritten: its schema version
// is below rewriteVersion (3) or its storage format older than storageVersion (a file made by
// another DuckDB tool, even an empty one).
func (db *DB) needsRewrite(ctx context.Context) (bool, error) {
	var version int
	var format string
	err := db.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(version), 0) FROM schema_version),
		coalesce((SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = current_database()), '')`).Scan(&version, &format)
	if err != nil {
		return false, fmt.Errorf("read schema and storage version of %s: %w", db.Path, err)
	}
	return version < rewriteVersion || olderFormat(format, storageVersion), nil
}

// olderFormat compares DuckDB storage versions such as "v1.0.0+" and
// "v1.5.0" by their major and minor numbers.
func olderFormat(have, want string) bool {
	parse := func(v string) (int, int) {
		parts := strings.SplitN(strings.TrimPrefix(strings.TrimSuffix(v, "+"), "v"), ".", 3)
		if len(parts) < 2 {
			return 0, 0
		}
		major, _ := strconv.Atoi(parts[0])
		minor, _ := strconv.Atoi(parts[1])
		return major, minor
	}
	hm, hn := parse(have)
	wm, wn := parse(want)
	return hm < wm || hm == wm && hn < wn
}

// rewrite copies the file, whose schema is at version 2 by now, into a new
// file of DuckDB storage format storageVersion with the version 3 schema
// (migrate_v3.sql), then renames the new file over the old one and closes
// db. A crash before the rename leaves the old file as it was (the partial
// copy is removed on the next try); the rename replaces it whole. It needs
// free disk space for a second copy of the file.
func (db *DB) rewrite(ctx context.Context) error {
	tmp := db.Path + ".v3-migration"
	closed := false
	fail := func(err error) error {
		if !closed {
			err = errors.Join(err, db.Close())
		}
		os.Remove(tmp)
		os.Remove(tmp + ".wal")
		return fmt.Errorf("migrate %s to schema version %d (DuckDB storage %s): %w", db.Path, SchemaVersion, storageVersion, err)
	}
	for _, f := range []string{tmp, tmp + ".wal"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail(err)
		}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fail(err)
	}
	var old string
	if err := conn.QueryRowContext(ctx, "SELECT current_database()").Scan(&old); err != nil {
		conn.Close()
		return fail(err)
	}
	steps := []string{
		"ATTACH " + quoteString(tmp) + " AS faultline_v3 (STORAGE_VERSION '" + storageVersion + "')",
		"USE faultline_v3",
		schemaSQL,
		strings.ReplaceAll(migrateV3SQL, "faultline_old", quoteIdent(old)),
		"USE " + quoteIdent(old),
		"DETACH faultline_v3",
		"CHECKPOINT",
	}
	for _, q := range steps {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "USE "+quoteIdent(old))                   //nolint:errcheck // best effort before DETACH
			conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE IF EXISTS faultline_v3") //nolint:errcheck // best effort
			conn.Close()
			return fail(err)
		}
	}
	err = errors.Join(conn.Close(), db.Close())
	closed = true
	if err != nil {
		return fail(err)
	}
	// The old file was checkpointed and closed: a WAL left beside it would
	// be replayed onto the new file.
	if _, err := os.Stat(db.Path + ".wal"); err == nil {
		return fail(fmt.Errorf("%s.wal is still there after closing the file; nothing was changed", db.Path))
	}
	if err := os.Rename(tmp, db.Path); err != nil {
		return fail(err)
	}
	if d, err := os.Open(filepath.Dir(db.Path)); err == nil {
		d.Sync() //nolint:errcheck // best effort: make the rename durable
		d.Close()
	}
	return nil
}

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
func quoteIdent(s string) string  { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// migrateFrom runs the data migration from version v to v+1 in one
// transaction, saying every migrateProgressEvery that it is still at work:
// versions 4 and 5 read every event, minutes on a file of 100M (serve and
// ingest wait for it).
func (db *DB) migrateFrom(ctx context.Context, v int) error {
	start := time.Now()
	// A count from the row groups' metadata, not a scan; 0 if unreadable.
	var events int64
	db.QueryRowContext(ctx, "SELECT count(*) FROM events").Scan(&events) //nolint:errcheck // only for the log line
	slog.InfoContext(ctx, "migrating the database to a new schema version; this reads every event once (2-3 minutes per 100M events on 2 cores)",
		"db", db.Path, "from", v, "to", v+1, "events", events)
	err := func() error {
		stop := tick.Every(migrateProgressEvery, func() {
			slog.InfoContext(ctx, "still migrating the database", "db", db.Path, "to", v+1, "events", events, "elapsed", time.Since(start).Round(time.Second).String())
		})
		defer stop()
		return db.migrateTx(ctx, v)
	}()
	if err != nil {
		return err
	}
	slog.InfoContext(ctx, "migrated the database", "db", db.Path, "to", v+1, "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// migrateProgressEvery is how often a running migration says so.
const migrateProgressEvery = 15 * time.Second

func (db *DB) migrateTx(ctx context.Context, v int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate schema version %d to %d: %w", v, v+1, err)
	}
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return errors.Join(fmt.Errorf("migrate schema version %d to %d: %w", v, v+1, err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate schema version %d to %d: commit: %w", v, v+1, err)
	}
	return nil
}

// Close closes the database and its connector.
func (db *DB) Close() error {
	err := db.DB.Close()
	if cerr := db.Connector.Close(); err == nil {
		err = cerr
	}
	return err
}

// CheckHeader refuses an existing file that is not a DuckDB file, as the
// *DamagedError DuckDB's own refusal of such a file becomes. DuckDB refuses
// most of them itself, but opens a file named *.csv, *.json or *.parquet
// as a new, empty database and writes it over the data at the first
// checkpoint (DuckDB 1.5.6): --db x.csv in place of the input destroyed the
// input. An empty file is refused too (DuckDB calls an empty x.duckdb
// damaged, and opens an empty x.json). A missing file is a new database;
// a directory or an unreadable file is left to DuckDB's error.
func CheckHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	if st.Size() == 0 {
		return &DamagedError{Path: path, NotDuckDB: true, Detail: "an empty file, not a DuckDB database, so faultline leaves it as it is: check --db, or remove the file and faultline creates a new database there"}
	}
	head := make([]byte, 12)
	n, _ := io.ReadFull(f, head)
	if transform.IsDuckDBFile(head[:n]) {
		return nil
	}
	begin := strings.ToValidUTF8(string(head[:min(n, 8)]), "?")
	return &DamagedError{Path: path, NotDuckDB: true, Detail: fmt.Sprintf("not a DuckDB database file (it begins %q), so faultline leaves it as it is: check --db; records to read go to faultline load; a faultline file damaged from its first byte: docs/operations.md, Damaged database file", begin)}
}

// openFailure adds what to do to a classified error of Open.
func openFailure(path string, err error) error {
	var df *DiskFullError
	if errors.As(err, &df) {
		return fmt.Errorf("open %s: %w: DuckDB writes when it opens a file; free space on %s or move the file to a larger volume, then run again", path, err, df.Volume)
	}
	return err
}

// IsLockConflict reports whether err is DuckDB refusing a file another
// process holds ("Could not set lock on file ...: Conflicting lock is held
// in ..."). It matches those phrases, not the word "lock": "block" is in
// the message of a damaged file.
func IsLockConflict(err error) bool {
	if err == nil {
		return false
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "could not set lock") || strings.Contains(msg, "conflicting lock")
}

// openHint says what to do about a failed open: another process holds the
// file (DuckDB allows one per file), or faultline may not read or write it.
func openHint(err error) string {
	msg := strings.ToLower(err.Error())
	switch {
	case IsLockConflict(err):
		return "another process holds it (DuckDB allows one process per file): stop that process, or write to another --db and combine the files later with faultline merge; a running faultline serve also answers faultline query and report --server URL"
	case strings.Contains(msg, "permission denied"), strings.Contains(msg, "read-only file system"):
		return "faultline may not write it: check the permissions of the file and its directory, or pass --db with a writable path"
	case strings.Contains(msg, "no such file or directory"):
		return "its directory does not exist: create it or pass --db with another path"
	case strings.Contains(msg, "is a directory"):
		return "it is a directory: pass --db with the path of a DuckDB file in it, e.g. DIR/faultline.duckdb"
	}
	return "check the path and that it is a faultline DuckDB file"
}
