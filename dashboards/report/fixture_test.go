package report

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
	goldenfile "github.com/faultline/faultline/internal/testkit/golden"
	"github.com/faultline/faultline/transform"
)

// golden compares got with testdata/<name> (golden.Check).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
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
// an hour earlier); a few dead letters; and ingest positions. The rows are
// seeded through testkit (ingest's own sink).
type fixtureDB struct {
	t  testing.TB
	db *store.DB
}

func newFixtureDB(t testing.TB) *fixtureDB {
	t.Helper()
	f := &fixtureDB{t: t, db: testkit.OpenDB(t)}

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

	dl := func(at, reason, msg, raw string, part int32, offset int64) testkit.DeadLetter {
		return testkit.DeadLetter{Time: clock(at), DeadLetter: transform.DeadLetter{Reason: reason, Message: msg, Format: "app",
			Raw: []byte(raw), RawSize: 2, Lineage: transform.Lineage{Topic: "app-errors", Partition: part, Offset: offset}}}
	}
	testkit.SeedDeadLetters(t, f.db,
		dl("07:10", "invalid_json", "not JSON: fix the producer", "x{", 0, 17),
		dl("07:12", "invalid_json", "not JSON: fix the producer", "y{", 1, 9),
		dl("07:40", "missing_time", "no time field", "{}", 0, 40))
	pos := func(source string, part int32, next int64, at string) testkit.Position {
		return testkit.Position{Position: store.Position{Source: source, Part: part, Next: next}, UpdatedAt: clock(at)}
	}
	testkit.SeedPositions(t, f.db,
		pos("kafka:app-errors", 0, 5230, "07:59:58"), pos("kafka:app-errors", 1, 4988, "07:59:58"), pos("kafka:cloudtrail", 0, 812, "07:58:00"))
	return f
}

// info inserts perMin info events per minute.
func (f *fixtureDB) info(svc, region, from string, mins, perMin int) {
	f.t.Helper()
	start := clock(from)
	testkit.Seed(f.t, f.db, testkit.Repeat(mins*perMin, fmt.Sprintf("info-%s-%s-", svc, region),
		func(i int) time.Time {
			return start.Add(time.Duration(int64(i)*60_000_000/int64(perMin)) * time.Microsecond)
		},
		transform.Event{Source: "app", Kind: "info", Service: svc, Region: region, SeverityNumber: 9, SeverityText: "INFO", Message: "ok"})...)
}

// errors inserts perMin errors per minute for mins minutes, or, with every
// > 0, one error every `every` minutes.
func (f *fixtureDB) errors(svc, region, from string, mins, perMin int, code, peer string, every int) {
	f.t.Helper()
	n, step := mins*perMin, time.Duration(0)
	if every > 0 {
		n, step = mins/every, time.Duration(every)*time.Minute
	} else {
		step = time.Duration(60_000_000/int64(perMin)) * time.Microsecond
	}
	testkit.Seed(f.t, f.db, testkit.Repeat(n, fmt.Sprintf("err-%s-%s-%s-%s-", svc, region, from, code),
		testkit.Every(clock(from).Add(3*time.Second), step),
		transform.Event{Source: "app", Kind: "error", Service: svc, Region: region, AccountID: "111122223333",
			SeverityNumber: 17, SeverityText: "ERROR", ErrorCode: code, Message: "request failed", PeerService: peer})...)
}

func (f *fixtureDB) change(id, at, source, svc, op, region, resource, actor, changeType, risk string) {
	f.t.Helper()
	testkit.Seed(f.t, f.db, transform.Event{EventID: id, Time: clock(at), ObservedTime: clock(at), Source: source, Kind: "change",
		Service: svc, Operation: op, Region: region, AccountID: "111122223333", Resource: resource, Actor: actor,
		SeverityNumber: 9, Status: "success", ChangeType: changeType, RiskClass: risk})
}

// sqlDB returns the fixture's database handle.
func (f *fixtureDB) sqlDB() *sql.DB { return f.db.DB }
