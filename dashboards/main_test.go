package dashboards

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them:
// servers, shared cache computations and request handlers must all stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
