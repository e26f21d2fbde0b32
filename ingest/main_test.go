package ingest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them:
// partition readers, committers, Kafka connections and HTTP servers must
// all stop when Run, LoadPaths and Serve return.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
