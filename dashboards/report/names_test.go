package report

import (
	"testing"
	"time"

	"github.com/faultline/faultline/queries"
)

func TestResourceName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/cart-tg/c8ef451987afb0f0", "cart-tg"},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/cart-alb/1f4ef1609ab619f1", "cart-alb"},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/edge-nlb/1f4ef1609ab619f1", "edge-nlb"},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/classic-lb", "classic-lb"},
		{"arn:aws:elasticloadbalancing:sa-east-1:123456789012:listener/app/search-alb/bd88a1702718de5f/ea9153544f1c2f23", "search-alb listener"},
		{"arn:aws:elasticloadbalancing:sa-east-1:1:listener-rule/app/search-alb/bd88a1702718de5f/ea9153544f1c2f23/9a8b7c6d5e4f3a2b", "search-alb rule"},
		{"arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:54d0314c-bf4e-4c8e-a389-180d7b7e5cf5:autoScalingGroupName/payments-asg", "payments-asg"},
		{"arn:aws:lambda:eu-central-1:123456789012:function:reviews", "reviews"},
		{"arn:aws:dynamodb:eu-central-1:123456789012:table/payments-table", "payments-table"},
		{"arn:aws:ec2:us-east-1:123456789012:security-group/sg-0c8bf949da2ada2b2", "sg-0c8bf949da2ada2b2"},
		{"arn:aws:cloudformation:us-east-1:1:stack/web/0a1b2c3d-1111-2222-3333-444455556666", "web"},
		{"arn:aws:sts::123456789012:assumed-role/NetworkAdmin/dmitri", "dmitri"},
		{"arn:aws:iam::123456789012:role/terraform-ci", "terraform-ci"},
		{"arn:aws:s3:::my-bucket", "my-bucket"},
		{"arn:aws:route53:::hostedzone/Z123ABC", "Z123ABC"},
		{"projects/p/zones/us-central1-a/instances/web-1", "web-1"},
		{"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/shop", "shop"},
		{"search:1.4.2", "1.4.2"},
		{"cart-tg", "cart-tg"},
		{"arn:broken", "broken"},
		{"", ""},
	} {
		if got := ResourceName(c.in); got != c.want {
			t.Errorf("ResourceName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestConfidence(t *testing.T) {
	for _, c := range []struct {
		top, next float64
		want      string
	}{
		{0.69, 0.39, "high"}, {0.69, -1, "high"}, {0.69, 0.6, "medium"}, {0.45, 0.1, "medium"}, {0.39, 0.1, "low"}, {0.6, 0.45, "high"},
	} {
		if got := Confidence(c.top, c.next); got != c.want {
			t.Errorf("Confidence(%v, %v) = %q, want %q", c.top, c.next, got, c.want)
		}
	}
	s := []queries.Suspect{{Score: 0.7}, {Score: 0.65}, {Score: 0.2}}
	if got := []string{SuspectConfidence(s, 0), SuspectConfidence(s, 1), SuspectConfidence(s, 2), SuspectConfidence(s, 3)}; got[0] != "medium" || got[1] != "high" || got[2] != "low" || got[3] != "" {
		t.Errorf("SuspectConfidence = %q", got)
	}
}

func TestShortNames(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ModifyTargetGroup on arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/cart-tg/c8ef451987afb0f0 by arn:aws:sts::1:assumed-role/NetworkAdmin/dmitri in us-east-1",
			"ModifyTargetGroup on cart-tg by dmitri in us-east-1"},
		{"(arn:aws:lambda:eu-central-1:1:function:reviews), then", "(reviews), then"},
		{"no identifiers: harnessing arn: alone", "no identifiers: harnessing arn: alone"},
		{"", ""},
	} {
		if got := ShortNames(c.in); got != c.want {
			t.Errorf("ShortNames(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestHeadline(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	w := queries.Window{Since: at("2026-03-02T09:00:00Z"), Until: at("2026-03-02T11:00:00Z")}
	lb := queries.Suspect{Rank: 1, Operation: "ModifyTargetGroup", LeadMinutes: 3.8,
		Resource: "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/cart-tg/c8ef451987afb0f0",
		Actor:    "arn:aws:sts::1:assumed-role/NetworkAdmin/dmitri"}
	inc := func(errors int64, ongoing bool, services ...string) Incident {
		in := Incident{Incident: queries.Incident{Onset: at("2026-03-02T10:00:00Z"), Services: services, TotalErrors: errors, Ongoing: ongoing}, TimeToRecover: "22m"}
		if !ongoing {
			in.Recovery = at("2026-03-02T10:22:00Z")
		}
		return in
	}
	withCause := func(in Incident, conf string) Incident {
		in.Suspects, in.Confidence = []queries.Suspect{lb}, conf
		return in
	}
	for _, c := range []struct {
		name string
		r    Report
		want string
	}{
		{"quiet", Report{Window: w, Summary: Summary{Errors: 12345, Changes: 16}},
			"No incidents from 2026-03-02 09:00Z to 2026-03-02 11:00Z: 12,345 errors and 16 changes, none of them part of an outage."},
		{"one", Report{Window: w, Incidents: []Incident{withCause(inc(1465, false, "cart", "partner-api"), "high")}},
			"1 incident: cart and partner-api failed at 2026-03-02 10:00Z for 22m, 1,465 errors; most likely cause: ModifyTargetGroup on cart-tg by dmitri, 3m48s before (high confidence)."},
		{"ongoing, no cause", Report{Window: w, Incidents: []Incident{inc(7, true, "search")}},
			"1 incident: search failing since 2026-03-02 10:00Z (ongoing), 7 errors; no change was found before it."},
		{"the largest of several", Report{Window: w, Summary: Summary{Ongoing: 1}, Incidents: []Incident{inc(10, true, "search"), withCause(inc(2000, false, "cart", "orders", "web"), "low")}},
			"2 incidents (1 ongoing); the largest: cart and 2 other services failed at 2026-03-02 10:00Z for 22m, 2,000 errors; most likely cause: ModifyTargetGroup on cart-tg by dmitri, 3m48s before (low confidence)."},
	} {
		if got := Headline(&c.r); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}
