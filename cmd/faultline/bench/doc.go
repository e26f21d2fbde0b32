// Package bench measures faultline side by side with the limits of the
// parts it is made of, in one run on one machine, and reports ratios: a raw
// kafka-go consume loop, decode + Arrow from memory, Arrow batches into
// DuckDB, DuckDB's own read_json on the same bytes, faultline end to end,
// and the named correlation queries against the same SQL run directly
// through DuckDB. See docs/benchmarks.md.
//
// Each ingest stage runs in a child process (`faultline bench --stage X`)
// so its peak RSS and CPU time are its own. bench imports every layer
// (transform, ingest, ingest/store, ingest/broker, queries); nothing
// imports bench except cmd/faultline.
package bench
