// Package transform turns raw input bytes (a Kafka message or a file's
// record) into normalized events, or into dead letters that say why they
// could not be decoded, and builds Arrow record batches of events.
//
// transform is pure: bytes in, events or rejections out. It must not import
// Kafka, DuckDB, net/http or anything that does I/O beyond decompression.
package transform
