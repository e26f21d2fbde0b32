package queries

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/transform"
)

// What issue 21 asked of the correlation on a stranger's account (no
// topology configured): one test per behaviour.

func suspectsOf(t *testing.T, e *Engine) map[string][]Suspect {
	t.Helper()
	sus, err := e.Suspects(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]Suspect{}
	for _, s := range sus {
		out[s.IncidentID] = append(out[s.IncidentID], s)
	}
	return out
}

// Two unrelated outages at the same time, one in us-east-1 and one in
// eu-west-1, and a third in us-east-1 on services that neither call each
// other nor fail on a common dependency, are three incidents, each with its
// own suspect first. A short spike whose errors name nothing joins the
// outage of its region it overlaps most; a sustained one is its own.
func TestUnrelatedIncidentsEachGetTheirSuspects(t *testing.T) {
	f := newFixture(t)
	base := repeat(60, 1, 0)
	for _, s := range []string{"cart", "web", "search", "audit", "ledger"} {
		f.counts(s, "us-east-1", "09:00", base)
	}
	f.counts("orders", "eu-west-1", "09:00", base)
	f.countsWith("cart", "us-east-1", "10:00", repeat(15, 30), "elasticloadbalancing", "503 Service Unavailable", "{}")
	f.countsWith("web", "us-east-1", "10:02", repeat(13, 20), "cart", "upstream cart returned 503", "{}")
	f.countsWith("orders", "eu-west-1", "10:01", repeat(14, 25), "dynamodb", "ProvisionedThroughputExceededException", "{}")
	f.countsWith("search", "us-east-1", "10:01", repeat(14, 25), "sqs", "SendMessage timed out",
		`{"url.full":"https://sqs.us-east-1.amazonaws.com/111122223333/search-queue"}`)
	f.countsWith("audit", "us-east-1", "10:00", []int{12}, "", "audit write failed", "{}")
	f.countsWith("ledger", "us-east-1", "10:02", repeat(12, 15), "", "ledger write failed", "{}")
	f.change(change{id: "lb", clock: "09:57:00", service: "elasticloadbalancing", operation: "ModifyListener", region: "us-east-1", changeType: "load_balancing", risk: "high"})
	f.change(change{id: "ddb", clock: "09:58:00", service: "dynamodb", operation: "UpdateTable", region: "eu-west-1", changeType: "data_store", risk: "medium"})
	f.change(change{id: "sqs", clock: "09:58:30", service: "sqs", operation: "SetQueueAttributes", region: "us-east-1", changeType: "data_store", risk: "medium",
		resource: "arn:aws:sqs:us-east-1:111122223333:search-queue"})
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
	inc, err := e.Incidents(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, in := range inc {
		got[strings.Join(in.Services, ",")] = in.ID
	}
	for _, want := range []string{"cart,audit,web", "orders", "search", "ledger"} {
		if got[want] == "" {
			t.Fatalf("incidents %+v: want four, one of %s", inc, want)
		}
	}
	if len(inc) != 4 {
		t.Fatalf("incidents %+v: want four", inc)
	}
	sus := suspectsOf(t, e)
	for svcs, first := range map[string]string{"cart,audit,web": "lb", "orders": "ddb", "search": "sqs"} {
		if s := sus[got[svcs]]; len(s) == 0 || s[0].EventID != first {
			t.Errorf("incident of %s: suspects %+v, want %s first", svcs, s, first)
		}
	}
}

// A slow ramp crosses the spike threshold long after it began: the change
// made before the ramp outranks one made while the errors were already
// rising, though the latter is closer to the onset.
func TestSlowRampFindsTheChangeBeforeIt(t *testing.T) {
	f := newFixture(t)
	noisy := repeat(10, 2, 6, 4, 3, 5, 4) // mean 4, threshold about 12
	ramp := []int{5, 6, 7, 8, 9, 10, 11, 13, 16, 20, 26, 32, 40, 40, 40, 40, 40, 40}
	f.countsWith("cart", "us-east-1", "09:00", append(noisy, ramp...), "elasticloadbalancing", "503 Service Unavailable", "{}")
	// The ramp starts at 10:00, the threshold is crossed at 10:07.
	f.change(change{id: "before", clock: "09:58:00", service: "elasticloadbalancing", operation: "ModifyTargetGroup", region: "us-east-1", changeType: "load_balancing", risk: "high"})
	f.change(change{id: "during", clock: "10:05:00", service: "elasticloadbalancing", operation: "ModifyTargetGroup", region: "us-east-1", changeType: "load_balancing", risk: "high"})
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
	sp, err := e.Spikes(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sp) != 1 || !sp[0].Start.After(at("10:05")) || sp[0].Rise.After(at("10:01")) || sp[0].Rise.Before(at("09:59")) {
		t.Fatalf("spikes %+v: want one crossing the threshold after 10:05 that began rising about 10:00", sp)
	}
	var all []Suspect
	for _, s := range suspectsOf(t, e) {
		all = append(all, s...)
	}
	if len(all) != 2 || all[0].EventID != "before" {
		t.Fatalf("suspects %+v: want the change before the ramp first", all)
	}
	if !strings.Contains(all[0].Evidence, "before the errors began to rise") || !strings.Contains(all[1].Evidence, "after the errors began to rise") {
		t.Errorf("evidence does not place the changes against the rise:\n%s\n%s", all[0].Evidence, all[1].Evidence)
	}
}

// Two noisy minutes four minutes apart on a busy service are a spike, but
// not a sustained one: no incident (issue 21: svc-10 at scale 25).
func TestNoisyMinutesApartAreNoIncident(t *testing.T) {
	f := newFixture(t)
	busy := repeat(12, 8, 6, 9, 7, 10, 8)
	busy = append(busy, 21, 9, 13, 6, 8, 20, 9, 7, 8, 10)
	f.counts("svc-10", "us-west-2", "09:00", busy)
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
	inc, err := e.Incidents(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := e.Spikes(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inc) != 0 || len(sp) != 1 || sp[0].SpikeMinutes != 2 {
		t.Fatalf("incidents %+v, spikes %+v: want one spike of two minutes and no incident", inc, sp)
	}
}

// The errors name the load balancer by its DNS name; the change names its
// target group by ARN, and an alarm names both. That change outranks a
// listener change of another load balancer in the same region closer to
// the onset, and the evidence says which resource matched.
func TestChangeOnTheLoadBalancerTheErrorsName(t *testing.T) {
	f := newFixture(t)
	f.counts("cart", "us-east-1", "09:00", repeat(60, 1, 0))
	f.countsWith("cart", "us-east-1", "10:00", repeat(15, 30), "elasticloadbalancing", "503 Service Unavailable: no healthy targets",
		`{"server.address":"internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com"}`)
	f.raw("alarm", "10:02", "alarm", "error", "elasticloadbalancing", "us-east-1", "", "", "Threshold Crossed",
		`{"detail":{"configuration":{"metrics":[{"metricStat":{"metric":{"dimensions":{"LoadBalancer":"app/cart-alb/50dc6c495c0c9188","TargetGroup":"targetgroup/cart-tg/73e2d6bc24d8a067"}}}}]}}}`)
	f.change(change{id: "true", clock: "09:56:00", service: "elasticloadbalancing", operation: "DeregisterTargets", region: "us-east-1",
		resource: "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/cart-tg/73e2d6bc24d8a067", changeType: "load_balancing", risk: "high",
		attrs: `{"requestParameters":{"targetGroupArn":"arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/cart-tg/73e2d6bc24d8a067","targets":[{"id":"i-0abc"}]}}`})
	f.change(change{id: "decoy", clock: "09:59:00", service: "elasticloadbalancing", operation: "ModifyListener", region: "us-east-1",
		resource: "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/search-alb/1a2b3c4d5e6f7a8b/9c8d7e6f5a4b3c2d", changeType: "load_balancing", risk: "critical",
		attrs: `{"requestParameters":{"listenerArn":"arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/search-alb/1a2b3c4d5e6f7a8b/9c8d7e6f5a4b3c2d"}}`})
	var all []Suspect
	for _, s := range suspectsOf(t, NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)) {
		all = append(all, s...)
	}
	if len(all) != 2 || all[0].EventID != "true" {
		t.Fatalf("suspects %+v: want the target group change first", all)
	}
	if want := "changed target group cart-tg, a dependency of cart (distance 2)"; !strings.Contains(all[0].Evidence, want) {
		t.Errorf("evidence %q lacks %q", all[0].Evidence, want)
	}
	if want := "it touched no load balancer the broken services depend on"; !strings.Contains(all[1].Evidence, want) {
		t.Errorf("decoy evidence %q lacks %q", all[1].Evidence, want)
	}
}

// A bad deploy next to a deploy of its caller: the caller's deploy is
// closer to the onset, but the caller broke only after the service it calls
// did, and the first errors carry the first service's new version.
func TestBadDeployNextToACallersDeploy(t *testing.T) {
	f := newFixture(t)
	for _, s := range []string{"cart", "web"} {
		f.counts(s, "us-east-1", "09:00", repeat(60, 1, 0))
	}
	f.countsWith("cart", "us-east-1", "10:00", repeat(15, 30), "", "runtime error: invalid memory address", `{"version":"1.5.0"}`)
	f.countsWith("web", "us-east-1", "10:02", repeat(13, 20), "cart", "upstream cart returned 503", `{"version":"2.0.1"}`)
	f.change(change{id: "bad", clock: "09:56:00", source: "deploy", service: "cart", operation: "deploy", region: "us-east-1",
		changeType: "deployment", risk: "high", attrs: `{"version":"1.5.0","previous_version":"1.4.9"}`})
	f.change(change{id: "caller", clock: "09:59:00", source: "deploy", service: "web", operation: "deploy", region: "us-east-1",
		changeType: "deployment", risk: "high", attrs: `{"version":"2.0.1","previous_version":"2.0.0"}`})
	var all []Suspect
	for _, s := range suspectsOf(t, NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)) {
		all = append(all, s...)
	}
	if len(all) != 2 || all[0].EventID != "bad" {
		t.Fatalf("suspects %+v: want cart's deploy first", all)
	}
	if want := "% of the first errors of cart after it carry its new version 1.5.0"; !strings.Contains(all[0].Evidence, want) {
		t.Errorf("evidence %q lacks %q", all[0].Evidence, want)
	}
	if want := "web is itself broken, but only after a service it depends on broke"; !strings.Contains(all[1].Evidence, want) {
		t.Errorf("caller's evidence %q lacks %q", all[1].Evidence, want)
	}
}

// AWS publishes a Health issue minutes after the errors start, and updates
// it: its startTime (the event's time) precedes the onset, so it is a
// suspect, once.
func TestHealthIssuePublishedLate(t *testing.T) {
	f := newFixture(t)
	f.counts("orders", "us-east-1", "09:00", repeat(60, 1, 0))
	f.countsWith("orders", "us-east-1", "10:00", repeat(20, 25), "dynamodb", "InternalServerError", `{"server.address":"dynamodb.us-east-1.amazonaws.com"}`)
	for i, pub := range []string{"10:18:00", "10:47:00"} {
		id := []string{"first", "update"}[i]
		testkit.Seed(t, f.db, transform.Event{
			EventID: id, Time: at("09:58:30"), ObservedTime: at(pub), Source: "health", Kind: "error", Service: "dynamodb",
			Operation: "AWS_DYNAMODB_OPERATIONAL_ISSUE", Region: "us-east-1",
			Resource:       "arn:aws:health:us-east-1::event/DYNAMODB/AWS_DYNAMODB_OPERATIONAL_ISSUE/x",
			SeverityNumber: 17, Message: "We are investigating increased error rates",
			Attributes: `{"detail":{"eventArn":"arn:aws:health:us-east-1::event/DYNAMODB/AWS_DYNAMODB_OPERATIONAL_ISSUE/x","startTime":"Mon, 20 Oct 2025 09:58:30 GMT","lastUpdatedTime":"Mon, 20 Oct 2025 ` + pub + ` GMT"}}`,
		})
	}
	f.change(change{id: "tag", clock: "09:59:30", service: "ec2", operation: "CreateTags", region: "us-east-1", changeType: "other", risk: "low"})
	var all []Suspect
	for _, s := range suspectsOf(t, NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)) {
		all = append(all, s...)
	}
	ids := []string{}
	for _, s := range all {
		ids = append(ids, s.EventID)
	}
	if len(all) == 0 || all[0].EventID != "first" || slices.Contains(ids, "update") {
		t.Fatalf("suspects %v: want the Health issue once, first published, ranked first", ids)
	}
}

// Two unrelated outages in one region at the same time: the load balancer
// change that cart's errors name is the first outage's cause; in the
// second, whose errors name a DNS record and no load balancer, it is
// explained away and the record's change comes first, though further from
// the onset.
func TestChangeNamedByAnotherIncidentIsExplainedAway(t *testing.T) {
	f := newFixture(t)
	for _, s := range []string{"cart", "orders"} {
		f.counts(s, "us-east-1", "09:00", repeat(60, 1, 0))
	}
	f.countsWith("cart", "us-east-1", "10:00", repeat(15, 30), "elasticloadbalancing", "503 Service Unavailable",
		`{"server.address":"internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com"}`)
	f.countsWith("orders", "us-east-1", "10:01", repeat(14, 12), "orders-db", "dial tcp: lookup orders-db.internal.example.com on 10.0.0.2:53: no such host", "{}")
	f.countsWith("orders", "us-east-1", "10:01", repeat(14, 12), "orders-db", "dial tcp 10.41.7.19:5432: connect: connection refused", "{}")
	// orders' role reads load balancer APIs: a service-level path to
	// elasticloadbalancing, as in the simulator's two-incidents seed 10044
	for i := range 5 {
		f.raw(fmt.Sprint("read-", i), fmt.Sprintf("09:%d0", 1+i), "cloudtrail", "info", "elasticloadbalancing", "us-east-1",
			"arn:aws:sts::111122223333:assumed-role/orders-task-role/orders-1a2b3c", "", "", "")
	}
	lb := "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/cart-alb/1a2b3c4d5e6f7a8b/9c8d7e6f5a4b3c2d"
	f.change(change{id: "lb", clock: "10:00:10", service: "elasticloadbalancing", operation: "ModifyListener", region: "us-east-1",
		resource: lb, changeType: "load_balancing", risk: "critical", attrs: `{"requestParameters":{"listenerArn":"` + lb + `"}}`})
	f.change(change{id: "dns", clock: "09:54:00", service: "route53", operation: "ChangeResourceRecordSets", region: "us-east-1",
		resource: "arn:aws:route53:::hostedzone/Z0ABC", changeType: "dns", risk: "critical",
		attrs: `{"requestParameters":{"hostedZoneId":"Z0ABC","changeBatch":{"changes":[{"action":"UPSERT","resourceRecordSet":{"name":"orders-db.internal.example.com","type":"CNAME"}}]}}}`})
	sus := suspectsOf(t, NewEngine(f.db.DB, DefaultCorrelationConfig(), nil))
	if len(sus) != 2 {
		t.Fatalf("suspects of %d incidents, want 2: %+v", len(sus), sus)
	}
	for id, s := range sus {
		want := map[bool]string{true: "lb", false: "dns"}[strings.HasSuffix(id, "-cart")]
		if s[0].EventID != want {
			t.Errorf("incident %s: %s first, want %s", id, s[0].EventID, want)
		}
		if !strings.HasSuffix(id, "-cart") {
			for _, x := range s {
				if x.EventID == "lb" && !strings.Contains(x.Evidence, "more likely that incident's cause") {
					t.Errorf("the load balancer change in %s is not explained away: %s", id, x.Evidence)
				}
			}
		}
	}
}

// A lone noisy minute a few minutes before an outage, merged into the
// outage's run across the quiet minutes in between, is not its onset: the
// onset is where the sustained errors begin, and a change made between the
// noisy minute and that onset is still a candidate, ranked first (the
// simulator's held-out iam-policy seed 40050 lost its root cause this way).
func TestNoisyMinuteBeforeOutageIsNotItsOnset(t *testing.T) {
	f := newFixture(t)
	quiet := repeat(30, 1, 0) // 09:00-09:59, mean 0.5: threshold 5
	f.counts("web", "us-east-1", "09:00", append(quiet, 1, 0, 1, 0, 6, 0, 1, 0, 0))
	f.countsWith("web", "us-east-1", "10:09", repeat(15, 20), "", "AccessDeniedException: not authorized to perform dynamodb:GetItem", "{}")
	f.change(change{id: "older", clock: "10:02:00", service: "iam", operation: "PutRolePolicy", region: "us-east-1", changeType: "iam", risk: "high"})
	f.change(change{id: "role", clock: "10:05:30", service: "iam", operation: "PutRolePolicy", region: "us-east-1", changeType: "iam", risk: "high"})
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
	inc, err := e.Incidents(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inc) != 1 || !inc[0].Onset.Equal(at("10:09")) {
		t.Fatalf("incidents %+v: want one with its onset at 10:09", inc)
	}
	sp, err := e.Spikes(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sp) != 2 || !sp[0].Start.Equal(at("10:04")) || sp[0].IncidentID != "" || sp[0].SpikeMinutes != 1 || sp[1].IncidentID != inc[0].ID {
		t.Fatalf("spikes %+v: want the noisy minute at 10:04 as a spike of its own, outside the incident", sp)
	}
	s := suspectsOf(t, e)[inc[0].ID]
	if len(s) != 2 || s[0].EventID != "role" {
		t.Fatalf("suspects %+v: want the role change of 10:05 first", s)
	}
}
