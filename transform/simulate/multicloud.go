package simulate

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The multi-cloud family: the services an incident reaches run on Google
// Cloud (GKE in us-east1, their logs through Cloud Logging), the others on
// AWS as in every family. The root cause is a Google Cloud firewall rule or
// backend service change (a Cloud Audit Logs Admin Activity entry); the
// decoys are an Azure network security group rule write (Activity Log)
// and an AWS security group change closer to the onset, both in clouds
// where nothing broke. Everything is written in the clouds' own formats:
// Cloud Logging LogEntry JSON (format gcpaudit) and Azure Monitor
// {"records":[...]} documents (format azureactivity).

// KindGCPChange is the multi-cloud family's kind of root cause.
const KindGCPChange = "gcp-change"

// GCPRegion is where the multi-cloud family's Google Cloud services run.
const GCPRegion = "us-east1"

// Topics of the multi-cloud family.
const (
	TopicGCP   = "gcp-logging"    // Cloud Logging entries (audit logs and the GKE services' logs) from a log sink's Pub/Sub topic
	TopicAzure = "azure-activity" // Azure Activity Log records from diagnostic settings' Event Hub
)

// Files of the multi-cloud family, relative to the data directory.
const (
	dirGCP   = "gcp"
	dirAzure = "azure"
)

// gcpProject is the scenario's Google Cloud project id.
func (s *Scenario) gcpProject() string { return "shop-prod-" + s.stableHex("gcp-project", 6) }

// azureSubscription is the scenario's Azure subscription id.
func (s *Scenario) azureSubscription() string {
	h := s.stableHex("azure-subscription", 32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// email is the actor's Google or Entra ID principal.
func (a actor) email() string {
	if strings.HasPrefix(a.name, "gha-") {
		return "terraform-ci@" + "shop.iam.gserviceaccount.com"
	}
	return a.name + "@shop.example"
}

// gcpZone is the zone a GKE service's pods run in (stable per service).
func (s *Scenario) gcpZone(svc string) string {
	return GCPRegion + "-" + string(rune('b'+s.stableHex("zone|"+svc, 2)[0]%3))
}

// gcpEntry is a Cloud Logging LogEntry.
type gcpEntry struct {
	InsertID         string         `json:"insertId"`
	Timestamp        string         `json:"timestamp"`
	ReceiveTimestamp string         `json:"receiveTimestamp"`
	Severity         string         `json:"severity"`
	LogName          string         `json:"logName"`
	Resource         gcpResource    `json:"resource"`
	JSONPayload      map[string]any `json:"jsonPayload,omitempty"`
	ProtoPayload     map[string]any `json:"protoPayload,omitempty"`
	Operation        map[string]any `json:"operation,omitempty"`
	Trace            string         `json:"trace,omitempty"`
	Labels           map[string]any `json:"labels,omitempty"`
}

type gcpResource struct {
	Type   string            `json:"type"`
	Labels map[string]string `json:"labels"`
}

// gcpLine is one log line of a GKE service, as Cloud Logging stores what
// the container wrote to stdout (a structured JSON line).
func (s *Scenario) gcpLine(r *rnd, sv *service, l appLine, at time.Time) []byte {
	sev := "INFO"
	if l.Level == "error" {
		sev = "ERROR"
	}
	p := map[string]any{"message": l.Message, "http.request.method": l.HTTPMethod, "http.route": l.HTTPRoute, "version": l.Version}
	if l.ErrorType != "" {
		p["error.type"] = l.ErrorType
	}
	if l.ServerAddress != "" {
		p["server.address"] = l.ServerAddress
	}
	if l.HTTPStatus != 0 {
		p["http.response.status_code"] = l.HTTPStatus
	}
	proj := s.gcpProject()
	return mustJSON(gcpEntry{
		InsertID: r.hex(16), Timestamp: at.Format(time.RFC3339Nano), ReceiveTimestamp: at.Add(r.dur(200*time.Millisecond, 3*time.Second)).Format(time.RFC3339Nano),
		Severity: sev, LogName: "projects/" + proj + "/logs/stdout",
		Resource: gcpResource{Type: "k8s_container", Labels: map[string]string{"project_id": proj, "location": s.gcpZone(sv.name), "cluster_name": "prod-" + GCPRegion,
			"namespace_name": "shop", "pod_name": sv.name + "-" + s.stableHex("pod|"+sv.name, 10)[:10] + "-" + s.stableHex("pod2|"+sv.name, 5), "container_name": sv.name}},
		JSONPayload: p,
		Trace:       "projects/" + proj + "/traces/" + l.TraceID,
		Labels:      map[string]any{"k8s-pod/app": sv.name},
	})
}

// gcpChange is a Cloud Audit Logs Admin Activity entry: method (with its
// API version, as methodName carries it) on target's firewall rule or
// backend service by a.
func (s *Scenario) gcpChange(r *rnd, method, target string, a actor, at time.Time) *change {
	at = at.Truncate(time.Millisecond)
	proj := s.gcpProject()
	var resource, resType, opName string
	var req map[string]any
	labels := map[string]string{"project_id": proj}
	switch {
	case strings.Contains(method, ".firewalls."):
		rule := "allow-" + target + "-internal"
		resource, resType = "projects/"+proj+"/global/firewalls/"+rule, "gce_firewall_rule"
		labels["firewall_rule_id"] = fmt.Sprint(int64(4e18) + int64(r.IntN(1e9)))
		req = map[string]any{"@type": "type.googleapis.com/compute.firewalls.patch", "name": rule, "direction": "INGRESS", "priority": 1000,
			"sourceRanges": []string{"10.128.0.0/20"}, "allowed": []any{map[string]any{"IPProtocol": "tcp", "ports": []string{"8080", "5432"}}}}
	case strings.Contains(method, ".backendServices."):
		bs := target + "-backend"
		resource, resType = "projects/"+proj+"/regions/"+GCPRegion+"/backendServices/"+bs, "gce_backend_service"
		labels["backend_service_id"], labels["location"] = fmt.Sprint(int64(4e18)+int64(r.IntN(1e9))), GCPRegion
		req = map[string]any{"@type": "type.googleapis.com/compute.backendServices.patch", "name": bs, "timeoutSec": 5,
			"healthChecks": []string{"projects/" + proj + "/regions/" + GCPRegion + "/healthChecks/" + target + "-hc"}}
	case strings.Contains(method, ".instanceGroupManagers."):
		mig := target + "-mig"
		zone := s.gcpZone(target)
		resource, resType = "projects/"+proj+"/zones/"+zone+"/instanceGroupManagers/"+mig, "gce_instance_group_manager"
		labels["instance_group_manager_name"], labels["location"] = mig, zone
		req = map[string]any{"@type": "type.googleapis.com/compute.instanceGroupManagers.resize", "size": 6 + r.IntN(6)}
	}
	// Compute Engine logs a long-running operation twice, sharing
	// operation.id: "first" when it starts, "last" when it is done; the
	// decoder makes the last one the change.
	started := at.Add(-r.dur(2*time.Second, 9*time.Second))
	opName = "operation-" + fmt.Sprint(started.UnixMilli()) + "-" + r.hex(13)
	first := gcpEntry{
		InsertID: r.hex(12), Timestamp: started.Format(time.RFC3339Nano), ReceiveTimestamp: at.Add(r.dur(300*time.Millisecond, 2*time.Second)).Format(time.RFC3339Nano),
		Severity: "NOTICE", LogName: "projects/" + proj + "/logs/cloudaudit.googleapis.com%2Factivity",
		Resource: gcpResource{Type: resType, Labels: labels},
		ProtoPayload: map[string]any{
			"@type":              "type.googleapis.com/google.cloud.audit.AuditLog",
			"authenticationInfo": map[string]any{"principalEmail": a.email()},
			"requestMetadata":    map[string]any{"callerIp": a.ip, "callerSuppliedUserAgent": "google-cloud-sdk gcloud/470.0.0 command/gcloud.compute"},
			"serviceName":        "compute.googleapis.com",
			"methodName":         method,
			"authorizationInfo":  []any{map[string]any{"permission": strings.TrimPrefix(method, "v1."), "granted": true, "resource": strings.TrimPrefix(resource, "projects/"+proj+"/")}},
			"resourceName":       resource,
			"request":            req,
			"response":           map[string]any{"@type": "type.googleapis.com/operation", "name": opName, "status": "RUNNING", "operationType": method[strings.LastIndexByte(method, '.')+1:]},
		},
		Operation: map[string]any{"id": opName, "producer": "compute.googleapis.com", "first": true},
	}
	last := first
	last.InsertID, last.Timestamp = r.hex(12), at.Format(time.RFC3339Nano)
	last.ReceiveTimestamp = at.Add(r.dur(300*time.Millisecond, 2*time.Second)).Format(time.RFC3339Nano)
	last.Operation = map[string]any{"id": opName, "producer": "compute.googleapis.com", "last": true}
	pp := map[string]any{}
	for k, v := range first.ProtoPayload {
		if k != "request" && k != "response" { // the last entry carries neither
			pp[k] = v
		}
	}
	last.ProtoPayload = pp
	op := strings.TrimPrefix(method, "v1.")
	return &change{at: at, arrival: at.Add(r.dur(5*time.Second, 40*time.Second)), topic: TopicGCP, eventID: last.InsertID, source: "gcpaudit", service: "compute",
		operation: op, region: gcpChangeRegion(resource), resource: resource, raw: mustJSON(last), pre: mustJSON(first), preAt: started}
}

// gcpChangeRegion is the region the decoder gives a resource name.
func gcpChangeRegion(resource string) string {
	switch {
	case strings.Contains(resource, "/global/"):
		return "global"
	case strings.Contains(resource, "/zones/"):
		z := strings.Split(strings.SplitN(resource, "/zones/", 2)[1], "/")[0]
		return z[:strings.LastIndexByte(z, '-')]
	case strings.Contains(resource, "/regions/"):
		return strings.Split(strings.SplitN(resource, "/regions/", 2)[1], "/")[0]
	}
	return ""
}

// azureChange is an Administrative Activity Log record: a network security
// group rule write that succeeded, as diagnostic settings export it.
func (s *Scenario) azureChange(r *rnd, a actor, at time.Time) *change {
	at = at.Truncate(time.Millisecond)
	sub := s.azureSubscription()
	rule := pick(r, []string{"deny-egress-1433", "allow-https-inbound", "allow-vnet-8080"})
	rid := "/subscriptions/" + sub + "/resourceGroups/shop-eastus/providers/Microsoft.Network/networkSecurityGroups/shop-nsg/securityRules/" + rule
	id := r.uuid()
	rec := map[string]any{
		"time": at.Format(time.RFC3339Nano), "resourceId": strings.ToUpper(rid),
		"operationName": "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE", "category": "Administrative",
		"resultType": "Success", "resultSignature": "Succeeded.Created", "durationMs": fmt.Sprint(800 + r.IntN(3000)),
		"callerIpAddress": a.ip, "correlationId": r.uuid(), "level": "Information", "location": "global",
		"identity": map[string]any{
			"authorization": map[string]any{"scope": rid, "action": "Microsoft.Network/networkSecurityGroups/securityRules/write"},
			"claims":        map[string]any{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name": a.email(), "name": a.name},
		},
		"properties": map[string]any{"statusCode": "Created", "serviceRequestId": r.uuid(), "eventCategory": "Administrative",
			"entity": rid, "message": "Microsoft.Network/networkSecurityGroups/securityRules/write", "hierarchy": "tenant/" + sub},
		"eventDataId": id,
	}
	return &change{at: at, arrival: at.Add(r.dur(time.Minute, 3*time.Minute)), topic: TopicAzure, eventID: id, source: "azureactivity",
		service: "Microsoft.Network", operation: "Microsoft.Network/networksecuritygroups/securityrules/write", region: "global",
		resource: strings.ToLower(rid), raw: mustJSON(map[string]any{"records": []any{rec}})}
}

// gcpIncidentError is the error a GKE service logs when a firewall rule or
// backend service change cuts it off.
func gcpIncidentError(r *rnd, a *AffectedService, region string) errShape {
	if len(a.Via) > 0 {
		v := pick(r, a.Via)
		return pick(r, []errShape{
			{"UpstreamError", "upstream " + v + " returned 503 Service Unavailable", v + ".shop.svc.cluster.local", 503},
			{"TimeoutError", "context deadline exceeded calling " + v, v + ".shop.svc.cluster.local", 504},
		})
	}
	db := a.Service + "-db." + region + ".internal"
	return pick(r, []errShape{
		{"DialTimeout", "dial tcp 10.128.4.17:5432: i/o timeout (" + db + ")", db, 504},
		{"UpstreamConnectError", "upstream connect error or disconnect/reset before headers. reset reason: connection timeout", db, 503},
		{"ConnectionRefusedError", "dial tcp 10.128.4.17:5432: connect: connection refused (" + db + ")", db, 500},
	})
}

// hourFile is an NDJSON file per hour: the application events'
// (data/app/YYYY/MM/DD/app-events-HH.ndjson, so a production-size day stays
// far below the loader's file size limit) and Google Cloud's, as a Cloud
// Logging sink to Cloud Storage writes them (data/gcp/YYYY/MM/DD/HH_S0.json).
type hourFile struct {
	format string
	name   func(hour time.Time) string // the path of an hour's file
	hour   time.Time
	f      *os.File
	w      *bufio.Writer
	path   string
	lines  int
}

// open makes the open file the one of at's hour, closing the previous one.
func (h *hourFile) open(fw *fileWriter, at time.Time) error {
	hr := at.UTC().Truncate(time.Hour)
	if h.w != nil && hr.Equal(h.hour) {
		return nil
	}
	if err := h.close(fw); err != nil {
		return err
	}
	h.hour, h.lines = hr, 0
	h.path = h.name(hr)
	if err := os.MkdirAll(filepath.Dir(h.path), 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	f, err := os.Create(h.path)
	if err != nil {
		return fmt.Errorf("create %s: %w", h.path, err)
	}
	h.f, h.w = f, bufio.NewWriterSize(f, 1<<20)
	return nil
}

// write appends raw to the file of at's hour, opening it if needed.
func (h *hourFile) write(fw *fileWriter, at time.Time, raw []byte) error {
	if err := h.open(fw, at); err != nil {
		return err
	}
	h.w.Write(raw)
	h.w.WriteByte('\n')
	h.lines++
	return nil
}

// close flushes and closes the open file and adds it to the manifest.
func (h *hourFile) close(fw *fileWriter) error {
	if h.w == nil {
		return nil
	}
	err := h.w.Flush()
	if cerr := h.f.Close(); err == nil {
		err = cerr
	}
	h.w, h.f = nil, nil
	if err != nil {
		return fmt.Errorf("write %s: %w", h.path, err)
	}
	fw.addFile(h.path, h.format, h.lines, h.lines)
	return nil
}

// writeCloud writes a minute's Google Cloud entries (hourly NDJSON) and
// Azure documents (one file each).
func (w *fileWriter) writeCloud(m *minuteOut) error {
	if w.gcp == nil && len(m.gcp) > 0 {
		dir := filepath.Join(w.dir, "data", dirGCP)
		w.gcp = &hourFile{format: "gcpaudit", name: func(hr time.Time) string {
			return filepath.Join(dir, hr.Format("2006/01/02"), hr.Format("15")+"_S0.json")
		}}
	}
	for _, it := range m.gcp {
		if err := w.gcp.write(w, m.t, it.raw); err != nil {
			return err
		}
	}
	for _, it := range m.az {
		p := filepath.Join(w.dir, "data", dirAzure, it.at.UTC().Format("20060102T150405Z")+"_"+it.key+".json")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("create output directory: %w", err)
		}
		if err := os.WriteFile(p, append(bytes.Clone(it.raw), '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		w.addFile(p, "azureactivity", 1, 1)
	}
	return nil
}
