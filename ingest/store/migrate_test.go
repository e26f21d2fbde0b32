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
	checkRollups(t, db)
	if n := count(t, db, "SELECT sum(events) FROM activity_minutes"); n != 12 {
		t.Errorf("activity_minutes holds %d events after migrating, want 12", n)
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

// writeV2File writes a faultline DuckDB file as version 2 wrote it: DuckDB's
// default storage format (v1.0.0), the version 2 schema, events with
// attributes, a dead letter and positions.
func writeV2File(t *testing.T, path string, events int) {
	t.Helper()
	schema, err := os.ReadFile(filepath.Join("testdata", "schema_v2.sql"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{string(schema), "INSERT INTO schema_version VALUES (2)",
		fmt.Sprintf(`INSERT INTO events (event_id, time, observed_time, source, kind, service, attributes, src_topic, src_partition, src_offset, src_index, cloud_provider)
		 SELECT 'ev-' || i, TIMESTAMPTZ '2025-10-20 07:00:00+00' + to_seconds(i), TIMESTAMPTZ '2025-10-20 08:00:00+00',
		        CASE WHEN i %% 50 = 0 THEN 'cloudtrail' ELSE 'app' END, CASE WHEN i %% 50 = 0 THEN 'change' ELSE 'error' END, 'checkout',
		        '{"requestParameters":{"roleName":"role-' || (i %% 7) || '","id":"' || md5(i::VARCHAR) || '"},"n":' || i || '}',
		        'app', 0, i, 0, 'aws'
		 FROM range(%d) t(i)`, events),
		`INSERT INTO dead_letters VALUES (TIMESTAMPTZ '2025-10-20 08:00:00+00', 'invalid_json', 'not JSON', 'app', '\x7b'::BLOB, 1, 'app', 0, 99999, NULL, 0)`,
		`INSERT INTO ingest_offsets VALUES ('kafka:app', 0, 100000, TIMESTAMPTZ '2025-10-20 08:00:00+00', NULL), ('file:/x.json', 0, 3, TIMESTAMPTZ '2025-10-20 08:00:00+00', '3:abc')`,
	} {
		if _, err := raw.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// storageOf returns the DuckDB storage format of db's file.
func storageOf(t *testing.T, db *DB) string {
	t.Helper()
	var v string
	if err := db.QueryRowContext(context.Background(), "SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = current_database()").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// compressionOf returns the compressions DuckDB chose for a column's data
// segments, after a checkpoint.
func compressionOf(t *testing.T, db *DB, column string) []string {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(context.Background(), "SELECT DISTINCT compression FROM pragma_storage_info('events') WHERE column_name = ? AND segment_type <> 'VALIDITY' ORDER BY 1", column)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrateV2: a version 2 file (DuckDB storage v1.0.0, attributes stored
// as DuckDB chose) is rewritten into storage v1.5.0 with attributes in ZSTD,
// every row, dead letter and position kept exactly, the views working, no
// temporary file left behind, and batches commit into it afterwards.
func TestMigrateV2(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "v2.duckdb")
	const n = 130_000 // more than a row group, so compression is chosen on full segments
	writeV2File(t, path, n)
	// A partial copy from an interrupted migration is discarded.
	if err := os.WriteFile(path+".v3-migration", []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	var before string
	raw, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRowContext(ctx, "SELECT md5(string_agg(event_id || time || source || kind || attributes || src_offset || cloud_provider, ',' ORDER BY src_offset)) FROM events").Scan(&before); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v := storageOf(t, db); !strings.HasPrefix(v, storageVersion) {
		t.Errorf("storage version %q after migration, want %s", v, storageVersion)
	}
	if v := count(t, db, "SELECT max(version) FROM schema_version"); v != SchemaVersion || count(t, db, "SELECT count(*) FROM schema_version") != 1 {
		t.Errorf("schema version %d", v)
	}
	checkRollups(t, db) // the rewrite to version 3, then version 4 in place
	var after string
	if err := db.QueryRowContext(ctx, "SELECT md5(string_agg(event_id || time || source || kind || attributes || src_offset || cloud_provider, ',' ORDER BY src_offset)) FROM events").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before || count(t, db, "SELECT count(*) FROM events") != n {
		t.Errorf("events changed by the migration: %d rows, digest %s, want %s", count(t, db, "SELECT count(*) FROM events"), after, before)
	}
	if got := count(t, db, "SELECT count(*) FROM changes"); got != n/50 {
		t.Errorf("changes view: %d rows, want %d", got, n/50)
	}
	if got := count(t, db, "SELECT count(*) FROM events WHERE attributes->>'$.requestParameters.roleName' = 'role-3'"); got != n/7 {
		t.Errorf("attributes->>: %d rows, want %d", got, n/7)
	}
	if got := count(t, db, "SELECT count(*) FROM dead_letters WHERE reason = 'invalid_json' AND raw = '\\x7b'::BLOB AND src_offset = 99999"); got != 1 {
		t.Errorf("dead letter not kept")
	}
	if next, fp, ok, err := db.FilePosition(ctx, "file:/x.json"); err != nil || !ok || next != 3 || fp != "3:abc" {
		t.Errorf("file position %d %q %v %v", next, fp, ok, err)
	}
	if offs, err := db.Offsets(ctx, "kafka:app"); err != nil || offs[0] != 100000 {
		t.Errorf("offsets %v %v", offs, err)
	}
	if got := compressionOf(t, db, "attributes"); strings.Join(got, ",") != "ZSTD" {
		t.Errorf("attributes stored as %v, want ZSTD", got)
	}
	for _, f := range []string{path + ".v3-migration", path + ".v3-migration.wal"} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", f, err)
		}
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s, err := db.NewSink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := testEvents(mem, "app", n, 10)
	err = s.Commit(ctx, &Batch{Events: rec, Positions: []Position{{Source: "kafka:app", Part: 0, Next: n + 10}}})
	rec.Release()
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, "SELECT count(*) FROM errors"); got != n-n/50+10 {
		t.Errorf("errors after a commit: %d", got)
	}
}

// TestNewFileStorage: a new file is in storage v1.5.0 and keeps attributes
// in ZSTD; opening it again does not rewrite it.
func TestNewFileStorage(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.duckdb")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s, err := db.NewSink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := testEvents(mem, "app", 0, 70_000)
	err = s.Commit(ctx, &Batch{Events: rec, Positions: []Position{{Source: "kafka:app", Part: 0, Next: 70_000}}})
	rec.Release()
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := compressionOf(t, db, "attributes"); strings.Join(got, ",") != "ZSTD" {
		t.Errorf("attributes stored as %v, want ZSTD", got)
	}
	db.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v := storageOf(t, db); !strings.HasPrefix(v, storageVersion) {
		t.Errorf("storage version %q, want %s", v, storageVersion)
	}
	st2, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(st, st2) {
		t.Error("a version 3 file was rewritten on open")
	}
}

// TestOpenRefusesQuestionMark: DuckDB's connection string would cut the
// path at '?', so such a path is refused with what to do.
func TestOpenRefusesQuestionMark(t *testing.T) {
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "what?.duckdb"))
	if err == nil || !strings.Contains(err.Error(), "may not contain '?'") {
		t.Fatalf("open of a path with '?': %v", err)
	}
}
