// Package queries holds the embedded SQL (error series, spikes, incidents,
// suspects, cascade, regions, change failure rate), the Go that runs it with
// typed parameters and results, topology, and the analyst SQL sandbox.
//
// queries reads the DuckDB schema created by ingest/store; it must not
// import ingest's Kafka code or dashboards.
package queries
