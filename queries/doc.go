// Package queries holds the correlation engine and analyst SQL: the embedded
// SQL (sql/*.sql: error series, spikes, incidents, suspect candidates,
// regions, topology, change failure rate), the Go that runs it with typed
// parameters and results (Engine, api.go types), the grouping of spikes into
// incidents (grouping.go), the service topology (configured + inferred from
// what the events name, topology.go) and the resources a change touched
// (nodes.go), the suspect score and its evidence (score.go), the analyst SQL
// Sandbox, the Querier seam used by the CLI, reports and dashboards, and the
// table/csv/json/parquet writers. Host names and ARNs are parsed with
// transform's ParseHost/ParseURL/ParseARN (pure functions).
//
// Nothing is cached: every call recomputes from the events table, so late
// events change the next answer. queries reads the DuckDB schema created by
// ingest/store; it must not import ingest's Kafka code or dashboards.
package queries
