package transform

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Record counts of the real samples (counted with an independent JSON parser).
var cloudTrailSamples = map[string]int{
	"cloudtrail/stratus/aws.credential-access.ec2-steal-instance-credentials.json":                                                         45,
	"cloudtrail/stratus/aws.credential-access.secretsmanager-batch-retrieve-secrets.json":                                                  5,
	"cloudtrail/stratus/aws.credential-access.secretsmanager-retrieve-secrets.json":                                                        21,
	"cloudtrail/stratus/aws.credential-access.ssm-retrieve-securestring-parameters.json":                                                   10,
	"cloudtrail/stratus/aws.defense-evasion.cloudtrail-delete.json":                                                                        1,
	"cloudtrail/stratus/aws.defense-evasion.cloudtrail-event-selectors.json":                                                               1,
	"cloudtrail/stratus/aws.defense-evasion.cloudtrail-stop.json":                                                                          1,
	"cloudtrail/stratus/aws.defense-evasion.dns-delete-logs.json":                                                                          1,
	"cloudtrail/stratus/aws.defense-evasion.organizations-leave.json":                                                                      3,
	"cloudtrail/stratus/aws.discovery.ec2-download-user-data.json":                                                                         19,
	"cloudtrail/stratus/aws.execution.ec2-launch-unusual-instances.json":                                                                   3,
	"cloudtrail/stratus/aws.execution.ec2-user-data.json":                                                                                  35,
	"cloudtrail/stratus/aws.execution.ssm-start-session.json":                                                                              29,
	"cloudtrail/stratus/aws.exfiltration.ec2-share-ami.json":                                                                               1,
	"cloudtrail/stratus/aws.exfiltration.ec2-share-ebs-snapshot.json":                                                                      1,
	"cloudtrail/stratus/aws.exfiltration.rds-share-snapshot.json":                                                                          1,
	"cloudtrail/stratus/aws.initial-access.console-login-without-mfa.json":                                                                 1,
	"cloudtrail/stratus/aws.lateral-movement.ec2-serial-console-send-ssh-public-key.json":                                                  4,
	"cloudtrail/stratus/aws.persistence.iam-backdoor-role.json":                                                                            1,
	"cloudtrail/stratus/aws.persistence.iam-backdoor-user.json":                                                                            1,
	"cloudtrail/stratus/aws.persistence.iam-create-backdoor-role.json":                                                                     2,
	"cloudtrail/stratus/aws.persistence.iam-create-user-login-profile.json":                                                                3,
	"cloudtrail/stratus/aws.persistence.lambda-backdoor-function.json":                                                                     1,
	"cloudtrail/stratus/aws.persistence.lambda-layer-extension.json":                                                                       1,
	"cloudtrail/stratus/aws.persistence.rolesanywhere-create-trust-anchor.json":                                                            2,
	"cloudtrail/stratus/aws.persistence.sts-federation-token.json":                                                                         2,
	"cloudtrail/stratus/aws.privilege-escalation.iam-update-user-login-profile.json":                                                       1,
	"cloudtrail/s3/AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/14/123456789012_CloudTrail_us-east-1_20240514T1200Z_demo0001.json.gz": 7,
}

func TestCloudTrailSamples(t *testing.T) {
	d := newTestDecoder(t, nil)
	total := 0
	for rel, want := range cloudTrailSamples {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			data := readSample(t, rel)
			for _, f := range []Format{FormatCloudTrail, FormatAuto} {
				r := decode(t, d, f, data)
				if len(r.Events) != want || len(r.DeadLetters) != 0 {
					t.Fatalf("format %s: %d events, %d dead letters; want %d, 0", f, len(r.Events), len(r.DeadLetters), want)
				}
				for _, e := range r.Events {
					if e.Source != SourceCloudTrail {
						t.Fatalf("source %q", e.Source)
					}
				}
			}
			r := decode(t, d, FormatCloudTrail, data)
			golden(t, strings.TrimSuffix(rel, ".gz")+".jsonl", resultJSONL(t, r))
		})
		total += want
	}
	if total != 203 {
		t.Fatalf("sample table covers %d records, want 203", total)
	}
}

// CloudTrail Insights records (ApiCallRateInsight, ApiErrorRateInsight;
// Start and End) are signals of the API they are about, never dead letters.
func TestCloudTrailInsights(t *testing.T) {
	// The sample is dated 2026-03-02, after the tests' decoding time
	// (observedAt): allow it rather than rewrite the real-shaped records.
	d := newTestDecoder(t, func(c *Config) { c.MaxFutureSkew = 365 * 24 * time.Hour })
	data, err := os.ReadFile(filepath.Join("testdata", "insights", "123456789012_CloudTrail-Insight_us-east-1_20260302T1000Z_insights01.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{FormatCloudTrail, FormatAuto} {
		r := decode(t, d, f, data)
		if len(r.Events) != 4 || len(r.DeadLetters) != 0 {
			t.Fatalf("format %s: %d events, %d dead letters %+v; want 4, 0", f, len(r.Events), len(r.DeadLetters), r.DeadLetters)
		}
	}
	r := decode(t, d, FormatCloudTrail, data)
	golden(t, "cloudtrail/insights.jsonl", resultJSONL(t, r))
	e := r.Events
	if e[0].Kind != KindSignal || e[0].Service != "elasticloadbalancing" || e[0].Operation != "DeregisterTargets" || e[0].SeverityText != "WARN" ||
		e[0].Actor != "arn:aws:sts::123456789012:assumed-role/NetworkAdmin/dmitri" || e[0].ErrorCode != "" {
		t.Errorf("call rate start: %+v", e[0])
	}
	if e[1].Kind != KindSignal || e[1].Service != "secretsmanager" || e[1].ErrorCode != "AccessDeniedException" ||
		!strings.Contains(e[1].Message, "AccessDeniedException errors of secretsmanager GetSecretValue") {
		t.Errorf("error rate start: %+v", e[1])
	}
	if e[3].SeverityText != "INFO" || !strings.Contains(e[3].Message, "lasted 18 min") || !strings.Contains(e[3].Attributes, `"insightDetails":{"state":"End"`) {
		t.Errorf("error rate end: %+v", e[3])
	}
	// One record on its own, without eventSource or eventName at the top.
	one := decode(t, d, FormatAuto, data[bytes.IndexByte(data, '\n')+1:bytes.Index(data, []byte("},\n{"))+1])
	if len(one.Events) != 1 || one.Events[0].Kind != KindSignal {
		t.Fatalf("single record: %+v", one)
	}
	bad := decode(t, d, FormatCloudTrail, []byte(`{"eventVersion":"1.08","eventID":"x","eventType":"AwsCloudTrailInsight","eventTime":"2026-03-02T10:00:00Z"}`))
	if len(bad.Events) != 0 || len(bad.DeadLetters) != 1 || !strings.Contains(bad.DeadLetters[0].Message, "insightDetails") {
		t.Fatalf("insight without details: %+v", bad)
	}
}

func TestCloudTrailMapping(t *testing.T) {
	d := newTestDecoder(t, nil)
	r := decode(t, d, FormatAuto, readSample(t, "cloudtrail/stratus/aws.defense-evasion.cloudtrail-delete.json"))
	if len(r.Events) != 1 {
		t.Fatalf("%d events", len(r.Events))
	}
	e := r.Events[0]
	want := Event{
		EventID: "ee73c230-44bc-4492-8542-cfb189eae287", Source: SourceCloudTrail, Kind: KindChange,
		Service: "cloudtrail", Operation: "DeleteTrail", Region: "megov-westwest-1r", AccountID: "847129010505",
		Resource: "stratus-red-team-cloudtraild-trail-kvrwohmiai", Actor: "arn:aws:iam::847129010505:user/christophe",
		SeverityNumber: SeverityInfo, SeverityText: "INFO", Status: "succeeded",
		RequestID: "206c2187-a29f-45bf-86a2-a87d99ff7186", ChangeType: ChangeSecurity, RiskClass: RiskMedium, CloudProvider: ProviderAWS,
	}
	got := e
	got.Attributes, got.Time, got.ObservedTime, got.Lineage = "", time.Time{}, time.Time{}, Lineage{}
	if got != want {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if !e.Time.Equal(time.Date(2024, 7, 31, 12, 46, 41, 0, time.UTC)) || !e.ObservedTime.Equal(observedAt) {
		t.Fatalf("times %v %v", e.Time, e.ObservedTime)
	}
	if e.File != "test" || e.Offset != 7 || e.Index != 0 {
		t.Fatalf("lineage %+v", e.Lineage)
	}
	var attrs map[string]any
	if err := json.Unmarshal([]byte(e.Attributes), &attrs); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"userIdentity", "requestParameters", "tlsDetails", "userAgent", "sourceIPAddress", "eventSource", "readOnly", "eventVersion"} {
		if _, ok := attrs[k]; !ok {
			t.Errorf("attributes lack %s: %s", k, e.Attributes)
		}
	}
	for _, k := range []string{"eventID", "eventName", "eventTime", "awsRegion", "requestID", "recipientAccountId"} {
		if _, ok := attrs[k]; ok {
			t.Errorf("attributes repeat column field %s", k)
		}
	}
}

// ctRecord is a small CloudTrail record fixture.
func ctRecord(id, source, name string, extra string) string {
	return fmt.Sprintf(`{"eventVersion":"1.10","eventID":%q,"eventTime":"2024-05-14T12:00:00Z","eventSource":%q,"eventName":%q,"awsRegion":"us-east-1","recipientAccountId":"123456789012","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/deployer/ci"},"managementEvent":true,"eventType":"AwsApiCall"%s}`, id, source, name, extra)
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCloudTrailShapes(t *testing.T) {
	r1 := ctRecord("a1", "elasticloadbalancing.amazonaws.com", "ModifyListener", `,"readOnly":false`)
	r2 := ctRecord("a2", "ec2.amazonaws.com", "DescribeInstances", `,"readOnly":true`)
	r3 := ctRecord("a3", "dynamodb.amazonaws.com", "UpdateTable", `,"errorCode":"InternalServerError","errorMessage":"boom"`)
	env := `{"version":"0","id":"eb-1","detail-type":"AWS API Call via CloudTrail","source":"aws.elasticloadbalancing","account":"123456789012","time":"2024-05-14T12:00:00Z","region":"us-east-1","resources":[],"detail":` + r1 + `}`
	tests := []struct {
		name                    string
		format                  Format
		in                      []byte
		events, dead, skipped   int
		kinds                   map[string]int
		firstService, firstKind string
	}{
		{"records file", FormatCloudTrail, []byte(`{"Records":[` + r1 + `,` + r2 + `,` + r3 + `]}`), 3, 0, 0, map[string]int{"change": 1, "info": 1, "error": 1}, "elasticloadbalancing", KindChange},
		{"records file gzip auto", FormatAuto, gzipBytes(t, []byte(`{"Records":[`+r1+`,`+r2+`]}`)), 2, 0, 0, nil, "elasticloadbalancing", KindChange},
		{"bare array", FormatCloudTrail, []byte(`[` + r2 + `,` + r1 + `]`), 2, 0, 0, nil, "ec2", KindInfo},
		{"ndjson", FormatCloudTrail, []byte(r1 + "\n" + r2 + "\n" + r3 + "\n"), 3, 0, 0, nil, "elasticloadbalancing", KindChange},
		{"ndjson auto", FormatAuto, []byte(r3 + "\n" + r1 + "\n"), 2, 0, 0, nil, "dynamodb", KindError},
		{"single record", FormatCloudTrail, []byte(r3), 1, 0, 0, nil, "dynamodb", KindError},
		{"eventbridge envelope", FormatCloudTrail, []byte(env), 1, 0, 0, nil, "elasticloadbalancing", KindChange},
		{"eventbridge envelope auto", FormatAuto, []byte(env), 1, 0, 0, nil, "elasticloadbalancing", KindChange},
		{"digest file", FormatAuto, []byte(`{"awsAccountId":"123456789012","digestStartTime":"2024-05-14T11:00:00Z","digestEndTime":"2024-05-14T12:00:00Z","digestS3Bucket":"b","digestS3Object":"o","digestPublicKeyFingerprint":"f","digestSignatureAlgorithm":"SHA256withRSA","logFiles":[]}`), 0, 0, 1, nil, "", ""},
		{"bad element inside Records", FormatCloudTrail, []byte(`{"Records":[` + r1 + `,42,{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"PutRolePolicy","eventTime":"yesterday"},{"foo":1},` + r2 + `]}`), 2, 3, 0, nil, "elasticloadbalancing", KindChange},
		{"bad ndjson line", FormatCloudTrail, []byte(r1 + "\n" + `{"eventVersion":"1.08",` + "\n" + r2 + "\n"), 2, 1, 0, nil, "elasticloadbalancing", KindChange},
		{"duplicate event ids kept", FormatCloudTrail, []byte(`[` + r1 + `,` + r1 + `]`), 2, 0, 0, nil, "elasticloadbalancing", KindChange},
		{"truncated", FormatCloudTrail, []byte(`{"Records":[` + r1[:40]), 0, 1, 0, nil, "", ""},
		{"truncated after two records", FormatCloudTrail, []byte(`{"Records":[` + r1 + `,` + r2 + `,` + r3[:60]), 2, 1, 0, nil, "elasticloadbalancing", KindChange},
		{"truncated array auto", FormatAuto, []byte(`[` + r2 + `,` + r1 + `,{"eventVersion":`), 2, 1, 0, nil, "ec2", KindInfo},
		{"truncated gzip file", FormatAuto, truncatedGzip(t, []byte(`{"Records":[`+r1+`,`+r2+`,`+r3+`]}`)), 2, 2, 0, nil, "elasticloadbalancing", KindChange},
		{"truncated app array not salvaged", FormatAuto, []byte(`[{"service":"a"},{"serv`), 0, 1, 0, nil, "", ""},
		{"empty", FormatCloudTrail, []byte(" \n"), 0, 1, 0, nil, "", ""},
		{"read without readOnly", FormatCloudTrail, []byte(ctRecord("x", "s3.amazonaws.com", "ListBuckets", "")), 1, 0, 0, nil, "s3", KindInfo},
		{"write without readOnly", FormatCloudTrail, []byte(ctRecord("x", "route53.amazonaws.com", "ChangeResourceRecordSets", "")), 1, 0, 0, nil, "route53", KindChange},
		{"data event", FormatCloudTrail, []byte(ctRecord("x", "s3.amazonaws.com", "PutObject", `,"readOnly":false,"eventCategory":"Data","managementEvent":false`)), 1, 0, 0, nil, "s3", KindInfo},
		{"console sign-in", FormatCloudTrail, []byte(strings.Replace(ctRecord("x", "signin.amazonaws.com", "ConsoleLogin", `,"readOnly":false`), "AwsApiCall", "AwsConsoleSignIn", 1)), 1, 0, 0, nil, "signin", KindInfo},
		{"s3 event notification is not cloudtrail", FormatAuto, []byte(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2024-05-14T12:00:00.000Z","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"}}}]}`), 0, 1, 0, nil, "", ""},
		{"insight", FormatCloudTrail, []byte(strings.Replace(ctRecord("x", "ec2.amazonaws.com", "RunInstances", ``), "AwsApiCall", "AwsCloudTrailInsight", 1)), 1, 0, 0, nil, "ec2", KindSignal},
	}
	d := newTestDecoder(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := decode(t, d, tc.format, tc.in)
			if len(r.Events) != tc.events || len(r.DeadLetters) != tc.dead || r.Skipped != tc.skipped {
				t.Fatalf("events %d dead %d skipped %d; want %d %d %d; dead: %+v", len(r.Events), len(r.DeadLetters), r.Skipped, tc.events, tc.dead, tc.skipped, r.DeadLetters)
			}
			if tc.kinds != nil {
				if got := countKinds(r); fmt.Sprint(got) != fmt.Sprint(tc.kinds) {
					t.Fatalf("kinds %v, want %v", got, tc.kinds)
				}
			}
			if tc.events > 0 && (r.Events[0].Service != tc.firstService || r.Events[0].Kind != tc.firstKind) {
				t.Fatalf("first event service %q kind %q, want %q %q", r.Events[0].Service, r.Events[0].Kind, tc.firstService, tc.firstKind)
			}
		})
	}
}

func TestCloudTrailDetails(t *testing.T) {
	d := newTestDecoder(t, nil)
	env := `{"version":"0","id":"eb-1","detail-type":"AWS API Call via CloudTrail","source":"aws.elasticloadbalancing","detail":` +
		ctRecord("a1", "elasticloadbalancing.amazonaws.com", "ModifyListener", `,"readOnly":false`) + `}`
	r := decode(t, d, FormatAuto, []byte(env))
	if e := r.Events[0]; e.EventID != "a1" || !strings.Contains(e.Attributes, `"eventbridge":{"version":"0","id":"eb-1","detail-type":"AWS API Call via CloudTrail","source":"aws.elasticloadbalancing"}`) || e.ChangeType != ChangeLoadBalancer || e.RiskClass != RiskCritical {
		t.Fatalf("envelope: %+v", e)
	}
	r = decode(t, d, FormatCloudTrail, []byte(ctRecord("a3", "dynamodb.amazonaws.com", "UpdateTable", `,"errorCode":"ThrottlingException","errorMessage":"Rate exceeded"`)))
	if e := r.Events[0]; e.Kind != KindError || e.ErrorCode != "ThrottlingException" || e.Message != "Rate exceeded" || e.Status != "failed" || e.SeverityNumber != SeverityWarn {
		t.Fatalf("failed call: %+v", e)
	}
	r = decode(t, d, FormatCloudTrail, []byte(`[`+ctRecord("dup", "iam.amazonaws.com", "PutRolePolicy", "")+`,`+ctRecord("dup", "iam.amazonaws.com", "PutRolePolicy", "")+`]`))
	if r.Events[0].EventID != "dup" || r.Events[1].EventID != "dup" || r.Events[0].Index != 0 || r.Events[1].Index != 1 {
		t.Fatalf("duplicates: %+v", r.Events)
	}
	// No eventID: a stable hash, the same on every decode.
	noID := []byte(`{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"PutRolePolicy","eventTime":"2024-05-14T12:00:00Z"}`)
	a, b := decode(t, d, FormatCloudTrail, noID), decode(t, d, FormatCloudTrail, noID)
	if a.Events[0].EventID == "" || a.Events[0].EventID != b.Events[0].EventID || !strings.HasPrefix(a.Events[0].EventID, "h-") {
		t.Fatalf("hash ids %q %q", a.Events[0].EventID, b.Events[0].EventID)
	}
	// Bad element: dead letter holds only that element, with its index.
	r = decode(t, d, FormatCloudTrail, []byte(`{"Records":[`+ctRecord("a", "ec2.amazonaws.com", "RunInstances", "")+`,"oops"]}`))
	if len(r.DeadLetters) != 1 || string(r.DeadLetters[0].Raw) != `"oops"` || r.DeadLetters[0].Index != 1 || r.DeadLetters[0].File != "test" {
		t.Fatalf("dead letter %+v", r.DeadLetters)
	}
}

func TestCompareEventVersion(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.9", "1.10", -1}, {"1.10", "1.9", 1}, {"1.08", "1.8", 0}, {"1.10", "1.10", 0}, {"2.0", "1.99", 1}, {"1", "1.0", 0}, {"", "1.06", -1},
	}
	for _, tc := range tests {
		if got := compareEventVersion(tc.a, tc.b); got != tc.want {
			t.Errorf("compareEventVersion(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// truncatedGzip compresses b without compression (so the cut point is
// predictable) and cuts the stream inside the third record.
func truncatedGzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()[:len(buf.Bytes())-200]
}
