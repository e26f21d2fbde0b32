package queries

import (
	"strings"
	"testing"
)

// TestCapTable: a named query's Table is cut at query.max_rows and before
// the row that would pass query.max_bytes (values as text), as analyst SQL
// is; Local and serve capped named queries by rows only.
func TestCapTable(t *testing.T) {
	row := []any{strings.Repeat("x", 80), int64(7)} // 100 bytes as rowBytes counts (a number is 20)
	rows := func(n int) [][]any {
		out := make([][]any, n)
		for i := range out {
			out[i] = row
		}
		return out
	}
	for _, c := range []struct {
		name     string
		n        int
		maxRows  int
		maxBytes int64
		want     int
		by       string
	}{
		{"under both", 5, 10, 1000, 5, ""},
		{"rows", 5, 3, 1000, 3, CapRows},
		{"bytes", 50, 100, 1024, 10, CapBytes},
		{"bytes exactly", 10, 100, 1000, 10, ""},
		{"row cap first", 50, 4, 1024, 4, CapRows},
		{"no caps", 50, 0, 0, 50, ""},
	} {
		got := CapTable(Table{Columns: []string{"s", "n"}, Rows: rows(c.n)}, c.maxRows, c.maxBytes)
		if len(got.Rows) != c.want || got.Truncated != (c.by != "") || got.TruncatedBy != c.by {
			t.Errorf("%s: %d rows, truncated %v by %q; want %d rows by %q", c.name, len(got.Rows), got.Truncated, got.TruncatedBy, c.want, c.by)
		}
	}
}
