package queries

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/transform"
)

// Every named query on the reference outage, against golden rows.
func TestNamedQueriesGolden(t *testing.T) {
	f := lbOutage(t)
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), lbTopology)
	ctx := context.Background()
	for _, name := range NamedQueries {
		t.Run(name, func(t *testing.T) {
			w := Window{}
			if name == "series" {
				w = Window{Since: at("10:00"), Until: at("10:05")} // keep the golden short
			}
			tb, err := e.Named(ctx, name, w)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "lb_"+name, tb)
		})
	}
}

func TestLBOutageFacts(t *testing.T) {
	f := lbOutage(t)
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), lbTopology)
	ctx := context.Background()
	inc, err := e.Incidents(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inc) != 1 {
		t.Fatalf("incidents: %+v; want one", inc)
	}
	in := inc[0]
	if in.ID != "inc-20251020-1003-checkout" || !in.Onset.Equal(at("10:03")) || !in.Recovery.Equal(at("10:13")) ||
		strings.Join(in.Services, ",") != "checkout,api" || in.Ongoing {
		t.Fatalf("incident: %+v", in)
	}
	sus, err := e.Suspects(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sus) != 4 || sus[0].EventID != "ct-elb" || sus[0].Rank != 1 {
		t.Fatalf("suspects: %+v", sus)
	}
	want := "ModifyListener on arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/1 by alice in us-east-1, 2 min before onset; elasticloadbalancing is a dependency of checkout (distance 1)"
	if !strings.HasPrefix(sus[0].Evidence, want) {
		t.Fatalf("evidence: %s", sus[0].Evidence)
	}
	sum := 0.0
	for _, v := range sus[0].Components {
		sum += v
	}
	if d := sum - sus[0].Score; d > 0.001 || d < -0.001 {
		t.Fatalf("components %v do not add up to score %v", sus[0].Components, sus[0].Score)
	}
	// The window restricts incidents by onset.
	inc, err = e.Incidents(ctx, Window{Since: at("10:20"), Until: at("11:00")})
	if err != nil || len(inc) != 0 {
		t.Fatalf("incidents after 10:20: %+v, %v", inc, err)
	}
}

// Without any configured topology the engine infers edges from peer_service
// and still ranks the listener change first; with inference off too, it
// loses its topology credit and says so in the evidence.
func TestTopologyConfiguredInferredNone(t *testing.T) {
	f := lbOutage(t)
	ctx := context.Background()
	inferred, err := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil).Suspects(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "lb_suspects_inferred_topology", inferred)
	if inferred[0].EventID != "ct-elb" || !strings.Contains(inferred[0].Evidence, "dependency of checkout (distance 1)") {
		t.Fatalf("inferred topology: %+v", inferred[0])
	}
	cfg := DefaultCorrelationConfig()
	cfg.InferTopology = false
	none, err := NewEngine(f.db.DB, cfg, nil).Suspects(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "lb_suspects_no_topology", none)
	var elb Suspect
	for _, s := range none {
		if s.EventID == "ct-elb" {
			elb = s
		}
	}
	if elb.Components["topology"] != 0 || !strings.Contains(elb.Evidence, "no known dependency path") {
		t.Fatalf("no topology: %+v", elb)
	}
	if elb.Score >= inferred[0].Score {
		t.Fatalf("topology should add to the score: %v without, %v with", elb.Score, inferred[0].Score)
	}
}

// CloudTrail arrives late: the suspects must change when the late change
// lands, because nothing is cached.
func TestLateChangeReranks(t *testing.T) {
	f := newFixture(t)
	f.info("checkout", "us-east-1", "09:00", 90, 5)
	f.every("checkout", "us-east-1", "09:00", 90, 5)
	f.errs("checkout", "us-east-1", "10:00", 8, 30, "elasticloadbalancing", "")
	f.change(change{id: "early", clock: "09:30:00", service: "s3", operation: "PutBucketTagging", region: "us-east-1", risk: "low"})
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), lbTopology)
	ctx := context.Background()
	before, err := e.Suspects(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 1 || before[0].EventID != "early" {
		t.Fatalf("before the late event: %+v", before)
	}
	// The listener change happened at 09:58 but is observed at 10:12.
	f.change(change{id: "late", clock: "09:58:00", observed: "10:12:00", service: "elasticloadbalancing",
		operation: "ModifyListener", region: "us-east-1", risk: "high"})
	after, err := e.Suspects(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 2 || after[0].EventID != "late" || after[1].EventID != "early" || after[1].Rank != 2 {
		t.Fatalf("after the late event: %+v", after)
	}
}

func spikeServices(t *testing.T, e *Engine) map[string][]Spike {
	t.Helper()
	sp, err := e.Spikes(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]Spike{}
	for _, s := range sp {
		out[s.Service] = append(out[s.Service], s)
	}
	return out
}

// A quiet service ignores single stray errors but catches a small burst; a
// noisy service ignores its usual swings but catches a real rise; a busy
// steady service ignores +30% but catches a tripling.
func TestSpikesQuietNoisyBusy(t *testing.T) {
	f := newFixture(t)
	// quiet: an error now and then, a few 2-3 error minutes, then 8/min for 3 minutes at 10:30.
	quiet := repeat(90, 0)
	for _, m := range []int{5, 17, 40, 41, 70} {
		quiet[m] = 2 + m%2
	}
	for m := 90; m < 93; m++ {
		quiet = append(quiet, 8)
	}
	f.counts("quiet", "us-east-1", "09:00", quiet)
	// noisy: swings between 5 and 45 per minute, then 200/min at 10:30.
	noisy := repeat(15, 5, 45, 12, 38, 20, 30)
	noisy = append(noisy, 200, 210, 190)
	f.counts("noisy", "us-east-1", "09:00", noisy)
	// busy: 100/min steady, 130/min for a while (no spike), 300/min at 10:30.
	busy := repeat(70, 100)
	busy = append(busy, repeat(20, 130)...)
	busy = append(busy, 300, 300, 300)
	f.counts("busy", "us-east-1", "09:00", busy)

	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
	got := spikeServices(t, e)
	golden(t, "spikes_quiet_noisy_busy", got)
	for _, svc := range []string{"quiet", "noisy", "busy"} {
		sp := got[svc]
		if len(sp) != 1 || !sp[0].Start.Equal(at("10:30")) || !sp[0].End.Equal(at("10:32")) {
			t.Errorf("%s: spikes %+v; want exactly one, 10:30-10:32", svc, sp)
		}
	}
	inc, err := e.Incidents(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inc) != 1 || len(inc[0].Services) != 3 || !inc[0].Ongoing {
		t.Fatalf("incidents: %+v; want one ongoing incident over 3 services", inc)
	}
}

// Background noise only: no incident.
func TestQuietPeriodNoIncident(t *testing.T) {
	f := newFixture(t)
	f.counts("api", "us-east-1", "09:00", repeat(40, 3, 0, 1, 7, 2, 0))
	f.counts("db", "eu-west-1", "09:00", repeat(60, 0, 0, 0, 4))
	f.change(change{id: "c1", clock: "10:00:00", service: "api", operation: "UpdateService", region: "us-east-1", risk: "high"})
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
	for _, name := range []string{"incidents", "suspects", "cascade"} {
		tb, err := e.Named(context.Background(), name, Window{})
		if err != nil {
			t.Fatal(err)
		}
		if len(tb.Rows) != 0 {
			t.Errorf("%s on a quiet period: %v", name, tb.Rows)
		}
	}
}

// A single service spiking for one minute is not an incident
// (min_spike_minutes), and an incident still going at the end of the data is
// ongoing with no recovery.
func TestIncidentSizeAndOngoing(t *testing.T) {
	f := newFixture(t)
	f.counts("a", "us-east-1", "09:00", append(repeat(20, 0, 1), 50))
	f.counts("b", "us-east-1", "09:00", append(repeat(60, 0), repeat(5, 40)...))
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
	inc, err := e.Incidents(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inc) != 1 || inc[0].Services[0] != "b" || !inc[0].Ongoing || !inc[0].Recovery.IsZero() {
		t.Fatalf("incidents: %+v", inc)
	}
	sp, err := e.Spikes(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sp) != 2 || sp[0].Service != "a" || sp[0].IncidentID != "" || sp[1].IncidentID != inc[0].ID {
		t.Fatalf("spikes: %+v", sp)
	}
}

// A cascade across regions and the regional warning: a provider issue in
// us-east-1 breaks dynamodb users there, eu-west-1 stays healthy.
func TestCascadeAndRegions(t *testing.T) {
	f := newFixture(t)
	for _, s := range []string{"orders", "cart", "web"} {
		f.every(s, "us-east-1", "09:00", 120, 7)
		f.every(s, "eu-west-1", "09:00", 120, 9)
	}
	f.change(change{id: "health-1", clock: "10:00:00", source: "health", service: "dynamodb", operation: "AWS_DYNAMODB_OPERATIONAL_ISSUE",
		region: "us-east-1", changeType: "provider", risk: "critical"})
	f.errs("orders", "us-east-1", "10:01", 6, 25, "dynamodb", "")
	f.errs("cart", "us-east-1", "10:03", 4, 15, "orders", "")
	f.errs("web", "us-east-1", "10:04", 4, 20, "cart", "")
	topo := map[string][]string{"web": {"cart", "orders"}, "cart": {"orders"}, "orders": {"dynamodb"}}
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), topo)
	ctx := context.Background()
	cas, err := e.Cascade(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "cascade_provider", cas)
	if len(cas) != 3 || cas[0].Service != "orders" || cas[1].Service != "cart" || cas[2].Service != "web" ||
		strings.Join(cas[2].Via, ",") != "cart,orders" || strings.Join(cas[1].Via, ",") != "orders" || len(cas[0].Via) != 0 {
		t.Fatalf("cascade: %+v", cas)
	}
	reg, err := e.Regions(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "regions_provider", reg)
	if reg[0].Region != "us-east-1" || reg[0].ErrorShare != 1 || !strings.Contains(reg[0].Warning, "100% of the errors on aws/us-east-1") || reg[0].Provider != "aws" {
		t.Fatalf("regions: %+v", reg)
	}
	sus, err := e.Suspects(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sus) != 1 || sus[0].EventID != "health-1" || !strings.Contains(sus[0].Evidence, "dynamodb is a dependency of orders (distance 1)") {
		t.Fatalf("suspects: %+v", sus)
	}
}

func TestChangeFailureRate(t *testing.T) {
	f := lbOutage(t)
	// Unrelated changes long before: never suspects.
	f.change(change{id: "old-1", clock: "09:05:00", service: "elasticloadbalancing", operation: "ModifyListener", region: "us-east-1", actor: "alice", risk: "high"})
	f.change(change{id: "old-2", clock: "09:06:00", service: "s3", operation: "PutBucketPolicy", region: "us-east-1", actor: "bob", risk: "medium"})
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), lbTopology)
	cfr, err := e.ChangeFailureRate(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "change_failure_rate", cfr)
	find := func(dim, val string) ChangeFailure {
		for _, c := range cfr {
			if c.Dimension == dim && c.Value == val {
				return c
			}
		}
		t.Fatalf("no %s=%s in %+v", dim, val, cfr)
		return ChangeFailure{}
	}
	if c := find("operation", "ModifyListener"); c.Changes != 2 || c.Failed != 1 || c.Rate != 0.5 {
		t.Errorf("ModifyListener: %+v", c)
	}
	if c := find("actor", "bob"); c.Changes != 2 || c.Failed != 0 {
		t.Errorf("bob: %+v", c)
	}
}

func TestCorrelationConfigValidate(t *testing.T) {
	if err := DefaultCorrelationConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultCorrelationConfig()
	c.BaselineWindow = 90 * time.Second
	c.SpikeMinErrors = 0
	c.Weights = Weights{}
	c.ConfinedShare = 0.2
	err := c.Validate()
	for _, key := range []string{"correlation.baseline_window", "correlation.spike_min_errors", "correlation.weights", "correlation.confined_share"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate does not name %s: %v", key, err)
		}
	}
}

// A change-heavy hour: the SQL keeps only the best candidates per incident;
// the top suspects must be the same as when every candidate is kept.
func TestManyCandidatesPrefilter(t *testing.T) {
	f := lbOutage(t)
	for i := range 80 {
		f.change(change{id: "noise-" + strconv.Itoa(i), clock: fmt.Sprintf("%02d:%02d:%02d", 9+(5+i/2)/60, (5+i/2)%60, (i*7)%60),
			service: []string{"ec2", "s3", "checkout", "lambda"}[i%4], operation: "Op" + strconv.Itoa(i%9),
			region: []string{"us-east-1", "eu-west-1"}[i%2], actor: "bot", changeType: "other",
			risk: []string{"low", "medium", "high"}[i%3]})
	}
	ctx := context.Background()
	few, err := NewEngine(f.db.DB, DefaultCorrelationConfig(), lbTopology).Suspects(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultCorrelationConfig()
	cfg.TopSuspects = 200
	all, err := NewEngine(f.db.DB, cfg, lbTopology).Suspects(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(few) != 10 || len(all) != 84 {
		t.Fatalf("suspects kept: %d (want 10), all: %d (want 84)", len(few), len(all))
	}
	for i := range few {
		if few[i].EventID != all[i].EventID || few[i].Score != all[i].Score || few[i].Rank != all[i].Rank {
			t.Fatalf("rank %d: prefiltered %s %v, full %s %v", i+1, few[i].EventID, few[i].Score, all[i].EventID, all[i].Score)
		}
	}
	if few[0].EventID != "ct-elb" {
		t.Fatalf("rank 1: %+v", few[0])
	}
}

// Services that break in the same minute: the loudest comes first (it names
// the incident), side effects after it.
func TestSameMinuteOrderedByPeak(t *testing.T) {
	f := newFixture(t)
	f.every("api", "us-east-1", "09:00", 60, 6)
	f.errs("api", "us-east-1", "10:00", 5, 40, "", "")
	f.errs("audit", "us-east-1", "10:00", 3, 6, "", "")
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
	cas, err := e.Cascade(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cas) != 2 || cas[0].Service != "api" || cas[1].Service != "audit" || cas[0].IncidentID != "inc-20251020-1000-api" {
		t.Fatalf("cascade: %+v", cas)
	}
	inc, err := e.Incidents(context.Background(), Window{})
	if err != nil || len(inc) != 1 || strings.Join(inc[0].Services, ",") != "api,audit" {
		t.Fatalf("incidents: %+v %v", inc, err)
	}
}

// An incident needs a sustained spike (min_spike_minutes in one series) and
// enough errors above the baselines (min_excess_errors); an isolated noisy
// minute just before the outage does not move its onset.
func TestIncidentNeedsSustainedSpike(t *testing.T) {
	cases := []struct {
		name      string
		load      func(f *fixture)
		onset     string // "" = no incident
		services  []string
		wantSpike int // spikes found (with or without an incident)
	}{
		{"two one-minute spikes of two services", func(f *fixture) {
			f.counts("a", "us-east-1", "09:00", append(repeat(30, 0, 1), 30))
			f.counts("b", "us-east-1", "09:00", append(repeat(32, 0, 1), 30))
		}, "", nil, 2},
		{"two minutes just over the floor", func(f *fixture) {
			f.counts("a", "us-east-1", "09:00", append(repeat(30, 0, 1), 6, 6))
		}, "", nil, 1},
		{"noise minute before the outage", func(f *fixture) {
			f.counts("x", "us-east-1", "09:00", append(repeat(30, 0, 1), 9))
			f.counts("y", "us-east-1", "09:00", append(repeat(32, 0, 1), repeat(15, 30)...))
		}, "10:04", []string{"y"}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.load(f)
			e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
			inc, err := e.Incidents(context.Background(), Window{})
			if err != nil {
				t.Fatal(err)
			}
			sp, err := e.Spikes(context.Background(), Window{})
			if err != nil {
				t.Fatal(err)
			}
			if len(sp) != tc.wantSpike {
				t.Errorf("spikes: got %d, want %d: %+v", len(sp), tc.wantSpike, sp)
			}
			if tc.onset == "" {
				if len(inc) != 0 {
					t.Fatalf("incidents: got %+v, want none", inc)
				}
				return
			}
			if len(inc) != 1 || !inc[0].Onset.Equal(at(tc.onset)) || strings.Join(inc[0].Services, ",") != strings.Join(tc.services, ",") {
				t.Fatalf("incidents: got %+v, want one at %s of %v", inc, tc.onset, tc.services)
			}
		})
	}
}

// dnsOutage: cart fails from 10:00 to resolve cart-db.internal.example.com
// (one error a minute in the hour before, then 30 a minute for ten minutes).
func dnsOutage(t *testing.T) *fixture {
	f := newFixture(t)
	f.counts("cart", "us-east-1", "09:00", repeat(60, 1))
	onset := time.Date(2025, 10, 20, 10, 0, 0, 0, time.UTC)
	testkit.Seed(t, f.db, testkit.Repeat(300, "dns-", testkit.Every(onset, 2*time.Second), transform.Event{
		ObservedTime: onset, Source: "app", Kind: "error", Service: "cart", Region: "us-east-1", AccountID: "111122223333",
		SeverityNumber: 17, ErrorCode: "UnknownHostException",
		Message: "dial tcp: lookup cart-db.internal.example.com on 10.0.0.2:53: no such host",
	})...)
	return f
}

// recordChange adds a Route 53 change of record at clock.
func (f *fixture) recordChange(id, clock, record string) {
	f.t.Helper()
	f.change(change{id: id, clock: clock, service: "route53", operation: "ChangeResourceRecordSets", region: "us-east-1",
		resource: "arn:aws:route53:::hostedzone/Z0ABC", changeType: "dns", risk: "critical",
		attrs: `{"requestParameters":{"hostedZoneId":"Z0ABC","changeBatch":{"changes":[{"action":"UPSERT","resourceRecordSet":{"name":"` +
			record + `","type":"CNAME"}}]}}}`})
}

// The names a change touches (here the DNS record in its requestParameters)
// are matched against the first errors: the change of the record the errors
// fail to resolve outranks a change of another record closer to the onset.
func TestTouchedNameOutranksCloserChange(t *testing.T) {
	f := dnsOutage(t)
	f.recordChange("true", "09:56:00", "cart-db.internal.example.com")
	f.recordChange("decoy", "09:58:30", "search-db.internal.example.com")
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
	s, err := e.Suspects(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s[0].EventID != "true" || s[1].EventID != "decoy" {
		t.Fatalf("suspects: %+v", s)
	}
	if want := "changed record cart-db.internal.example.com, which the first errors of cart fail to resolve"; !strings.Contains(s[0].Evidence, want) {
		t.Errorf("evidence %q lacks %q", s[0].Evidence, want)
	}
	if strings.Contains(s[1].Evidence, "changed record") {
		t.Errorf("decoy evidence claims a name match: %q", s[1].Evidence)
	}
}

// The candidates statement keeps the best $keep candidates of an incident
// by a score whose costly part (does an error name what the change
// touched?) it computes only for the candidates that can still make the
// cut. A change named by the errors but scored below many closer changes
// without it must survive that cut: the ranking with the cut (20 suspects,
// 40 kept) equals the ranking of every candidate (200). Here the named
// change ranks 20th with the name and would rank below the 40 kept
// without it (the test fails when the cut ignores what the name adds).
func TestNameMatchSurvivesTheCut(t *testing.T) {
	f := dnsOutage(t)
	f.recordChange("true", "09:51:00", "cart-db.internal.example.com")
	for i := range 60 {
		f.recordChange(fmt.Sprintf("decoy-%02d", i), fmt.Sprintf("09:%02d:%02d", 50+i/6, (i%6)*10), fmt.Sprintf("search-%02d.internal.example.com", i))
	}
	// Without inferred topology the record is no node the errors reach:
	// only the candidates statement's own parsing finds the name.
	ctx := context.Background()
	cfg := DefaultCorrelationConfig()
	cfg.InferTopology = false
	cfg.TopSuspects = 20
	cut, err := NewEngine(f.db.DB, cfg, nil).Suspects(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.TopSuspects = 200
	all, err := NewEngine(f.db.DB, cfg, nil).Suspects(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cut) != 20 || len(all) != 61 {
		t.Fatalf("suspects with the cut: %d (want 20), all: %d (want 61)", len(cut), len(all))
	}
	for i := range cut {
		if cut[i].EventID != all[i].EventID || cut[i].Score != all[i].Score {
			t.Fatalf("rank %d: with the cut %s %v, all %s %v", i+1, cut[i].EventID, cut[i].Score, all[i].EventID, all[i].Score)
		}
	}
	i := slices.IndexFunc(cut, func(s Suspect) bool { return s.EventID == "true" })
	if i < 10 || !strings.Contains(cut[i].Evidence, "changed record cart-db.internal.example.com") {
		t.Fatalf("the named change: rank %d of %d, want 11-20 with the name in its evidence", i+1, len(cut))
	}
}

// The whole window's regions count every region with changes, not only the
// regions with errors (issue 21: 6 of 8 changes "75%" in a window of 16
// changes in 6 regions).
func TestRegionsWholeWindowCountsRegionsWithoutErrors(t *testing.T) {
	f := lbOutage(t)
	f.change(change{id: "sa-1", clock: "09:20:00", service: "ec2", operation: "CreateTags", region: "sa-east-1", risk: "low"})
	f.change(change{id: "ap-1", clock: "10:40:00", service: "ec2", operation: "CreateTags", region: "ap-southeast-2", risk: "low"})
	f.change(change{id: "ap-2", clock: "10:41:00", service: "ec2", operation: "CreateTags", region: "ap-southeast-2", risk: "low"})
	reg, err := NewEngine(f.db.DB, DefaultCorrelationConfig(), lbTopology).Regions(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	whole := map[string]RegionShare{}
	var changes int64
	for _, r := range reg {
		if r.IncidentID == "" {
			whole[r.Region] = r
			changes += r.Changes
		}
	}
	if changes != 7 {
		t.Fatalf("whole window counts %d changes, want all 7: %+v", changes, whole)
	}
	if r := whole["ap-southeast-2"]; r.Changes != 2 || r.Errors != 0 || r.ChangeShare != round4(2.0/7) || r.ErrorShare != 0 {
		t.Errorf("ap-southeast-2: %+v", r)
	}
	if r := whole["us-east-1"]; r.Changes != 3 || r.ChangeShare != round4(3.0/7) {
		t.Errorf("us-east-1: %+v (3 of 7 changes)", r)
	}
}

// TestSpikePeakTieEarliest: two minutes of a spike tied at its peak give
// the earlier one as the peak, whatever order the rows arrive in (the peak
// came out either way between runs over 10M events).
func TestSpikePeakTieEarliest(t *testing.T) {
	f := newFixture(t)
	f.counts("a", "us-east-1", "10:02", []int{40, 30}) // the later tied minute first
	f.counts("a", "us-east-1", "09:00", append(repeat(30, 0, 1), 30, 40))
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
	for range 5 {
		sp, err := e.Spikes(context.Background(), Window{})
		if err != nil {
			t.Fatal(err)
		}
		if len(sp) != 1 || !sp[0].Peak.Equal(at("10:01")) || sp[0].PeakErrors != 40 {
			t.Fatalf("spikes: %+v, want one with its peak at 10:01 (40 errors, tied with 10:02)", sp)
		}
	}
}
