package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/faultline/faultline/internal/testkit/golden"
	"github.com/faultline/faultline/transform"
)

// mixedEvents is a batch of every shape the rollups group by: kinds,
// NULL service/region/provider/code/peer, CloudTrail errors made by an
// assumed role (one with a newline in its actor), two topics and files.
// Event i has offset from+i and time t0 + minute*i/4 seconds.
func mixedEvents(mem memory.Allocator, l transform.Lineage, from, n int, t0 time.Time) arrow.RecordBatch {
	b := transform.NewBuilder(mem)
	defer b.Release()
	kinds := []string{transform.KindError, transform.KindError, transform.KindInfo, transform.KindChange, transform.KindSignal}
	for i := 0; i < n; i++ {
		k := from + i
		e := transform.Event{
			EventID: fmt.Sprintf("%s%s-%d", l.Topic, filepath.Base(l.File), k), Time: t0.Add(time.Duration(k) * 15 * time.Second), ObservedTime: t0,
			Source: transform.SourceApp, Kind: kinds[k%len(kinds)], Service: []string{"checkout", "cart", ""}[k%3],
			Region: []string{"us-east-1", "", "eu-west-1", "us-east-1"}[k%4], CloudProvider: []string{"aws", "", "gcp"}[k%3],
			ErrorCode: []string{"", "Timeout", "AccessDenied"}[k%3], PeerService: []string{"", "payments", "", "", "dynamodb"}[k%5],
			Attributes: fmt.Sprintf(`{"n":%d}`, k),
			Lineage:    transform.Lineage{Topic: l.Topic, Partition: l.Partition, File: l.File, Offset: int64(k)},
		}
		if k%7 == 0 {
			e.Source = transform.SourceCloudTrail
			e.Actor = []string{"arn:aws:sts::123456789012:assumed-role/deployer/ci-42", "arn:aws:iam::123456789012:user/alice",
				"arn:aws:sts::1:assumed-role/a\nx:assumed-role/b/c"}[k%3]
		}
		if e.Kind == transform.KindChange {
			e.ChangeType, e.RiskClass, e.Operation = "deploy", "high", "Deploy"
		}
		b.Append(&e)
	}
	return b.NewRecordBatch()
}

var rollupT0 = time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)

// commitMixed commits mixedEvents [from, from+n) of l and the position
// after them.
func commitMixed(t *testing.T, s *Sink, l transform.Lineage, from, n int, t0 time.Time, replace bool) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := mixedEvents(mem, l, from, n, t0)
	defer rec.Release()
	src := "kafka:" + l.Topic
	if l.File != "" {
		src = "file:" + l.File
	}
	b := &Batch{Events: rec, Positions: []Position{{Source: src, Part: l.Partition, Next: int64(from + n)}}}
	if replace {
		b.ReplaceFiles = []string{l.File}
	}
	if err := s.Commit(t.Context(), b); err != nil {
		t.Fatal(err)
	}
}

func checkRollups(t *testing.T, db *DB) {
	t.Helper()
	if err := db.CheckRollups(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, m := count(t, db, "SELECT count(*) FROM events WHERE kind = 'change'"), count(t, db, "SELECT count(*) FROM changes"); n != m {
		t.Errorf("changes view has %d rows, events %d changes", m, n)
	}
}

// The rollups the sink keeps commit by commit equal a recomputation from
// the events: after several partitions and topics, late events (into
// minutes already rolled up), and a file reloaded with other contents.
func TestRollupsMatchEvents(t *testing.T) {
	db := openTemp(t)
	s, err := db.NewSink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a0, a1 := transform.Lineage{Topic: "app"}, transform.Lineage{Topic: "app", Partition: 1}
	ct := transform.Lineage{Topic: "cloudtrail"}
	f := transform.Lineage{File: "/data/trail.json"}
	commitMixed(t, s, a0, 0, 200, rollupT0, false)
	commitMixed(t, s, a1, 0, 150, rollupT0, false)
	commitMixed(t, s, ct, 0, 90, rollupT0, false)
	commitMixed(t, s, f, 0, 40, rollupT0, false)
	checkRollups(t, db)
	// Late events: the next offsets of app[0] hold times back in minutes
	// that already have rows.
	commitMixed(t, s, a0, 200, 100, rollupT0.Add(-50*time.Minute), false)
	// The file changed: reloaded whole, its old rows replaced.
	commitMixed(t, s, f, 0, 25, rollupT0.Add(time.Hour), true)
	checkRollups(t, db)

	late := count(t, db, `SELECT count(*) FROM (SELECT minute FROM error_minutes WHERE src = 'kafka:app' AND part = 0
		GROUP BY minute HAVING count(DISTINCT first_offset) > 1)`)
	if late == 0 {
		t.Error("no minute holds rows of two commits: the late events did not land in rolled-up minutes")
	}
	// Each commit's rows carry its range: app[0] made [0,200) and [200,300).
	var units string
	if err := db.QueryRowContext(t.Context(), `SELECT string_agg(DISTINCT first_offset || '-' || next_offset, ',' ORDER BY first_offset || '-' || next_offset)
		FROM (SELECT first_offset, next_offset FROM error_minutes WHERE src = 'kafka:app' AND part = 0
		      UNION ALL SELECT first_offset, next_offset FROM activity_minutes WHERE src = 'kafka:app' AND part = 0
		      UNION ALL SELECT first_offset, next_offset FROM change_events WHERE src = 'kafka:app' AND part = 0)`).Scan(&units); err != nil {
		t.Fatal(err)
	}
	if units != "0-200,200-300" {
		t.Errorf("app[0] units %q, want 0-200,200-300", units)
	}
	if n := count(t, db, "SELECT sum(events) FROM activity_minutes WHERE src = 'file:/data/trail.json'"); n != 25 {
		t.Errorf("the reloaded file has %d events in activity_minutes, want 25", n)
	}
	if n := count(t, db, "SELECT count(*) FROM activity_minutes WHERE src = 'file:/data/trail.json' AND first_offset <> 0"); n != 0 {
		t.Errorf("%d rows of the reloaded file do not start at 0", n)
	}
}

// CheckRollups finds a rollup that no longer matches the events.
func TestCheckRollupsFindsDifferences(t *testing.T) {
	db := openTemp(t)
	s, err := db.NewSink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	commitMixed(t, s, transform.Lineage{Topic: "app"}, 0, 50, rollupT0, false)
	for _, q := range []string{
		"UPDATE error_minutes SET errors = errors + 1 WHERE rowid = (SELECT min(rowid) FROM error_minutes)",
		"DELETE FROM change_events WHERE rowid = (SELECT min(rowid) FROM change_events)",
		"INSERT INTO activity_minutes SELECT * FROM activity_minutes LIMIT 1",
		"UPDATE edge_minutes SET ref = ref || 'x' WHERE rowid = (SELECT min(rowid) FROM edge_minutes)",
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	err = db.CheckRollups(t.Context())
	for _, table := range rollupTables {
		if err == nil || !strings.Contains(err.Error(), table+" differs") {
			t.Errorf("CheckRollups = %v, want it to name %s", err, table)
		}
	}
}

// The golden rows of one small commit: what the tables hold, per key.
func TestRollupsGolden(t *testing.T) {
	db := openTemp(t)
	s, err := db.NewSink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	commitMixed(t, s, transform.Lineage{Topic: "app"}, 0, 20, rollupT0, false)
	commitMixed(t, s, transform.Lineage{Topic: "app"}, 20, 10, rollupT0.Add(-2*time.Minute), false)
	var out strings.Builder
	for _, q := range []string{
		`SELECT src, part, first_offset, next_offset, strftime(minute, '%H:%M'), service, region, cloud_provider, error_code, peer_service, role, errors,
		        strftime(first_time, '%H:%M:%S'), strftime(last_time, '%H:%M:%S')
		 FROM error_minutes ORDER BY ALL`,
		`SELECT src, part, first_offset, next_offset, strftime(minute, '%H:%M'), service, region, cloud_provider, kind, events,
		        strftime(first_time, '%H:%M:%S'), strftime(last_time, '%H:%M:%S')
		 FROM activity_minutes ORDER BY ALL`,
		`SELECT src, part, first_offset, next_offset, event_id, strftime(time, '%H:%M:%S'), service, region, change_type, src_offset FROM change_events ORDER BY ALL`,
		`SELECT src, part, first_offset, next_offset, strftime(minute, '%H:%M'), from_service, origin, ref, events FROM edge_minutes ORDER BY ALL`,
	} {
		out.WriteString(tableText(t, db, q))
		out.WriteString("\n")
	}
	golden.Check(t, "testdata/rollups.golden", []byte(out.String()))
}

// A version 3 file (no rollup tables) gains them, built from its events,
// one unit per source partition covering [0, its stored position).
func TestMigrateV3(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v3.duckdb")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.NewSink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	commitMixed(t, s, transform.Lineage{Topic: "app"}, 0, 120, rollupT0, false)
	commitMixed(t, s, transform.Lineage{Topic: "app"}, 120, 80, rollupT0, false)
	commitMixed(t, s, transform.Lineage{File: "/x.json"}, 0, 30, rollupT0, false)
	s.Close()
	// What version 3 had: no rollup tables, changes a view of events.
	for _, q := range []string{"DROP VIEW changes", "DROP TABLE error_minutes", "DROP TABLE activity_minutes", "DROP TABLE change_events", "DROP TABLE edge_minutes",
		"CREATE VIEW changes AS SELECT * FROM events WHERE kind = 'change'", "UPDATE schema_version SET version = 3"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v := count(t, db, "SELECT max(version) FROM schema_version"); v != SchemaVersion {
		t.Errorf("schema version %d, want %d", v, SchemaVersion)
	}
	checkRollups(t, db)
	var units string
	if err := db.QueryRowContext(ctx, `SELECT string_agg(DISTINCT src || '[' || part || ']' || first_offset || '-' || next_offset, ',' ORDER BY src || '[' || part || ']' || first_offset || '-' || next_offset) FROM activity_minutes`).Scan(&units); err != nil {
		t.Fatal(err)
	}
	if units != "file:/x.json[0]0-30,kafka:app[0]0-200" {
		t.Errorf("units after migration %q", units)
	}
	if n := count(t, db, "SELECT sum(errors) FROM error_minutes"); n != count(t, db, "SELECT count(*) FROM events WHERE kind = 'error'") || n == 0 {
		t.Errorf("error_minutes holds %d errors", n)
	}
}

// A version 4 file (no edge_minutes) gains it, built from its events, one
// unit per source partition covering [0, its stored position).
func TestMigrateV4(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v4.duckdb")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.NewSink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	commitMixed(t, s, transform.Lineage{Topic: "app"}, 0, 120, rollupT0, false)
	commitMixed(t, s, transform.Lineage{Topic: "app", Partition: 2}, 0, 80, rollupT0, false)
	s.Close()
	stored := tableText(t, db, "SELECT minute, from_service, origin, ref, CAST(sum(events) AS BIGINT) FROM edge_minutes GROUP BY ALL ORDER BY ALL")
	for _, q := range []string{"DROP TABLE edge_minutes", "UPDATE schema_version SET version = 4"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v := count(t, db, "SELECT max(version) FROM schema_version"); v != SchemaVersion {
		t.Errorf("schema version %d, want %d", v, SchemaVersion)
	}
	checkRollups(t, db)
	if got := tableText(t, db, "SELECT minute, from_service, origin, ref, CAST(sum(events) AS BIGINT) FROM edge_minutes GROUP BY ALL ORDER BY ALL"); got != stored || strings.Count(got, "\n") < 3 {
		t.Errorf("edge_minutes after migration:\n%s\nwant what the sink wrote:\n%s", got, stored)
	}
	units := tableText(t, db, "SELECT DISTINCT src, part, first_offset, next_offset FROM edge_minutes ORDER BY ALL")
	if want := "src | part | first_offset | next_offset\nkafka:app | 0 | 0 | 120\nkafka:app | 2 | 0 | 80\n"; units != want {
		t.Errorf("units after migration:\n%s\nwant\n%s", units, want)
	}
}

// tableText is the result of q as text: a header, then one line per row,
// NULL for NULL.
func tableText(t *testing.T, db *DB, q string) string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out strings.Builder
	out.WriteString(strings.Join(cols, " | ") + "\n")
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		line := make([]string, len(cols))
		for i, v := range vals {
			line[i] = "NULL"
			if v.Valid {
				line[i] = v.String
			}
		}
		out.WriteString(strings.Join(line, " | ") + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// Evicting a relayed unit (a process applying the relay replaces it) takes
// its rollups with its events.
func TestRollupsOfEvictedRelayUnit(t *testing.T) {
	db := openTemp(t)
	s, err := db.NewSink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := Unit{Src: "kafka:app", Part: 0, First: 0, Next: 40, Generation: 1, Node: "n1"}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := mixedEvents(mem, transform.Lineage{File: u.Tag()}, 0, 40, rollupT0)
	defer rec.Release()
	if err := s.Commit(t.Context(), &Batch{Events: rec, Relay: []Unit{u}}); err != nil {
		t.Fatal(err)
	}
	checkRollups(t, db)
	if n := count(t, db, "SELECT sum(events) FROM activity_minutes WHERE src = ?", "file:"+u.Tag()); n != 40 {
		t.Fatalf("the relayed unit has %d events in activity_minutes, want 40", n)
	}
	if err := s.Commit(t.Context(), &Batch{Evict: []Unit{u}}); err != nil {
		t.Fatal(err)
	}
	checkRollups(t, db)
	if n := count(t, db, "SELECT (SELECT count(*) FROM activity_minutes) + (SELECT count(*) FROM error_minutes) + (SELECT count(*) FROM change_events)"); n != 0 {
		t.Errorf("%d rollup rows left after evicting the unit", n)
	}
}

// The rollup rows of a commit are stored in key order, minute first, both
// as the sink writes them and as RebuildRollups (the migration, merge)
// does: their times then bit-pack into fewer bytes (docs/benchmarks.md,
// issue 19 part 7).
func TestRollupRowsInKeyOrder(t *testing.T) {
	db := openTemp(t)
	s, err := db.NewSink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	commitMixed(t, s, transform.Lineage{Topic: "app"}, 0, 600, rollupT0, false)
	orders := map[string]string{
		"error_minutes":    "minute, service, region, cloud_provider, error_code, peer_service, role",
		"activity_minutes": "minute, service, region, cloud_provider, kind",
	}
	check := func(when string) {
		t.Helper()
		for table, key := range orders {
			var stored, sorted string
			q := `SELECT string_agg(concat_ws('|', ` + key + `), ';' ORDER BY %s) FROM ` + table
			if err := db.QueryRowContext(t.Context(), fmt.Sprintf(q, "rowid")).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRowContext(t.Context(), fmt.Sprintf(q, key)).Scan(&sorted); err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, "SELECT count(*) FROM "+table); n < 50 {
				t.Fatalf("%s has %d rows: too few to tell an order", table, n)
			}
			if stored != sorted {
				t.Errorf("%s: %s rows are not stored in key order (%s)", when, table, key)
			}
		}
	}
	check("sink")
	if err := RebuildRollups(t.Context(), db.DB); err != nil {
		t.Fatal(err)
	}
	check("RebuildRollups")
	checkRollups(t, db)
}
