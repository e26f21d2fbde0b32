package transform

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// hashIDPattern is the id of a record without one: "h-" and 64 bits of the
// record's hash in hex (docs/schema.md).
var hashIDPattern = regexp.MustCompile(`^h-[0-9a-f]{16}$`)

const designAppError = `{"time":"2025-10-20T07:12:03.120Z","service":"checkout","level":"error","message":"GetItem timed out","error.type":"DynamoDBTimeout","region":"us-east-1","server.address":"dynamodb.us-east-1.amazonaws.com","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","version":"1.4.2","env":"prod"}`

func TestAppEvents(t *testing.T) {
	d := newTestDecoder(t, nil)
	r := decode(t, d, FormatApp, []byte(designAppError))
	if len(r.Events) != 1 {
		t.Fatalf("%+v", r)
	}
	e := r.Events[0]
	want := Event{Source: SourceApp, Kind: KindError, Service: "checkout", Region: "us-east-1", SeverityNumber: SeverityError, SeverityText: "ERROR",
		ErrorCode: "DynamoDBTimeout", Message: "GetItem timed out", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", PeerService: "dynamodb"}
	got := e
	got.EventID, got.Attributes, got.Time, got.ObservedTime, got.Lineage = "", "", time.Time{}, time.Time{}, Lineage{}
	if got != want {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if !e.Time.Equal(time.Date(2025, 10, 20, 7, 12, 3, 120e6, time.UTC)) || !hashIDPattern.MatchString(e.EventID) {
		t.Fatalf("time %v id %q", e.Time, e.EventID)
	}
	if e.Attributes != `{"server.address":"dynamodb.us-east-1.amazonaws.com","version":"1.4.2","env":"prod"}` {
		t.Fatalf("attributes %s", e.Attributes)
	}
	// Same bytes, same id; other bytes, other id.
	again := decode(t, d, FormatApp, []byte(designAppError))
	other := decode(t, d, FormatApp, []byte(strings.Replace(designAppError, "1.4.2", "1.4.3", 1)))
	if again.Events[0].EventID != e.EventID || other.Events[0].EventID == e.EventID {
		t.Fatalf("hash ids %q %q %q", e.EventID, again.Events[0].EventID, other.Events[0].EventID)
	}

	tests := []struct {
		name                   string
		in                     string
		events, dead           int
		source, kind, id, peer string
		sev                    int32
	}{
		{"deploy", `{"time":"2025-10-20T07:00:00Z","service":"checkout","kind":"deploy","version":"1.4.2","actor":"ci@example.com"}`, 1, 0, SourceDeploy, KindChange, "", "", 0},
		{"explicit event_id", `{"event_id":"e-42","time":"2025-10-20T07:00:00Z","service":"checkout","level":"info","message":"ok"}`, 1, 0, SourceApp, KindInfo, "e-42", "", SeverityInfo},
		{"explicit id", `{"id":"i-7","ts":1760944323120,"service":"checkout","level":"warning"}`, 1, 0, SourceApp, KindSignal, "i-7", "", SeverityWarn},
		{"error.type without level", `{"service":"checkout","error.type":"Timeout","server.address":"payments.internal:8443"}`, 1, 0, SourceApp, KindError, "", "payments", SeverityError},
		{"http 503", `{"service":"api","http.response.status_code":503,"server.address":"10.0.0.1"}`, 1, 0, SourceApp, KindError, "", "", SeverityError},
		{"pino numeric level", `{"service":"api","level":50,"msg":"boom"}`, 1, 0, SourceApp, KindError, "", "", SeverityError},
		{"fatal", `{"service":"api","level":"FATAL","msg":"boom"}`, 1, 0, SourceApp, KindError, "", "", SeverityFatal},
		{"peer.service wins", `{"service":"api","peer.service":"ledger","server.address":"x.example.com"}`, 1, 0, SourceApp, KindInfo, "", "ledger", 0},
		{"load balancer DNS name", `{"service":"cart","level":"error","server.address":"internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com"}`, 1, 0, SourceApp, KindError, "", "elasticloadbalancing", SeverityError},
		{"url.full", `{"service":"orders","level":"error","url.full":"https://sqs.us-east-1.amazonaws.com/123456789012/orders-queue"}`, 1, 0, SourceApp, KindError, "", "sqs", SeverityError},
		{"server.address beats url.full", `{"service":"orders","level":"error","url.full":"https://sqs.us-east-1.amazonaws.com/1/q","server.address":"payments.internal"}`, 1, 0, SourceApp, KindError, "", "payments", SeverityError},
		{"rpc.service of the AWS SDK", `{"service":"cart","level":"error","rpc.system":"aws-api","rpc.service":"DynamoDB","rpc.method":"GetItem"}`, 1, 0, SourceApp, KindError, "", "dynamodb", SeverityError},
		{"rpc.service of gRPC is no AWS service", `{"service":"cart","level":"error","rpc.system":"grpc","rpc.service":"payments.v1.Payments"}`, 1, 0, SourceApp, KindError, "", "", SeverityError},
		{"db.system", `{"service":"cart","level":"error","db.system":"dynamodb"}`, 1, 0, SourceApp, KindError, "", "dynamodb", SeverityError},
		{"bad time", `{"time":"not a time","service":"api"}`, 0, 1, "", "", "", "", 0},
		{"scalar", `"just a string"`, 0, 1, "", "", "", "", 0},
		{"not json", `level=error msg=boom`, 0, 1, "", "", "", "", 0},
		{"ndjson with a bad line", `{"service":"a","level":"error"}` + "\n" + `{"service":` + "\n" + `{"service":"b"}`, 2, 1, SourceApp, KindError, "", "", SeverityError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := decode(t, d, FormatApp, []byte(tc.in))
			if len(r.Events) != tc.events || len(r.DeadLetters) != tc.dead {
				t.Fatalf("events %d dead %d; want %d %d; %+v", len(r.Events), len(r.DeadLetters), tc.events, tc.dead, r.DeadLetters)
			}
			if tc.events == 0 {
				return
			}
			e := r.Events[0]
			if e.Source != tc.source || e.Kind != tc.kind || (tc.id != "" && e.EventID != tc.id) || e.PeerService != tc.peer || e.SeverityNumber != tc.sev {
				t.Fatalf("got %s %s %q %q %d", e.Source, e.Kind, e.EventID, e.PeerService, e.SeverityNumber)
			}
			if fa := decode(t, d, FormatAuto, []byte(tc.in)); len(fa.Events) != tc.events || fa.Events[0].Kind != tc.kind {
				t.Fatalf("auto: %+v", fa)
			}
		})
	}
	r = decode(t, d, FormatApp, []byte(`{"time":"2025-10-20T07:00:00Z","service":"checkout","kind":"deploy","version":"1.4.2","actor":"ci@example.com"}`))
	if e := r.Events[0]; e.Actor != "ci@example.com" || e.Operation != "deploy" || e.ChangeType != ChangeDeployment || e.RiskClass != RiskHigh || e.Message != "deploy checkout 1.4.2" || !strings.Contains(e.Attributes, `"version":"1.4.2"`) {
		t.Fatalf("deploy %+v", e)
	}
}

func TestPeerServiceOf(t *testing.T) {
	for in, want := range map[string]string{
		"dynamodb.us-east-1.amazonaws.com": "dynamodb", "elasticloadbalancing.eu-west-1.amazonaws.com": "elasticloadbalancing",
		"payments.internal:8443": "payments", "10.1.2.3": "", "[::1]:80": "", "Ledger.": "ledger", "": "",
		"internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com": "elasticloadbalancing", "us-east-1": "",
	} {
		if got := peerServiceOf(in); got != want {
			t.Errorf("peerServiceOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAppCloudProvider: app and OTLP events carry the provider they name
// (cloud.provider, else cloud.platform's prefix); nothing is guessed.
func TestAppCloudProvider(t *testing.T) {
	d := newTestDecoder(t, nil)
	tests := []struct {
		name, in, want, attrs string
	}{
		{"cloud.provider", `{"service":"cart","cloud.provider":"gcp","level":"error"}`, ProviderGCP, `{}`},
		{"upper-cased", `{"service":"cart","cloud.provider":" Azure "}`, ProviderAzure, `{}`},
		{"other providers kept", `{"service":"cart","cloud.provider":"ibm_cloud"}`, "ibm_cloud", `{}`},
		{"cloud.platform prefix", `{"service":"cart","cloud.platform":"gcp_cloud_run"}`, ProviderGCP, `{"cloud.platform":"gcp_cloud_run"}`},
		{"provider wins over platform", `{"service":"cart","cloud.platform":"aws_eks","cloud.provider":"azure"}`, ProviderAzure, `{"cloud.platform":"aws_eks"}`},
		{"unknown platform", `{"service":"cart","cloud.platform":"heroku_dyno"}`, "", `{"cloud.platform":"heroku_dyno"}`},
		{"none", `{"service":"cart","region":"us-east-1"}`, "", `{}`},
		{"deploy", `{"service":"cart","kind":"deploy","cloud.provider":"aws"}`, ProviderAWS, `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := decode(t, d, FormatApp, []byte(tc.in))
			if len(r.Events) != 1 {
				t.Fatalf("%+v", r)
			}
			if e := r.Events[0]; e.CloudProvider != tc.want || e.Attributes != tc.attrs && !(tc.attrs == "{}" && e.Attributes == "") {
				t.Fatalf("cloud_provider %q attributes %s; want %q %s", e.CloudProvider, e.Attributes, tc.want, tc.attrs)
			}
		})
	}
	otlp := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}},{"key":"cloud.provider","value":{"stringValue":"gcp"}},{"key":"cloud.region","value":{"stringValue":"europe-west4"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1760944323120000000","severityNumber":17,"body":{"stringValue":"boom"}}]}]}]}`
	r := decode(t, d, FormatOTLP, []byte(otlp))
	if len(r.Events) != 1 || r.Events[0].CloudProvider != ProviderGCP || r.Events[0].Region != "europe-west4" {
		t.Fatalf("otlp %+v", r)
	}
}
