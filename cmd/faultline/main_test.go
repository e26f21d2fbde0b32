package main

import (
	"os"
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
	testscript.Main(m, map[string]func(){"faultline": func() { os.Exit(run()) }})
}
