package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/faultline/faultline/transform"
)

// writeV1File writes a faultline DuckDB file as version 1 wrote it: the
// version 1 schema and one row per kind of source.
func writeV1File(t *testing.T, path string) {
	t.Helper()
	schema, err := os.ReadFile(filepath.Join("testdata", "schema_v1.sql"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	stmts := []string{string(schema), "INSERT INTO schema_version VALUES (1)"}
	for i, r := range []struct{ id, source, attrs string }{
		{"ct", "cloudtrail", `{"eventSource":"ec2.amazonaws.com"}`},
		{"cw", "cloudwatch", `{}`},
		{"cfg", "config", `{}`},
		{"hl", "health", `{}`},
		{"al", "alarm", `{}`},
		{"eb", "eventbridge", `{}`},
		{"cd", "deploy", `{"detail-type":"CodeDeploy Deployment State-change Notification","source":"aws.codedeploy"}`},
		{"appdeploy", "deploy", `{"version":"1.4.2"}`},
		{"app-gcp", "app", `{"cloud.provider":"GCP"}`},
		{"app-platform", "app", `{"cloud.platform":"azure_aks"}`},
		{"app-none", "app", `{"env":"prod"}`},
		{"otlp-aws", "otlp", `{"cloud.provider":"aws"}`},
	} {
		stmts = append(stmts, "INSERT INTO events (event_id, time, observed_time, source, kind, attributes, src_offset, src_index) VALUES ('"+
			r.id+"', now(), now(), '"+r.source+"', 'info', '"+r.attrs+"', "+fmt.Sprint(i)+", 0)")
	}
	for _, q := range stmts {
		if _, err := raw.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestMigrateV1: opening a version 1 file adds events.cloud_provider in
// place (last column, so Arrow batches still insert by position), fills it
// for the existing rows, records version 2, and new batches commit.
func TestMigrateV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.duckdb")
	writeV1File(t, path)
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v := count(t, db, "SELECT max(version) FROM schema_version"); v != SchemaVersion {
		t.Fatalf("schema version %d, want %d", v, SchemaVersion)
	}
	if n := count(t, db, "SELECT count(*) FROM schema_version"); n != 1 {
		t.Fatalf("%d schema_version rows", n)
	}
	want := map[string]string{"ct": "aws", "cw": "aws", "cfg": "aws", "hl": "aws", "al": "aws", "eb": "aws", "cd": "aws",
		"appdeploy": "", "app-gcp": "gcp", "app-platform": "azure", "app-none": "", "otlp-aws": "aws"}
	rows, err := db.QueryContext(t.Context(), "SELECT event_id, coalesce(cloud_provider, '') FROM events")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			t.Fatal(err)
		}
		got[id] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id, p := range want {
		if got[id] != p {
			t.Errorf("%s: cloud_provider %q, want %q", id, got[id], p)
		}
	}
	var cols []string
	crow, err := db.QueryContext(t.Context(), "SELECT column_name FROM duckdb_columns() WHERE table_name = 'events' ORDER BY column_index")
	if err != nil {
		t.Fatal(err)
	}
	defer crow.Close()
	for crow.Next() {
		var c string
		if err := crow.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if err := crow.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(cols, ",") != strings.Join(transform.Columns, ",") {
		t.Fatalf("migrated columns %v\nwant %v", cols, transform.Columns)
	}
	// A batch commits into the migrated file, and opening it again changes nothing.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s, err := db.NewSink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := testEvents(mem, "app", 0, 10)
	err = s.Commit(ctx, &Batch{Events: rec, Positions: []Position{{Source: "kafka:app", Part: 0, Next: 10}}})
	rec.Release()
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT count(*) FROM events WHERE cloud_provider = 'gcp'"); n != 11 {
		t.Fatalf("gcp events after commit = %d, want 11", n)
	}
	if n := count(t, db, "SELECT count(*) FROM errors WHERE cloud_provider = 'gcp'"); n != 10 { // the views see the column
		t.Fatalf("gcp errors = %d, want 10", n)
	}
	db.Close()
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT count(*) FROM events"); n != 22 {
		t.Fatalf("events after reopen = %d", n)
	}
}

// TestMigrateRefusesNewer: a file of a newer schema is left alone.
func TestMigrateRefusesNewer(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.duckdb")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), "UPDATE schema_version SET version = ?", SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), "newer than this faultline") {
		t.Fatalf("open of a newer file: %v", err)
	}
}

// TestMergeMigrates: merge refuses a version 1 file and says how to migrate
// it; once opened (migrated), it merges with its providers filled.
func TestMergeMigrates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old := filepath.Join(dir, "v1.duckdb")
	writeV1File(t, old)
	target, err := Open(ctx, filepath.Join(dir, "merged.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if _, err := target.Merge(ctx, old); err == nil || !strings.Contains(err.Error(), "older than this faultline's") || !strings.Contains(err.Error(), "faultline query --db") {
		t.Fatalf("merge of a version 1 file: %v", err)
	}
	db, err := Open(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	sum, err := target.Merge(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != 12 || count(t, target, "SELECT count(*) FROM events WHERE cloud_provider = 'aws'") != 8 {
		t.Fatalf("merged %+v, aws rows %d", sum, count(t, target, "SELECT count(*) FROM events WHERE cloud_provider = 'aws'"))
	}
}
