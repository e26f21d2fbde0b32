// Package relay shares what each ingest process committed with every
// serving process, through a compacted Kafka topic (an outbox): the
// Publisher sends the units ingest/store's sink wrote into relay_outbox in
// the same transaction as the events (per Kafka partition of a commit: the
// per-minute counts of errors and of CloudTrail calls by roles, and the
// change, Health, Config and alarm events whole, with the offset range and
// the consumer group generation that read them), keyed
// "<src>/<part>/<first offset>"; the Applier consumes the topic into a
// serving process's own file, keeping for every source offset the latest
// reading's unit, so that its correlation (incidents, suspects, cascade,
// regions) covers the partitions of every process. Raw events stay where
// they were ingested (and in Parquet segments, store.Exporter).
// docs/operations.md, Account-wide answers.
//
// relay imports ingest (Kafka configuration and clients), ingest/store and
// transform; it must not import queries or dashboards.
package relay
