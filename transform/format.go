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
)

// Formats lists every accepted format, for validation and help text.
var Formats = []Format{FormatAuto, FormatCloudTrail, FormatCloudWatch, FormatAWSEvents, FormatApp, FormatOTLP}

// ParseFormat checks a configured format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q (allowed: auto, cloudtrail, cloudwatch, awsevents, app, otlp)", s)
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
	}
	var detailType, source []byte
	var records []byte
	eachField(v, func(k, val []byte) bool {
		switch string(k) {
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
		}
		// A CloudTrail record: nothing below can change the answer.
		return !(has.eventVersion && has.eventSource && !has.records && !has.detailType)
	})
	switch {
	case has.awslogs, has.messageType:
		return FormatCloudWatch
	case has.resourceLogs:
		return FormatOTLP
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
