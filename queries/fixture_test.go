package queries

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixture builds a small events table with plain SQL inserts.
type fixture struct {
	t  testing.TB
	db *store.DB
	n  int
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &fixture{t: t, db: db}
}

var t0 = time.Date(2025, 10, 20, 9, 0, 0, 0, time.UTC)

// at returns t0 plus a "HH:MM[:SS]" offset... given as clock time on t0's day.
func at(clock string) time.Time {
	layout := "15:04"
	if strings.Count(clock, ":") == 2 {
		layout = "15:04:05"
	}
	c, err := time.Parse(layout, clock)
	if err != nil {
		panic(err)
	}
	return time.Date(t0.Year(), t0.Month(), t0.Day(), c.Hour(), c.Minute(), c.Second(), 0, time.UTC)
}

// errs inserts perMin error events per minute for service/region from
// `from` for `mins` minutes, spread over each minute.
func (f *fixture) errs(service, region, from string, mins, perMin int, peer, resource string) {
	f.t.Helper()
	if perMin <= 0 || mins <= 0 {
		return
	}
	start := at(from)
	_, err := f.db.Exec(`INSERT INTO events (event_id, time, observed_time, source, kind, service, region, account_id,
		resource, severity_number, severity_text, error_code, message, peer_service, attributes)
		SELECT $pfx || i, CAST($start AS TIMESTAMPTZ) + to_microseconds(CAST(i * 60000000 // $per AS BIGINT)),
		       CAST($start AS TIMESTAMPTZ) + to_microseconds(CAST(i * 60000000 // $per AS BIGINT)),
		       'app', 'error', $svc, $region, '111122223333', nullif($res, ''), 17, 'ERROR', 'Timeout',
		       'request failed', nullif($peer, ''), '{}'
		FROM range($n) t(i)`,
		sql.Named("pfx", fmt.Sprintf("err-%s-%s-%s-", service, region, from)), sql.Named("start", start.Format(time.RFC3339)),
		sql.Named("per", perMin), sql.Named("svc", service), sql.Named("region", region), sql.Named("res", resource),
		sql.Named("peer", peer), sql.Named("n", mins*perMin))
	if err != nil {
		f.t.Fatal(err)
	}
}

// every inserts one error event every `every` minutes (a quiet background).
func (f *fixture) every(service, region, from string, mins, every int) {
	f.t.Helper()
	start := at(from)
	_, err := f.db.Exec(`INSERT INTO events (event_id, time, observed_time, source, kind, service, region, account_id,
		severity_number, severity_text, message, attributes)
		SELECT $pfx || i, CAST($start AS TIMESTAMPTZ) + to_minutes(i * $every) + INTERVAL 7 SECOND,
		       CAST($start AS TIMESTAMPTZ) + to_minutes(i * $every) + INTERVAL 7 SECOND,
		       'app', 'error', $svc, $region, '111122223333', 17, 'ERROR', 'background error', '{}'
		FROM range($n) t(i)`,
		sql.Named("pfx", fmt.Sprintf("bg-%s-%s-", service, region)), sql.Named("start", start.Format(time.RFC3339)),
		sql.Named("every", every), sql.Named("svc", service), sql.Named("region", region), sql.Named("n", mins/every))
	if err != nil {
		f.t.Fatal(err)
	}
}

// info inserts perMin info events per minute (traffic without errors).
func (f *fixture) info(service, region, from string, mins, perMin int) {
	f.t.Helper()
	start := at(from)
	_, err := f.db.Exec(`INSERT INTO events (event_id, time, observed_time, source, kind, service, region, severity_number, message, attributes)
		SELECT $pfx || i, CAST($start AS TIMESTAMPTZ) + to_microseconds(CAST(i * 60000000 // $per AS BIGINT)),
		       CAST($start AS TIMESTAMPTZ), 'app', 'info', $svc, $region, 9, 'ok', '{}'
		FROM range($n) t(i)`,
		sql.Named("pfx", fmt.Sprintf("info-%s-%s-", service, region)), sql.Named("start", start.Format(time.RFC3339)),
		sql.Named("per", perMin), sql.Named("svc", service), sql.Named("region", region), sql.Named("n", mins*perMin))
	if err != nil {
		f.t.Fatal(err)
	}
}

type change struct {
	id, clock, source, service, operation, region, resource, actor, changeType, risk string
	observed                                                                         string // clock; "" = same as clock
	attrs                                                                            string // attributes JSON; "" = {}
}

func (f *fixture) change(c change) {
	f.t.Helper()
	obs := c.observed
	if obs == "" {
		obs = c.clock
	}
	if c.source == "" {
		c.source = "cloudtrail"
	}
	if c.attrs == "" {
		c.attrs = "{}"
	}
	_, err := f.db.Exec(`INSERT INTO events (event_id, time, observed_time, source, kind, service, operation, region,
		account_id, resource, actor, severity_number, status, change_type, risk_class, attributes)
		VALUES ($id, CAST($time AS TIMESTAMPTZ), CAST($obs AS TIMESTAMPTZ), $src, 'change', $svc, $op, $region,
		        '111122223333', nullif($res, ''), nullif($actor, ''), 9, 'success', nullif($ct, ''), nullif($risk, ''), $attrs)`,
		sql.Named("id", c.id), sql.Named("time", at(c.clock).Format(time.RFC3339)), sql.Named("obs", at(obs).Format(time.RFC3339)),
		sql.Named("src", c.source), sql.Named("svc", c.service), sql.Named("op", c.operation), sql.Named("region", c.region),
		sql.Named("res", c.resource), sql.Named("actor", c.actor), sql.Named("ct", c.changeType), sql.Named("risk", c.risk),
		sql.Named("attrs", c.attrs))
	if err != nil {
		f.t.Fatal(err)
	}
}

// golden compares v (as indented JSON) with testdata/<name>.golden, or
// rewrites the file with -update.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -tags duckdb_arrow ./queries -run %s -update to create it)", err, t.Name())
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from %s (rerun with -update if the change is intended)\n--- got:\n%s", t.Name(), path, got)
	}
}

// lbOutage is the reference scenario: a load-balancer listener change at
// 10:00:30 in us-east-1 breaks checkout (10:03), which breaks api (10:05).
// Decoys: an S3 policy change 20 minutes earlier, a Lambda change in
// eu-west-1 close in time, a low-risk tag change on checkout.
func lbOutage(t *testing.T) *fixture {
	f := newFixture(t)
	f.info("checkout", "us-east-1", "09:00", 120, 10)
	f.info("api", "us-east-1", "09:00", 120, 10)
	f.info("search", "eu-west-1", "09:00", 120, 5)
	f.every("checkout", "us-east-1", "09:00", 120, 4)
	f.every("api", "us-east-1", "09:00", 120, 6)
	f.every("search", "eu-west-1", "09:00", 120, 3)
	f.errs("checkout", "us-east-1", "10:03", 10, 40, "elasticloadbalancing", "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/1")
	f.errs("api", "us-east-1", "10:05", 8, 30, "checkout", "")
	f.change(change{id: "ct-s3", clock: "09:40:00", service: "s3", operation: "PutBucketPolicy", region: "us-east-1",
		resource: "arn:aws:s3:::assets", actor: "bob", changeType: "iam", risk: "medium"})
	f.change(change{id: "ct-elb", clock: "10:00:30", service: "elasticloadbalancing", operation: "ModifyListener", region: "us-east-1",
		resource: "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/1", actor: "alice", changeType: "load_balancing", risk: "high"})
	f.change(change{id: "ct-lambda", clock: "10:01:10", service: "lambda", operation: "UpdateFunctionConfiguration", region: "eu-west-1",
		resource: "arn:aws:lambda:eu-west-1:111122223333:function:thumbs", actor: "carol", changeType: "compute_config", risk: "medium"})
	f.change(change{id: "ct-tag", clock: "09:55:00", service: "checkout", operation: "TagResource", region: "us-east-1",
		resource: "checkout-asg", actor: "dave", changeType: "other", risk: "low"})
	return f
}

var lbTopology = map[string][]string{"api": {"checkout"}, "checkout": {"elasticloadbalancing", "dynamodb"}}

// counts inserts counts[i] error events in minute i after from.
func (f *fixture) counts(service, region, from string, counts []int) {
	f.t.Helper()
	f.countsWith(service, region, from, counts, "", "error", "{}")
}

// countsWith is counts with the errors' peer_service, message and attributes.
func (f *fixture) countsWith(service, region, from string, counts []int, peer, message, attrs string) {
	f.t.Helper()
	list := make([]string, len(counts))
	for i, c := range counts {
		list[i] = fmt.Sprint(c)
	}
	_, err := f.db.Exec(`INSERT INTO events (event_id, time, observed_time, source, kind, service, region, severity_number,
		message, peer_service, attributes)
		SELECT $pfx || x.i || '-' || r.j,
		       CAST($start AS TIMESTAMPTZ) + to_minutes(x.i - 1) + to_microseconds(CAST(r.j * 60000000 // x.c AS BIGINT)),
		       CAST($start AS TIMESTAMPTZ) + to_minutes(x.i - 1),
		       'app', 'error', $svc, $region, 17, $msg, nullif($peer, ''), $attrs
		FROM (SELECT unnest(l) AS c, generate_subscripts(l, 1) AS i FROM (SELECT CAST($counts AS INTEGER[]) AS l)) x,
		     range(x.c) r(j)`,
		sql.Named("pfx", fmt.Sprintf("cnt-%s-%s-%s-%s-", service, region, from, peer)), sql.Named("start", at(from).Format(time.RFC3339)),
		sql.Named("svc", service), sql.Named("region", region), sql.Named("counts", "["+strings.Join(list, ",")+"]"),
		sql.Named("msg", message), sql.Named("peer", peer), sql.Named("attrs", attrs))
	if err != nil {
		f.t.Fatal(err)
	}
}

// repeat returns n copies of the values, concatenated.
func repeat(n int, vals ...int) []int {
	var out []int
	for range n {
		out = append(out, vals...)
	}
	return out
}

// sqlNamed builds named arguments from name, value pairs.
func sqlNamed(kv ...any) []any {
	var out []any
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, sql.Named(kv[i].(string), kv[i+1]))
	}
	return out
}
