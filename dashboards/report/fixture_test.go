package report

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -tags duckdb_arrow ./dashboards/report -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (rerun with -update if the change is intended)\n--- got:\n%s", t.Name(), path, got)
	}
}

// fixtureDay is the day of the hand-built outage.
var fixtureDay = time.Date(2025, 10, 20, 0, 0, 0, 0, time.UTC)

// clock returns "HH:MM[:SS]" on fixtureDay.
func clock(s string) time.Time {
	layout := "15:04"
	if len(s) > 5 {
		layout = "15:04:05"
	}
	c, err := time.Parse(layout, s)
	if err != nil {
		panic(err)
	}
	return fixtureDay.Add(time.Duration(c.Hour())*time.Hour + time.Duration(c.Minute())*time.Minute + time.Duration(c.Second())*time.Second)
}

// fixtureDB is an in-memory store holding a hand-built outage on
// 2025-10-20: quiet background traffic and errors from 06:00, a route
// table change at 07:01:30 in us-east-1 that breaks dynamodb-backed
// orders (07:04), then checkout (07:06) and frontend (07:08) until
// 07:30; decoy changes (a tag change, a deploy in eu-west-1, an IAM change
// an hour earlier); a few dead letters; and ingest positions.
type fixtureDB struct {
	t  testing.TB
	db *store.DB
}

func newFixtureDB(t testing.TB) *fixtureDB {
	t.Helper()
	db, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixtureDB{t: t, db: db}

	for _, s := range []struct{ svc, region string }{
		{"orders", "us-east-1"}, {"checkout", "us-east-1"}, {"frontend", "us-east-1"}, {"search", "eu-west-1"},
	} {
		f.info(s.svc, s.region, "06:00", 120, 6)
		f.errors(s.svc, s.region, "06:00", 120, 0, "BackgroundError", "", 5) // one error every 5 minutes
	}
	f.errors("orders", "us-east-1", "07:04", 26, 30, "DynamoDBTimeout", "dynamodb", 0)
	f.errors("checkout", "us-east-1", "07:06", 24, 20, "UpstreamTimeout", "orders", 0)
	f.errors("frontend", "us-east-1", "07:08", 22, 12, "HTTP503", "checkout", 0)
	f.errors("search", "eu-west-1", "07:20", 2, 1, "IndexBusy", "", 0)

	f.change("ct-route", "07:01:30", "cloudtrail", "ec2", "ReplaceRoute", "us-east-1", "rtb-0a1b2c3d", "alice", "networking", "critical")
	f.change("ct-iam", "06:05:00", "cloudtrail", "iam", "PutRolePolicy", "us-east-1", "arn:aws:iam::111122223333:role/orders", "bob", "iam", "high")
	f.change("ct-tag", "06:58:00", "cloudtrail", "orders", "TagResource", "us-east-1", "orders-asg", "dave", "tags", "low")
	f.change("dp-search", "07:02:00", "deploy", "search", "deploy", "eu-west-1", "search:3.1.0", "ci-bot", "deploy", "medium")

	f.exec(`INSERT INTO dead_letters (time, reason, message, format, raw, raw_size, src_topic, src_partition, src_offset)
		VALUES (CAST($1 AS TIMESTAMPTZ), 'invalid_json', 'not JSON: fix the producer', 'app', 'x{', 2, 'app-errors', 0, 17),
		       (CAST($2 AS TIMESTAMPTZ), 'invalid_json', 'not JSON: fix the producer', 'app', 'y{', 2, 'app-errors', 1, 9),
		       (CAST($3 AS TIMESTAMPTZ), 'missing_time', 'no time field', 'app', '{}', 2, 'app-errors', 0, 40)`,
		clock("07:10").Format(time.RFC3339), clock("07:12").Format(time.RFC3339), clock("07:40").Format(time.RFC3339))
	f.exec(`INSERT INTO ingest_offsets (source, part, next_offset, updated_at) VALUES
		('kafka:app-errors', 0, 5230, CAST($1 AS TIMESTAMPTZ)),
		('kafka:app-errors', 1, 4988, CAST($1 AS TIMESTAMPTZ)),
		('kafka:cloudtrail', 0, 812, CAST($2 AS TIMESTAMPTZ))`,
		clock("07:59:58").Format(time.RFC3339), clock("07:58:00").Format(time.RFC3339))
	return f
}

func (f *fixtureDB) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Exec(q, args...); err != nil {
		f.t.Fatalf("fixture: %v\n%s", err, q)
	}
}

// info inserts perMin info events per minute.
func (f *fixtureDB) info(svc, region, from string, mins, perMin int) {
	f.exec(`INSERT INTO events (event_id, time, observed_time, source, kind, service, region, severity_number, severity_text, message, attributes)
		SELECT $1 || i, CAST($2 AS TIMESTAMPTZ) + to_microseconds(CAST(i * 60000000 // $3 AS BIGINT)),
		       CAST($2 AS TIMESTAMPTZ) + to_microseconds(CAST(i * 60000000 // $3 AS BIGINT)),
		       'app', 'info', $4, $5, 9, 'INFO', 'ok', '{}'
		FROM range($6) t(i)`,
		fmt.Sprintf("info-%s-%s-", svc, region), clock(from).Format(time.RFC3339), perMin, svc, region, mins*perMin)
}

// errors inserts perMin errors per minute for mins minutes, or, with every
// > 0, one error every `every` minutes.
func (f *fixtureDB) errors(svc, region, from string, mins, perMin int, code, peer string, every int) {
	n, stepMicros := mins*perMin, int64(0)
	if every > 0 {
		n, stepMicros = mins/every, int64(every)*60_000_000
	} else {
		stepMicros = 60_000_000 / int64(perMin)
	}
	f.exec(`INSERT INTO events (event_id, time, observed_time, source, kind, service, region, account_id, severity_number,
		severity_text, error_code, message, peer_service, attributes)
		SELECT $1 || i, CAST($2 AS TIMESTAMPTZ) + to_microseconds(i * $3) + INTERVAL 3 SECOND,
		       CAST($2 AS TIMESTAMPTZ) + to_microseconds(i * $3) + INTERVAL 3 SECOND,
		       'app', 'error', $4, $5, '111122223333', 17, 'ERROR', $6, 'request failed', nullif($7, ''), '{}'
		FROM range($8) t(i)`,
		fmt.Sprintf("err-%s-%s-%s-%s-", svc, region, from, code), clock(from).Format(time.RFC3339), stepMicros,
		svc, region, code, peer, n)
}

func (f *fixtureDB) change(id, at, source, svc, op, region, resource, actor, changeType, risk string) {
	f.exec(`INSERT INTO events (event_id, time, observed_time, source, kind, service, operation, region, account_id,
		resource, actor, severity_number, status, change_type, risk_class, attributes)
		VALUES ($1, CAST($2 AS TIMESTAMPTZ), CAST($2 AS TIMESTAMPTZ), $3, 'change', $4, $5, $6, '111122223333',
		        $7, $8, 9, 'success', $9, $10, '{}')`,
		id, clock(at).Format(time.RFC3339), source, svc, op, region, resource, actor, changeType, risk)
}

// sqlDB returns the fixture's database handle.
func (f *fixtureDB) sqlDB() *sql.DB { return f.db.DB }
