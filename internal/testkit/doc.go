// Package testkit is what faultline's tests share: the golden-file helper
// with its one -update flag (golden.go), the event-seeding fixture that
// commits events through ingest's real sink (events.go), and the random
// seed of tests that pick random instants (seed.go).
//
// It is imported by _test.go files only; product code must not import it
// (make lint checks). It may import any faultline package below cmd.
package testkit
