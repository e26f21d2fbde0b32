package transform

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gcpSamples: the real Google Cloud samples, with the kind of each entry in
// order (the golden files hold the exact rows).
var gcpSamples = map[string]string{
	"gcp/otel-activity.json":      "info",   // a GKE leader-election lease renewal: bookkeeping, not a change
	"gcp/otel-data_access.json":   "info",   // Data Access read
	"gcp/otel-policy.json":        "error",  // Policy Denied, status 7
	"gcp/otel-system_event.json":  "change", // Google's own repair of an instance: a provider change
	"gcp/plaso-gcp_logging.jsonl": "change,info,change,info,change,change,info,info,info,info,error",
}

func TestGCPSamples(t *testing.T) {
	d := newTestDecoder(t, nil)
	for rel, kinds := range gcpSamples {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			data := readSample(t, rel)
			for _, f := range []Format{FormatGCPAudit, FormatAuto} {
				r := decode(t, d, f, data)
				if len(r.DeadLetters) != 0 {
					t.Fatalf("format %s: dead letters %+v", f, r.DeadLetters)
				}
				var got []string
				for _, e := range r.Events {
					got = append(got, e.Kind)
					if e.CloudProvider != ProviderGCP || e.AccountID == "" {
						t.Errorf("format %s: %s: provider %q account %q", f, e.EventID, e.CloudProvider, e.AccountID)
					}
				}
				if strings.Join(got, ",") != kinds {
					t.Fatalf("format %s: kinds %v, want %s", f, got, kinds)
				}
			}
			golden(t, strings.TrimSuffix(rel, filepath.Ext(rel))+".jsonl", resultJSONL(t, decode(t, d, FormatGCPAudit, data)))
		})
	}
}

// TestGCPMapping spells out the mapping of the samples' key entries.
func TestGCPMapping(t *testing.T) {
	d := newTestDecoder(t, nil)
	r := decode(t, d, FormatGCPAudit, readSample(t, "gcp/plaso-gcp_logging.jsonl"))
	fw := r.Events[2] // the last entry of a firewall insert
	want := Event{EventID: "-tehlutdkc4c", Source: SourceGCPAudit, Kind: KindChange, Service: "compute", Operation: "compute.firewalls.insert",
		Region: "global", AccountID: "fake-project", Resource: "projects/fake-project/global/firewalls/test", Actor: "fakeemailxyz@gmail.com",
		SeverityNumber: SeverityInfo, SeverityText: "NOTICE", Status: "succeeded", RequestID: "operation-1634612146037-5ceabcc4f6447-d7a59be5-3fd18aa8",
		ChangeType: ChangeNetworking, RiskClass: RiskHigh, CloudProvider: ProviderGCP}
	got := fw
	got.Attributes, got.Time, got.ObservedTime, got.Lineage = "", time.Time{}, time.Time{}, Lineage{}
	if got != want {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if !fw.Time.Equal(time.Date(2021, 10, 19, 2, 55, 51, 658015000, time.UTC)) {
		t.Fatalf("time %v", fw.Time)
	}
	if first := r.Events[3]; first.RequestID != fw.RequestID || first.Kind != KindInfo || first.Status != "started" {
		t.Fatalf("first entry of the operation: %+v", first)
	}
	for _, k := range []string{`"protoPayload":{`, `"methodName":"v1.compute.firewalls.insert"`, `"logName":"projects/fake-project/logs/cloudaudit.googleapis.com%2Factivity"`, `"receiveTimestamp":`} {
		if !strings.Contains(fw.Attributes, k) {
			t.Errorf("attributes lack %s: %s", k, fw.Attributes)
		}
	}
	if strings.Contains(fw.Attributes, `"insertId"`) || strings.Contains(fw.Attributes, `"timestamp"`) || strings.Contains(fw.Attributes, `"severity"`) {
		t.Errorf("columns repeated in attributes: %s", fw.Attributes)
	}
	failed := r.Events[10]
	if failed.ErrorCode != "PERMISSION_DENIED" || failed.Status != "failed" || failed.SeverityText != "ERROR" || failed.Time.Nanosecond() != 882119699 ||
		failed.Actor != "dvwa-service-account@ketchup.iam.gserviceaccount.com" || failed.ChangeType != "" {
		t.Fatalf("failed call %+v", failed)
	}
	r = decode(t, d, FormatGCPAudit, readSample(t, "gcp/otel-system_event.json"))
	if e := r.Events[0]; e.ChangeType != ChangeProvider || e.RiskClass != RiskHigh || e.Actor != "system@google.com" || e.Region != "us-central1" ||
		!strings.Contains(e.Attributes, `"cloud.availability_zone":"us-central1-a"`) || !strings.HasPrefix(e.Message, "Instance Group Manager 'instance-group-1' initiated recreateInstance") {
		t.Fatalf("system event %+v", e)
	}
	r = decode(t, d, FormatGCPAudit, readSample(t, "gcp/otel-policy.json"))
	if e := r.Events[0]; e.Region != "us-central1" || e.Actor != "" || e.Service != "storage" || e.ErrorCode != "PERMISSION_DENIED" {
		t.Fatalf("policy denied %+v", e)
	}
}

// gcpEntry is an Admin Activity entry with fields replaced by the caller.
func gcpEntry(r ...string) string {
	e := `{"insertId":"i1","logName":"projects/p1/logs/cloudaudit.googleapis.com%2Factivity","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog",` +
		`"authenticationInfo":{"principalEmail":"ops@example.com"},"methodName":"METHOD","serviceName":"SERVICE","resourceName":"RESOURCE"STATUS},` +
		`"resource":{"type":"gce_instance","labels":{"project_id":"p1","zone":"europe-west4-b"}},"severity":"NOTICE","timestamp":"2025-03-01T10:00:00.123456789Z"}`
	def := map[string]string{"METHOD": "v1.compute.instances.setMachineType", "SERVICE": "compute.googleapis.com", "RESOURCE": "projects/p1/zones/europe-west4-b/instances/web-1", "STATUS": ""}
	for i := 0; i+1 < len(r); i += 2 {
		def[r[i]] = r[i+1]
	}
	for k, v := range def {
		e = strings.Replace(e, k, v, 1)
	}
	return e
}

func TestGCPEdgeCases(t *testing.T) {
	d := newTestDecoder(t, nil)
	entry := gcpEntry()
	b64 := base64.StdEncoding.EncodeToString([]byte(entry))
	tests := []struct {
		name                          string
		in                            string
		events, dead                  int
		source, kind, service, op, rg string
		check                         func(t *testing.T, e Event)
	}{
		{"admin activity write", entry, 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", func(t *testing.T, e Event) {
			if e.Time.Nanosecond() != 123456789 || e.AccountID != "p1" || e.Actor != "ops@example.com" || e.Status != "succeeded" ||
				e.ChangeType != ChangeCompute || e.RiskClass != RiskMedium || !strings.Contains(e.Attributes, `"cloud.availability_zone":"europe-west4-b"`) {
				t.Fatalf("%+v", e)
			}
		}},
		{"missing status is success", gcpEntry("STATUS", ``), 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", nil},
		{"status code 0", gcpEntry("STATUS", `,"status":{"code":0}`), 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", nil},
		{"status without code", gcpEntry("STATUS", `,"status":{"message":"done"}`), 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", func(t *testing.T, e Event) {
			if e.Message != "done" {
				t.Fatalf("message %q", e.Message)
			}
		}},
		{"server fault", gcpEntry("STATUS", `,"status":{"code":14,"message":"backend unavailable"}`), 1, 0, SourceGCPAudit, KindError, "compute", "compute.instances.setMachineType", "europe-west4", func(t *testing.T, e Event) {
			if e.ErrorCode != "UNAVAILABLE" || e.SeverityNumber != SeverityError || e.Message != "backend unavailable" || e.ChangeType != "" {
				t.Fatalf("%+v", e)
			}
		}},
		{"client error is WARN", gcpEntry("STATUS", `,"status":{"code":3}`), 1, 0, SourceGCPAudit, KindError, "compute", "compute.instances.setMachineType", "europe-west4", func(t *testing.T, e Event) {
			if e.ErrorCode != "INVALID_ARGUMENT" || e.SeverityNumber != SeverityWarn {
				t.Fatalf("%+v", e)
			}
		}},
		{"status code by name", gcpEntry("STATUS", `,"status":{"code":"RESOURCE_EXHAUSTED"}`), 1, 0, SourceGCPAudit, KindError, "compute", "compute.instances.setMachineType", "europe-west4", nil},
		{"empty authenticationInfo", strings.Replace(entry, `{"principalEmail":"ops@example.com"}`, `{}`, 1), 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", func(t *testing.T, e Event) {
			if e.Actor != "" {
				t.Fatalf("actor %q", e.Actor)
			}
		}},
		{"delegated principal", strings.Replace(entry, `{"principalEmail":"ops@example.com"}`, `{"serviceAccountDelegationInfo":[{"firstPartyPrincipal":{"principalEmail":"robot@p1.iam.gserviceaccount.com"}}]}`, 1), 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", func(t *testing.T, e Event) {
			if e.Actor != "robot@p1.iam.gserviceaccount.com" {
				t.Fatalf("actor %q", e.Actor)
			}
		}},
		{"first entry of a long-running operation", strings.Replace(entry, `"severity"`, `"operation":{"id":"op-1","producer":"compute.googleapis.com","first":true},"severity"`, 1), 1, 0, SourceGCPAudit, KindInfo, "compute", "compute.instances.setMachineType", "europe-west4", func(t *testing.T, e Event) {
			if e.Status != "started" || e.RequestID != "op-1" {
				t.Fatalf("%+v", e)
			}
		}},
		{"last entry of a long-running operation", strings.Replace(entry, `"severity"`, `"operation":{"id":"op-1","producer":"compute.googleapis.com","last":true},"severity"`, 1), 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", nil},
		{"read in admin activity", gcpEntry("METHOD", "v1.compute.instances.get"), 1, 0, SourceGCPAudit, KindInfo, "compute", "compute.instances.get", "europe-west4", nil},
		{"kubernetes deployment update", gcpEntry("METHOD", "io.k8s.apps.v1.deployments.update", "SERVICE", "k8s.io", "RESOURCE", "apps/v1/namespaces/shop/deployments/cart"), 1, 0, SourceGCPAudit, KindChange, "gke", "io.k8s.apps.deployments.update", "europe-west4", func(t *testing.T, e Event) {
			if e.ChangeType != ChangeDeployment || e.RiskClass != RiskHigh {
				t.Fatalf("%+v", e)
			}
		}},
		{"kubernetes status patch is bookkeeping", gcpEntry("METHOD", "io.k8s.core.v1.pods.status.patch", "SERVICE", "k8s.io"), 1, 0, SourceGCPAudit, KindInfo, "gke", "io.k8s.core.pods.status.patch", "europe-west4", nil},
		{"Cloud SQL", gcpEntry("METHOD", "cloudsql.instances.update", "SERVICE", "cloudsql.googleapis.com"), 1, 0, SourceGCPAudit, KindChange, "cloudsql", "cloudsql.instances.update", "europe-west4", nil},
		{"sqladmin is sql", gcpEntry("METHOD", "cloudsql.instances.failover", "SERVICE", "sqladmin.googleapis.com"), 1, 0, SourceGCPAudit, KindChange, "sql", "cloudsql.instances.failover", "europe-west4", func(t *testing.T, e Event) {
			if e.ChangeType != ChangeData || e.RiskClass != RiskHigh {
				t.Fatalf("%+v", e)
			}
		}},
		{"project IAM policy", gcpEntry("METHOD", "SetIamPolicy", "SERVICE", "cloudresourcemanager.googleapis.com", "RESOURCE", "projects/p1"), 1, 0, SourceGCPAudit, KindChange, "cloudresourcemanager", "SetIamPolicy", "europe-west4", func(t *testing.T, e Event) {
			if e.ChangeType != ChangeIAM || e.RiskClass != RiskHigh {
				t.Fatalf("%+v", e)
			}
		}},
		{"location from the resource name", strings.Replace(gcpEntry("METHOD", "v1.compute.backendServices.patch", "RESOURCE", "projects/p1/regions/asia-south1/backendServices/api"), `,"zone":"europe-west4-b"`, ``, 1), 1, 0, SourceGCPAudit, KindChange, "compute", "compute.backendServices.patch", "asia-south1", func(t *testing.T, e Event) {
			if e.ChangeType != ChangeLoadBalancer || strings.Contains(e.Attributes, "availability_zone") {
				t.Fatalf("%+v", e)
			}
		}},
		{"numeric severity", strings.Replace(entry, `"severity":"NOTICE"`, `"severity":500`, 1), 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", func(t *testing.T, e Event) {
			if e.SeverityNumber != SeverityError || e.SeverityText != "ERROR" {
				t.Fatalf("%+v", e)
			}
		}},
		{"protobuf timestamp", strings.Replace(entry, `"2025-03-01T10:00:00.123456789Z"`, `{"seconds":1740823200,"nanos":5}`, 1), 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", func(t *testing.T, e Event) {
			if !e.Time.Equal(time.Unix(1740823200, 5)) {
				t.Fatalf("time %v", e.Time)
			}
		}},
		{"organization log", strings.Replace(strings.Replace(entry, `projects/p1/logs`, `organizations/123/logs`, 1), `"project_id":"p1",`, ``, 1), 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", func(t *testing.T, e Event) {
			if e.AccountID != "organizations/123" {
				t.Fatalf("account %q", e.AccountID)
			}
		}},
		{"data access write is info", strings.Replace(entry, "activity", "data_access", 1), 1, 0, SourceGCPAudit, KindInfo, "compute", "compute.instances.setMachineType", "europe-west4", nil},
		{"bad timestamp", strings.Replace(entry, `"2025-03-01T10:00:00.123456789Z"`, `"yesterday"`, 1), 0, 1, "", "", "", "", "", nil},

		// Non-audit entries.
		{"cloud run error line", `{"insertId":"x","logName":"projects/p1/logs/run.googleapis.com%2Fstderr","resource":{"type":"cloud_run_revision","labels":{"service_name":"cart","location":"us-east4","project_id":"p1"}},"severity":"ERROR","textPayload":"panic: nil map","trace":"projects/p1/traces/abc123","timestamp":"2025-03-01T10:00:00Z"}`,
			1, 0, SourceGCPLogging, KindError, "cart", "", "us-east4", func(t *testing.T, e Event) {
				if e.Message != "panic: nil map" || e.TraceID != "abc123" || e.Resource != "projects/p1/logs/run.googleapis.com%2Fstderr" || strings.Contains(e.Attributes, "textPayload") {
					t.Fatalf("%+v", e)
				}
			}},
		{"json payload level", `{"logName":"projects/p1/logs/app","resource":{"type":"k8s_container","labels":{"container_name":"checkout","location":"europe-west1-c","project_id":"p1"}},"jsonPayload":{"level":"warn","msg":"slow"},"timestamp":"2025-03-01T10:00:00Z"}`,
			1, 0, SourceGCPLogging, KindSignal, "checkout", "", "europe-west1", nil},
		{"error reporting service", `{"logName":"projects/p1/logs/errors","resource":{"type":"global","labels":{"project_id":"p1"}},"jsonPayload":{"serviceContext":{"service":"payments"},"message":"boom"},"severity":"ERROR","timestamp":"2025-03-01T10:00:00Z"}`,
			1, 0, SourceGCPLogging, KindError, "payments", "", "", nil},
		{"http 503 without severity", `{"logName":"projects/p1/logs/requests","resource":{"type":"http_load_balancer","labels":{"project_id":"p1"}},"httpRequest":{"status":503},"jsonPayload":{},"timestamp":"2025-03-01T10:00:00Z"}`,
			1, 0, SourceGCPLogging, KindError, "requests", "", "", nil},

		// Envelopes and batches.
		{"NDJSON", entry + "\n" + entry, 2, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", nil},
		{"array", "[" + entry + "," + entry + "]", 2, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", nil},
		{"entries batch", `{"entries":[` + entry + `,` + entry + `,42]}`, 2, 1, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", nil},
		{"Pub/Sub data base64", b64, 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", nil},
		{"base64 as a JSON string", `"` + b64 + `"`, 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", nil},
		{"push envelope", `{"message":{"data":"` + b64 + `","attributes":{"logging.googleapis.com/timestamp":"2025-03-01T10:00:00.123456789Z"},"messageId":"m-1","publishTime":"2025-03-01T10:00:01Z"},"subscription":"projects/p1/subscriptions/faultline"}`,
			1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", func(t *testing.T, e Event) {
				if !strings.Contains(e.Attributes, `"pubsub":{"attributes":{"logging.googleapis.com/timestamp":"2025-03-01T10:00:00.123456789Z"},"messageId":"m-1","publishTime":"2025-03-01T10:00:01Z","subscription":"projects/p1/subscriptions/faultline"}`) {
					t.Fatalf("attributes %s", e.Attributes)
				}
			}},
		{"pull response", `{"receivedMessages":[{"ackId":"a1","message":{"data":"` + b64 + `","messageId":"m-1"}},{"ackId":"a2"}]}`, 1, 1, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", nil},
		{"Kafka connector struct", `{"message":"` + b64 + `","logging.googleapis.com/timestamp":"2025-03-01T10:00:00.123456789Z"}`, 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", func(t *testing.T, e Event) {
			if !strings.Contains(e.Attributes, `"pubsub":{"logging.googleapis.com/timestamp":`) {
				t.Fatalf("attributes %s", e.Attributes)
			}
		}},
		{"connector struct with schema", `{"schema":{"type":"struct"},"payload":{"message":"` + b64 + `","logging.googleapis.com/timestamp":"x"}}`, 1, 0, SourceGCPAudit, KindChange, "compute", "compute.instances.setMachineType", "europe-west4", nil},
		{"bad base64 data", `{"message":{"data":"%%%%not base64%%%%","messageId":"m"},"subscription":"s"}`, 0, 1, "", "", "", "", "", nil},
		{"not a log entry", `{"hello":"world"}`, 0, 1, "", "", "", "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			formats := []Format{FormatGCPAudit}
			if tc.name != "not a log entry" {
				formats = append(formats, FormatAuto)
			}
			for _, f := range formats {
				r := decode(t, d, f, []byte(tc.in))
				if len(r.Events) != tc.events || len(r.DeadLetters) != tc.dead {
					t.Fatalf("format %s: events %d dead %d; want %d %d; %+v", f, len(r.Events), len(r.DeadLetters), tc.events, tc.dead, r.DeadLetters)
				}
				if tc.events == 0 {
					continue
				}
				e := r.Events[0]
				if e.Source != tc.source || e.Kind != tc.kind || e.Service != tc.service || e.Operation != tc.op || e.Region != tc.rg || e.CloudProvider != ProviderGCP {
					t.Fatalf("format %s: got %s %s %q %q %q %q", f, e.Source, e.Kind, e.Service, e.Operation, e.Region, e.CloudProvider)
				}
				if tc.check != nil {
					tc.check(t, e)
				}
			}
		})
	}
}

func TestGCPNames(t *testing.T) {
	for in, want := range map[string][2]string{
		"us-central1-a": {"us-central1", "us-central1-a"}, "northamerica-northeast1-c": {"northamerica-northeast1", "northamerica-northeast1-c"},
		"europe-west4": {"europe-west4", ""}, "global": {"global", ""}, "us": {"us", ""}, "nam5": {"nam5", ""}, "": {"", ""},
	} {
		if r, z := gcpRegion(in); r != want[0] || z != want[1] {
			t.Errorf("gcpRegion(%q) = %q %q, want %q", in, r, z, want)
		}
	}
	for in, want := range map[string]string{
		"beta.compute.instances.insert": "compute.instances.insert", "v1.compute.firewalls.patch": "compute.firewalls.patch",
		"google.container.v1beta1.ClusterManager.UpdateCluster": "google.container.ClusterManager.UpdateCluster",
		"io.k8s.apps.v1.deployments.update":                     "io.k8s.apps.deployments.update", "SetIamPolicy": "SetIamPolicy",
		"google.cloud.run.v2.Services.UpdateService": "google.cloud.run.Services.UpdateService", "storage.objects.v2x": "storage.objects.v2x",
		"google.privacy.dlp.v2.DlpService.CreateJob": "google.privacy.dlp.DlpService.CreateJob", "vision.v1p3beta1.x": "vision.x",
	} {
		if got := gcpMethod(in); got != want {
			t.Errorf("gcpMethod(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"compute.googleapis.com": "compute", "container.googleapis.com": "gke", "k8s.io": "gke", "sqladmin.googleapis.com": "sql", "Storage.googleapis.com": "storage"} {
		if got := gcpService(in); got != want {
			t.Errorf("gcpService(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]bool{"compute.instances.get": true, "compute.instances.aggregatedList": true, "io.k8s.core.pods.watch": true,
		"compute.instances.insert": false, "google.iam.admin.CreateRole": false, "SetIamPolicy": false, "TestIamPermissions": true, "": false} {
		if got := gcpIsRead(in); got != want {
			t.Errorf("gcpIsRead(%q) = %v", in, got)
		}
	}
}
