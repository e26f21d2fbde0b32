package transform

import (
	"fmt"
	"strconv"
	"strings"
)

// CloudWatch Logs subscription payloads: gzip, zlib or plain; raw bytes,
// base64 or the Lambda {"awslogs":{"data":"<base64 gzip>"}} wrapper (the
// unwrapping of compression and base64 happens in state.bytes). A
// DATA_MESSAGE yields one event per log event; a CONTROL_MESSAGE is counted
// in Result.ControlMessages. Log events holding a CloudTrail record are
// decoded as CloudTrail events.

// cloudWatch decodes one validated payload (or wrapper).
func (s *state) cloudWatch(v []byte) {
	if isArray(v) {
		eachElem(v, func(_ int, e []byte) bool {
			s.cloudWatch(e)
			return true
		})
		return
	}
	if !isObject(v) {
		s.dead(ReasonInvalidJSON, v, "CloudWatch Logs payload must be a JSON object; got a scalar (check the input's format)")
		return
	}
	var awslogs, messageType, logEvents []byte
	var owner, logGroup string
	var pa attrWriter // payload-level attributes, shared by its events
	pa.reset()
	pa.compact = true
	eachField(v, func(k, val []byte) bool {
		switch string(k) {
		case "awslogs":
			awslogs = val
			return true
		case "messageType":
			messageType = val
			return true
		case "logEvents":
			logEvents = val
			return true
		case "owner":
			owner = scalarText(val)
		case "logGroup":
			logGroup = str(val)
		}
		pa.raw(k, val)
		return true
	})
	switch {
	case awslogs != nil:
		data := str(field(awslogs, "data"))
		if data == "" {
			s.dead(ReasonMissingField, v, "awslogs wrapper without a data string; expected {\"awslogs\":{\"data\":\"<base64 gzip>\"}}")
			return
		}
		plain, ok := decodeBase64([]byte(data))
		if !ok {
			s.dead(ReasonBadBase64, v, "awslogs.data is not valid base64; check the producer")
			return
		}
		s.bytes(plain, len(plain), s.level+1)
		return
	case str(messageType) == "CONTROL_MESSAGE":
		s.out.ControlMessages++
		return
	case logEvents == nil:
		s.dead(ReasonMissingField, v, "CloudWatch Logs payload has no logEvents; expected a DATA_MESSAGE or CONTROL_MESSAGE subscription payload")
		return
	case !isArray(logEvents):
		s.dead(ReasonMissingField, v, "CloudWatch Logs payload's logEvents is not an array; the payload is corrupt")
		return
	}
	service := s.logGroupService(logGroup)
	eachElem(logEvents, func(_ int, e []byte) bool {
		s.logEvent(e, &pa, service, owner, logGroup)
		return true
	})
}

// logGroupService maps a log group to a service: Config.LogGroups, else
// the log group's last path segment (/aws/lambda/checkout -> checkout).
func (s *state) logGroupService(logGroup string) string {
	if svc, ok := s.d.cfg.LogGroups[logGroup]; ok {
		return svc
	}
	lg := strings.TrimRight(logGroup, "/")
	if i := strings.LastIndexByte(lg, '/'); i >= 0 {
		lg = lg[i+1:]
	}
	return lg
}

// logEvent decodes one element of logEvents.
func (s *state) logEvent(e []byte, pa *attrWriter, service, owner, logGroup string) {
	if !isObject(e) {
		s.dead(ReasonInvalidJSON, e, "CloudWatch log event is not a JSON object; it was skipped, the rest of the payload was decoded")
		return
	}
	var id, ts, msgRaw, extracted []byte
	var extra attrWriter
	extra.reset()
	eachField(e, func(k, val []byte) bool {
		switch string(k) {
		case "id":
			id = val
		case "timestamp":
			ts = val
		case "message":
			msgRaw = val
		default:
			if string(k) == "extractedFields" {
				extracted = val
			}
			extra.raw(k, val)
		}
		return true
	})
	if msgRaw == nil || msgRaw[0] != '"' {
		s.dead(ReasonMissingField, e, "CloudWatch log event has no message string; it was skipped, the rest of the payload was decoded")
		return
	}
	msg := str(msgRaw)
	// A CloudTrail record delivered through CloudWatch Logs.
	if t := strings.TrimSpace(msg); strings.HasPrefix(t, "{") {
		b := []byte(t)
		if end, err := scanValue(b, 0, s.d.cfg.MaxJSONDepth); err == nil && skipWS(b, end) == len(b) && isCloudTrailRecord(b) {
			s.ws = true
			s.cloudTrailRecord(b, "")
			return
		}
	}
	ev := Event{Source: SourceCloudWatch, Service: service, Resource: logGroup, AccountID: owner, Message: msg}
	ev.EventID = scalarText(id)
	if ts != nil {
		t, ok := timeValue(ts)
		if !ok {
			s.dead(ReasonBadTimestamp, e, fmt.Sprintf("CloudWatch log event timestamp %s is not a time; it was skipped", ts))
			return
		}
		ev.Time = t
	}
	if isObject(extracted) {
		eachField(extracted, func(k, val []byte) bool {
			switch string(k) {
			case "@aws.account":
				ev.AccountID = firstNonEmpty(scalarText(val), ev.AccountID)
			case "@aws.region":
				ev.Region = scalarText(val)
			}
			return true
		})
	}
	a := &s.attrs
	a.reset()
	a.buf = append(a.buf, pa.buf...)
	a.n = pa.n
	if extra.n > 0 {
		a.sep()
		a.buf = append(a.buf, extra.buf[1:]...)
		a.n += extra.n - 1
	}
	s.classifyLogLine(&ev, msg, a)
	ev.Attributes = a.String()
	ev.Kind = kindOf(ev.SeverityNumber)
	s.emit(&ev, e)
}

// classifyLogLine sets severity, request id and trace id from a log line:
// a JSON log's level fields, else the line's level tokens. A JSON line is
// also kept parsed in attributes under "log".
func (s *state) classifyLogLine(ev *Event, msg string, a *attrWriter) {
	t := strings.TrimSpace(msg)
	if strings.HasPrefix(t, "{") {
		b := []byte(t)
		if end, err := scanValue(b, 0, s.d.cfg.MaxJSONDepth); err == nil && skipWS(b, end) == len(b) {
			var levelText string
			var hints peerHints
			eachField(b, func(k, val []byte) bool {
				switch string(k) {
				case "server.address", "net.peer.name", "url.full", "http.url", "rpc.service", "rpc.system", "db.system":
					hints.set(string(k), scalarText(val))
				case "peer.service":
					ev.PeerService = firstNonEmpty(ev.PeerService, scalarText(val))
				case "level", "severity", "log.level", "levelname", "loglevel", "severityText", "severity_text", "lvl":
					if levelText == "" {
						levelText = scalarText(val)
					}
				case "requestId", "request_id", "AWSRequestId", "aws_request_id", "RequestId":
					ev.RequestID = firstNonEmpty(ev.RequestID, scalarText(val))
				case "trace_id", "traceId", "traceID", "trace.id", "xray_trace_id":
					ev.TraceID = firstNonEmpty(ev.TraceID, scalarText(val))
				case "error.type", "errorType":
					ev.ErrorCode = firstNonEmpty(ev.ErrorCode, scalarText(val))
				}
				return true
			})
			a.json("log", b)
			if ev.PeerService == "" {
				ev.PeerService = hints.peer()
			}
			if n := severityFromLevel(levelText); n != 0 {
				ev.SeverityNumber, ev.SeverityText = n, strings.ToUpper(levelText)
				if _, err := strconv.Atoi(levelText); err == nil {
					ev.SeverityText = severityName(n)
				}
			} else if ev.ErrorCode != "" {
				ev.SeverityNumber, ev.SeverityText = SeverityError, "ERROR"
			}
			return
		}
	}
	if n := severityFromText(msg); n != 0 {
		ev.SeverityNumber, ev.SeverityText = n, severityName(n)
	}
	ev.RequestID = lambdaRequestID(msg)
}

// lambdaRequestID finds a Lambda request id in a log line: "RequestId: <id>"
// (START/END/REPORT) or a UUID among the first tab-separated fields (the
// Node.js and Python runtimes' "time\t<id>\tLEVEL\tmessage" format).
func lambdaRequestID(msg string) string {
	if i := strings.Index(msg, "RequestId: "); i >= 0 {
		rest := msg[i+len("RequestId: "):]
		if j := strings.IndexAny(rest, " \t\n"); j >= 0 {
			rest = rest[:j]
		}
		return rest
	}
	for n, f := 0, msg; n < 4; n++ {
		tok, rest, ok := strings.Cut(f, "\t")
		if isUUID(tok) {
			return tok
		}
		if !ok {
			break
		}
		f = rest
	}
	return ""
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}
