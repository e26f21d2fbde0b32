package transform

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Azure: the records Azure Monitor diagnostic settings export to Event Hubs
// (read through its Kafka endpoint) or storage (format azureactivity):
// {"records":[...]} documents, a bare record, arrays and NDJSON (storage's
// PT1H.json). A bad record costs only itself. Field names are matched
// case-insensitively (exports differ: resultType, ResultType); a level is
// read only from a string (some ServiceHealth records carry a numeric
// "Level" beside "level").
//
// Activity Log categories (docs/schema.md has the table):
//   - Administrative: a write, delete or non-read action whose resultType
//     is Success is a change; Start and Accept are the same operation in
//     progress (info), so one operation is one change; Failure is an error.
//   - ServiceHealth: Azure's own incidents (errors while active) and
//     planned maintenance (changes), source health like AWS Health.
//   - ResourceHealth: a resource Unavailable through no action of its
//     owner is an error, source health; Degraded/Unknown signals, recovery
//     (Available, Resolved) a signal.
//   - Policy: deny is an error (the request was refused); audits info.
//   - Alert: an activated alert is an error, a resolved one a signal,
//     source alarm. Autoscale: a successful scale is a change. Security:
//     signal. Recommendation: info.
//
// Any other category is a resource log (FunctionAppLogs, ...): source
// azurelogs, the resource's name as the service, classified by level.

// Sources of the Azure events (ServiceHealth and ResourceHealth are health,
// alerts alarm).
const (
	SourceAzureActivity = "azureactivity" // Activity Log
	SourceAzureLogs     = "azurelogs"     // resource logs
)

// isAzureRecords reports whether a records array holds Azure Monitor
// records (or is empty).
func isAzureRecords(records []byte) bool {
	if !isArray(records) {
		return false
	}
	ok := true
	eachElem(records, func(_ int, e []byte) bool {
		ok = isObject(e) && (field(e, "operationName") != nil || field(e, "category") != nil || field(e, "resourceId") != nil)
		return false
	})
	return ok
}

// azureRecords decodes one validated value of the azureactivity format.
func (s *state) azureRecords(v []byte) {
	if isArray(v) {
		eachElem(v, func(_ int, e []byte) bool {
			s.azureRecords(e)
			return true
		})
		return
	}
	if !isObject(v) {
		s.dead(ReasonInvalidJSON, v, "Azure Monitor input must be a JSON object ({\"records\":[...]} or one record); got a scalar (check the topic's or file's format)")
		return
	}
	if recs := field(v, "records"); recs != nil {
		if !isArray(recs) {
			s.dead(ReasonMissingField, v, "Azure Monitor document's records is not an array; the document is corrupt")
			return
		}
		eachElem(recs, func(_ int, e []byte) bool {
			s.azureRecord(e)
			return true
		})
		return
	}
	s.azureRecord(v)
}

// azureRecord is what one record's common fields reduce to.
type azureRecord struct {
	time, properties, identity                  []byte
	resourceID, operation, category, resultType string
	resultSig, description, level, location     string
	caller                                      string
	props                                       []byte // properties as an object (parsed when sent as a JSON string)
}

// azureRecord decodes one record.
func (s *state) azureRecord(v []byte) {
	if !isObject(v) {
		s.dead(ReasonInvalidJSON, v, "Azure Monitor record is not a JSON object; it was skipped, the rest of the document was decoded")
		return
	}
	ev := Event{}
	a := &s.attrs
	a.reset()
	var r azureRecord
	var kb [32]byte
	eachField(v, func(k, val []byte) bool {
		switch string(lowerASCII(kb[:0], k)) {
		case "time", "timegenerated", "eventtimestamp":
			if r.time == nil {
				r.time = val
				return true
			}
		case "resourceid":
			r.resourceID = str(val)
		case "operationname":
			r.operation = azureValue(val)
		case "category":
			r.category = azureValue(val)
		case "resulttype":
			if r.resultType == "" {
				r.resultType = azureValue(val)
				return true
			}
		case "resultsignature":
			r.resultSig = azureValue(val)
		case "resultdescription":
			if r.description == "" {
				r.description = str(val)
				return true
			}
		case "correlationid":
			if ev.RequestID == "" {
				ev.RequestID = scalarText(val)
				return true
			}
		case "eventdataid":
			if ev.EventID == "" {
				ev.EventID = scalarText(val)
				return true
			}
		case "level":
			if r.level == "" && len(val) > 0 && val[0] == '"' {
				r.level = str(val)
				return true
			}
		case "location":
			r.location = str(val)
		case "identity":
			r.identity = val
		case "caller":
			r.caller = str(val)
		case "properties":
			r.properties = val
			if isObject(val) {
				r.props = val
			} else if p, err := s.nested(val); err == nil && isObject(p) {
				r.props = p // a JSON object sent as a string: kept parsed
				a.json(keyString(k), p)
				return true
			}
		}
		a.raw(k, val)
		return true
	})
	if r.time != nil {
		t, ok := timeValue(r.time)
		if !ok {
			s.dead(ReasonBadTimestamp, v, fmt.Sprintf("Azure record time %s is not a timestamp; the record was skipped", r.time))
			return
		}
		ev.Time = t
	}
	ev.Resource = strings.ToLower(r.resourceID)
	ev.AccountID = azureSubscription(ev.Resource)
	ev.Region = azureRegion(r.location)
	ev.Operation = azureOperation(r.operation)
	ev.Actor = firstNonEmpty(r.caller, azureActor(r.identity))
	ev.Message = r.description
	if n := severityFromLevel(r.level); n != 0 {
		ev.SeverityNumber, ev.SeverityText = n, r.level
	}
	ev.Status = r.resultType

	cat := strings.ToLower(r.category)
	if cat == "" && r.resultType != "" && azureVerb(ev.Operation) != "" {
		cat = "administrative" // an Activity Log record exported without its category
	}
	switch cat {
	case "administrative", "autoscale":
		s.azureAdministrative(&ev, &r)
	case "servicehealth":
		s.azureServiceHealth(&ev, &r)
	case "resourcehealth":
		s.azureResourceHealth(&ev, &r)
	case "policy":
		ev.Source, ev.Kind = SourceAzureActivity, KindInfo
		ev.Service = azureResourceNamespace(ev.Resource)
		switch {
		case strings.Contains(ev.Operation, "/deny/"):
			ev.Kind, ev.ErrorCode = KindError, "RequestDisallowedByPolicy"
			if ev.SeverityNumber < SeverityWarn {
				ev.SeverityNumber, ev.SeverityText = SeverityWarn, "WARN"
			}
		case azureFailed(r.resultType):
			s.azureFailure(&ev, &r)
		}
	case "alert":
		ev.Source, ev.Kind = SourceAlarm, KindSignal
		ev.Service = azureResourceNamespace(ev.Resource)
		switch strings.ToLower(r.resultType) {
		case "activated", "active", "fired":
			ev.Kind = KindError
			if ev.SeverityNumber < SeverityError {
				ev.SeverityNumber, ev.SeverityText = SeverityError, "ERROR"
			}
		}
	case "security":
		ev.Source, ev.Kind = SourceAzureActivity, KindSignal
		ev.Service = azureResourceNamespace(ev.Resource)
		if ev.SeverityNumber < SeverityWarn {
			ev.SeverityNumber, ev.SeverityText = SeverityWarn, "WARN"
		}
	case "recommendation":
		ev.Source, ev.Kind = SourceAzureActivity, KindInfo
		ev.Service = azureResourceNamespace(ev.Resource)
	default:
		s.azureResourceLog(&ev, &r)
	}
	if ev.Status != r.resultType && r.resultType != "" {
		a.str("resultType", r.resultType)
	}
	if ev.Service == "" {
		ev.Service = azureNamespace(strings.SplitN(r.operation, "/", 2)[0])
	}
	if ev.SeverityNumber == 0 {
		ev.SeverityNumber, ev.SeverityText = SeverityInfo, "INFO"
	}
	ev.Attributes = a.String()
	s.emit(&ev, v)
}

// azureAdministrative maps an Administrative (or Autoscale) record. One ARM
// operation logs Start, then Accept for a long-running one, then Success or
// Failure, all with one correlationId (request_id): only Success is the
// change, Failure the error, the rest info.
func (s *state) azureAdministrative(ev *Event, r *azureRecord) {
	ev.Source, ev.Kind = SourceAzureActivity, KindInfo
	ev.Service = azureNamespace(strings.SplitN(r.operation, "/", 2)[0])
	switch {
	case azureFailed(r.resultType):
		s.azureFailure(ev, r)
	case azureSucceeded(r.resultType) && !azureIsRead(ev.Operation):
		ev.Kind = KindChange
	}
	if ev.Message == "" {
		ev.Message = azureStatusText(r.props)
	}
}

// azureFailure makes ev the error of a failed operation: the error code
// from properties.statusMessage (a JSON document), statusCode or the
// resultSignature; WARN for client errors, ERROR for server faults.
func (s *state) azureFailure(ev *Event, r *azureRecord) {
	ev.Kind = KindError
	code, msg := azureStatusError(r.props)
	ev.ErrorCode = firstNonEmpty(code, str(field(r.props, "statusCode")), r.resultSig, "Failed")
	ev.Message = firstNonEmpty(msg, ev.Message, azureStatusText(r.props))
	if ev.SeverityNumber < SeverityWarn {
		ev.SeverityNumber, ev.SeverityText = severityFromAPIError(ev.ErrorCode)
	}
}

// azureServiceHealth maps a ServiceHealth record: Azure's own incident or
// maintenance, seen in no customer's Administrative log.
func (s *state) azureServiceHealth(ev *Event, r *azureRecord) {
	ev.Source = SourceHealth
	p := r.props
	ev.Service = firstNonEmpty(azureProductService(str(field(p, "service"))), "servicehealth")
	region, _, _ := strings.Cut(str(field(p, "region")), ",")
	if region = azureRegion(region); region == "" {
		if imp, err := s.nested(field(p, "impactedServices")); err == nil {
			eachElem(imp, func(_ int, svc []byte) bool {
				eachElem(field(svc, "ImpactedRegions"), func(_ int, reg []byte) bool {
					region = firstNonEmpty(str(field(reg, "RegionId")), azureRegion(str(field(reg, "RegionName"))))
					return region == ""
				})
				return region == ""
			})
		}
	}
	ev.Region = firstNonEmpty(region, ev.Region)
	if id := str(field(p, "trackingId")); id != "" {
		ev.Resource = id
	}
	ev.Message = firstNonEmpty(str(field(p, "title")), ev.Message)
	stage := str(field(p, "stage"))
	ev.Status = firstNonEmpty(r.resultType, stage)
	if t, ok := timeValue(field(p, "impactStartTime")); ok {
		// When the impact began, as for AWS Health's startTime; the
		// record's own time stays in attributes.
		ev.Time = t
		if r.time != nil {
			s.attrs.json("time", r.time)
		}
	}
	resolved := azureResolved(r.resultType) || azureResolved(stage)
	sev := ev.SeverityNumber
	switch strings.ToLower(str(field(p, "incidentType"))) {
	case "incident":
		ev.Kind, ev.SeverityNumber = KindError, max(ev.SeverityNumber, SeverityError)
		if resolved {
			ev.Kind, ev.SeverityNumber = KindSignal, SeverityInfo
		}
	case "maintenance":
		ev.Kind = KindChange
		if resolved {
			ev.Kind = KindSignal
		}
	case "security":
		ev.Kind, ev.SeverityNumber = KindSignal, max(ev.SeverityNumber, SeverityWarn)
	default: // Information, ActionRequired, Advisory
		ev.Kind = KindInfo
	}
	if ev.SeverityNumber != sev {
		ev.SeverityText = severityName(ev.SeverityNumber)
	}
}

// azureResourceHealth maps a ResourceHealth record: Azure saying a resource
// became unavailable, degraded or available again.
func (s *state) azureResourceHealth(ev *Event, r *azureRecord) {
	ev.Source = SourceHealth
	p := r.props
	ev.Service = azureResourceNamespace(ev.Resource)
	current, previous := str(field(p, "currentHealthStatus")), str(field(p, "previousHealthStatus"))
	cause := str(field(p, "cause"))
	ev.Status = firstNonEmpty(current, r.resultType)
	if current != "" {
		ev.Message = current
		if previous != "" {
			ev.Message += " (was " + previous + ")"
		}
		var why []string
		for _, w := range []string{str(field(p, "type")), cause, str(field(p, "title"))} {
			if w != "" && !strings.EqualFold(w, "unknown") {
				why = append(why, w)
			}
		}
		if len(why) > 0 {
			ev.Message += ": " + strings.Join(why, ", ")
		}
	}
	switch {
	case azureResolved(r.resultType) || strings.EqualFold(current, "available"):
		ev.Kind, ev.SeverityNumber = KindSignal, SeverityInfo
	case strings.EqualFold(cause, "userinitiated"):
		// The owner's own action (a stop, a resize): its change is in
		// the Administrative log already.
		ev.Kind, ev.SeverityNumber = KindSignal, SeverityWarn
	case strings.EqualFold(current, "unavailable"):
		ev.Kind, ev.SeverityNumber = KindError, SeverityError
	default: // Degraded, Unknown
		ev.Kind, ev.SeverityNumber = KindSignal, SeverityWarn
	}
	ev.SeverityText = severityName(ev.SeverityNumber)
}

// azureResourceLog maps a resource log record (FunctionAppLogs, ...): a
// log line of the resource it names.
func (s *state) azureResourceLog(ev *Event, r *azureRecord) {
	ev.Source = SourceAzureLogs
	ev.Service = azureResourceName(ev.Resource)
	p := r.props
	ev.Message = firstNonEmpty(str(field(p, "message")), str(field(p, "Message")), ev.Message)
	ev.ErrorCode = firstNonEmpty(str(field(p, "exceptionType")), str(field(p, "errorCode")))
	if ev.SeverityNumber == 0 {
		if lv := str(field(p, "level")); severityFromLevel(lv) != 0 {
			ev.SeverityNumber, ev.SeverityText = severityFromLevel(lv), lv
		}
	}
	if ev.SeverityNumber == 0 && (azureFailed(r.resultType) || ev.ErrorCode != "") {
		ev.SeverityNumber, ev.SeverityText = SeverityError, "ERROR"
	}
	ev.Kind = kindOf(ev.SeverityNumber)
}

// azureValue reads a string, or the "value" of the REST API's
// {"value":...,"localizedValue":...} form.
func azureValue(raw []byte) string {
	if isObject(raw) {
		return str(field(raw, "value"))
	}
	return str(raw)
}

func azureFailed(result string) bool {
	switch strings.ToLower(result) {
	case "failure", "failed", "fail":
		return true
	}
	return false
}

func azureSucceeded(result string) bool {
	switch strings.ToLower(result) {
	case "success", "succeeded":
		return true
	}
	return false
}

func azureResolved(s string) bool {
	switch strings.ToLower(s) {
	case "resolved", "complete", "completed", "mitigated", "canceled", "cancelled", "deactivated":
		return true
	}
	return false
}

// azureVerb is the last segment of a normalized operation when it is an
// Azure Resource Manager verb (write, delete, action, read).
func azureVerb(op string) string {
	v := op[strings.LastIndexByte(op, '/')+1:]
	switch v {
	case "write", "delete", "action", "read":
		return v
	}
	return ""
}

// azureReadActions start the names of POST actions that read (listKeys,
// validate, checkNameAvailability, whatIf, ...).
var azureReadActions = []string{"list", "get", "read", "validate", "check", "query", "search", "export", "download", "whatif", "preview", "evaluate", "test"}

// azureIsRead reports an operation that changes nothing: .../read, and
// actions whose name reads (.../listkeys/action).
func azureIsRead(op string) bool {
	switch azureVerb(op) {
	case "read":
		return true
	case "action":
		i := strings.LastIndexByte(op, '/')
		if i < 0 {
			return false
		}
		rest := op[:i]
		name := rest[strings.LastIndexByte(rest, '/')+1:]
		for _, p := range azureReadActions {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
	}
	return false
}

// azureStatusError reads properties.statusMessage when it is a JSON
// document ({"error":{"code":...,"message":...}} or {"code":...}).
func azureStatusError(props []byte) (code, msg string) {
	sm := strings.TrimSpace(str(field(props, "statusMessage")))
	if !strings.HasPrefix(sm, "{") {
		return "", ""
	}
	b := []byte(sm)
	if end, err := scanValue(b, 0, 16); err != nil || skipWS(b, end) != len(b) {
		return "", ""
	}
	e := b
	if inner := field(b, "error"); isObject(inner) {
		e = inner
	}
	return str(field(e, "code")), str(field(e, "message"))
}

// azureStatusText is properties.statusMessage when it is plain text.
func azureStatusText(props []byte) string {
	sm := strings.TrimSpace(str(field(props, "statusMessage")))
	if strings.HasPrefix(sm, "{") {
		return ""
	}
	return sm
}

// azureActor names who acted, from the token claims: the user principal
// name (the claims' name or upn URI, unique_name, email), else the
// application id of a service principal, else the principal id of the
// role assignment that allowed it.
func azureActor(identity []byte) string {
	claims := field(identity, "claims")
	for _, k := range []string{
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
		"upn", "unique_name",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
		"appid",
	} {
		if v := str(field(claims, k)); v != "" {
			return v
		}
	}
	return firstNonEmpty(str(field(field(field(identity, "authorization"), "evidence"), "principalId")),
		str(field(claims, "http://schemas.microsoft.com/identity/claims/objectidentifier")))
}

// azureSubscription is the subscription id of a (lower-cased) resource id.
func azureSubscription(id string) string {
	rest, ok := strings.CutPrefix(id, "/subscriptions/")
	if !ok {
		return ""
	}
	sub, _, _ := strings.Cut(rest, "/")
	return sub
}

// azureResourceNamespace is the resource provider of a resource id: the
// namespace after its last /providers/ (extension resources name the
// extension's provider), canonically cased.
func azureResourceNamespace(id string) string {
	i := strings.LastIndex(strings.ToLower(id), "/providers/")
	if i < 0 {
		return ""
	}
	ns, _, _ := strings.Cut(id[i+len("/providers/"):], "/")
	return azureNamespace(ns)
}

// azureResourceName is the name of the top-level resource a resource id
// names (/subscriptions/s/resourcegroups/rg/providers/microsoft.web/sites/prod-api/slots/x
// -> prod-api), lower-cased.
func azureResourceName(id string) string {
	i := strings.Index(strings.ToLower(id), "/providers/")
	if i < 0 {
		return ""
	}
	parts := strings.Split(id[i+len("/providers/"):], "/")
	if len(parts) < 3 {
		return ""
	}
	return strings.ToLower(parts[2])
}

// azureRegion turns an Azure location into its programmatic name: West
// Europe -> westeurope, East US 2 -> eastus2; "global" stays.
func azureRegion(loc string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(loc), " ", ""))
}

// azureOperation normalizes an operationName for grouping and the
// catalogue: the resource provider namespace canonically cased, the rest
// lower-cased (MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/WRITE and
// microsoft.insights/diagnosticSettings/write are both
// Microsoft.Insights/diagnosticsettings/write). The operationName as
// written stays in attributes.
func azureOperation(op string) string {
	ns, rest, ok := strings.Cut(op, "/")
	if !ok {
		return op
	}
	return azureNamespace(ns) + "/" + strings.ToLower(rest)
}

// azureNamespaces are the canonical names of common resource providers,
// by their lower-cased names.
var azureNamespaces = func() map[string]string {
	m := map[string]string{}
	for _, ns := range []string{
		"Microsoft.AAD", "Microsoft.Advisor", "Microsoft.AlertsManagement", "Microsoft.ApiManagement", "Microsoft.App",
		"Microsoft.AppConfiguration", "Microsoft.Authorization", "Microsoft.Automation", "Microsoft.Batch", "Microsoft.Cache",
		"Microsoft.Cdn", "Microsoft.ClassicCompute", "Microsoft.ClassicNetwork", "Microsoft.ClassicStorage",
		"Microsoft.CognitiveServices", "Microsoft.Compute", "Microsoft.ContainerInstance", "Microsoft.ContainerRegistry",
		"Microsoft.ContainerService", "Microsoft.DataFactory", "Microsoft.Databricks", "Microsoft.DBforMariaDB",
		"Microsoft.DBforMySQL", "Microsoft.DBforPostgreSQL", "Microsoft.Devices", "Microsoft.DocumentDB",
		"Microsoft.EventGrid", "Microsoft.EventHub", "Microsoft.Features", "Microsoft.HDInsight", "Microsoft.HybridCompute",
		"Microsoft.Insights", "Microsoft.KeyVault", "Microsoft.Kubernetes", "Microsoft.KubernetesConfiguration",
		"Microsoft.Kusto", "Microsoft.Logic", "Microsoft.MachineLearningServices", "Microsoft.Maintenance",
		"Microsoft.Management", "Microsoft.ManagedIdentity", "Microsoft.Monitor", "Microsoft.NetApp", "Microsoft.Network",
		"Microsoft.NotificationHubs", "Microsoft.OperationalInsights", "Microsoft.OperationsManagement",
		"Microsoft.PolicyInsights", "Microsoft.Portal", "Microsoft.RecoveryServices", "Microsoft.Relay",
		"Microsoft.ResourceHealth", "Microsoft.Resources", "Microsoft.Search", "Microsoft.Security", "Microsoft.ServiceBus",
		"Microsoft.ServiceHealth", "Microsoft.SignalRService", "Microsoft.Solutions", "Microsoft.Sql", "Microsoft.Storage",
		"Microsoft.StreamAnalytics", "Microsoft.Synapse", "Microsoft.Web",
	} {
		m[strings.ToLower(ns)] = ns
	}
	return m
}()

// azureNamespace cases a resource provider namespace canonically:
// MICROSOFT.COMPUTE -> Microsoft.Compute. An unknown one gets each
// dot-separated part capitalized, its rest kept if it is mixed case and
// lower-cased otherwise (MICROSOFT.FOOBAR -> Microsoft.Foobar).
func azureNamespace(ns string) string {
	if ns == "" {
		return ""
	}
	if c, ok := azureNamespaces[strings.ToLower(ns)]; ok {
		return c
	}
	parts := strings.Split(ns, ".")
	for i, p := range parts {
		if p == "" {
			continue
		}
		if p == strings.ToUpper(p) || p == strings.ToLower(p) {
			p = strings.ToLower(p)
		}
		r, n := utf8.DecodeRuneInString(p)
		parts[i] = string(unicode.ToUpper(r)) + p[n:]
	}
	return strings.Join(parts, ".")
}

// azureProducts maps the service names of Service Health notices to their
// resource providers, so that a notice and the changes and errors of the
// same service share its name. Unknown products keep their name.
var azureProducts = map[string]string{
	"app service": "Microsoft.Web", "app service \\ web apps": "Microsoft.Web", "functions": "Microsoft.Web",
	"azure functions": "Microsoft.Web", "virtual machines": "Microsoft.Compute",
	"virtual machine scale sets": "Microsoft.Compute", "sql database": "Microsoft.Sql",
	"azure sql database": "Microsoft.Sql", "azure kubernetes service (aks)": "Microsoft.ContainerService",
	"azure kubernetes service": "Microsoft.ContainerService", "storage": "Microsoft.Storage",
	"virtual network": "Microsoft.Network", "load balancer": "Microsoft.Network", "application gateway": "Microsoft.Network",
	"azure dns": "Microsoft.Network", "azure firewall": "Microsoft.Network", "vpn gateway": "Microsoft.Network",
	"expressroute": "Microsoft.Network", "network infrastructure": "Microsoft.Network", "traffic manager": "Microsoft.Network",
	"azure front door": "Microsoft.Cdn", "azure cdn": "Microsoft.Cdn", "azure cosmos db": "Microsoft.DocumentDB",
	"key vault": "Microsoft.KeyVault", "event hubs": "Microsoft.EventHub", "service bus": "Microsoft.ServiceBus",
	"azure cache for redis": "Microsoft.Cache", "redis cache": "Microsoft.Cache", "azure monitor": "Microsoft.Insights",
	"container registry": "Microsoft.ContainerRegistry", "azure container apps": "Microsoft.App",
	"azure database for postgresql": "Microsoft.DBforPostgreSQL", "azure database for mysql": "Microsoft.DBforMySQL",
	"api management": "Microsoft.ApiManagement", "azure resource manager": "Microsoft.Resources",
}

func azureProductService(name string) string {
	if ns, ok := azureProducts[strings.ToLower(strings.TrimSpace(name))]; ok {
		return ns
	}
	return strings.TrimSpace(name)
}

// lowerASCII appends b lower-cased (ASCII only) to dst.
func lowerASCII(dst, b []byte) []byte {
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
