package queries

import (
	"context"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/transform"
)

// raw seeds one event with the given columns (others empty).
func (f *fixture) raw(id, clock, source, kind, service, region, actor, peer, message, attrs string) {
	f.t.Helper()
	testkit.Seed(f.t, f.db, transform.Event{
		EventID: id, Time: at(clock), ObservedTime: at(clock), Source: source, Kind: kind, Service: service,
		Region: region, Actor: actor, PeerService: peer, Message: message, Attributes: attrs,
	})
}

// Dependencies come from what the events name: OpenTelemetry attributes
// (to the load balancer, the queue, the DNS record, not only the AWS
// service), AWS host names and ARNs in messages, CloudTrail calls of a
// service's own role, and alarms naming a load balancer with its target
// group. A region, a load balancer's number or a session name is never a
// node.
func TestInferredTopology(t *testing.T) {
	f := newFixture(t)
	f.raw("a1", "10:00", "app", "error", "cart", "us-east-1", "", "elasticloadbalancing", "503",
		`{"server.address":"internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com"}`)
	f.raw("a2", "10:00", "app", "error", "cart", "us-east-1", "", "elasticloadbalancing", "503",
		`{"server.address":"internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com"}`)
	f.raw("a3", "10:00", "app", "error", "orders", "us-east-1", "", "sqs", "send failed",
		`{"url.full":"https://sqs.us-east-1.amazonaws.com/123456789012/orders-queue"}`)
	f.raw("a4", "10:00", "app", "error", "orders", "us-east-1", "", "", "dial tcp: lookup orders-db.internal.example.com on 10.0.0.2:53: no such host", "")
	f.raw("a5", "10:00", "app", "error", "search", "us-east-1", "", "dynamodb", "x",
		`{"rpc.system":"aws-api","rpc.service":"DynamoDB","server.address":"10.0.0.9"}`)
	f.raw("a6", "10:00", "app", "error", "profile", "us-east-1", "", "", "User: arn:aws:sts::123456789012:assumed-role/profile-task-role/profile-9f8e7d6c5b4a is not authorized to perform: dynamodb:Query on resource: arn:aws:dynamodb:us-east-1:123456789012:table/profile-table because no identity-based policy allows the dynamodb:Query action", "")
	f.raw("a7", "10:00", "cloudwatch", "error", "web", "us-east-1", "", "", `{"level":"error","msg":"upstream","server.address":"cart.prod.svc.cluster.local:8080"}`, `{"log":{}}`)
	// An old row whose peer_service is a load balancer's DNS label: no node.
	f.raw("a8", "10:00", "app", "error", "legacy", "us-east-1", "", "internal-legacy-alb-1987654321", "x", "")
	// CloudTrail calls by profile's role (reads and a failure), and by a person.
	f.raw("c1", "10:00", "cloudtrail", "info", "secretsmanager", "us-east-1", "arn:aws:sts::123456789012:assumed-role/profile-task-role/profile-9f8e7d6c5b4a", "", "", "")
	f.raw("c2", "10:00", "cloudtrail", "error", "kms", "us-east-1", "arn:aws:sts::123456789012:assumed-role/profile-task-role/profile-9f8e7d6c5b4a", "", "User: arn:aws:sts::123456789012:assumed-role/profile-task-role/x is not authorized", "")
	f.raw("c3", "10:00", "cloudtrail", "info", "ec2", "us-east-1", "arn:aws:sts::123456789012:assumed-role/PlatformAdmin/alice", "", "", "")
	// AWS Config items with relationships, as a Config rule is invoked
	// with them (invokingEvent) and as EventBridge delivers them (detail).
	f.raw("cf1", "10:01", "config", "change", "ec2", "us-east-1", "", "", "UPDATE AWS::EC2::Instance i-1",
		`{"invokingEvent":{"configurationItem":{"resourceType":"AWS::EC2::Instance","relationships":[{"resourceId":"eipalloc-1","resourceType":"AWS::EC2::EIP"},{"resourceId":"sg-1","resourceType":"AWS::EC2::SecurityGroup"}]}}}`)
	f.raw("cf2", "10:02", "config", "change", "lambda", "us-east-1", "", "", "UPDATE AWS::Lambda::Function checkout",
		`{"detail":{"configurationItem":{"resourceType":"AWS::Lambda::Function","relationships":[{"resourceName":"checkout-role","resourceType":"AWS::IAM::Role"}]}}}`)
	// An alarm on the target group behind cart's load balancer.
	f.raw("al", "10:01", "alarm", "error", "elasticloadbalancing", "us-east-1", "", "", "Threshold Crossed",
		`{"detail":{"configuration":{"metrics":[{"metricStat":{"metric":{"dimensions":{"LoadBalancer":"app/cart-alb/50dc6c495c0c9188","TargetGroup":"targetgroup/cart-tg/73e2d6bc24d8a067"}}}}]}}}`)

	edges, err := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil).Topology(context.Background(), Window{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[[3]string]int64{}
	for _, e := range edges {
		got[[3]string{e.From, e.To, e.Origin}] = e.Events
		for _, n := range []string{e.From, e.To} {
			if n == "us-east-1" || n == "internal-legacy-alb-1987654321" || n == "10.0.0.9" || n == "internal-cart-alb-1234567890" {
				t.Errorf("edge %+v has a node that is a region, an address or an id", e)
			}
		}
	}
	want := map[[3]string]int64{
		{"cart", "elasticloadbalancing", "attribute"}:                                 2,
		{"cart", "elasticloadbalancing:us-east-1:loadbalancer/cart-alb", "attribute"}: 2,
		{"orders", "sqs", "attribute"}:                                                1,
		{"orders", "sqs:us-east-1:queue/orders-queue", "attribute"}:                   1,
		{"orders", "orders-db", "message"}:                                            1,
		{"orders", "dns::record/orders-db.internal.example.com", "message"}:           1,
		{"search", "dynamodb", "attribute"}:                                           1,
		{"profile", "iam", "message"}:                                                 1,
		{"profile", "iam::role/profile-task-role", "message"}:                         1,
		{"profile", "dynamodb:us-east-1:table/profile-table", "message"}:              1,
		{"profile", "iam::role/profile-task-role", "cloudtrail_role"}:                 2,
		{"profile", "secretsmanager", "cloudtrail_role"}:                              1,
		{"profile", "kms", "cloudtrail_role"}:                                         1,
		{"web", "cart", "attribute"}:                                                  1,
		{"elasticloadbalancing:us-east-1:loadbalancer/cart-alb", "elasticloadbalancing:us-east-1:targetgroup/cart-tg", "association"}: 1,
		{"lambda", "iam", "config_relationship"}: 1,
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("edge %v: %d events, want %d", k, got[k], n)
		}
	}
	// ec2 depends on nothing but itself here (an EIP and a security group
	// are EC2 resources): no edge; the SQL the sink is checked against
	// finds the same evidence (edge_minutes).
	for k := range got {
		if k[0] == "ec2" {
			t.Errorf("unexpected edge %v", k)
		}
	}
	if err := f.db.CheckRollups(context.Background()); err != nil {
		t.Error(err)
	}
	for k := range got {
		if k[0] == "kms" || k[0] == "secretsmanager" || k[0] == "ec2" || k[0] == "legacy" {
			t.Errorf("unexpected edge %v: CloudTrail's own errors name the caller, people's calls belong to no service, an id is no peer", k)
		}
	}
}

// A window's whole minutes come from edge_minutes and the part of a minute
// at either end from the events: each event counts in exactly the windows
// its time lies in, whatever the seconds of the window's bounds.
func TestTopologyWindowEnds(t *testing.T) {
	f := newFixture(t)
	var times []time.Time
	for _, clock := range []string{"09:59:30", "10:00:05", "10:00:20", "10:01:00", "10:02:59", "10:03:30", "10:04:10", "10:05:10", "10:05:50", "10:07:00"} {
		times = append(times, at(clock))
		f.raw("e"+clock, clock, "app", "error", "cart", "us-east-1", "", "payments", "call to dynamodb.us-east-1.amazonaws.com failed", "")
	}
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
	ctx := context.Background()
	s, err := e.open(ctx, Window{}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	windows := [][2]time.Time{
		{at("10:00:10"), at("10:05:40")}, // both ends inside a minute
		{at("10:05:05"), at("10:05:30")}, // within one minute
		{at("10:01"), at("10:03")},       // whole minutes only
		{at("10:00:20"), at("10:00:21")}, // one microsecond-wide event's second
		{at("09:00"), at("11:00")},
		{at("10:05:50"), at("10:05:50")}, // empty
	}
	eds, err := e.edges(ctx, s, windows)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range windows {
		want := int64(0)
		for _, tm := range times {
			if !tm.Before(w[0]) && tm.Before(w[1]) {
				want++
			}
		}
		got := map[string]int64{}
		for _, ed := range eds[i] {
			got[ed.To+"/"+ed.Origin] = ed.Events
		}
		for _, k := range []string{"payments/peer_service", "dynamodb/message"} {
			if got[k] != want {
				t.Errorf("window %s..%s: edge cart->%s has %d events, want %d (all edges: %v)", w[0].Format("15:04:05"), w[1].Format("15:04:05"), k, got[k], want, got)
			}
		}
	}
}
