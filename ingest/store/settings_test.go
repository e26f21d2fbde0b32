package store

import (
	"context"
	"strings"
	"testing"
)

func TestSettingsApply(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if err := db.Apply(ctx, Settings{MemoryLimit: "512MB", Threads: 1}); err != nil {
		t.Fatal(err)
	}
	var limit, threads string
	if err := db.QueryRowContext(t.Context(), "SELECT current_setting('memory_limit')::VARCHAR, current_setting('threads')::VARCHAR").Scan(&limit, &threads); err != nil {
		t.Fatal(err)
	}
	if limit != "488.2 MiB" || threads != "1" {
		t.Errorf("memory_limit %q threads %q, want 488.2 MiB (512 MB) and 1", limit, threads)
	}
	// "" and 0 leave DuckDB's own values.
	if err := db.Apply(ctx, Settings{}); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(t.Context(), "SELECT current_setting('memory_limit')::VARCHAR").Scan(&limit); err != nil || limit != "488.2 MiB" {
		t.Errorf("empty settings changed memory_limit to %q (%v)", limit, err)
	}
}

func TestSettingsValidate(t *testing.T) {
	for _, c := range []struct {
		s    Settings
		want string // "" = valid
	}{
		{DefaultSettings(), ""},
		{Settings{}, ""},
		{Settings{MemoryLimit: "1.5GiB", Threads: 4}, ""},
		{Settings{MemoryLimit: "lots"}, `duckdb.memory_limit: "lots" is not allowed`},
		{Settings{MemoryLimit: "2GB'; SET x = 1; --"}, "duckdb.memory_limit"},
		{Settings{Threads: -1}, "duckdb.threads: -1 is not allowed"},
		// Accepted by DuckDB, then every query fails.
		{Settings{MemoryLimit: "1KB"}, `duckdb.memory_limit: "1KB" is too small: use at least 64MB`},
		{Settings{MemoryLimit: "63MB"}, "is too small"},
		{Settings{MemoryLimit: "64MB"}, ""}, // the least the message names
		{Settings{MemoryLimit: "64MiB"}, ""},
		{Settings{MemoryLimit: "0.5 GB"}, ""},
	} {
		err := c.s.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.s, err, c.want)
		}
	}
}
