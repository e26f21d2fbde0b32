// Package ingest moves raw records from Kafka topics and files through
// transform's decoders into the DuckDB sink, in batches, advancing source
// positions only when the sink's transaction commits (exactly once).
//
// ingest knows Kafka (segmentio/kafka-go) and the sink interface; the DuckDB
// details live in ingest/store. It must not import queries or dashboards.
package ingest
