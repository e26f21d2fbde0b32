package transform

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// CloudTrail input: S3 log files ({"Records":[...]}), bare JSON arrays,
// NDJSON, one record per message, EventBridge "AWS API Call via CloudTrail"
// envelopes, and records inside CloudWatch log events. Digest files are
// recognised and counted in Result.Skipped.

// isCloudTrailRecord reports whether the validated value looks like one
// CloudTrail record.
func isCloudTrailRecord(v []byte) bool {
	if !isObject(v) {
		return false
	}
	var ver, src bool
	eachField(v, func(k, _ []byte) bool {
		switch string(k) {
		case "eventVersion":
			ver = true
		case "eventSource", "eventID", "eventName":
			src = true
		}
		return !(ver && src)
	})
	return ver && src
}

// cloudTrail decodes a validated CloudTrail container or record.
func (s *state) cloudTrail(v []byte) {
	if isArray(v) {
		walkArray(v, 0, func(_, ei int) int { return s.cloudTrailRecordAt(v, ei, "") })
		return
	}
	if !isObject(v) {
		s.dead(ReasonInvalidJSON, v, "CloudTrail input must be a JSON object or array; got a scalar (check the topic's or file's format)")
		return
	}
	// Most messages are one record: decode it in one pass, falling back to
	// the container shapes when a container member turns up.
	if _, container := s.cloudTrailRecordProbe(v, 0, "", true); !container {
		return
	}
	var detailType, id []byte
	detail := -1
	digest, records := false, false
	walkObject(v, 0, func(k []byte, vi int) int {
		switch string(k) {
		case "Records":
			if v[vi] == '[' {
				records = true
				// Records are decoded during this walk: one pass over the file.
				return walkArray(v, vi, func(_, ei int) int { return s.cloudTrailRecordAt(v, ei, "") })
			}
		case "detail-type":
			detailType = v[vi:skipValid(v, vi)]
			return vi + len(detailType)
		case "detail":
			detail = vi
		case "id":
			id = v[vi:skipValid(v, vi)]
			return vi + len(id)
		case "digestStartTime", "digestPublicKeyFingerprint", "digestS3Object":
			digest = true
		}
		return skipValid(v, vi)
	})
	switch {
	case records:
	case digest:
		s.out.Skipped++
	case field(v, "Records") != nil:
		s.dead(ReasonMissingField, v, "CloudTrail file has \"Records\" but it is not an array; the file is corrupt")
	case detailType != nil && detail >= 0 && v[detail] == '{':
		if dt := str(detailType); dt != "AWS API Call via CloudTrail" {
			s.dead(ReasonMissingField, v, fmt.Sprintf("EventBridge event %q is not a CloudTrail API call; configure this input as format awsevents or auto", dt))
			return
		}
		// The envelope's own members (source, account, resources...) stay
		// in attributes under "eventbridge".
		var env attrWriter
		env.reset()
		eachField(v, func(k, val []byte) bool {
			if string(k) != "detail" {
				env.raw(k, val)
			}
			return true
		})
		s.envelope = []byte(env.String())
		s.cloudTrailRecordAt(v, detail, str(id))
		s.envelope = nil
	default:
		s.cloudTrailRecordAt(v, 0, "")
	}
}

// ctContainerKeys are members of CloudTrail containers (S3 files,
// EventBridge envelopes, digest files) that records never have.
func isCTContainerKey(k []byte) bool {
	switch string(k) {
	case "Records", "detail-type", "detail", "digestStartTime", "digestPublicKeyFingerprint", "digestS3Object":
		return true
	}
	return false
}

// cloudTrailRecord decodes one validated record.
func (s *state) cloudTrailRecord(v []byte, envelopeID string) {
	s.cloudTrailRecordAt(v, 0, envelopeID)
}

// cloudTrailRecordAt decodes the validated record at b[i] into one event
// and returns the offset after it. envelopeID is the EventBridge id when
// the record came in an envelope.
func (s *state) cloudTrailRecordAt(b []byte, i int, envelopeID string) int {
	end, _ := s.cloudTrailRecordProbe(b, i, envelopeID, false)
	return end
}

// cloudTrailRecordProbe is cloudTrailRecordAt that, when probe is set,
// stops without emitting anything at the first container member and
// reports container = true.
func (s *state) cloudTrailRecordProbe(b []byte, i int, envelopeID string, probe bool) (end int, container bool) {
	if b[i] != '{' {
		end := skipValid(b, i)
		s.dead(ReasonInvalidJSON, b[i:end], "CloudTrail record is not a JSON object; it was skipped, the rest of the file was decoded")
		return end, false
	}
	ev := Event{Source: SourceCloudTrail}
	a := &s.attrs
	a.reset()
	a.compact = s.ws
	var (
		eventTime, eventSource, eventType, eventCategory, eventVersion []byte // raw JSON
		readOnly                                                       = -1   // -1 unknown, 0 false, 1 true
		management                                                     = -1
		userIdentity, resources, requestParameters, insightDetails     []byte
		hasTime                                                        bool
	)
	end = walkObject(b, i, func(k []byte, vi int) int {
		if probe && isCTContainerKey(k) {
			container = true
			return len(b) // stop the walk
		}
		ve := skipValid(b, vi)
		val := b[vi:ve]
		switch string(k) {
		case "eventID":
			ev.EventID = scalarText(val)
			return ve
		case "eventTime":
			eventTime, hasTime = val, true
			return ve
		case "eventName":
			ev.Operation = str(val)
			return ve
		case "awsRegion":
			ev.Region = str(val)
			return ve
		case "recipientAccountId":
			ev.AccountID = scalarText(val)
			return ve
		case "errorCode":
			ev.ErrorCode = str(val)
			return ve
		case "errorMessage":
			ev.Message = str(val)
			return ve
		case "requestID":
			ev.RequestID = str(val)
			return ve
		case "eventSource":
			eventSource = val
		case "eventType":
			eventType = val
		case "eventCategory":
			eventCategory = val
		case "eventVersion":
			eventVersion = val
		case "readOnly":
			readOnly = boolValue(val)
		case "managementEvent":
			management = boolValue(val)
		case "userIdentity":
			userIdentity = val
		case "resources":
			resources = val
		case "requestParameters":
			requestParameters = val
		case "insightDetails":
			insightDetails = val
		}
		a.raw(k, val)
		return ve
	})
	if container {
		return end, true
	}
	v := b[i:end]
	if bytes.HasPrefix(eventSource, []byte(`"aws:`)) {
		s.dead(ReasonUnknownFormat, v, fmt.Sprintf("record with eventSource %s is an AWS event notification (S3, SQS, DynamoDB streams...), not a CloudTrail record; such notifications are not decoded", eventSource))
		return end, false
	}
	insight := string(eventType) == `"AwsCloudTrailInsight"` || isObject(insightDetails)
	if len(eventSource) == 0 && ev.Operation == "" && !insight {
		s.dead(ReasonMissingField, v, "CloudTrail record has neither eventSource nor eventName; it is not a CloudTrail record (check the input's format)")
		return end, false
	}
	if hasTime {
		t, ok := timeValue(eventTime)
		if !ok {
			s.dead(ReasonBadTimestamp, v, fmt.Sprintf("CloudTrail eventTime %s is not a timestamp; the record was skipped", eventTime))
			return end, false
		}
		ev.Time = t
	}
	if insight {
		if isObject(insightDetails) {
			s.cloudTrailInsight(&ev, v, insightDetails, a)
			return end, false
		}
		if len(eventSource) == 0 && ev.Operation == "" {
			s.dead(ReasonMissingField, v, "CloudTrail Insights record has no insightDetails object; it cannot say which API's rate was unusual")
			return end, false
		}
	}
	if envelopeID != "" || s.envelope != nil {
		if s.envelope != nil {
			a.json("eventbridge", s.envelope)
		} else {
			a.str("eventbridge_id", envelopeID)
		}
		if ev.EventID == "" {
			ev.EventID = envelopeID
		}
	}
	ev.Service = awsServiceRaw(eventSource)
	if isObject(userIdentity) {
		var arn, principal, typ, invokedBy, account []byte
		eachField(userIdentity, func(k, val []byte) bool {
			switch string(k) {
			case "arn":
				arn = val
			case "principalId":
				principal = val
			case "type":
				typ = val
			case "invokedBy":
				invokedBy = val
			case "accountId":
				account = val
			}
			return true
		})
		for _, c := range [][]byte{arn, invokedBy, principal, typ} {
			if ev.Actor = str(c); ev.Actor != "" {
				break
			}
		}
		if ev.AccountID == "" {
			ev.AccountID = scalarText(account)
		}
	}
	ev.Resource = cloudTrailResource(resources, requestParameters)
	ev.Attributes = a.String()

	if management < 0 {
		management = 1
		if string(eventCategory) == `"Data"` || (compareEventVersion(str(eventVersion), "1.06") < 0 && isDataOperation(ev.Service, ev.Operation)) {
			management = 0
		}
	}
	switch {
	case insight: // an Insights record without insightDetails (older shape): the API is at the top
		ev.Kind, ev.Status = KindSignal, "insight"
		ev.SeverityNumber, ev.SeverityText = SeverityWarn, "WARN"
	case ev.ErrorCode != "":
		ev.Kind = KindError
		ev.Status = "failed"
		ev.SeverityNumber, ev.SeverityText = severityFromAPIError(ev.ErrorCode)
	default:
		ev.Status = "succeeded"
		ev.SeverityNumber, ev.SeverityText = SeverityInfo, "INFO"
		ev.Kind = KindInfo
		if management == 1 && (eventType == nil || string(eventType) == `"AwsApiCall"`) && readOnly != 1 &&
			!isReadOperation(ev.Operation) {
			ev.Kind = KindChange
		}
	}
	s.emit(&ev, v)
	return end, false
}

// cloudTrailInsight decodes a CloudTrail Insights record (eventType
// AwsCloudTrailInsight): CloudTrail noticed an unusual rate of calls
// (ApiCallRateInsight) or of errors (ApiErrorRateInsight) of one API. Both
// the Start and the End record become a signal of that API's service and
// operation (Start at WARN, End at INFO, status "insight"); error_code is
// insightDetails.errorCode, actor the top attributed identity, and the
// message says what was unusual. insightDetails stays in attributes.
func (s *state) cloudTrailInsight(ev *Event, v, det []byte, a *attrWriter) {
	var state, source, typ string
	var baseline, insight, duration, attributions []byte
	eachField(det, func(k, val []byte) bool {
		switch string(k) {
		case "state":
			state = str(val)
		case "eventSource":
			source = str(val)
		case "eventName":
			ev.Operation = str(val)
		case "insightType":
			typ = str(val)
		case "errorCode":
			ev.ErrorCode = str(val)
		case "insightContext":
			if st := field(val, "statistics"); isObject(st) {
				baseline = field(field(st, "baseline"), "average")
				insight = field(field(st, "insight"), "average")
				duration = field(st, "insightDuration")
			}
			attributions = field(val, "attributions")
		}
		return true
	})
	ev.Service = awsService(source)
	ev.Kind, ev.Status = KindSignal, "insight"
	ev.SeverityNumber, ev.SeverityText = SeverityWarn, "WARN"
	if strings.EqualFold(state, "End") {
		ev.SeverityNumber, ev.SeverityText = SeverityInfo, "INFO"
	}
	// The identity that made most of the unusual calls.
	eachElem(attributions, func(_ int, at []byte) bool {
		if str(field(at, "attribute")) != "userIdentityArn" {
			return true
		}
		eachElem(field(at, "insight"), func(_ int, x []byte) bool {
			ev.Actor = str(field(x, "value"))
			return false
		})
		return false
	})
	what := "calls"
	if typ == "ApiErrorRateInsight" {
		what = "errors"
		if ev.ErrorCode != "" {
			what = ev.ErrorCode + " errors"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CloudTrail Insights %s %s: unusual rate of %s of %s %s", firstNonEmpty(typ, "insight"), strings.ToLower(firstNonEmpty(state, "?")), what, firstNonEmpty(ev.Service, "?"), firstNonEmpty(ev.Operation, "?"))
	if insight != nil {
		fmt.Fprintf(&b, ", %s on average vs a baseline of %s", scalarText(insight), firstNonEmpty(scalarText(baseline), "?"))
	}
	if d := scalarText(duration); d != "" {
		fmt.Fprintf(&b, ", lasted %s min", d)
	}
	ev.Message = b.String()
	ev.Attributes = a.String()
	s.emit(ev, v)
}

// boolValue reads a JSON boolean (or "true"/"false" string): 1, 0, or -1.
func boolValue(raw []byte) int {
	switch string(raw) {
	case "true", `"true"`:
		return 1
	case "false", `"false"`:
		return 0
	}
	return -1
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// resourceKeys are requestParameters members that name the resource acted
// on, in order of preference, used when a record has no resources list.
var resourceKeys = []string{
	"functionName", "roleName", "userName", "groupName", "policyArn", "loadBalancerArn", "listenerArn",
	"ruleArn", "targetGroupArn", "hostedZoneId", "stackName", "autoScalingGroupName", "routeTableId",
	"networkAclId", "groupId", "instanceId", "bucketName", "tableName", "clusterName", "cluster", "service",
	"dBInstanceIdentifier", "name", "secretId", "trailName", "keyId", "snapshotId", "imageId",
}

// cloudTrailResource picks the resource a record acted on: the first ARN
// in resources, else a well-known requestParameters member.
func cloudTrailResource(resources, params []byte) string {
	var out string
	if isArray(resources) {
		eachElem(resources, func(_ int, e []byte) bool {
			if isObject(e) {
				out = firstNonEmpty(str(field(e, "ARN")), str(field(e, "arn")))
			}
			return out == ""
		})
		if out != "" {
			return out
		}
	}
	if !isObject(params) {
		return ""
	}
	best := len(resourceKeys)
	eachField(params, func(k, val []byte) bool {
		if val[0] != '"' {
			return true
		}
		for i := 0; i < best; i++ {
			if string(k) == resourceKeys[i] {
				best, out = i, str(val)
				break
			}
		}
		return best > 0
	})
	return out
}

// readPrefixes start operation names that read without changing anything.
var readPrefixes = []string{
	"Get", "List", "Describe", "Head", "Lookup", "Search", "Scan", "Query", "BatchGet", "Select", "Check",
	"View", "Download", "Estimate", "Preview", "Simulate", "Test", "Validate", "Verify", "Decrypt",
	"Generate", "Filter", "Retrieve", "Read", "Discover", "Detect", "Evaluate", "BatchCheck", "Assume",
	"ConsoleLogin", "Sign", "Poll", "Receive", "Is", "Show", "Export", "Fetch", "Find", "Resolve",
}

// isReadOperation reports whether an operation name reads only.
func isReadOperation(op string) bool {
	for _, p := range readPrefixes {
		if strings.HasPrefix(op, p) && (len(op) == len(p) || op[len(p)] >= 'A' && op[len(p)] <= 'Z') {
			return true
		}
	}
	return false
}

// isDataOperation reports data-plane calls, for records older than
// eventVersion 1.06 that carry no managementEvent field.
func isDataOperation(service, op string) bool {
	switch service {
	case "s3":
		return strings.HasSuffix(op, "Object") || strings.HasSuffix(op, "Objects") || strings.Contains(op, "MultipartUpload")
	case "lambda":
		return strings.HasPrefix(op, "Invoke")
	case "dynamodb":
		return strings.HasSuffix(op, "Item") || op == "BatchWriteItem" || op == "Query" || op == "Scan"
	}
	return false
}

// compareEventVersion compares CloudTrail eventVersions ("1.9" < "1.10")
// part by part as integers. A missing or non-numeric part counts as 0.
func compareEventVersion(a, b string) int {
	for a != "" || b != "" {
		var pa, pb string
		pa, a, _ = strings.Cut(a, ".")
		pb, b, _ = strings.Cut(b, ".")
		na, _ := strconv.Atoi(pa)
		nb, _ := strconv.Atoi(pb)
		if na != nb {
			if na < nb {
				return -1
			}
			return 1
		}
	}
	return 0
}
