package transform

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func TestCloudWatchSample(t *testing.T) {
	d := newTestDecoder(t, nil)
	data := readSample(t, "cloudwatch/lambda-go-cloudwatch-logs-event.json")
	for _, f := range []Format{FormatCloudWatch, FormatAuto} {
		r := decode(t, d, f, data)
		if len(r.Events) != 2 || len(r.DeadLetters) != 0 || r.ControlMessages != 0 {
			t.Fatalf("%s: %d events %d dead %d control", f, len(r.Events), len(r.DeadLetters), r.ControlMessages)
		}
		for i, e := range r.Events {
			if e.Kind != KindError || e.SeverityNumber != SeverityError || e.Source != SourceCloudWatch ||
				e.Service != "testLogGroup" || e.AccountID != "123456789123" || e.EventID != fmt.Sprintf("eventId%d", i+1) {
				t.Fatalf("event %d: %+v", i, e)
			}
		}
	}
	golden(t, "cloudwatch/lambda-go-cloudwatch-logs-event.jsonl", resultJSONL(t, decode(t, d, FormatCloudWatch, data)))
}

func zlibBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const longID = "37981234567890123456789012345678901234567890123456789012"

func cwPayload(group string, events ...string) string {
	return `{"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"` + group + `","logStream":"2024/05/14/[$LATEST]abc","subscriptionFilters":["all"],"logEvents":[` + strings.Join(events, ",") + `]}`
}

func cwEvent(id, msg string) string {
	return fmt.Sprintf(`{"id":%q,"timestamp":1715688000123,"message":%q}`, id, msg)
}

func TestCloudWatchShapes(t *testing.T) {
	p1 := cwPayload("/aws/lambda/checkout", cwEvent(longID, "[ERROR] boom"), cwEvent("2", "START RequestId: 8a2d6a8e-6f3c-4c6b-9a43-1f2f3a4b5c6d Version: $LATEST"))
	p2 := cwPayload("/aws/lambda/payments", cwEvent("3", "2024-05-14T12:00:00.123Z\t8a2d6a8e-6f3c-4c6b-9a43-1f2f3a4b5c6d\tERROR\tInvoke Error"))
	control := `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1715688000000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`
	policy := `{"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"/ecs/orders","logStream":"s","subscriptionFilters":["central"],"policyLevel":"ACCOUNT_LEVEL_POLICY","logEvents":[{"id":"9","timestamp":1715688000000,"message":"WARN slow query","extractedFields":{"@aws.account":"444455556666","@aws.region":"eu-west-1"}}]}`
	ctInLog := cwPayload("aws-cloudtrail-logs", cwEvent("10", ctRecord("ct-1", "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", "")))
	wrap := func(b []byte) []byte {
		return []byte(`{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(b) + `"}}`)
	}
	tests := []struct {
		name         string
		format       Format
		in           []byte
		events, dead int
		control      int
		first        string // service of the first event
		firstKind    string
	}{
		{"plain", FormatCloudWatch, []byte(p1), 2, 0, 0, "checkout", KindError},
		{"raw gzip", FormatCloudWatch, gzipBytes(t, []byte(p1)), 2, 0, 0, "checkout", KindError},
		{"raw gzip auto", FormatAuto, gzipBytes(t, []byte(p1)), 2, 0, 0, "checkout", KindError},
		{"zlib", FormatCloudWatch, zlibBytes(t, []byte(p1)), 2, 0, 0, "checkout", KindError},
		{"base64 gzip (kinesis)", FormatCloudWatch, []byte(base64.StdEncoding.EncodeToString(gzipBytes(t, []byte(p1)))), 2, 0, 0, "checkout", KindError},
		{"base64 gzip auto", FormatAuto, []byte(base64.StdEncoding.EncodeToString(gzipBytes(t, []byte(p1)))), 2, 0, 0, "checkout", KindError},
		{"awslogs wrapper zlib", FormatAuto, wrap(zlibBytes(t, []byte(p2))), 1, 0, 0, "payments", KindError},
		{"concatenated plain", FormatCloudWatch, []byte(p1 + p2), 3, 0, 0, "checkout", KindError},
		{"concatenated gzip members", FormatCloudWatch, append(gzipBytes(t, []byte(p1)), gzipBytes(t, []byte(p2))...), 3, 0, 0, "checkout", KindError},
		{"concatenated zlib streams", FormatCloudWatch, append(zlibBytes(t, []byte(p2)), zlibBytes(t, []byte(p1))...), 3, 0, 0, "payments", KindError},
		{"control message", FormatCloudWatch, gzipBytes(t, []byte(control)), 0, 0, 1, "", ""},
		{"control message auto", FormatAuto, []byte(control), 0, 0, 1, "", ""},
		{"control then data", FormatCloudWatch, gzipBytes(t, []byte(control+p2)), 1, 0, 1, "payments", KindError},
		{"policyLevel and extractedFields", FormatCloudWatch, []byte(policy), 1, 0, 0, "orders", KindSignal},
		{"cloudtrail in log events", FormatCloudWatch, []byte(ctInLog), 1, 0, 0, "ec2", KindChange},
		{"bad log event costs itself", FormatCloudWatch, []byte(cwPayload("/g/x", cwEvent("1", "ok"), `17`, `{"id":"3","timestamp":1}`, `{"id":"4","timestamp":"soon","message":"x"}`, cwEvent("5", "fine"))), 2, 3, 0, "x", KindInfo},
		{"no logEvents", FormatCloudWatch, []byte(`{"messageType":"DATA_MESSAGE"}`), 0, 1, 0, "", ""},
		{"bad awslogs base64", FormatAuto, []byte(`{"awslogs":{"data":"!!!not base64!!!"}}`), 0, 1, 0, "", ""},
		{"truncated gzip", FormatCloudWatch, gzipBytes(t, []byte(p1))[:40], 0, 1, 0, "", ""},
	}
	d := newTestDecoder(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := decode(t, d, tc.format, tc.in)
			if len(r.Events) != tc.events || len(r.DeadLetters) != tc.dead || r.ControlMessages != tc.control {
				t.Fatalf("events %d dead %d control %d; want %d %d %d; dead %+v", len(r.Events), len(r.DeadLetters), r.ControlMessages, tc.events, tc.dead, tc.control, r.DeadLetters)
			}
			if tc.events > 0 && (r.Events[0].Service != tc.first || r.Events[0].Kind != tc.firstKind) {
				t.Fatalf("first event %q %q, want %q %q", r.Events[0].Service, r.Events[0].Kind, tc.first, tc.firstKind)
			}
		})
	}
}

func TestCloudWatchDetails(t *testing.T) {
	d := newTestDecoder(t, func(c *Config) { c.LogGroups = map[string]string{"/aws/lambda/checkout-prod-v2": "checkout"} })
	p := cwPayload("/aws/lambda/checkout-prod-v2",
		cwEvent(longID, "[ERROR] boom"),
		cwEvent("2", "REPORT RequestId: 8a2d6a8e-6f3c-4c6b-9a43-1f2f3a4b5c6d\tDuration: 3000.00 ms\tStatus: timeout"),
		cwEvent("3", "2024-05-14T12:00:00.123Z 8a2d6a8e-6f3c-4c6b-9a43-1f2f3a4b5c6d Task timed out after 3.00 seconds"),
		cwEvent("4", `{"level":"warn","msg":"retrying","requestId":"r-1","trace_id":"t-1"}`),
		cwEvent("5", "END RequestId: 8a2d6a8e-6f3c-4c6b-9a43-1f2f3a4b5c6d"),
	)
	r := decode(t, d, FormatCloudWatch, []byte(p))
	if len(r.Events) != 5 {
		t.Fatalf("%d events, dead %+v", len(r.Events), r.DeadLetters)
	}
	e := r.Events
	if e[0].EventID != longID || e[0].Service != "checkout" || e[0].Resource != "/aws/lambda/checkout-prod-v2" || e[0].Time.UnixMilli() != 1715688000123 {
		t.Fatalf("event 0: %+v", e[0])
	}
	if e[1].Kind != KindError || e[1].RequestID != "8a2d6a8e-6f3c-4c6b-9a43-1f2f3a4b5c6d" {
		t.Fatalf("REPORT timeout: %+v", e[1])
	}
	if e[2].Kind != KindError || e[2].SeverityNumber != SeverityError {
		t.Fatalf("task timed out: %+v", e[2])
	}
	if e[3].Kind != KindSignal || e[3].SeverityText != "WARN" || e[3].RequestID != "r-1" || e[3].TraceID != "t-1" || !strings.Contains(e[3].Attributes, `"log":{"level":"warn"`) {
		t.Fatalf("json log: %+v", e[3])
	}
	if e[4].Kind != KindInfo || e[4].SeverityNumber != SeverityInfo {
		t.Fatalf("END: %+v", e[4])
	}
	for _, ev := range e {
		if !strings.Contains(ev.Attributes, `"logStream":"2024/05/14/[$LATEST]abc"`) || strings.Contains(ev.Attributes, `"logEvents"`) {
			t.Fatalf("attributes %s", ev.Attributes)
		}
	}
	policy := `{"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"/ecs/orders","logStream":"s","subscriptionFilters":["central"],"policyLevel":"ACCOUNT_LEVEL_POLICY","logEvents":[{"id":"9","timestamp":1715688000000,"message":"x","extractedFields":{"@aws.account":"444455556666","@aws.region":"eu-west-1"}}]}`
	r = decode(t, d, FormatCloudWatch, []byte(policy))
	if ev := r.Events[0]; ev.AccountID != "444455556666" || ev.Region != "eu-west-1" || !strings.Contains(ev.Attributes, `"policyLevel":"ACCOUNT_LEVEL_POLICY"`) || !strings.Contains(ev.Attributes, `"extractedFields":{"@aws.account"`) {
		t.Fatalf("policy-level event: %+v", ev)
	}
	// A JSON log line names its peer with the OpenTelemetry attributes, as an
	// application event does.
	r = decode(t, d, FormatCloudWatch, []byte(cwPayload("/ecs/cart",
		cwEvent("6", `{"level":"error","msg":"503","server.address":"internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com"}`),
		cwEvent("7", `{"level":"error","msg":"x","url.full":"https://sqs.us-east-1.amazonaws.com/123456789012/orders"}`),
		cwEvent("8", `{"level":"error","msg":"x","peer.service":"ledger","server.address":"10.0.0.1"}`),
	)))
	for i, want := range []string{"elasticloadbalancing", "sqs", "ledger"} {
		if got := r.Events[i].PeerService; got != want {
			t.Errorf("JSON line %d: peer_service %q, want %q", i, got, want)
		}
	}
	// A 56-digit id as a JSON number is kept digit for digit.
	r = decode(t, d, FormatCloudWatch, []byte(cwPayload("/g/x", `{"id":`+longID+`,"timestamp":1715688000000,"message":"m"}`)))
	if r.Events[0].EventID != longID {
		t.Fatalf("numeric id %q", r.Events[0].EventID)
	}
}
