package queries

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
	goldenfile "github.com/faultline/faultline/internal/testkit/golden"
	"github.com/faultline/faultline/transform"
)

// fixture builds a small events table through the shared seeding fixture
// (testkit.Seed: the rows ingest's sink would write).
type fixture struct {
	t  testing.TB
	db *store.DB
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return &fixture{t: t, db: testkit.OpenDB(t)}
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

// perMinute returns at(i) for perMin events per minute from start, spread
// over each minute (whole microseconds, as DuckDB stores them).
func perMinute(start time.Time, perMin int) func(int) time.Time {
	return func(i int) time.Time {
		return start.Add(time.Duration(int64(i)*60_000_000/int64(perMin)) * time.Microsecond)
	}
}

// errs inserts perMin error events per minute for service/region from
// `from` for `mins` minutes, spread over each minute.
func (f *fixture) errs(service, region, from string, mins, perMin int, peer, resource string) {
	f.t.Helper()
	if perMin <= 0 || mins <= 0 {
		return
	}
	testkit.Seed(f.t, f.db, testkit.Repeat(mins*perMin, fmt.Sprintf("err-%s-%s-%s-", service, region, from), perMinute(at(from), perMin),
		transform.Event{Source: "app", Kind: "error", Service: service, Region: region, AccountID: "111122223333",
			Resource: resource, SeverityNumber: 17, SeverityText: "ERROR", ErrorCode: "Timeout", Message: "request failed",
			PeerService: peer})...)
}

// every inserts one error event every `every` minutes (a quiet background).
func (f *fixture) every(service, region, from string, mins, every int) {
	f.t.Helper()
	testkit.Seed(f.t, f.db, testkit.Repeat(mins/every, fmt.Sprintf("bg-%s-%s-", service, region),
		testkit.Every(at(from).Add(7*time.Second), time.Duration(every)*time.Minute),
		transform.Event{Source: "app", Kind: "error", Service: service, Region: region, AccountID: "111122223333",
			SeverityNumber: 17, SeverityText: "ERROR", Message: "background error"})...)
}

// info inserts perMin info events per minute (traffic without errors).
func (f *fixture) info(service, region, from string, mins, perMin int) {
	f.t.Helper()
	start := at(from)
	testkit.Seed(f.t, f.db, testkit.Repeat(mins*perMin, fmt.Sprintf("info-%s-%s-", service, region), perMinute(start, perMin),
		transform.Event{ObservedTime: start, Source: "app", Kind: "info", Service: service, Region: region,
			SeverityNumber: 9, Message: "ok"})...)
}

type change struct {
	id, clock, source, service, operation, region, resource, actor, changeType, risk string
	observed                                                                         string // clock; "" = same as clock
	attrs                                                                            string // attributes JSON; "" = {}
	provider                                                                         string // cloud_provider; "" = aws for cloudtrail and health, as their decoders set it
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
	if c.provider == "" && (c.source == "cloudtrail" || c.source == "health") {
		c.provider = transform.ProviderAWS
	}
	testkit.Seed(f.t, f.db, transform.Event{
		EventID: c.id, Time: at(c.clock), ObservedTime: at(obs), Source: c.source, Kind: "change",
		Service: c.service, Operation: c.operation, Region: c.region, AccountID: "111122223333",
		Resource: c.resource, Actor: c.actor, SeverityNumber: 9, Status: "success",
		ChangeType: c.changeType, RiskClass: c.risk, Attributes: c.attrs, CloudProvider: c.provider,
	})
}

// golden compares v, as indented JSON, with testdata/<name>.golden
// (golden.CheckJSON).
func golden(t *testing.T, name string, v any) {
	t.Helper()
	goldenfile.CheckJSON(t, filepath.Join("testdata", name+".golden"), v)
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
	f.countsWith(service, region, from, counts, "", "error", "")
}

// countsWith is counts with the errors' peer_service, message and attributes.
func (f *fixture) countsWith(service, region, from string, counts []int, peer, message, attrs string) {
	f.t.Helper()
	var evs []transform.Event
	for i, c := range counts {
		minute := at(from).Add(time.Duration(i) * time.Minute)
		for j := range c {
			evs = append(evs, transform.Event{
				EventID: fmt.Sprintf("cnt-%s-%s-%s-%s-%d-%d", service, region, from, peer, i+1, j),
				Time:    perMinute(minute, c)(j), ObservedTime: minute,
				Source: "app", Kind: "error", Service: service, Region: region, SeverityNumber: 17, Message: message,
				PeerService: peer, Attributes: attrs,
			})
		}
	}
	testkit.Seed(f.t, f.db, evs...)
}

// repeat returns n copies of the values, concatenated.
func repeat(n int, vals ...int) []int {
	var out []int
	for range n {
		out = append(out, vals...)
	}
	return out
}
