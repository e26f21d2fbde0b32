package main

import (
	"context"
	"errors"
	"os"

	"github.com/faultline/faultline/ingest/store"
)

// openDB opens (creating if needed) the DuckDB file at path with the duckdb:
// settings. Every command that opens a file goes through it.
func (a *app) openDB(ctx context.Context, path string) (*store.DB, error) {
	return store.OpenWith(ctx, path, a.cfg.DuckDB)
}

// openWriterDB opens the file for a command that only writes it (ingest,
// load) with the duckdb: settings for a writer (store.Settings.ForWriter).
func (a *app) openWriterDB(ctx context.Context, path string) (*store.DB, error) {
	return store.OpenWith(ctx, path, a.cfg.DuckDB.ForWriter())
}

// newFile notes whether the command is about to create the DuckDB file at
// path; its discard removes that file again if the command failed before
// writing anything to it.
type newFile struct {
	path    string
	created bool
}

func aboutToOpen(path string) newFile {
	_, err := os.Lstat(path)
	return newFile{path: path, created: errors.Is(err, os.ErrNotExist)}
}

// closeOrDiscard closes db and, when the command failed (failed != nil)
// or was stopped (a streaming ingest's Ctrl-C) on a file it created that
// holds no event, dead letter or position, removes the file: a failed
// first ingest (a missing topic, no broker), an ingest stopped before the
// first message or a merge that failed (a source another process holds)
// used to leave an empty database behind, which the next run then took
// for a real one.
func (a *app) closeOrDiscard(db *store.DB, f newFile, failed error, stopped bool) error {
	if db == nil {
		return failed
	}
	empty := false
	if (failed != nil || stopped) && f.created {
		var n int64
		err := db.QueryRowContext(context.Background(), `SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM dead_letters) + (SELECT count(*) FROM ingest_offsets)`).Scan(&n)
		empty = err == nil && n == 0
	}
	cerr := db.Close()
	if !empty {
		return errors.Join(failed, cerr)
	}
	if err := removeDB(f.path); err != nil {
		a.log.Warn("could not remove the empty database this run created", "db", f.path, "err", err)
	} else {
		a.log.Info("removed the empty database this run created: nothing was written to it", "db", f.path)
	}
	return failed
}

// removeDB removes the DuckDB file at path and its WAL, if any.
func removeDB(path string) error {
	return errors.Join(os.Remove(path), removeIfExists(path+".wal"))
}
