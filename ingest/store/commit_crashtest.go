//go:build faultline_crashtest

package store

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// This file is compiled only into the crash tests' binary (go build -tags
// faultline_crashtest, see ingest/crash_test.go and
// ingest/integration): never into faultline.

// CrashTestCommitDelayEnv is how long beforeCommit sleeps inside the
// transaction, as a Go duration ("40ms").
const CrashTestCommitDelayEnv = "FAULTLINE_TEST_COMMIT_DELAY"

var crashTestCommitDelay = func() time.Duration {
	s := os.Getenv(CrashTestCommitDelayEnv)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(fmt.Sprintf("%s=%q: %v", CrashTestCommitDelayEnv, s, err))
	}
	return d
}()

func beforeCommit() { time.Sleep(crashTestCommitDelay) }

// CrashTestDirectEventsEnv lowers directCommitEvents, so that a small first
// batch into the empty table checkpoints at its commit and a kill can land
// in that checkpoint.
const CrashTestDirectEventsEnv = "FAULTLINE_TEST_DIRECT_COMMIT_EVENTS"

func directCommitThreshold() int64 {
	s := os.Getenv(CrashTestDirectEventsEnv)
	if s == "" {
		return directCommitEvents
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("%s=%q: %v", CrashTestDirectEventsEnv, s, err))
	}
	return n
}
