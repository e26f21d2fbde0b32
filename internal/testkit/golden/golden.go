// Package golden is the tests' one golden-file helper: compare what a test
// produced with a file under the package's testdata/, or rewrite the file
// with go test's -update flag. It imports only the standard library, so
// any package's tests may use it (transform's and chart's included).
//
// Test code only: product code must not import it.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files instead of comparing with them")

// Update reports whether the test run rewrites golden files (-update).
func Update() bool { return *update }

// Check compares got with the file at path (relative to the test's package
// directory, such as testdata/x.golden), or writes got there with -update.
// A difference fails the test and names the first line that differs.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run '%s' -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s: %s\n(rerun go test -run '%s' -update if the change is intended)", t.Name(), path, firstDifference(got, want), t.Name())
	}
}

// CheckJSON compares v, as indented JSON with a final newline, with the
// file at path, or writes it there with -update.
func CheckJSON(t testing.TB, path string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	Check(t, path, append(got, '\n'))
}

// firstDifference describes the first line on which got and want differ.
func firstDifference(got, want []byte) string {
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(gl) && i < len(wl); i++ {
		if gl[i] != wl[i] {
			return fmt.Sprintf("line %d\n got: %s\nwant: %s", i+1, clip(gl[i]), clip(wl[i]))
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(gl), len(wl))
}

// clip keeps a long line (an SVG, a JSON document) readable in the log.
func clip(s string) string {
	if len(s) > 400 {
		return s[:400] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}
