package testkit

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// CrashTestBinary builds faultline with the build tag faultline_crashtest
// into a temporary directory and returns its path. That tag compiles in
// ingest/store/commit_crashtest.go: the binary sleeps inside every commit
// transaction for FAULTLINE_TEST_COMMIT_DELAY, so that a test that kills
// it lands many kills with a transaction open. The faultline binary that
// make build produces has no such delay.
func CrashTestBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "faultline-crashtest")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-tags", "duckdb_arrow,faultline_crashtest", "-o", bin,
		"github.com/faultline/faultline/cmd/faultline")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the crash-test binary: %v\n%s", err, out)
	}
	return bin
}
