// Package ingest moves raw records from Kafka topics (Run) and files
// (LoadPaths) through transform's decoders into a Sink, in batches,
// advancing source positions only when the sink's transaction commits:
// exactly once per DuckDB file (see docs/ingest.md).
//
// The flow is source -> decode -> batch -> sink. Sources are the Kafka
// partition readers (kafka.go) and the file reader (load.go); pipeline.go
// batches by count, bytes and time, bounds the bytes in flight, and commits
// on one goroutine; Sink (one method) is implemented by ingest/store.
// Metrics and the /metrics and /healthz handlers (metrics.go) are shared
// with `faultline serve`.
//
// ingest knows Kafka (segmentio/kafka-go) and the sink interface; the DuckDB
// details live in ingest/store. It must not import queries or dashboards.
package ingest
