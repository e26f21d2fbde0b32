package main

import (
	"context"
	"errors"

	"github.com/faultline/faultline/ingest/store"
)

// openDB opens (creating if needed) the DuckDB file at path and applies the
// duckdb: settings. Every command that opens a file goes through it.
func (a *app) openDB(ctx context.Context, path string) (*store.DB, error) {
	db, err := store.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := db.Apply(ctx, a.cfg.DuckDB); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}
