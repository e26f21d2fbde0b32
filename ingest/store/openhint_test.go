package store

import (
	"errors"
	"os"
	"path/filepath"
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

// TestOpenRefusesOtherFiles: DuckDB opens a *.csv, *.json or *.parquet
// file that is not a DuckDB file as a new database and overwrites it at
// the first checkpoint; Open refuses every such file and leaves it as it
// was, and an empty file (DuckDB calls an empty x.duckdb damaged and
// opens an empty x.json).
func TestOpenRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"input.csv", "records.json", "events.ndjson", "part.parquet", "notes.txt", "x.duckdb", "short.csv"} {
		content := []byte("eventVersion,eventName\n1.08,PutRolePolicy\n")
		if name == "part.parquet" {
			content = append([]byte("PAR1"), make([]byte, 64)...)
		}
		if name == "short.csv" {
			content = []byte("a,b")
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		db, err := Open(t.Context(), path)
		var dm *DamagedError
		if !errors.As(err, &dm) || !strings.Contains(err.Error(), "not a DuckDB database file") || !strings.Contains(err.Error(), "check --db") {
			if db != nil {
				db.Close()
			}
			t.Errorf("%s: Open = %v, want a DamagedError saying to check --db", name, err)
		}
		if got, _ := os.ReadFile(path); string(got) != string(content) {
			t.Errorf("%s: the file changed (%d bytes, was %d)", name, len(got), len(content))
		}
	}
	for _, name := range []string{"empty.duckdb", "empty.json"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		db, err := Open(t.Context(), path)
		if err == nil {
			db.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "an empty file") || !strings.Contains(err.Error(), "remove the file") {
			t.Errorf("%s: Open = %v, want refused as empty", name, err)
		}
		if st, _ := os.Stat(path); st == nil || st.Size() != 0 {
			t.Errorf("%s: the file changed", name)
		}
	}
	// A missing file is a new database, and a DuckDB file opens again.
	path := filepath.Join(dir, "new.duckdb")
	for range 2 {
		db, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
