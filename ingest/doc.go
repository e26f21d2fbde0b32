// Package ingest moves raw records from Kafka topics (Run) and files
// (LoadPaths) through transform's decoders into a Sink, in batches,
// advancing source positions only when the sink's transaction commits:
// exactly once per DuckDB file (see docs/ingest.md).
//
// The flow is source -> decode -> batch -> sink. The Kafka source is the
// consumer group (consumer.go), one reader per assigned partition
// (partition.go), the Kafka offset commits and partition handover
// (offsets.go), lag, progress and the caught-up check (progress.go), the
// topics it finds or misses, connectivity probes and a batch run's targets
// and give-up (topics.go) and the TLS/SASL client (transport.go); the file
// source is load.go. What ingest reports about itself (connectivity,
// missing topics, lag, errors) is a value kept in ingest/status. pipeline.go batches by count,
// bytes and time, bounds the bytes in flight, and commits on one goroutine;
// Sink (one method) is implemented by ingest/store. metrics.go holds the
// Prometheus metrics.
//
// ingest knows Kafka (segmentio/kafka-go) and the sink interface; the DuckDB
// details live in ingest/store. It must not import queries or dashboards.
package ingest
