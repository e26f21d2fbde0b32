package transform

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// Fuzz targets, one per decoder, seeded from the real samples and the edge
// case fixtures. Property: Decode never panics (a recovered panic would be
// an internal_error dead letter) and every event satisfies the invariants
// (non-empty event_id/source/kind, valid UTF-8, attributes a JSON object).

func fuzzSeeds(f *testing.F) {
	// Small real samples only: the fuzzer minimizes every input that finds
	// new coverage, and minimizing 50 KB files takes minutes.
	for p, b := range allSamples(f) {
		if len(b) <= 4096 {
			f.Add(b)
			continue
		}
		// Larger Google Cloud and Azure samples seed one entry (NDJSON
		// line) or record at a time.
		switch {
		case strings.HasSuffix(p, ".jsonl"):
			for _, l := range bytes.Split(b, []byte("\n")) {
				if len(l) <= 8192 {
					f.Add(l)
				}
			}
		case strings.Contains(p, "azure"):
			var doc struct{ Records []json.RawMessage }
			if json.Unmarshal(b, &doc) == nil {
				for _, r := range doc.Records {
					if len(r) <= 12288 { // the Activity Log records' token claims are large
						f.Add([]byte(r))
					}
				}
			}
		}
	}
	for i, r := range stratusRecords(f) {
		if i%20 == 0 && len(r) <= 4096 {
			f.Add(r)
		}
	}
	r1 := ctRecord("a1", "elasticloadbalancing.amazonaws.com", "ModifyListener", `,"readOnly":false`)
	p1 := cwPayload("/aws/lambda/checkout", cwEvent(longID, "[ERROR] boom"), cwEvent("2", r1))
	for _, s := range []string{
		`{"Records":[` + r1 + `,42]}`, r1 + "\n" + r1, `[` + r1 + `]`, p1, designAppError, otlpExport,
		string(health("1", "AWS_EC2_OPERATIONAL_ISSUE", "issue", "open")),
		`{"messageType":"CONTROL_MESSAGE","logEvents":[]}`, `{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString([]byte(p1)) + `"}}`,
		`{"digestStartTime":"x"}`, `[[[[]]]]`, `{"a":"\ud800"}`, "\xff", "", `{"time":1e400}`,
	} {
		f.Add([]byte(s))
	}
	// One CloudTrail Insights record, and an app line with peer attributes.
	f.Add([]byte(`{"eventVersion":"1.08","eventTime":"2026-03-02T10:01:00Z","eventID":"9b","eventType":"AwsCloudTrailInsight","insightDetails":{"state":"Start","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","insightType":"ApiErrorRateInsight","errorCode":"AccessDenied","insightContext":{"statistics":{"baseline":{"average":0},"insight":{"average":0.9},"insightDuration":3},"attributions":[{"attribute":"userIdentityArn","insight":[{"value":"arn:aws:sts::1:assumed-role/r/s","average":0.9}]}]}}}`))
	f.Add([]byte(`{"service":"cart","level":"error","server.address":"internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com","url.full":"https://sqs.us-east-1.amazonaws.com/1/q","rpc.system":"aws-api","rpc.service":"DynamoDB"}`))
	f.Add(gzipBytes(f, []byte(p1)))
	f.Add(zlibBytes(f, []byte(p1)))
	// Google Cloud and Azure shapes beyond the real samples: Pub/Sub
	// envelopes, operation first/last, failed calls, health and policy.
	g := gcpEntry("STATUS", `,"status":{"code":7,"message":"denied"}`)
	g64 := base64.StdEncoding.EncodeToString([]byte(g))
	for _, s := range []string{
		g, `"` + g64 + `"`, g64, `{"message":{"data":"` + g64 + `","attributes":{"a":"b"},"messageId":"1"},"subscription":"s"}`,
		`{"receivedMessages":[{"ackId":"a","message":{"data":"` + g64 + `"}}]}`, `{"message":"` + g64 + `","logging.googleapis.com/timestamp":"x"}`,
		`{"schema":{},"payload":{"message":"` + g64 + `"}}`, `{"entries":[` + gcpEntry() + `]}`,
		strings.Replace(gcpEntry(), `"severity"`, `"operation":{"id":"o","first":true},"severity"`, 1),
		`{"logName":"projects/p/logs/x","jsonPayload":{"level":"error","message":"m"},"timestamp":{"seconds":1,"nanos":2}}`,
		azRecord(), azRecord("RESULT", "Failure", "PROPS", `{"statusMessage":"{\"error\":{\"code\":\"Conflict\"}}"}`),
		`{"records":[` + azRecord("PROPS", `"{\"a\":1}"`) + `,{"category":"ServiceHealth","properties":{"incidentType":"Incident","impactedServices":"[{\"ImpactedRegions\":[{\"RegionId\":\"eastus\"}]}]"}}]}`,
		`{"category":"ResourceHealth","resourceId":"/SUBSCRIPTIONS/S/PROVIDERS/X.Y/Z/N","properties":{"currentHealthStatus":"Unavailable"}}`,
		`{"OperationName":{"value":"action"},"Category":"Policy","ResultType":"Failure"}`,
	} {
		f.Add([]byte(s))
	}
}

func fuzzDecode(f *testing.F, format Format) {
	fuzzSeeds(f)
	d := newTestDecoder(f, func(c *Config) { c.MaxMessageBytes = 1 << 20; c.MaxDecompressedBytes = 4 << 20 })
	f.Fuzz(func(t *testing.T, data []byte) {
		r := decode(t, d, format, data)
		for _, dl := range r.DeadLetters {
			if dl.Reason == ReasonInternal {
				t.Fatalf("decoder panicked: %s", dl.Message)
			}
		}
	})
}

func FuzzCloudTrail(f *testing.F)    { fuzzDecode(f, FormatCloudTrail) }
func FuzzCloudWatch(f *testing.F)    { fuzzDecode(f, FormatCloudWatch) }
func FuzzAWSEvents(f *testing.F)     { fuzzDecode(f, FormatAWSEvents) }
func FuzzApp(f *testing.F)           { fuzzDecode(f, FormatApp) }
func FuzzOTLP(f *testing.F)          { fuzzDecode(f, FormatOTLP) }
func FuzzGCPAudit(f *testing.F)      { fuzzDecode(f, FormatGCPAudit) }
func FuzzAzureActivity(f *testing.F) { fuzzDecode(f, FormatAzureActivity) }
func FuzzAuto(f *testing.F)          { fuzzDecode(f, FormatAuto) }

// FuzzScanValue checks the JSON scanner against encoding/json.
func FuzzScanValue(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		end, err := scanValue(data, 0, 10000)
		ours := err == nil && skipWS(data, end) == len(data)
		if ours != json.Valid(data) {
			t.Fatalf("scanValue valid=%v (%v), encoding/json valid=%v", ours, err, !ours)
		}
		if ours && bytes.Count(data, []byte("[")) < 5000 {
			var w attrWriter
			w.reset()
			w.raw([]byte("k"), data[skipWS(data, 0):end])
			if !json.Valid([]byte(w.String())) {
				t.Fatalf("compacted copy is not valid JSON: %s", w.String())
			}
		}
	})
}
