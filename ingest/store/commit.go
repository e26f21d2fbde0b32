//go:build !faultline_crashtest

package store

// beforeCommit runs inside every batch transaction, after its writes and
// before COMMIT. It does nothing: faultline has no knob here. The crash
// test compiles its own binary with the build tag faultline_crashtest,
// whose beforeCommit (commit_crashtest.go) sleeps to widen the window in
// which a SIGKILL lands inside an open transaction.
func beforeCommit() {}

// directCommitThreshold is directCommitEvents (the crash test's build
// lowers it).
func directCommitThreshold() int64 { return directCommitEvents }
