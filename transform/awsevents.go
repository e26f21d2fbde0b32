package transform

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// AWS events: EventBridge envelopes (Config configuration item changes,
// Health events, CloudWatch alarm state changes, CodeDeploy, CodePipeline,
// Auto Scaling, anything else as a generic event), the AWS Config rule
// invocation shape (invokingEvent as a JSON string), the CloudWatch alarm
// Lambda-action shape ({"alarmData":...}) and SNS deliveries of classic
// alarm notifications ({"Records":[{"Sns":{"Message":"..."}}]}).

// envelope is an EventBridge event's common part.
type envelope struct {
	id, detailType, source, account, region string
	time                                    time.Time
	resources, detail                       []byte
}

// parseEnvelope reads the envelope fields of v and writes every field not
// mapped to a column (including detail) into a.
func parseEnvelope(v []byte, a *attrWriter) (envelope, error) {
	var e envelope
	var err error
	eachField(v, func(k, val []byte) bool {
		switch string(k) {
		case "id":
			e.id = scalarText(val)
			return true
		case "time":
			t, ok := timeValue(val)
			if !ok {
				err = fmt.Errorf("EventBridge time %s is not a timestamp", val)
			}
			e.time = t
			return true
		case "region":
			e.region = str(val)
			return true
		case "account":
			e.account = scalarText(val)
			return true
		case "detail-type":
			e.detailType = str(val)
		case "source":
			e.source = str(val)
		case "resources":
			e.resources = val
		case "detail":
			e.detail = val
		}
		a.raw(k, val)
		return true
	})
	return e, err
}

// firstResource returns the first string of a resources array.
func firstResource(resources []byte) string {
	var out string
	eachElem(resources, func(_ int, e []byte) bool {
		out = scalarText(e)
		return out == ""
	})
	return out
}

// nested parses a JSON document held in a JSON string value, enforcing the
// depth limit before anything else looks at it.
func (s *state) nested(raw []byte) ([]byte, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return nil, errors.New("not a JSON string")
	}
	b := []byte(strings.TrimSpace(str(raw)))
	end, err := scanValue(b, 0, s.d.cfg.MaxJSONDepth)
	if err != nil {
		return nil, err
	}
	if skipWS(b, end) != len(b) {
		return nil, errors.New("trailing data after the JSON value")
	}
	return b, nil
}

// awsEvent decodes one validated AWS event in any of the shapes above.
func (s *state) awsEvent(v []byte) {
	if isArray(v) {
		eachElem(v, func(_ int, e []byte) bool {
			s.awsEvent(e)
			return true
		})
		return
	}
	if !isObject(v) {
		s.dead(ReasonInvalidJSON, v, "AWS event must be a JSON object; got a scalar (check the input's format)")
		return
	}
	var records, invoking, alarmData, detailType []byte
	eachField(v, func(k, val []byte) bool {
		switch string(k) {
		case "Records":
			records = val
		case "invokingEvent":
			invoking = val
		case "alarmData":
			alarmData = val
		case "detail-type":
			detailType = val
		}
		return true
	})
	switch {
	case records != nil:
		s.snsRecords(v, records)
	case invoking != nil:
		s.configRuleInvocation(v, invoking)
	case alarmData != nil:
		s.alarmAction(v, alarmData)
	case detailType != nil:
		s.eventBridge(v)
	default:
		s.dead(ReasonMissingField, v, "AWS event has no detail-type, invokingEvent, alarmData or SNS Records; it is not an EventBridge event (check the input's format)")
	}
}

// eventBridge decodes an EventBridge envelope by its source.
func (s *state) eventBridge(v []byte) {
	a := &s.attrs
	a.reset()
	env, err := parseEnvelope(v, a)
	if err != nil {
		s.dead(ReasonBadTimestamp, v, err.Error()+"; the event was skipped")
		return
	}
	ev := Event{EventID: env.id, Time: env.time, Region: env.region, AccountID: env.account, Resource: firstResource(env.resources)}
	detail := env.detail
	if !isObject(detail) {
		detail = []byte("{}")
	}
	switch {
	case env.detailType == "AWS API Call via CloudTrail":
		s.cloudTrail(v)
		return
	case env.source == "aws.config" && configItemOf(detail) != nil:
		s.configItem(v, &ev, detail, a)
		return
	case env.source == "aws.health":
		s.health(v, &ev, detail, a)
		return
	case env.source == "aws.cloudwatch" && field(detail, "state") != nil:
		s.alarm(v, &ev, detail, a)
		return
	case env.source == "aws.codedeploy":
		ev.Source = SourceDeploy
		ev.Service = firstNonEmpty(str(field(detail, "application")), "codedeploy")
		ev.Operation = strings.TrimSuffix(env.detailType, " State-change Notification")
		ev.Status = str(field(detail, "state"))
		ev.Kind = KindChange
		if strings.Contains(env.detailType, "Instance") {
			ev.Kind = KindInfo
		}
		if r := firstResourceMatching(env.resources, "deploymentgroup"); r != "" {
			ev.Resource = r
		}
		ev.Message = strings.TrimSpace(fmt.Sprintf("deployment %s %s", str(field(detail, "deploymentId")), ev.Status))
		ev.SeverityNumber = deployStateSeverity(ev.Status)
	case env.source == "aws.codepipeline":
		ev.Source = SourceDeploy
		ev.Service = firstNonEmpty(str(field(detail, "pipeline")), "codepipeline")
		ev.Operation = strings.TrimSuffix(env.detailType, " State Change")
		ev.Status = str(field(detail, "state"))
		ev.Kind = KindInfo
		if strings.Contains(env.detailType, "Pipeline Execution") {
			ev.Kind = KindChange
		}
		ev.Message = strings.TrimSpace(fmt.Sprintf("pipeline %s execution %s %s", ev.Service, str(field(detail, "execution-id")), ev.Status))
		ev.SeverityNumber = deployStateSeverity(ev.Status)
	case env.source == "aws.autoscaling":
		ev.Source = SourceEventBridge
		ev.Service = "autoscaling"
		ev.Operation = env.detailType
		ev.Status = str(field(detail, "StatusCode"))
		ev.Message = firstNonEmpty(str(field(detail, "Description")), str(field(detail, "Cause")), env.detailType)
		ev.Kind, ev.SeverityNumber = KindChange, SeverityInfo
		if strings.Contains(env.detailType, "Unsuccessful") || ev.Status == "Failed" {
			ev.Kind, ev.SeverityNumber = KindError, SeverityError
		}
		if ev.Resource == "" {
			ev.Resource = str(field(detail, "AutoScalingGroupName"))
		}
	default:
		ev.Source = SourceEventBridge
		ev.Service = awsService(env.source)
		ev.Operation = env.detailType
		ev.Message = env.detailType
		ev.Status = firstNonEmpty(scalarText(field(detail, "state")), scalarText(field(detail, "status")))
		ev.Kind, ev.SeverityNumber = KindInfo, SeverityInfo
		if strings.HasSuffix(env.detailType, "State-change Notification") || strings.HasSuffix(env.detailType, "State Change") {
			ev.Kind = KindSignal
		}
	}
	if ev.SeverityNumber == 0 {
		ev.SeverityNumber = SeverityInfo
	}
	ev.SeverityText = severityName(ev.SeverityNumber)
	ev.Attributes = a.String()
	s.emit(&ev, v)
}

func firstResourceMatching(resources []byte, sub string) string {
	var out string
	eachElem(resources, func(_ int, e []byte) bool {
		if r := scalarText(e); strings.Contains(r, sub) {
			out = r
		}
		return out == ""
	})
	return out
}

// deployStateSeverity: failures are ERROR, the rest INFO.
func deployStateSeverity(state string) int32 {
	switch strings.ToUpper(state) {
	case "FAILURE", "FAILED", "STOPPED", "STOP", "ABORTED":
		return SeverityError
	}
	return SeverityInfo
}

// configRuleInvocation decodes the AWS Config rule invocation shape.
func (s *state) configRuleInvocation(v, invoking []byte) {
	inv, err := s.nested(invoking)
	if err != nil {
		reason := ReasonInvalidJSON
		if errors.Is(err, errTooDeep) {
			reason = ReasonTooDeep
		}
		s.dead(reason, v, fmt.Sprintf("Config rule invocation's invokingEvent is not a JSON document (%v); the event was skipped", err))
		return
	}
	a := &s.attrs
	a.reset()
	ev := Event{}
	eachField(v, func(k, val []byte) bool {
		switch string(k) {
		case "invokingEvent":
			a.json("invokingEvent", inv)
			return true
		case "accountId":
			ev.AccountID = scalarText(val)
			return true
		}
		a.raw(k, val)
		return true
	})
	if configItemOf(inv) != nil { // invokingEvent is kept whole in attributes
		s.configItemFrom(v, &ev, inv, a)
		return
	}
	msgType := str(field(inv, "messageType"))
	ev.Source, ev.Service, ev.Operation = SourceConfig, "config", msgType
	ev.Kind, ev.SeverityNumber, ev.SeverityText = KindInfo, SeverityInfo, "INFO"
	ev.Resource = str(field(v, "configRuleArn"))
	ev.Message = strings.TrimSpace(msgType + " " + str(field(v, "configRuleName")))
	if t, ok := timeValue(field(inv, "notificationCreationTime")); ok {
		ev.Time = t
	}
	if arn := ev.Resource; arn != "" {
		ev.Region = arnPart(arn, 3)
	}
	ev.Attributes = a.String()
	s.emit(&ev, v)
}

// configItem decodes an EventBridge "Config Configuration Item Change".
func (s *state) configItem(v []byte, ev *Event, detail []byte, a *attrWriter) {
	s.configItemFrom(v, ev, detail, a)
}

// configItemFrom fills ev from an object holding configurationItem and
// configurationItemDiff (EventBridge detail or a parsed invokingEvent).
func (s *state) configItemFrom(v []byte, ev *Event, holder []byte, a *attrWriter) {
	item := configItemOf(holder)
	diff := field(holder, "configurationItemDiff")
	if !isObject(item) {
		s.dead(ReasonMissingField, v, "Config notification's configurationItem is not an object; the event was skipped")
		return
	}
	var resType, resID, arn, status, stateID string
	eachField(item, func(k, val []byte) bool {
		switch string(k) {
		case "resourceType":
			resType = str(val)
		case "resourceId":
			resID = scalarText(val)
		case "ARN", "arn":
			arn = str(val)
		case "awsRegion":
			ev.Region = firstNonEmpty(str(val), ev.Region)
		case "awsAccountId":
			ev.AccountID = firstNonEmpty(scalarText(val), ev.AccountID)
		case "configurationItemStatus":
			status = str(val)
		case "configurationStateId":
			stateID = scalarText(val)
		case "configurationItemCaptureTime":
			if t, ok := timeValue(val); ok {
				ev.Time = t
			}
		}
		return true
	})
	ev.Source, ev.Kind = SourceConfig, KindChange
	ev.Service = configService(resType)
	ev.Operation = resType
	ev.Resource = firstNonEmpty(arn, resID, ev.Resource)
	ev.SeverityNumber, ev.SeverityText = SeverityInfo, "INFO"
	changeType := firstNonEmpty(str(field(diff, "changeType")), str(field(item, "changeType")))
	ev.Status = firstNonEmpty(changeType, status)
	if ev.EventID == "" && resID != "" && stateID != "" {
		ev.EventID = "config-" + resID + "-" + stateID
	}
	var props []string
	if cp := field(diff, "changedProperties"); isObject(cp) {
		eachField(cp, func(k, val []byte) bool {
			if len(props) < 5 {
				props = append(props, fmt.Sprintf("%s %s -> %s", keyString(k), shortJSON(field(val, "previousValue")), shortJSON(field(val, "updatedValue"))))
			} else if len(props) == 5 {
				props = append(props, "...")
			}
			return true
		})
	}
	ev.Message = strings.TrimSpace(fmt.Sprintf("%s %s %s", ev.Status, resType, firstNonEmpty(resID, arn)))
	if len(props) > 0 {
		ev.Message += ": " + strings.Join(props, "; ")
	}
	ev.Attributes = a.String()
	s.emit(ev, v)
}

// configItemOf returns a Config notification's configurationItem, or the
// configurationItemSummary of an oversized item notification.
func configItemOf(holder []byte) []byte {
	if item := field(holder, "configurationItem"); item != nil {
		return item
	}
	return field(holder, "configurationItemSummary")
}

// configService maps a Config resource type to a service name:
// AWS::ElasticLoadBalancingV2::Listener -> elasticloadbalancing.
func configService(resType string) string {
	parts := strings.Split(resType, "::")
	if len(parts) < 2 {
		return "config"
	}
	svc := strings.ToLower(parts[1])
	svc = strings.TrimSuffix(svc, "v2")
	return svc
}

// shortJSON renders a small JSON value for a message.
func shortJSON(raw []byte) string {
	if len(raw) == 0 {
		return "null"
	}
	if raw[0] == '"' {
		return str(raw)
	}
	out := string(appendCompact(nil, raw))
	if len(out) > 60 {
		out = out[:60] + "..."
	}
	return out
}

// health decodes an AWS Health event. Scheduled changes are changes and
// open issues errors of the affected service (provider-side changes never
// show in the customer's CloudTrail).
func (s *state) health(v []byte, ev *Event, detail []byte, a *attrWriter) {
	ev.Source = SourceHealth
	var category, start string
	eachField(detail, func(k, val []byte) bool {
		switch string(k) {
		case "service":
			ev.Service = strings.ToLower(str(val))
		case "eventTypeCode":
			ev.Operation = str(val)
		case "eventTypeCategory":
			category = str(val)
		case "statusCode":
			ev.Status = str(val)
		case "startTime":
			start = str(val)
		case "eventArn":
			if ev.Resource == "" {
				ev.Resource = str(val)
			}
		case "affectedAccount":
			ev.AccountID = firstNonEmpty(scalarText(val), ev.AccountID)
		case "eventRegion":
			ev.Region = firstNonEmpty(str(val), ev.Region)
		case "eventDescription":
			eachElem(val, func(_ int, d []byte) bool {
				ev.Message = str(field(d, "latestDescription"))
				return ev.Message == ""
			})
		case "affectedEntities":
			eachElem(val, func(_ int, e []byte) bool {
				if r := str(field(e, "entityValue")); r != "" {
					ev.Resource = r
				}
				return false
			})
		}
		return true
	})
	if start != "" {
		t, ok := parseTime(start)
		if !ok {
			s.dead(ReasonBadTimestamp, v, fmt.Sprintf("AWS Health startTime %q is not a timestamp; the event was skipped", start))
			return
		}
		ev.Time = t
	}
	if ev.Service == "" {
		ev.Service = "health"
	}
	switch category {
	case "scheduledChange":
		ev.Kind, ev.SeverityNumber = KindChange, SeverityInfo
	case "issue":
		ev.Kind, ev.SeverityNumber = KindError, SeverityError
		if strings.EqualFold(ev.Status, "closed") {
			ev.Kind, ev.SeverityNumber = KindSignal, SeverityInfo
		}
	case "investigation":
		ev.Kind, ev.SeverityNumber = KindSignal, SeverityWarn
	default:
		ev.Kind, ev.SeverityNumber = KindInfo, SeverityInfo
	}
	ev.SeverityText = severityName(ev.SeverityNumber)
	ev.Attributes = a.String()
	s.emit(ev, v)
}

// alarmState is what every alarm shape reduces to.
type alarmState struct {
	name, newState, oldState, reason, namespace string
	dims                                        map[string]string
}

// alarm decodes an EventBridge "CloudWatch Alarm State Change" detail (also
// the alarmData of the Lambda alarm-action shape).
func (s *state) alarm(v []byte, ev *Event, detail []byte, a *attrWriter) {
	st := alarmState{dims: map[string]string{}}
	eachField(detail, func(k, val []byte) bool {
		switch string(k) {
		case "alarmName":
			st.name = str(val)
		case "state":
			st.newState = str(field(val, "value"))
			st.reason = str(field(val, "reason"))
			if t, ok := timeValue(field(val, "timestamp")); ok {
				ev.Time = t
			}
		case "previousState":
			st.oldState = str(field(val, "value"))
		case "configuration":
			eachElem(field(val, "metrics"), func(_ int, m []byte) bool {
				metric := field(field(m, "metricStat"), "metric")
				if ns := str(field(metric, "namespace")); ns != "" {
					st.namespace = ns
					eachField(field(metric, "dimensions"), func(k, dv []byte) bool {
						st.dims[keyString(k)] = scalarText(dv)
						return true
					})
					return false
				}
				return true
			})
		}
		return true
	})
	ev.Resource = firstNonEmpty(ev.Resource, st.name)
	s.finishAlarm(v, ev, &st, a)
}

// finishAlarm maps an alarm state change: ALARM is an error, OK a signal
// (recovery), INSUFFICIENT_DATA a signal.
func (s *state) finishAlarm(v []byte, ev *Event, st *alarmState, a *attrWriter) {
	ev.Source = SourceAlarm
	ev.Status = st.newState
	ev.Operation = "AlarmStateChange"
	if st.oldState != "" || st.newState != "" {
		ev.Operation = firstNonEmpty(st.oldState, "?") + "->" + firstNonEmpty(st.newState, "?")
	}
	ev.Message = firstNonEmpty(st.reason, st.name)
	ev.Service = alarmService(st.namespace, st.dims)
	if ev.Region == "" {
		ev.Region = arnPart(ev.Resource, 3)
	}
	if ev.AccountID == "" {
		ev.AccountID = arnPart(ev.Resource, 4)
	}
	ev.SeverityNumber = severityFromAlarm(st.newState)
	if ev.SeverityNumber == 0 {
		ev.SeverityNumber = SeverityInfo
	}
	ev.SeverityText = severityName(ev.SeverityNumber)
	switch strings.ToUpper(st.newState) {
	case "ALARM":
		ev.Kind = KindError
	default:
		ev.Kind = KindSignal
	}
	if st.name != "" {
		a.str("alarm_name", st.name)
	}
	ev.Attributes = a.String()
	s.emit(ev, v)
}

// alarmService names the service an alarm watches: the Lambda function or
// ECS service of its dimensions, else the AWS namespace's service
// (AWS/ApplicationELB -> elasticloadbalancing), else the custom namespace's
// first segment, else "cloudwatch".
func alarmService(namespace string, dims map[string]string) string {
	for _, d := range []string{"FunctionName", "ServiceName"} {
		if v := dims[d]; v != "" {
			return v
		}
	}
	if ns, ok := strings.CutPrefix(namespace, "AWS/"); ok {
		switch ns {
		case "ApplicationELB", "ELB", "NetworkELB", "GatewayELB":
			return "elasticloadbalancing"
		case "Route53":
			return "route53"
		case "ECS", "ContainerInsights":
			return "ecs"
		}
		return strings.ToLower(ns)
	}
	if namespace != "" {
		first, _, _ := strings.Cut(namespace, "/")
		return strings.ToLower(first)
	}
	return "cloudwatch"
}

// alarmAction decodes the CloudWatch alarm Lambda-action shape.
func (s *state) alarmAction(v, alarmData []byte) {
	a := &s.attrs
	a.reset()
	ev := Event{}
	eachField(v, func(k, val []byte) bool {
		switch string(k) {
		case "alarmArn":
			ev.Resource = str(val)
		case "accountId":
			ev.AccountID = scalarText(val)
			return true
		case "region":
			ev.Region = str(val)
			return true
		case "time":
			if t, ok := timeValue(val); ok {
				ev.Time = t
			}
			return true
		}
		a.raw(k, val)
		return true
	})
	s.alarm(v, &ev, alarmData, a)
}

// snsRecords decodes SNS deliveries whose messages are classic CloudWatch
// alarm notifications or EventBridge events. Each record costs only itself.
func (s *state) snsRecords(v, records []byte) {
	if !isArray(records) {
		s.dead(ReasonMissingField, v, "SNS delivery's Records is not an array; the delivery is corrupt")
		return
	}
	eachElem(records, func(_ int, rec []byte) bool {
		sns := field(rec, "Sns")
		if !isObject(sns) {
			s.dead(ReasonMissingField, rec, "SNS record has no Sns object; it was skipped")
			return true
		}
		msg, err := s.nested(field(sns, "Message"))
		if err != nil {
			reason := ReasonInvalidJSON
			if errors.Is(err, errTooDeep) {
				reason = ReasonTooDeep
			}
			s.dead(reason, rec, fmt.Sprintf("SNS message is not a JSON document (%v); only CloudWatch alarm notifications and EventBridge events are decoded from SNS", err))
			return true
		}
		if field(msg, "AlarmName") != nil && field(msg, "NewStateValue") != nil {
			s.classicAlarm(rec, sns, msg)
			return true
		}
		if isObject(msg) && field(msg, "detail-type") != nil {
			s.eventBridge(msg)
			return true
		}
		s.dead(ReasonUnknownFormat, rec, "SNS message is neither a CloudWatch alarm notification nor an EventBridge event; subscribe faultline to alarm or EventBridge topics only")
		return true
	})
}

// classicAlarm decodes a classic (SNS) CloudWatch alarm notification.
func (s *state) classicAlarm(rec, sns, msg []byte) {
	a := &s.attrs
	a.reset()
	ev := Event{EventID: str(field(sns, "MessageId"))}
	if t, ok := timeValue(field(sns, "Timestamp")); ok {
		ev.Time = t
	}
	st := alarmState{dims: map[string]string{}}
	eachField(msg, func(k, val []byte) bool {
		switch string(k) {
		case "AlarmName":
			st.name = str(val)
		case "NewStateValue":
			st.newState = str(val)
			return true
		case "OldStateValue":
			st.oldState = str(val)
			return true
		case "NewStateReason":
			st.reason = str(val)
			return true
		case "AlarmArn":
			ev.Resource = str(val)
			return true
		case "AWSAccountId":
			ev.AccountID = scalarText(val)
			return true
		case "StateChangeTime":
			if t, ok := timeValue(val); ok {
				ev.Time = t
			}
			return true
		case "Trigger":
			st.namespace = str(field(val, "Namespace"))
			eachElem(field(val, "Dimensions"), func(_ int, d []byte) bool {
				st.dims[firstNonEmpty(str(field(d, "name")), str(field(d, "Name")))] = firstNonEmpty(scalarText(field(d, "value")), scalarText(field(d, "Value")))
				return true
			})
		}
		a.raw(k, val)
		return true
	})
	for _, k := range []string{"TopicArn", "Subject"} {
		if val := field(sns, k); val != nil {
			a.json("sns_"+strings.ToLower(k), val)
		}
	}
	if ev.Resource == "" {
		ev.Resource = st.name
	}
	s.finishAlarm(rec, &ev, &st, a)
}
