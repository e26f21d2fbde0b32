package transform

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestDependencyEvidence(t *testing.T) {
	role := "arn:aws:sts::123456789012:assumed-role/cart-task-role/cart-1"
	for _, tc := range []struct {
		name string
		row  EvidenceRow
		want []Evidence
	}{
		{"peer only", EvidenceRow{Source: SourceApp, Kind: KindError, Service: "cart", HasService: true, Peer: "DynamoDB", HasPeer: true},
			[]Evidence{{"cart", "peer_service", "dynamodb"}}},
		{"attributes win over the peer, sorted", EvidenceRow{Source: SourceApp, Kind: KindError, Service: "cart", HasService: true, Peer: "x", HasPeer: true,
			Attributes: `{"url.full":"https://sqs.us-east-1.amazonaws.com/1/q","server.address":"a.example.com"}`, HasAttrs: true},
			[]Evidence{{"cart", "attribute", `"server.address":"a.example.com"` + "\t" + `"url.full":"https://sqs.us-east-1.amazonaws.com/1/q"`}}},
		{"attributes are read only with a peer", EvidenceRow{Source: SourceApp, Kind: KindError, Service: "cart", HasService: true,
			Attributes: `{"server.address":"a.example.com"}`, HasAttrs: true}, nil},
		{"rpc.system alone is no callee", EvidenceRow{Source: SourceApp, Kind: KindError, Service: "cart", HasService: true, Peer: "p", HasPeer: true,
			Attributes: `{"rpc.system":"aws-api"}`, HasAttrs: true}, []Evidence{{"cart", "peer_service", "p"}}},
		{"a CloudWatch line's attributes are its message", EvidenceRow{Source: SourceCloudWatch, Kind: KindError, Service: "web", HasService: true,
			Message: `{"msg":"upstream","server.address":"cart.svc:8080"}`, HasMessage: true},
			[]Evidence{{"web", "attribute", `"server.address":"cart.svc:8080"`}}},
		{"hosts and ARNs in a message", EvidenceRow{Source: SourceApp, Kind: KindError, Service: "orders", HasService: true,
			Message: "lookup orders-db.internal.example.com on 10.0.0.2:53; arn:aws:dynamodb:us-east-1:1:table/t, and s3.us-east-1.amazonaws.com", HasMessage: true},
			[]Evidence{{"orders", "message", "lookup orders-db.internal.example.com"}, {"orders", "message", "arn:aws:dynamodb:us-east-1:1:table/t"},
				{"orders", "message", "s3.us-east-1.amazonaws.com"}}},
		{"CloudTrail's own errors name the caller", EvidenceRow{Source: SourceCloudTrail, Kind: KindError, Service: "kms", HasService: true,
			Message: "arn:aws:iam::1:role/x is not authorized", HasMessage: true}, nil},
		{"no service, no evidence", EvidenceRow{Source: SourceApp, Kind: KindError, Peer: "p", HasPeer: true}, nil},
		{"info events carry no error evidence", EvidenceRow{Source: SourceApp, Kind: KindInfo, Service: "cart", HasService: true, Peer: "p", HasPeer: true}, nil},
		{"a role's call", EvidenceRow{Source: SourceCloudTrail, Kind: KindInfo, Service: "secretsmanager", HasService: true, Actor: role, HasActor: true},
			[]Evidence{{"arn:aws:sts::123456789012:assumed-role/cart-task-role/cart", "cloudtrail_role", "secretsmanager"}}},
		{"a person's call", EvidenceRow{Source: SourceCloudTrail, Kind: KindInfo, Service: "ec2", HasService: true, Actor: "arn:aws:iam::1:user/alice", HasActor: true}, nil},
		{"a Config rule invocation's relationships", EvidenceRow{Source: SourceConfig, Kind: KindChange, Service: "ec2", HasService: true, HasAttrs: true,
			Attributes: `{"invokingEvent":{"configurationItem":{"relationships":[{"resourceType":"AWS::EC2::EIP"},{"resourceType":"AWS::EC2::NetworkInterface"},{"name":"x"},{"resourceType":7}]}}}`},
			[]Evidence{{"ec2", "config_relationship", "AWS::EC2::EIP"}, {"ec2", "config_relationship", "AWS::EC2::NetworkInterface"}}},
		{"an EventBridge Config item's relationships", EvidenceRow{Source: SourceConfig, Kind: KindChange, Service: "elasticloadbalancing", HasService: true, HasAttrs: true,
			Attributes: `{"detail":{"configurationItem":{"relationships":[{"resourceType":"AWS::EC2::SecurityGroup"}]}}}`},
			[]Evidence{{"elasticloadbalancing", "config_relationship", "AWS::EC2::SecurityGroup"}}},
		{"keys match exactly", EvidenceRow{Source: SourceConfig, Kind: KindChange, Service: "ec2", HasService: true, HasAttrs: true,
			Attributes: `{"Relationships":[{"resourceType":"AWS::EC2::EIP"}]}`}, nil},
		{"an alarm names a load balancer and its target group", EvidenceRow{Source: SourceAlarm, Kind: KindSignal, Region: "us-east-1", HasRegion: true, HasAttrs: true,
			Attributes: `{"dimensions":{"TargetGroup":"targetgroup/tg/1","LoadBalancer":"app/lb/2"},"again":{"TargetGroup":"targetgroup/tg/1"}}`},
			[]Evidence{{"", "association", "us-east-1\t\"LoadBalancer\":\"app/lb/2\"\t\"TargetGroup\":\"targetgroup/tg/1\""}}},
		{"one name is no association", EvidenceRow{Source: SourceAlarm, Kind: KindSignal, Region: "us-east-1", HasRegion: true, HasAttrs: true,
			Attributes: `{"TargetGroup":"targetgroup/tg/1"}`}, nil},
		{"an association needs a region", EvidenceRow{Source: SourceAlarm, Kind: KindSignal, HasAttrs: true,
			Attributes: `{"TargetGroup":"targetgroup/tg/1","LoadBalancer":"app/lb/2"}`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DependencyEvidence(&tc.row, nil)
			if !slices.Equal(got, tc.want) {
				t.Errorf("DependencyEvidence = %q\nwant %q", got, tc.want)
			}
			key, ok := tc.row.Relevant()
			if again := DependencyEvidence(&key, nil); !slices.Equal(again, got) {
				t.Errorf("evidence of the Relevant row = %q, of the row %q", again, got)
			}
			if !ok && len(got) > 0 {
				t.Errorf("Relevant says no evidence, but there is %q", got)
			}
		})
	}
}

// Relevant keeps every field DependencyEvidence reads: the evidence of a
// row and of its Relevant row are equal, and a row it calls irrelevant
// has none.
func FuzzEvidenceRelevant(f *testing.F) {
	f.Add("app", "error", "cart", "p", `lookup x.example.com arn:aws:s3:::b`, `{"server.address":"h","TargetGroup":"t","LoadBalancer":"l"}`, "arn:aws:sts::1:assumed-role/r/s", "us-east-1", uint8(0xff))
	f.Add("config", "change", "elasticloadbalancing", "", "", `{"relationships":[{"resourceType":"AWS::EC2::EIP"}],"TargetGroup":"a","LoadBalancer":"b"}`, "", "eu-west-1", uint8(0xff))
	f.Add("cloudwatch", "error", "web", "", `{"url.full":"https://q.amazonaws.com"}`, "", "", "", uint8(0x0f))
	sources := []string{SourceApp, SourceCloudTrail, SourceCloudWatch, SourceConfig, SourceAlarm}
	kinds := []string{KindError, KindChange, KindInfo, KindSignal}
	f.Fuzz(func(t *testing.T, source, kind, service, peer, message, attrs, actor, region string, valid uint8) {
		if len(source) > 0 {
			source = sources[int(source[0])%len(sources)]
		}
		if len(kind) > 0 {
			kind = kinds[int(kind[0])%len(kinds)]
		}
		r := EvidenceRow{Source: source, Kind: kind, Service: service, Peer: peer, Message: message, Attributes: attrs, Actor: actor, Region: region,
			HasService: valid&1 != 0, HasPeer: valid&2 != 0, HasMessage: valid&4 != 0, HasAttrs: valid&8 != 0, HasActor: valid&16 != 0, HasRegion: valid&32 != 0}
		got := DependencyEvidence(&r, nil)
		key, ok := r.Relevant()
		if !ok && len(got) > 0 {
			t.Fatalf("Relevant says no evidence, but %+v has %q", r, got)
		}
		if again := DependencyEvidence(&key, nil); ok && !slices.Equal(again, got) {
			t.Fatalf("evidence of the Relevant row = %q, of the row %q", again, got)
		}
		for _, x := range got {
			if x.Ref == "" {
				t.Fatalf("empty ref in %q", got)
			}
		}
	})
}

func TestRoleCaller(t *testing.T) {
	for actor, want := range map[string]string{
		"arn:aws:sts::123456789012:assumed-role/cart-task-role/cart-9f8e7d6c5b4a":  "arn:aws:sts::123456789012:assumed-role/cart-task-role/cart",
		"arn:aws:sts::123456789012:assumed-role/checkout-fn-role/checkout-handler": "arn:aws:sts::123456789012:assumed-role/checkout-fn-role/checkout-handler",
		"arn:aws:sts::123456789012:assumed-role/ec2-role/i-0abc123def":             "arn:aws:sts::123456789012:assumed-role/ec2-role/i",
		"arn:aws:sts::123456789012:assumed-role/app/1234567":                       "arn:aws:sts::123456789012:assumed-role/app/",
		"arn:aws:sts::123456789012:assumed-role/app/cart-x7":                       "arn:aws:sts::123456789012:assumed-role/app/cart",
		"arn:aws:sts::123456789012:assumed-role/sso/alice@example.com":             "arn:aws:sts::123456789012:assumed-role/sso/alice@example.com",
		"arn:aws:sts::123456789012:assumed-role/no-session":                        "arn:aws:sts::123456789012:assumed-role/no-session",
		"arn:aws:iam::123456789012:user/alice":                                     "arn:aws:iam::123456789012:user/alice",
	} {
		if got := RoleCaller(actor); got != want {
			t.Errorf("RoleCaller(%q) = %q, want %q", actor, got, want)
		}
	}
}

// RoleCaller by hand equals the regular expressions rollups.sql uses.
func FuzzRoleCaller(f *testing.F) {
	for _, s := range []string{"arn:aws:sts::1:assumed-role/r/cart-9f8e", "arn:aws:sts::1:assumed-role/a\nx:assumed-role/b/c",
		"arn:aws:sts::1:assumed-role/r/s\nx", "x:assumed-role/a/b:assumed-role/c/d-e1", "arn:aws:sts::1:assumed-role/r/-a", "arn:aws:sts::1:assumed-role/r/a--b",
		"\n:assumed-role/r/s", "arn:aws:sts::1:assumed-role/r/a-b/c-d"} {
		f.Add(s)
	}
	prefixRE := regexp.MustCompile(`^(.*?:assumed-role/[^/]*/)`)
	sessionRE := regexp.MustCompile(`:assumed-role/[^/]*/(.*)$`)
	nameRE := regexp.MustCompile(`^([^0-9-]+(?:-[^0-9-]+)*)(?:-|$)`)
	sub := func(re *regexp.Regexp, s string) string {
		if m := re.FindStringSubmatch(s); m != nil {
			return m[1]
		}
		return ""
	}
	f.Fuzz(func(t *testing.T, actor string) {
		want := actor
		if i := strings.Index(actor, ":assumed-role/"); i >= 0 && strings.Contains(actor[i+len(":assumed-role/"):], "/") {
			want = sub(prefixRE, actor) + sub(nameRE, sub(sessionRE, actor))
		}
		if got := RoleCaller(actor); got != want {
			t.Fatalf("RoleCaller(%q) = %q, the regular expressions give %q", actor, got, want)
		}
	})
}

// attributeKVs by hand equals the regular expression rollups.sql uses.
func FuzzAttributeKVs(f *testing.F) {
	for _, s := range []string{`{"server.address":"a.b","url.full" : "http://x"}`, `"rpc.service"` + "\t\n:\f\r" + `"q"`, `""server.address":"x"`,
		`"db.system":"`, `"aws.s3.bucket":"b""net.peer.name":"n"`, `"http.url"x:"y"`, `"server.address":"a"server.address":"b"`} {
		f.Add(s)
	}
	re := regexp.MustCompile(`"(?:server\.address|net\.peer\.name|url\.full|http\.url|rpc\.service|rpc\.system|db\.system|aws\.s3\.bucket)"\s*:\s*"[^"]*"`)
	f.Fuzz(func(t *testing.T, attrs string) {
		if got, want := attributeKVs(attrs), re.FindAllString(attrs, -1); !slices.Equal(got, want) {
			t.Fatalf("attributeKVs(%q) = %q, the regular expression gives %q", attrs, got, want)
		}
	})
}
