package transform

import (
	"fmt"
	"strings"
)

// Format names an input family. A topic or file is configured with one;
// FormatAuto detects the family from the bytes.
type Format string

// Input formats.
const (
	FormatAuto       Format = "auto"
	FormatCloudTrail Format = "cloudtrail"
	FormatCloudWatch Format = "cloudwatch"
	FormatAWSEvents  Format = "awsevents" // EventBridge: Config, Health, alarms, CodeDeploy/CodePipeline/Auto Scaling
	FormatApp        Format = "app"       // application error JSON and deploy events
	FormatOTLP       Format = "otlp"      // OTLP/JSON logs (resourceLogs)
	// FormatGCPAudit: Google Cloud Logging LogEntry JSON from a log sink
	// (Cloud Audit Logs, and any other entry the sink routes), raw or in
	// Pub/Sub envelopes.
	FormatGCPAudit Format = "gcpaudit"
	// FormatAzureActivity: Azure Monitor diagnostic-settings records
	// ({"records":[...]}): the Activity Log, and resource logs.
	FormatAzureActivity Format = "azureactivity"
)

// Formats lists every accepted format, for validation and help text.
var Formats = []Format{FormatAuto, FormatCloudTrail, FormatCloudWatch, FormatAWSEvents, FormatApp, FormatOTLP, FormatGCPAudit, FormatAzureActivity}

// formatList is Formats for messages: "auto, cloudtrail, ..., azureactivity".
func formatList() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// ParseFormat checks a configured format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q (allowed: %s)", s, formatList())
}

// detect chooses a format from one validated JSON value. It returns
// FormatAuto for an array whose elements must be detected one by one.
func detect(v []byte) Format {
	if isArray(v) {
		f := FormatAuto
		eachElem(v, func(_ int, e []byte) bool {
			if isCloudTrailRecord(e) {
				f = FormatCloudTrail
			}
			return false
		})
		return f
	}
	var has struct {
		records, awslogs, messageType, eventVersion, eventSource, detailType, detail, invoking, alarm, resourceLogs, digest, source, insight bool
		gcp, azureRecords, operationName, azureKey, subscription, schema                                                                     bool
	}
	var detailType, source []byte
	var records, azureRecords, message, entries, payload []byte
	eachField(v, func(k, val []byte) bool {
		switch string(k) {
		case "logName", "protoPayload", "jsonPayload", "textPayload", "insertId", "receivedMessages":
			has.gcp = true
		case "subscription":
			has.subscription = true
		case "message":
			message = val
		case "records":
			has.azureRecords, azureRecords = true, val
		case "entries":
			entries = val
		case "payload":
			payload = val
		case "schema":
			has.schema = true
		case "operationName", "OperationName":
			has.operationName = true
		case "category", "resourceId", "Category", "ResourceId":
			has.azureKey = true
		case "Records":
			has.records, records = true, val
		case "awslogs":
			has.awslogs = true
		case "messageType":
			has.messageType = true
		case "eventVersion":
			has.eventVersion = true
		case "eventSource":
			has.eventSource = true
		case "insightDetails":
			has.insight = true
		case "detail-type":
			has.detailType, detailType = true, val
		case "detail":
			has.detail = true
		case "invokingEvent", "configRuleName":
			has.invoking = true
		case "alarmData", "AlarmName", "NewStateValue", "alarmArn":
			has.alarm = true
		case "resourceLogs":
			has.resourceLogs = true
		case "digestStartTime", "digestPublicKeyFingerprint", "digestS3Object":
			has.digest = true
		case "source":
			has.source, source = true, val
		default:
			has.gcp = has.gcp || strings.HasPrefix(string(k), "logging.googleapis.com/")
		}
		// A CloudTrail record: nothing below can change the answer.
		return !(has.eventVersion && has.eventSource && !has.records && !has.detailType)
	})
	switch {
	case has.awslogs, has.messageType:
		return FormatCloudWatch
	case has.resourceLogs:
		return FormatOTLP
	case has.gcp, isObject(message) && field(message, "data") != nil && (has.subscription || field(message, "messageId") != nil):
		return FormatGCPAudit
	case isArray(entries) && firstElemHas(entries, "logName"),
		has.schema && isObject(payload) && detect(payload) == FormatGCPAudit: // Kafka Connect's JsonConverter envelope
		return FormatGCPAudit
	case has.azureRecords && isAzureRecords(azureRecords), has.operationName && has.azureKey:
		return FormatAzureActivity
	case has.digest, has.eventVersion && (has.eventSource || has.insight):
		return FormatCloudTrail
	case has.records:
		f := FormatCloudTrail
		eachElem(records, func(_ int, e []byte) bool {
			if field(e, "Sns") != nil || field(e, "EventSource") != nil {
				f = FormatAWSEvents
			}
			return false
		})
		return f
	case has.detailType && has.detail:
		if str(detailType) == "AWS API Call via CloudTrail" {
			return FormatCloudTrail
		}
		return FormatAWSEvents
	case has.invoking, has.alarm:
		return FormatAWSEvents
	case has.source && strings.HasPrefix(str(source), "aws."):
		return FormatAWSEvents
	}
	return FormatApp
}

// firstElemHas reports whether the first element of arr is an object with
// the member key.
func firstElemHas(arr []byte, key string) bool {
	ok := false
	eachElem(arr, func(_ int, e []byte) bool {
		ok = isObject(e) && field(e, key) != nil
		return false
	})
	return ok
}
