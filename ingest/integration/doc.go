// Package integration holds the tests that run against a real Apache Kafka
// broker (build tag "integration"). Run them with `make test-integration`,
// which fetches Kafka, starts it on a free local port and sets
// FAULTLINE_IT_BROKERS, FAULTLINE_IT_KAFKA_CTL and FAULTLINE_IT_BIN; see
// docs/testing.md. Without the tag this package is empty.
//
// The tests drive faultline as users do (the built binary) and check the
// results with kafka-go; they import the packages under test, never the
// other way round.
package integration
