package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClassifyDiskFull: DuckDB's words for a full disk (as it said them in
// the fault suite) become a *DiskFullError naming the file and its volume;
// after a failed checkpoint also ErrInvalidated.
func TestClassifyDiskFull(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		msg         string
		file        string
		invalidated bool
	}{
		{`TransactionContext Error: Failed to commit: Could not write file "` + dir + `/f.duckdb.wal": No space left on device`, dir + "/f.duckdb.wal", false},
		{`FATAL Error: Failed to create checkpoint because of error: Could not write file "` + dir + `/f.duckdb": No space left on device`, dir + "/f.duckdb", true},
		{"FATAL Error: Failed: database has been invalidated because of a previous fatal error. The database must be restarted prior to being used again.\nOriginal error: \"Failed to create checkpoint because of error: Could not write file \"" + dir + "/f.duckdb\": No space left on device\"", dir + "/f.duckdb", true},
		{`IO Error: No space left on device`, dir + "/db.duckdb", false},
	} {
		err := Classify(errors.New(tc.msg), dir+"/db.duckdb")
		var df *DiskFullError
		if !errors.As(err, &df) {
			t.Errorf("%q: %T %v, want a *DiskFullError", tc.msg, err, err)
			continue
		}
		if df.File != tc.file || df.Invalidated != tc.invalidated || errors.Is(err, ErrInvalidated) != tc.invalidated {
			t.Errorf("%q: file %q invalidated %v, want %q %v", tc.msg, df.File, df.Invalidated, tc.file, tc.invalidated)
		}
		if want := "no space left on " + mountPoint(dir); !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: %q, want it to start with %q", tc.msg, err, want)
		}
	}
	if err := Classify(errors.New("Constraint Error: duplicate key"), "x"); err.Error() != "Constraint Error: duplicate key" {
		t.Errorf("an unrelated error changed: %v", err)
	}
}

// TestOpenDamaged damages real files the way disks and copies do and
// opens them: each is a *DamagedError naming the file and what to do,
// never a panic; a torn WAL is no error (DuckDB drops the torn
// transaction).
func TestOpenDamaged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.duckdb")
	db, err := Open(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO ingest_offsets (source, part, next_offset, updated_at) SELECT 'kafka:t', range, range, now() FROM range(50000)"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"bytes flipped in the header", func(b []byte) []byte { copy(b[4096+100:], "\xde\xad\xbe\xef"); return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }},
		{"empty", func([]byte) []byte { return []byte("not a database at all") }},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".duckdb")
		if err := os.WriteFile(path, tc.damage(append([]byte(nil), orig...)), 0o644); err != nil {
			t.Fatal(err)
		}
		db, err := Open(ctx, path)
		if err == nil {
			// Damage DuckDB does not read at open surfaces on reading.
			var n int64
			err = Classify(db.QueryRowContext(ctx, "SELECT sum(next_offset) FROM ingest_offsets").Scan(&n), path)
			db.Close()
		}
		var dm *DamagedError
		if !errors.As(err, &dm) {
			t.Errorf("%s: %T %v, want a *DamagedError", tc.name, err, err)
			continue
		}
		// A file that is not DuckDB's from its first byte may as well be a
		// wrong --db: it names both, and the damaged-file recovery.
		what := "restore it from a backup"
		if dm.NotDuckDB {
			what = "check --db; records to read go to faultline load; a faultline file damaged from its first byte: docs/operations.md, Damaged database file"
		}
		if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, what) {
			t.Errorf("%s: %q does not name the file and what to do", tc.name, msg)
		}
	}
}
