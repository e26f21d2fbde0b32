package transform

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Google Cloud: Cloud Logging LogEntry JSON (format gcpaudit), as a log
// sink routes it to Pub/Sub and a connector on to Kafka. Accepted shapes:
// one LogEntry, NDJSON, a JSON array, {"entries":[...]}; the Pub/Sub message
// data as raw bytes or base64 (also as a JSON string); the Pub/Sub push
// envelope {"message":{"data":...,"attributes":...},"subscription":...},
// a pull response {"receivedMessages":[...]}, and the Pub/Sub Kafka
// connector's struct {"message":"<base64>","<attribute>":...} (with or
// without the JsonConverter's {"schema":...,"payload":...}). The Pub/Sub
// metadata lands in attributes.pubsub.
//
// Entries whose protoPayload is a google.cloud.audit.AuditLog are Cloud
// Audit Logs (source gcpaudit): Admin Activity writes are changes, System
// Events Google's own (provider) changes, a non-zero status.code an error,
// Policy Denied entries errors, Data Access and Access Transparency info.
// Every other entry (jsonPayload, textPayload, other protoPayloads) is a log
// line (source gcplogging) classified by its severity.

// Sources of the Google Cloud events.
const (
	SourceGCPAudit   = "gcpaudit"   // Cloud Audit Logs
	SourceGCPLogging = "gcplogging" // any other Cloud Logging entry
)

// auditLogType is the @type of an AuditLog protoPayload, as raw JSON.
const auditLogType = `"type.googleapis.com/google.cloud.audit.AuditLog"`

// gcpLogging decodes one validated value of the gcpaudit format.
func (s *state) gcpLogging(v []byte) {
	switch {
	case isArray(v):
		eachElem(v, func(_ int, e []byte) bool {
			s.gcpLogging(e)
			return true
		})
		return
	case len(v) > 0 && v[0] == '"':
		// The Pub/Sub message data as a JSON string (the Kafka
		// JsonConverter writes bytes as base64 text).
		plain, ok := decodeBase64([]byte(str(v)))
		if !ok {
			s.dead(ReasonBadBase64, v, "Cloud Logging input is a JSON string that is not base64 of a LogEntry; send the LogEntry JSON (or the Pub/Sub message data) as the message value")
			return
		}
		s.bytes(plain, len(plain), s.level+1)
		return
	case !isObject(v):
		s.dead(ReasonInvalidJSON, v, "Cloud Logging input must be a LogEntry JSON object; got a scalar (check the topic's or file's format)")
		return
	}
	s.gcpObject(v)
}

// gcpWrapper dispatches an object that is not a LogEntry: a batch of
// entries or a Pub/Sub message holding one. w holds its members of
// interest, found by gcpObject's walk.
func (s *state) gcpWrapper(v []byte, w *gcpMembers) {
	entries, message, received, data, schemaPayload := w.entries, w.message, w.received, w.data, w.payload
	switch {
	case isArray(entries):
		eachElem(entries, func(_ int, e []byte) bool {
			s.gcpLogging(e)
			return true
		})
	case isObject(message) && field(message, "data") != nil:
		s.pubsubMessage(v, message, "message")
	case isArray(received):
		eachElem(received, func(_ int, rm []byte) bool {
			if m := field(rm, "message"); isObject(m) {
				s.pubsubMessage(rm, m, "message")
			} else {
				s.dead(ReasonMissingField, rm, "Pub/Sub receivedMessages element has no message object; it was skipped")
			}
			return true
		})
	case len(data) > 0 && data[0] == '"':
		s.pubsubMessage(v, v, "")
	case len(message) > 0 && message[0] == '"' && (w.pubsubAttr || s.format == FormatGCPAudit):
		// The Pub/Sub Kafka connector's struct: the data under "message",
		// the message attributes beside it.
		s.pubsubMessage(v, v, "")
	case isObject(schemaPayload) && w.schema:
		s.gcpLogging(schemaPayload) // JsonConverter with schemas.enable
	default:
		s.dead(ReasonMissingField, v, "not a Cloud Logging LogEntry (no logName, protoPayload, jsonPayload or textPayload) nor a Pub/Sub message holding one; route a log sink's output here, or use another format for this topic")
	}
}

// pubsubMessage unwraps a Pub/Sub message m (with "data", or the
// connector's "message") found in the record rec, keeping its metadata
// (rec's other members, m's attributes, messageId, publishTime) for the
// attributes of the events inside. inner names m's member of rec ("" when
// m is rec itself).
func (s *state) pubsubMessage(rec, m []byte, inner string) {
	var env attrWriter
	env.reset()
	var data []byte
	eachField(m, func(k, val []byte) bool {
		switch {
		case string(k) == "data" || inner == "" && string(k) == "message" && val[0] == '"':
			data = val
		default:
			env.raw(k, val)
		}
		return true
	})
	if inner != "" {
		eachField(rec, func(k, val []byte) bool {
			if string(k) != inner {
				env.raw(k, val)
			}
			return true
		})
	}
	plain, ok := decodeBase64([]byte(str(data)))
	if !ok {
		s.dead(ReasonBadBase64, rec, "Pub/Sub message data is not base64; it was skipped")
		return
	}
	saved := s.gcpEnvelope
	s.gcpEnvelope = nil
	if env.n > 0 {
		s.gcpEnvelope = []byte(env.String())
	}
	s.bytes(plain, len(plain), s.level+1)
	s.gcpEnvelope = saved
}

// gcpMembers are the members of a non-entry object gcpWrapper needs.
type gcpMembers struct {
	entries, message, received, data, payload []byte
	schema, pubsubAttr                        bool
}

// gcpObject decodes one validated object: a LogEntry (it has logName or a
// payload), else a wrapper. One walk serves both.
func (s *state) gcpObject(v []byte) {
	ev := Event{}
	a := &s.attrs
	a.reset()
	a.compact = s.ws
	var ts, receive, severity, logName, resource, proto, jsonPayload, text, trace, operation, httpRequest []byte
	var w gcpMembers
	eachField(v, func(k, val []byte) bool {
		switch string(k) {
		case "insertId":
			ev.EventID = scalarText(val)
			return true
		case "timestamp":
			ts = val
			return true
		case "severity":
			severity = val
			return true
		case "textPayload":
			text = val
			return true
		case "receiveTimestamp":
			receive = val
		case "logName":
			logName = val
		case "resource":
			resource = val
		case "protoPayload":
			proto = val
		case "jsonPayload":
			jsonPayload = val
		case "trace":
			trace = val
		case "operation":
			operation = val
		case "httpRequest":
			httpRequest = val
		case "entries":
			w.entries = val
		case "message":
			w.message = val
		case "receivedMessages":
			w.received = val
		case "data":
			w.data = val
		case "payload":
			w.payload = val
		case "schema":
			w.schema = true
		default:
			w.pubsubAttr = w.pubsubAttr || bytes.HasPrefix(k, []byte("logging.googleapis.com/"))
		}
		a.raw(k, val)
		return true
	})
	if logName == nil && proto == nil && jsonPayload == nil && text == nil {
		s.gcpWrapper(v, &w)
		return
	}
	if ts == nil {
		ts = receive
	}
	if ts != nil {
		t, ok := gcpTime(ts)
		if !ok {
			s.dead(ReasonBadTimestamp, v, fmt.Sprintf("LogEntry timestamp %s is not a timestamp; the entry was skipped", ts))
			return
		}
		ev.Time = t
	}
	logID, parent := gcpLogName(str(logName))
	labels := field(resource, "labels")
	ev.AccountID = firstNonEmpty(str(field(labels, "project_id")), parent)
	ev.TraceID = str(trace)
	if i := strings.LastIndex(ev.TraceID, "/traces/"); i >= 0 {
		ev.TraceID = ev.TraceID[i+len("/traces/"):]
	}
	var opFirst, opLast bool
	if isObject(operation) {
		ev.RequestID = scalarText(field(operation, "id"))
		opFirst = boolValue(field(operation, "first")) == 1
		opLast = boolValue(field(operation, "last")) == 1
	}
	location := firstNonEmpty(str(field(labels, "location")), str(field(labels, "zone")), str(field(labels, "region")))
	if sev := gcpSeverity(severity); sev != 0 {
		ev.SeverityNumber, ev.SeverityText = sev, strings.ToUpper(scalarText(severity))
		if _, err := atoiDigits(ev.SeverityText); err == nil {
			ev.SeverityText = severityName(sev)
		}
	}
	if isObject(proto) && string(field(proto, "@type")) == auditLogType {
		s.gcpAudit(&ev, proto, logID, location, opFirst, opLast)
	} else {
		s.gcpLogLine(&ev, jsonPayload, text, labels, httpRequest, logID, location)
		ev.Resource = str(logName)
	}
	if s.gcpEnvelope != nil {
		a.json("pubsub", s.gcpEnvelope)
	}
	ev.Attributes = a.String()
	s.emit(&ev, v)
}

// gcpAudit maps an AuditLog protoPayload.
func (s *state) gcpAudit(ev *Event, proto []byte, logID, location string, opFirst, opLast bool) {
	ev.Source = SourceGCPAudit
	var serviceName, method, resourceName string
	var status, authz, metadata []byte
	eachField(proto, func(k, val []byte) bool {
		switch string(k) {
		case "serviceName":
			serviceName = str(val)
		case "methodName":
			method = str(val)
		case "resourceName":
			resourceName = str(val)
		case "status":
			status = val
		case "authenticationInfo":
			ev.Actor = firstNonEmpty(str(field(val, "principalEmail")), str(field(val, "principalSubject")))
			if ev.Actor == "" {
				// A call made for a service account by another principal.
				eachElem(field(val, "serviceAccountDelegationInfo"), func(_ int, d []byte) bool {
					ev.Actor = firstNonEmpty(str(field(field(d, "firstPartyPrincipal"), "principalEmail")),
						str(field(field(d, "thirdPartyPrincipal"), "principalEmail")))
					return ev.Actor == ""
				})
			}
		case "authorizationInfo":
			authz = val
		case "metadata":
			metadata = val
		case "resourceLocation":
			if location == "" {
				eachElem(field(val, "currentLocations"), func(_ int, l []byte) bool {
					location = str(l)
					return location == ""
				})
			}
		}
		return true
	})
	ev.Service = gcpService(serviceName)
	ev.Operation = gcpMethod(method)
	ev.Resource = resourceName
	if ev.Resource == "" {
		eachElem(authz, func(_ int, e []byte) bool {
			ev.Resource = str(field(e, "resource"))
			return ev.Resource == ""
		})
	}
	if location == "" {
		location = gcpPathLocation(resourceName)
	}
	if location == "" {
		// VPC Service Controls (Policy Denied) entries name the
		// resources they protect in their metadata.
		eachElem(field(metadata, "resourceNames"), func(_ int, n []byte) bool {
			location = gcpPathLocation(str(n))
			return location == ""
		})
	}
	s.gcpLocation(ev, location)
	if ev.AccountID == "" {
		ev.AccountID = gcpPathProject(resourceName)
	}
	ev.Message = str(field(status, "message"))

	codeName, failed := grpcCode(field(status, "code"))
	switch {
	case failed || logID == "cloudaudit.googleapis.com/policy":
		ev.Kind, ev.Status = KindError, "failed"
		ev.ErrorCode = firstNonEmpty(codeName, "PERMISSION_DENIED")
		if ev.SeverityNumber < SeverityWarn {
			ev.SeverityNumber, ev.SeverityText = grpcSeverity(ev.ErrorCode)
		}
	case logID == "cloudaudit.googleapis.com/activity", logID == "cloudaudit.googleapis.com/system_event":
		ev.Kind, ev.Status = KindChange, "succeeded"
		switch {
		case opFirst && !opLast:
			// A long-running operation logs a first and a last entry
			// (sharing operation.id, the request_id); the last one says
			// how it ended and is the change.
			ev.Kind, ev.Status = KindInfo, "started"
		case gcpIsRead(ev.Operation), serviceName == "k8s.io" && k8sBookkeeping(ev.Operation):
			ev.Kind = KindInfo
		case logID == "cloudaudit.googleapis.com/system_event":
			// Google's own change to the customer's resources: like an
			// AWS Health scheduled change, in nobody's Admin Activity.
			ev.ChangeType, ev.RiskClass = ChangeProvider, RiskHigh
		}
	default: // data_access, access_transparency, other audit logs
		ev.Kind, ev.Status = KindInfo, "succeeded"
	}
	if ev.SeverityNumber == 0 {
		ev.SeverityNumber, ev.SeverityText = SeverityInfo, "INFO"
	}
}

// gcpLogLine maps any other LogEntry: a log line of the service its
// resource or payload names, classified by severity.
func (s *state) gcpLogLine(ev *Event, jsonPayload, text, labels, httpRequest []byte, logID, location string) {
	ev.Source = SourceGCPLogging
	ev.Message = str(text)
	ev.Service = str(field(field(jsonPayload, "serviceContext"), "service")) // Error Reporting's field
	for _, l := range []string{"service_name", "function_name", "module_id", "container_name", "job_name"} {
		if ev.Service != "" {
			break
		}
		ev.Service = str(field(labels, l))
	}
	if ev.Service == "" {
		ev.Service = logID[strings.LastIndexByte(logID, '/')+1:]
	}
	s.gcpLocation(ev, location)
	var levelText string
	if isObject(jsonPayload) {
		eachField(jsonPayload, func(k, val []byte) bool {
			switch string(k) {
			case "message", "msg":
				ev.Message = firstNonEmpty(ev.Message, scalarText(val))
			case "level", "severity", "log.level", "levelname":
				levelText = firstNonEmpty(levelText, scalarText(val))
			case "error.type", "errorType", "exception.type":
				ev.ErrorCode = firstNonEmpty(ev.ErrorCode, scalarText(val))
			case "requestId", "request_id":
				ev.RequestID = firstNonEmpty(ev.RequestID, scalarText(val))
			}
			return true
		})
	}
	if ev.SeverityNumber == 0 {
		var status int
		if httpRequest != nil {
			status, _ = strconv.Atoi(scalarText(field(httpRequest, "status")))
		}
		switch n := severityFromLevel(levelText); {
		case n != 0:
			ev.SeverityNumber, ev.SeverityText = n, strings.ToUpper(levelText)
		case severityFromText(ev.Message) != 0:
			ev.SeverityNumber = severityFromText(ev.Message)
			ev.SeverityText = severityName(ev.SeverityNumber)
		case status >= 500 || ev.ErrorCode != "":
			ev.SeverityNumber, ev.SeverityText = SeverityError, "ERROR"
		}
	}
	ev.Kind = kindOf(ev.SeverityNumber)
}

// gcpLocation sets the region column from a Google Cloud location: a zone
// (us-central1-a) gives its region (us-central1) and stays in attributes as
// cloud.availability_zone; regions, multi-regions (us, eur4) and "global"
// are kept as written.
func (s *state) gcpLocation(ev *Event, location string) {
	region, zone := gcpRegion(location)
	ev.Region = region
	if zone != "" {
		s.attrs.str("cloud.availability_zone", zone)
	}
}

// gcpRegion splits a zone (us-central1-a) into its region and the zone;
// anything else is a region.
func gcpRegion(loc string) (region, zone string) {
	i := strings.LastIndexByte(loc, '-')
	if i > 0 && len(loc)-i == 2 && loc[i+1] >= 'a' && loc[i+1] <= 'z' && isDigit(loc[i-1]) {
		return loc[:i], loc
	}
	return loc, ""
}

// gcpPathLocation finds the location in a resource name
// (projects/p/zones/us-central1-a/instances/x, .../regions/r/...,
// .../locations/l/..., projects/p/global/...).
func gcpPathLocation(name string) string {
	for i, rest := 0, name; rest != ""; i++ {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		switch seg {
		case "zones", "regions", "locations":
			next, _, _ := strings.Cut(rest, "/")
			return next
		case "global": // projects/p/global/networks/n
			if i > 0 && rest != "" {
				return "global"
			}
		}
	}
	return ""
}

// gcpPathProject is the project of a resource name (projects/p/...).
func gcpPathProject(name string) string {
	if rest, ok := strings.CutPrefix(name, "projects/"); ok {
		p, _, _ := strings.Cut(rest, "/")
		return p
	}
	return ""
}

// gcpLogName splits a logName into its log id, URL-decoded
// (cloudaudit.googleapis.com/activity), and its parent: the project id for
// projects/<id>, else the parent as written (organizations/123,
// folders/456, billingAccounts/...).
func gcpLogName(name string) (logID, parent string) {
	p, id, ok := strings.Cut(name, "/logs/")
	if !ok {
		return "", ""
	}
	if strings.Contains(id, "%") {
		id = strings.ReplaceAll(strings.ReplaceAll(id, "%2F", "/"), "%2f", "/")
	}
	if proj, ok := strings.CutPrefix(p, "projects/"); ok {
		return id, proj
	}
	return id, p
}

// gcpServices maps API names to the product names people use. Every other
// service is its API's short name (compute.googleapis.com -> compute).
var gcpServices = map[string]string{
	"container": "gke", "k8s.io": "gke", "sqladmin": "sql",
}

// gcpService names a Google Cloud service from an audit serviceName.
func gcpService(name string) string {
	n := strings.TrimSuffix(strings.ToLower(name), ".googleapis.com")
	if s, ok := gcpServices[n]; ok {
		return s
	}
	return n
}

// gcpMethod drops API version segments from a methodName so that calls
// through every API version group together: beta.compute.instances.insert
// -> compute.instances.insert, google.container.v1beta1.ClusterManager.GetCluster
// -> google.container.ClusterManager.GetCluster. The methodName as written
// stays in attributes (protoPayload).
func gcpMethod(m string) string {
	versioned := false
	for rest := m; rest != "" && !versioned; {
		var seg string
		seg, rest, _ = strings.Cut(rest, ".")
		versioned = isAPIVersion(seg)
	}
	if !versioned || !strings.Contains(m, ".") {
		return m
	}
	parts := strings.Split(m, ".")
	out := parts[:0]
	for _, p := range parts {
		if !isAPIVersion(p) {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

// isAPIVersion reports an API version segment: v1, v2, v1beta1, v2alpha,
// v1p1beta1, beta, alpha.
func isAPIVersion(p string) bool {
	if p == "beta" || p == "alpha" {
		return true
	}
	if len(p) < 2 || p[0] != 'v' {
		return false
	}
	i := digits(p, 1)
	if i == 1 {
		return false
	}
	if i < len(p) && p[i] == 'p' { // v1p1beta1
		j := digits(p, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	for _, stage := range []string{"alpha", "beta"} {
		if strings.HasPrefix(p[i:], stage) {
			i = digits(p, i+len(stage))
			break
		}
	}
	return i == len(p)
}

// digits returns the offset after the run of digits at s[i].
func digits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// gcpIsRead reports a method that only reads: its last segment is get,
// list, aggregatedList, watch, testIamPermissions, ... (the read prefixes
// of CloudTrail operations).
func gcpIsRead(method string) bool {
	last := method[strings.LastIndexByte(method, '.')+1:]
	if last == "" {
		return false
	}
	if strings.EqualFold(last, "aggregatedList") || strings.HasPrefix(strings.ToLower(last), "watch") {
		return true
	}
	r, n := utf8.DecodeRuneInString(last)
	return isReadOperation(string(unicode.ToUpper(r)) + last[n:])
}

// k8sBookkeeping reports Kubernetes API writes that record state rather
// than change configuration: leader-election leases, events, token and
// access reviews, service account tokens, endpoints and status updates.
// GKE logs them in Admin Activity by the thousand; they are info.
func k8sBookkeeping(op string) bool {
	for _, s := range []string{".leases.", ".events.", "tokenreviews.", "accessreviews.", "rulesreviews.", ".serviceaccounts.token.", ".endpoints.", ".endpointslices."} {
		if strings.Contains(op, s) {
			return true
		}
	}
	return strings.HasSuffix(op, ".status.update") || strings.HasSuffix(op, ".status.patch")
}

// gcpSeverity maps a LogEntry severity: a name, or a LogSeverity number
// (DEBUG 100, INFO 200, NOTICE 300, WARNING 400, ERROR 500, CRITICAL 600,
// ALERT 700, EMERGENCY 800). DEFAULT is unspecified (0).
func gcpSeverity(raw []byte) int32 {
	t := scalarText(raw)
	if t == "" {
		return 0
	}
	if n, err := atoiDigits(t); err == nil {
		switch {
		case n >= 800:
			return SeverityFatal
		case n >= 600:
			return SeverityError + 2
		case n >= 500:
			return SeverityError
		case n >= 400:
			return SeverityWarn
		case n >= 200:
			return SeverityInfo
		case n >= 100:
			return SeverityDebug
		}
		return 0
	}
	if strings.EqualFold(t, "DEFAULT") {
		return 0
	}
	return severityFromLevel(t)
}

// gcpTime parses a LogEntry timestamp: RFC 3339 with up to nanoseconds, or
// the protobuf JSON {"seconds":...,"nanos":...} some exporters write.
func gcpTime(raw []byte) (time.Time, bool) {
	if isObject(raw) {
		sec, err1 := strconv.ParseInt(scalarText(field(raw, "seconds")), 10, 64)
		nanos, err2 := strconv.ParseInt(firstNonEmpty(scalarText(field(raw, "nanos")), "0"), 10, 64)
		if err1 != nil || err2 != nil || sec <= 0 || nanos < 0 || nanos >= 1e9 {
			return time.Time{}, false
		}
		return time.Unix(sec, nanos).UTC(), true
	}
	return timeValue(raw)
}

// grpcCodes are the google.rpc.Code names by number.
var grpcCodes = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
	"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// grpcCode names a status.code (a number or a name) and reports whether it
// is a failure: present and not OK (0).
func grpcCode(raw []byte) (string, bool) {
	t := scalarText(raw)
	if t == "" {
		return "", false
	}
	if n, err := strconv.Atoi(t); err == nil {
		switch {
		case n == 0:
			return "", false
		case n > 0 && n < len(grpcCodes):
			return grpcCodes[n], true
		}
		return t, true
	}
	if strings.EqualFold(t, "OK") {
		return "", false
	}
	return strings.ToUpper(t), true
}

// grpcSeverity: server-side failures (UNKNOWN, DEADLINE_EXCEEDED, INTERNAL,
// UNAVAILABLE, DATA_LOSS) are ERROR; denials, bad requests and exhausted
// quota WARN, as for failed AWS API calls.
func grpcSeverity(code string) (int32, string) {
	switch code {
	case "UNKNOWN", "DEADLINE_EXCEEDED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS":
		return SeverityError, "ERROR"
	}
	return SeverityWarn, "WARN"
}
