// Package transform turns raw input bytes (a Kafka message or a file's
// record) into normalized events, or into dead letters that say why they
// could not be decoded, and builds Arrow record batches of events.
//
// One file per input family: cloudtrail.go, cloudwatch.go, awsevents.go
// (EventBridge: Config, Health, alarms, CodeDeploy/CodePipeline/Auto
// Scaling), gcpaudit.go (Google Cloud Logging entries: Cloud Audit Logs and
// log lines, raw or in Pub/Sub envelopes), azureactivity.go (Azure Monitor
// records: Activity Log and resource logs), app.go (application errors and
// deploys), otlp.go (OTLP/JSON logs). Every event carries its cloud
// provider (aws, gcp, azure) in Event.CloudProvider. Around them: decoder.go holds Decoder.Decode (limits, the panic
// guard, dispatch to a family, event and dead-letter emission), envelope.go
// the unwrapping of a record (gzip/zlib, base64, UTF-8 policy, concatenated
// values), format.go the format names and auto-detection, result.go the
// decoder's output types and dead-letter reasons, timeparse.go and aws.go
// the shared time and AWS-name helpers, endpoint.go what a host name, URL or
// ARN refers to (the service and the concrete resource: peer_service here,
// the dependency graph in queries), severity.go the OpenTelemetry
// severity mapping, catalogue.go the change catalogue, jsonscan.go the
// iterative JSON scanner that validates and depth-checks every value before
// anything parses it, schema.go the Arrow schema and builder.go the Builder
// of record batches. docs/schema.md documents the columns and mappings.
//
// The sub-package simulate writes synthetic outages in these input formats
// (it produces inputs; it does not decode them).
//
// transform is pure: bytes in, events or rejections out. It must not import
// Kafka, DuckDB, net/http or anything that does I/O beyond decompression.
package transform
