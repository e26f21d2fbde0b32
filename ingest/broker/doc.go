// Package broker runs an embedded, in-process Kafka-protocol broker
// (github.com/twmb/franz-go/pkg/kfake) for local use, the demo and tests:
// kafka-go clients produce to it, consume from it and join consumer groups
// exactly as they would with Apache Kafka.
//
// broker owns only the embedded broker's lifecycle and topics. It must not
// import transform, the DuckDB store or anything of the ingest pipeline; it
// is test and demo infrastructure, never on the production data path.
package broker
