// Package produce replays files into Kafka: each file is cut into records
// with transform.SplitFile (CloudTrail Records files and arrays per record,
// NDJSON per line, anything else whole) and each record becomes one message,
// keyed so that one source's events stay in order on one partition.
//
// produce owns the file-to-message mapping and the kafka-go Writer. It must
// not decode events (that is transform's job on the consuming side) nor
// touch the DuckDB store.
package produce
