// Package store owns the DuckDB file: opening it (new files in DuckDB storage
// format v1.5.0, events.attributes in ZSTD), creating and migrating the
// schema (schema.sql, then migrate_v<N>.sql for files of an older
// SchemaVersion; version 3 rewrites an older file into a new one that
// replaces it; version 4 builds the rollups in place), reading the
// positions ingest resumes from, and the exactly-once Sink that commits a
// batch of events (an Arrow record batch), their rollups (error_minutes,
// activity_minutes, change_events: rollup.go, rollups.sql), dead letters
// and source positions in one transaction on one dedicated connection: the
// only writer of the file. Everything else reads it through
// queries (docs/architecture.md).
//
// store imports transform (the event schema) and DuckDB; it must not import
// ingest, Kafka, queries or dashboards. commit_crashtest.go is compiled only
// into the crash tests' binary (build tag faultline_crashtest).
package store
