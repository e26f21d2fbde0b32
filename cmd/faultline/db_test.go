package main

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Every command opens the file with the duckdb: settings: query reads the
// memory limit back through the sandbox, from the default and from the
// environment.
func TestDuckDBSettingsApplied(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "s.duckdb")
	if _, _, err := runCmd(ctx, t, "load", "--db", db, "--log-level", "warn", "../../transform/testdata/samples/cloudtrail"); err != nil {
		t.Fatal(err)
	}
	q := "SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t"
	out, _, err := runCmd(ctx, t, "query", "--db", db, "--format", "csv", q)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "1.8 GiB,") { // 2GB, DuckDB prints binary units
		t.Errorf("default duckdb.memory_limit 2GB not applied: %q", out)
	}
	t.Setenv("FAULTLINE_DUCKDB_MEMORY_LIMIT", "512MB")
	t.Setenv("FAULTLINE_DUCKDB_THREADS", "1")
	out, _, err = runCmd(ctx, t, "query", "--db", db, "--format", "csv", q)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "488.2 MiB,1") {
		t.Errorf("FAULTLINE_DUCKDB_MEMORY_LIMIT=512MB / THREADS=1 not applied: %q", out)
	}
	t.Setenv("FAULTLINE_DUCKDB_MEMORY_LIMIT", "plenty")
	_, _, err = runCmd(ctx, t, "query", "--db", db, q)
	if err == nil || !strings.Contains(err.Error(), `duckdb.memory_limit: "plenty" is not allowed`) {
		t.Errorf("a bad memory limit: %v", err)
	}
}

// ingest and load open the file with one DuckDB thread unless
// duckdb.threads says otherwise; the other commands leave DuckDB's
// default (one per core) or the set value.
func TestWriterThreads(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		threads int
		writer  bool
		want    string // "" = DuckDB's default
	}{
		{0, true, "1"},
		{3, true, "3"},
		{0, false, ""},
		{3, false, "3"},
	} {
		a := &app{cfg: defaultConfig()}
		a.cfg.DuckDB.Threads = c.threads
		open := a.openDB
		if c.writer {
			open = a.openWriterDB
		}
		db, err := open(ctx, filepath.Join(t.TempDir(), "w.duckdb"))
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = db.QueryRowContext(ctx, "SELECT current_setting('threads')::VARCHAR").Scan(&got)
		if cerr := db.Close(); err != nil || cerr != nil {
			t.Fatal(err, cerr)
		}
		if c.want == "" {
			if got == "1" && runtime.NumCPU() > 1 {
				t.Errorf("duckdb.threads 0 outside ingest and load: 1 thread on %d cores", runtime.NumCPU())
			}
		} else if got != c.want {
			t.Errorf("duckdb.threads %d, writer %v: DuckDB runs %s threads, want %s", c.threads, c.writer, got, c.want)
		}
	}
}
