// Package queries is the read model: the only package that reads the
// DuckDB file that ingest/store writes. It holds the correlation engine and
// analyst SQL: the embedded SQL (sql/*.sql: error series, spikes, incidents,
// suspect candidates, regions, topology, change failure rate, and the
// listings and ingest state the reports and dashboards show), the one loader
// and parameter binder for it (sql.go: named $parameters only), the Go that
// runs it with typed parameters and results (Engine; results.go and
// reads.go hold the result types, Window the one time window; series.go
// reads the large "series" result as Arrow batches and orders it in Go;
// spikeminutes.go tests each minute of the series against its baseline in
// Go, the one stage not written in SQL), the grouping of spikes into incidents (grouping.go), the service topology (configured +
// inferred from what the events name, topology.go) and the resources a
// change touched (nodes.go), the suspect score and its evidence (score.go),
// the analyst SQL Sandbox (sandbox.go: its parser wall in wall.go, caps
// inside DuckDB, concurrency slots; Stream/StreamArgs send rows to a
// RowWriter as they come, with parameters bound by DuckDB, Export with the
// export caps, Describe without running: the one way analyst SQL reaches
// DuckDB for the CLI, the HTTP API, the console, the PostgreSQL endpoint and
// downloads), the correlation's answers as table functions for analyst SQL
// (tablefunc.go: faultline_incidents(), faultline_suspects()), the Querier
// seam used by the CLI, and the table/csv/json/parquet writers (streaming
// FormatWriters that render each row into one reused buffer without
// reflection; AppendJSON, which the HTTP API shares; Parquet in row
// groups). Host names and ARNs are parsed with transform's
// ParseHost/ParseURL/ParseARN (pure functions).
//
// Nothing is cached: every call recomputes from the events table, so late
// events change the next answer. queries reads the DuckDB schema created by
// ingest/store; it must not import ingest's Kafka code, dashboards or cmd.
package queries
