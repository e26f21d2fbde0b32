package queries

import _ "embed"

// BenchmarkEventsSQL fills the events table with $n synthetic events (one
// day, 50 services, 6 regions, ~2% changes, ~5% background errors, 6 error
// bursts) directly in DuckDB. BenchmarkNamedQueries and faultline bench
// measure the named queries on this data. Bind n with sql.Named("n", n).
//
//go:embed benchdata.sql
var BenchmarkEventsSQL string
