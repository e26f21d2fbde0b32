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
		`IO Error: Could not read from file "/tmp": Is a directory`:                                               "it is a directory",
		// A damaged file's message has "block" in it: not a lock conflict.
		`the DuckDB file f.duckdb is damaged (not a DuckDB database file: check --db, or its first block is damaged)`: "check the path",
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

// TestIsLockConflict: only DuckDB's lock refusal is a conflict; a damaged
// file's message ("first block is damaged") is not.
func TestIsLockConflict(t *testing.T) {
	for _, c := range []struct {
		msg  string
		want bool
	}{
		{`IO Error: Could not set lock on file "f.duckdb": Conflicting lock is held in /usr/bin/faultline (PID 7)`, true},
		{`the DuckDB file /etc/passwd is damaged (not a DuckDB database file: check --db, or its first block is damaged)`, false},
		{`IO Error: Cannot open file "f.duckdb": Permission denied`, false},
		{`block size mismatch`, false},
	} {
		if got := IsLockConflict(errors.New(c.msg)); got != c.want {
			t.Errorf("IsLockConflict(%q) = %v, want %v", c.msg, got, c.want)
		}
	}
	if IsLockConflict(nil) {
		t.Error("IsLockConflict(nil) = true")
	}
}
