package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets this test binary be faultline itself: with
// FAULTLINE_TEST_MAIN=1 it runs main() on its arguments (the security
// suite starts `faultline serve` and `faultline load` as separate
// processes that way), and run as "faultline" it is the command the
// documentation scripts exec (docs_test.go).
func TestMain(m *testing.M) {
	if os.Getenv("FAULTLINE_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	if os.Getenv("FAULTLINE_TEST_PEAK_RSS") == "1" {
		os.Exit(peakRSSLauncher())
	}
	testscript.Main(m, map[string]func(){"faultline": func() { os.Exit(run()) }})
}

// peakRSSLauncher runs faultline (this binary with FAULTLINE_TEST_MAIN=1)
// on its arguments and writes the child's peak RSS to stderr as
// "peak-rss <bytes>". Go starts children with vfork semantics, and Linux
// folds the parent's high-water RSS into the child's Maxrss at exec: a
// child of the test process reports at least the test process's own peak
// (259 MiB in one run, failing a 256 MiB bound the child kept to). Started
// from this small, fresh process instead, Maxrss is faultline's own.
func peakRSSLauncher() int {
	cmd := exec.CommandContext(context.Background(), os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), "FAULTLINE_TEST_MAIN=1", "FAULTLINE_TEST_PEAK_RSS=")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && cmd.ProcessState != nil {
		fmt.Fprintf(os.Stderr, "peak-rss %d\n", ru.Maxrss<<10)
	}
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
