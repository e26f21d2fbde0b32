package queries

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Parameters are bound by DuckDB: the wall checks the statement with its
// placeholders, and a value that looks like SQL stays a value.
func TestSandboxParameters(t *testing.T) {
	f, sb := newSandbox(t, DefaultConfig())
	ctx := context.Background()
	var c Collect
	sum, err := sb.StreamArgs(ctx, "SELECT count(*) AS n FROM events WHERE kind = $1 AND time >= $2", []any{"error", "2000-01-01 00:00:00+00"}, &c)
	if err != nil {
		t.Fatal(err)
	}
	tab := c.Done(sum)
	var want int64
	if err := f.db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE kind = 'error'").Scan(&want); err != nil {
		t.Fatal(err)
	}
	if want == 0 {
		t.Fatal("the fixture has no errors")
	}
	if got := tab.Rows[0][0]; got != want {
		t.Fatalf("count with parameters = %v, want %v", got, want)
	}
	c = Collect{}
	sum, err = sb.StreamArgs(ctx, "SELECT $1::VARCHAR AS v", []any{"x'; DROP TABLE events; --"}, &c)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Done(sum).Rows[0][0]; got != "x'; DROP TABLE events; --" {
		t.Fatalf("a parameter came back as %v", got)
	}
	c = Collect{}
	sum, err = sb.StreamArgs(ctx, "SELECT time FROM events WHERE time < $1 ORDER BY time LIMIT 1", []any{time.Now()}, &c)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Done(sum); len(got.Rows) != 1 {
		t.Fatalf("time parameter: %d rows", len(got.Rows))
	}
	// A parameter cannot smuggle a file in: the functions that would read one
	// are refused whatever their argument.
	if _, err := sb.StreamArgs(ctx, "SELECT * FROM read_csv($1)", []any{"/etc/passwd"}, &Collect{}); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("read_csv($1) was not refused: %v", err)
	}
}

func TestSandboxDescribe(t *testing.T) {
	_, sb := newSandbox(t, DefaultConfig())
	d, err := sb.Describe(context.Background(), "SELECT time, service, severity_number, attributes, [service] AS l FROM events WHERE kind = $1 LIMIT $2")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range d.Columns {
		got = append(got, c.Name+" "+c.Type)
	}
	want := "time TIMESTAMPTZ|service VARCHAR|severity_number INTEGER|attributes JSON|l VARCHAR[]"
	if strings.Join(got, "|") != want {
		t.Fatalf("columns %q, want %q", strings.Join(got, "|"), want)
	}
	if strings.Join(d.Params, ",") != "VARCHAR,BIGINT" {
		t.Fatalf("parameter types %q", d.Params)
	}
	if _, err := sb.Describe(context.Background(), "DROP TABLE events"); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("Describe(DROP) = %v", err)
	}
}

func TestSandboxExportCaps(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxRows, cfg.ExportMaxRows = 5, 50
	_, sb := newSandbox(t, cfg)
	var c Collect
	sum, err := sb.Export(context.Background(), "SELECT * FROM range(100)", &c)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 50 || sum.TruncatedBy != CapExportRows {
		t.Fatalf("export: %d rows, truncated by %q; want 50 by %s", sum.Rows, sum.TruncatedBy, CapExportRows)
	}
	sum, err = sb.Stream(context.Background(), "SELECT * FROM range(100)", &Collect{})
	if err != nil || sum.Rows != 5 || sum.TruncatedBy != CapRows {
		t.Fatalf("stream: %d rows by %q, %v", sum.Rows, sum.TruncatedBy, err)
	}
}
