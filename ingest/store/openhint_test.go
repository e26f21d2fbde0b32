package store

import (
	"errors"
	"strings"
	"testing"
)

// TestOpenHint: a failed open says what to check; only a lock conflict
// talks about another process (a permission error used to get "is another
// faultline process using this file?").
func TestOpenHint(t *testing.T) {
	for msg, want := range map[string]string{
		`IO Error: Could not set lock on file "f.duckdb": Conflicting lock is held in /usr/bin/faultline (PID 7)`: "another process holds it",
		`IO Error: Cannot open file "f.duckdb": Permission denied`:                                                "check the permissions",
		`IO Error: Cannot open file "/x/f.duckdb": No such file or directory`:                                     "its directory does not exist",
		`something else`: "check the path",
	} {
		got := openHint(errors.New(msg))
		if !strings.Contains(got, want) {
			t.Errorf("openHint(%q) = %q, want it to say %q", msg, got, want)
		}
		if want != "another process holds it" && strings.Contains(got, "another process") {
			t.Errorf("openHint(%q) = %q blames another process", msg, got)
		}
	}
}
