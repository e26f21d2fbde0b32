package queries

import (
	"context"
	"testing"
	"time"
)

// Whatever analyst SQL is sent, the sandbox never panics, never changes the
// data and never unlocks the settings.
func FuzzSandbox(f *testing.F) {
	for _, s := range []string{
		"SELECT count(*) FROM events", "SELECT * FROM read_csv('/etc/passwd')", "COPY events TO '/tmp/x'",
		"ATTACH '/tmp/x.db'", "INSTALL httpfs", "SET enable_external_access=true", "PRAGMA version",
		"DELETE FROM events", "SELECT 1; DELETE FROM events", "CALL checkpoint()", "SELECT * FROM query('DROP TABLE events')",
		"WITH x AS (DELETE FROM events RETURNING *) SELECT * FROM x", "SELECT nextval('s')", "",
	} {
		f.Add(s)
	}
	fx := newFixture(f)
	fx.info("api", "us-east-1", "09:00", 5, 2)
	sb, err := NewSandbox(context.Background(), fx.db.DB, Config{Timeout: 2 * time.Second, MaxRows: 5, MaxBytes: 32 << 20, MaxConcurrent: 4, ExportMaxRows: 100000, ExportMaxBytes: 1 << 30, MemoryLimit: "256MB"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		_, _ = sb.SQL(context.Background(), q)
		var n int
		if err := fx.db.QueryRowContext(t.Context(), "SELECT count(*) FROM events").Scan(&n); err != nil || n != 10 {
			t.Fatalf("after %q: %d events, %v; want 10", q, n, err)
		}
		var ext string
		if err := fx.db.QueryRowContext(t.Context(), "SELECT current_setting('enable_external_access')::VARCHAR").Scan(&ext); err != nil || ext != "false" {
			t.Fatalf("after %q: enable_external_access=%q %v", q, ext, err)
		}
	})
}
