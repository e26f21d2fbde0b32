// Package transform turns raw input bytes (a Kafka message or a file's
// record) into normalized events, or into dead letters that say why they
// could not be decoded, and builds Arrow record batches of events.
//
// One file per input family: cloudtrail.go, cloudwatch.go, awsevents.go
// (EventBridge: Config, Health, alarms, CodeDeploy/CodePipeline/Auto
// Scaling), app.go (application errors and deploys), otlp.go (OTLP/JSON
// logs); decoder.go holds Decoder.Decode (limits, decompression, base64,
// UTF-8 policy, format detection), severity.go the OpenTelemetry severity
// mapping, catalogue.go the change catalogue, jsonscan.go the iterative JSON
// scanner that validates and depth-checks every value before anything
// parses it, schema.go the Arrow schema and Builder. docs/schema.md
// documents the columns and mappings.
//
// transform is pure: bytes in, events or rejections out. It must not import
// Kafka, DuckDB, net/http or anything that does I/O beyond decompression.
package transform
