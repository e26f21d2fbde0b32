package testkit

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// SeedEnv names the environment variable that replays a randomized test.
const SeedEnv = "FAULTLINE_TEST_SEED"

// RandomSeed returns the seed of a randomized test: FAULTLINE_TEST_SEED
// when set, else a fresh one. It logs the seed and how to replay the run,
// so a failure can be reproduced.
func RandomSeed(t testing.TB) uint64 {
	t.Helper()
	if s := os.Getenv(SeedEnv); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: not a seed: use a whole number such as 12345", SeedEnv, s)
		}
		t.Logf("random seed %d (from %s)", n, SeedEnv)
		return n
	}
	n := uint64(time.Now().UnixNano())
	t.Logf("random seed %d: %s=%d replays this run", n, SeedEnv, n)
	return n
}
