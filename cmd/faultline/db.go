package main

import (
	"context"

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
