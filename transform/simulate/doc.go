// Package simulate generates synthetic but realistic outage scenarios in the
// real input formats (CloudTrail S3 log files, CloudWatch Logs subscription
// payloads, application error and deploy NDJSON, AWS Health and CloudWatch
// alarm EventBridge events), with background noise, unrelated changes, a
// planted root-cause change and a cascade through a service topology, plus
// the ground truth (truth.json) that faultline eval scores the correlation
// against. The same data is available as Kafka messages per topic for the
// demo and the benchmarks.
//
// Generation is deterministic: the same scenario, seed and Options give the
// same bytes. simulate is pure apart from WriteDir; it must not import
// Kafka, DuckDB or the correlation engine.
package simulate
