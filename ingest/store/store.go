package store

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

//go:embed schema.sql
var schemaSQL string

// migrations[v] brings the data of a version v file to version v+1, after
// schema.sql has added the new columns.
var migrations = map[int]string{1: migrateV2SQL}

//go:embed migrate_v2.sql
var migrateV2SQL string

// checkpointThreshold is the WAL size at which DuckDB checkpoints.
const checkpointThreshold = "256MB"

// SchemaVersion is the version schema.sql creates. Version 2 added
// events.cloud_provider.
const SchemaVersion = 2

// DB is an open faultline DuckDB file.
type DB struct {
	*sql.DB
	Connector *duckdb.Connector
	Path      string
}

// Open opens (creating if needed) the DuckDB file at path and migrates its
// schema. path "" opens an in-memory database.
func Open(ctx context.Context, path string) (*DB, error) {
	c, err := duckdb.NewConnector(path, nil)
	if err != nil {
		cerr := Classify(err, path)
		var df *DiskFullError
		var dm *DamagedError
		if errors.As(cerr, &df) || errors.As(cerr, &dm) || errors.Is(cerr, ErrInvalidated) {
			return nil, openFailure(path, cerr) // damaged, or no space to replay the WAL
		}
		return nil, fmt.Errorf("open duckdb %q: %w (%s)", path, err, openHint(err))
	}
	db := &DB{DB: sql.OpenDB(c), Connector: c, Path: path}
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
		if err := db.migrateFrom(ctx, version); err != nil {
			return err
		}
	}
	return nil
}

// migrateFrom runs the data migration from version v to v+1 in one
// transaction.
func (db *DB) migrateFrom(ctx context.Context, v int) error {
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

// openFailure adds what to do to a classified error of Open.
func openFailure(path string, err error) error {
	var df *DiskFullError
	if errors.As(err, &df) {
		return fmt.Errorf("open %s: %w: DuckDB writes when it opens a file; free space on %s or move the file to a larger volume, then run again", path, err, df.Volume)
	}
	return err
}

// openHint says what to do about a failed open: another process holds the
// file (DuckDB allows one per file), or faultline may not read or write it.
func openHint(err error) string {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "lock"):
		return "another process holds it: DuckDB allows one process per file; stop it, or ask a running faultline serve with --server URL"
	case strings.Contains(msg, "permission denied"), strings.Contains(msg, "read-only file system"):
		return "faultline may not write it: check the permissions of the file and its directory, or pass --db with a writable path"
	case strings.Contains(msg, "no such file or directory"):
		return "its directory does not exist: create it or pass --db with another path"
	}
	return "check the path and that it is a faultline DuckDB file"
}
