//go:build integration

package integration

import "testing"

func TestSmoke(t *testing.T) {
	brokers(t)
}
