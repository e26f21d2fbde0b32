//go:build integration

package integration

import "testing"
import "os"

func brokers(t *testing.T) []string {
	b := os.Getenv("FAULTLINE_IT_BROKERS")
	if b == "" {
		t.Fatal("FAULTLINE_IT_BROKERS is not set: run make test-integration")
	}
	return []string{b}
}
