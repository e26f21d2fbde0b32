package transform

import (
	"fmt"
	"strconv"
	"strings"
)

// Application error streams: one JSON object per message with
// OpenTelemetry semantic-convention field names where one exists, e.g.
//
//	{"time":"2025-10-20T07:12:03.120Z","service":"checkout","level":"error",
//	 "message":"...","error.type":"DynamoDBTimeout","region":"us-east-1",
//	 "server.address":"dynamodb.us-east-1.amazonaws.com","trace_id":"...",
//	 "version":"1.4.2","env":"prod"}
//
// and deploys on the same stream: {"time":...,"service":...,"kind":"deploy",
// "version":...,"actor":...}. Every field not mapped to a column stays in
// attributes.

// appField names the column an application field maps to.
type appField int

const (
	afNone appField = iota
	afTime
	afService
	afLevel
	afSeverityNumber
	afMessage
	afErrorType
	afErrorMessage
	afRegion
	afAccount
	afResource
	afActor
	afOperation
	afStatus
	afRequestID
	afTraceID
	afPeerService
	afServerAddress
	afEventID
	afKind
	afPeerHint // url.full, rpc.service, db.system: kept in attributes, name the peer when nothing else does
	afProvider
	afPlatform
)

// appFields maps field names (OpenTelemetry first, then common aliases).
var appFields = map[string]appField{
	"time": afTime, "timestamp": afTime, "@timestamp": afTime, "ts": afTime, "Timestamp": afTime,
	"service": afService, "service.name": afService, "service_name": afService,
	"level": afLevel, "severity": afLevel, "severity_text": afLevel, "severityText": afLevel, "log.level": afLevel, "levelname": afLevel, "lvl": afLevel,
	"severity_number": afSeverityNumber, "severityNumber": afSeverityNumber,
	"message": afMessage, "msg": afMessage, "body": afMessage,
	"error.type": afErrorType, "exception.type": afErrorType, "error_code": afErrorType, "error.code": afErrorType,
	"error.message": afErrorMessage, "exception.message": afErrorMessage,
	"region": afRegion, "cloud.region": afRegion, "aws.region": afRegion,
	"account_id": afAccount, "cloud.account.id": afAccount, "aws.account_id": afAccount,
	"resource": afResource, "cloud.resource_id": afResource,
	"actor": afActor, "enduser.id": afActor, "user.id": afActor, "user": afActor,
	"operation": afOperation, "rpc.method": afOperation, "http.route": afOperation, "db.operation.name": afOperation,
	"status": afStatus, "http.response.status_code": afStatus, "http.status_code": afStatus, "rpc.grpc.status_code": afStatus,
	"request_id": afRequestID, "requestId": afRequestID, "http.request.id": afRequestID, "aws.request_id": afRequestID,
	"trace_id": afTraceID, "traceId": afTraceID, "trace.id": afTraceID,
	"peer.service":   afPeerService,
	"server.address": afServerAddress, "net.peer.name": afServerAddress,
	"event_id": afEventID, "id": afEventID,
	"kind":     afKind,
	"url.full": afPeerHint, "http.url": afPeerHint, "rpc.service": afPeerHint, "rpc.system": afPeerHint, "db.system": afPeerHint,
	"cloud.provider": afProvider, "cloud.platform": afPlatform,
}

// app decodes one validated application event (or an array of them).
func (s *state) app(v []byte) {
	if isArray(v) {
		eachElem(v, func(_ int, e []byte) bool {
			s.app(e)
			return true
		})
		return
	}
	if !isObject(v) {
		s.dead(ReasonInvalidJSON, v, "application event must be a JSON object; got a scalar (check the producer or the input's format)")
		return
	}
	s.appObject(v, v, SourceApp)
}

// appObject maps the validated object v (an app event, or an OTLP record
// flattened by otlp.go) to an event of source src. raw identifies the
// record for the stable hash id and dead letters.
func (s *state) appObject(v, raw []byte, src string) {
	ev := Event{Source: src}
	a := &s.attrs
	a.reset()
	var (
		levelText, kind, errMsg, serverAddr, platform string
		sevNum                                        int32
		badTime                                       []byte
		httpStatus                                    int
		hints                                         peerHints
	)
	eachField(v, func(k, val []byte) bool {
		f := appFields[string(k)]
		if f == afNone {
			a.raw(k, val)
			return true
		}
		text := scalarText(val)
		if text == "" && len(val) > 0 && (val[0] == '{' || val[0] == '[') {
			a.raw(k, val) // structured value under a column's name: keep it
			return true
		}
		switch f {
		case afTime:
			if ev.Time.IsZero() {
				t, ok := timeValue(val)
				if !ok {
					badTime = val
				}
				ev.Time = t
			} else {
				a.raw(k, val)
			}
			return true
		case afService:
			ev.Service = firstNonEmpty(ev.Service, text)
		case afLevel:
			levelText = firstNonEmpty(levelText, text)
		case afSeverityNumber:
			if n, err := strconv.Atoi(text); err == nil && n >= 1 && n <= 24 {
				sevNum = int32(n)
			}
		case afMessage:
			ev.Message = firstNonEmpty(ev.Message, text)
		case afErrorType:
			ev.ErrorCode = firstNonEmpty(ev.ErrorCode, text)
		case afErrorMessage:
			errMsg = firstNonEmpty(errMsg, text)
			a.raw(k, val)
		case afRegion:
			ev.Region = firstNonEmpty(ev.Region, text)
		case afAccount:
			ev.AccountID = firstNonEmpty(ev.AccountID, text)
		case afResource:
			ev.Resource = firstNonEmpty(ev.Resource, text)
		case afActor:
			ev.Actor = firstNonEmpty(ev.Actor, text)
		case afOperation:
			ev.Operation = firstNonEmpty(ev.Operation, text)
		case afStatus:
			ev.Status = firstNonEmpty(ev.Status, text)
			if n, err := strconv.Atoi(text); err == nil && n >= 100 && n <= 599 {
				httpStatus = n
			}
		case afRequestID:
			ev.RequestID = firstNonEmpty(ev.RequestID, text)
		case afTraceID:
			ev.TraceID = firstNonEmpty(ev.TraceID, text)
		case afPeerService:
			ev.PeerService = text
		case afServerAddress:
			serverAddr = firstNonEmpty(serverAddr, text)
			a.raw(k, val) // the column holds a derived name; keep the address
		case afEventID:
			ev.EventID = firstNonEmpty(ev.EventID, text)
		case afKind:
			kind = strings.ToLower(text)
			if kind != "deploy" {
				a.raw(k, val)
			}
		case afPeerHint:
			hints.set(string(k), text)
			a.raw(k, val)
		case afProvider:
			ev.CloudProvider = firstNonEmpty(ev.CloudProvider, strings.ToLower(strings.TrimSpace(text)))
		case afPlatform:
			platform = firstNonEmpty(platform, text)
			a.raw(k, val) // only its provider prefix is used
		}
		return true
	})
	if badTime != nil {
		s.dead(ReasonBadTimestamp, raw, fmt.Sprintf("application event time %s is not a timestamp (use RFC 3339, e.g. 2025-10-20T07:12:03.120Z, or epoch milliseconds); the event was skipped", badTime))
		return
	}
	if ev.CloudProvider == "" {
		ev.CloudProvider = platformProvider(platform)
	}
	if ev.PeerService == "" {
		hints.server = serverAddr
		ev.PeerService = hints.peer()
	}
	if ev.Message == "" {
		ev.Message = errMsg
	}
	switch {
	case sevNum != 0:
		ev.SeverityNumber = sevNum
		ev.SeverityText = firstNonEmpty(strings.ToUpper(levelText), severityName(sevNum))
	case levelText != "":
		if n := severityFromLevel(levelText); n != 0 {
			ev.SeverityNumber, ev.SeverityText = n, strings.ToUpper(levelText)
			if _, err := strconv.Atoi(levelText); err == nil {
				ev.SeverityText = severityName(n)
			}
		} else {
			ev.SeverityText = levelText
		}
	}
	if ev.SeverityNumber == 0 && (ev.ErrorCode != "" || httpStatus >= 500) {
		ev.SeverityNumber, ev.SeverityText = SeverityError, "ERROR"
	}
	switch kind {
	case "deploy", "deployment":
		ev.Source, ev.Kind = SourceDeploy, KindChange
		ev.Operation = firstNonEmpty(ev.Operation, "deploy")
		if ev.Message == "" {
			ev.Message = strings.TrimSpace("deploy " + ev.Service + " " + str(field(v, "version")))
		}
	case KindChange, KindError, KindSignal, KindInfo:
		ev.Kind = kind
	default:
		ev.Kind = kindOf(ev.SeverityNumber)
		if ev.ErrorCode != "" && ev.SeverityNumber == 0 {
			ev.Kind = KindError
		}
	}
	ev.Attributes = a.String()
	s.emit(&ev, raw)
}

// platformProvider is the provider an OpenTelemetry cloud.platform value
// names (aws_ec2 -> aws, gcp_cloud_run -> gcp, azure_aks -> azure), "" for
// other values.
func platformProvider(platform string) string {
	p := strings.ToLower(platform)
	for _, prov := range []string{ProviderAWS, ProviderGCP, ProviderAzure} {
		if strings.HasPrefix(p, prov+"_") {
			return prov
		}
	}
	return ""
}

// peerServiceOf names the service behind a server address (ParseHost):
// dynamodb.us-east-1.amazonaws.com -> dynamodb, payments.internal:8443 ->
// payments, internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com ->
// elasticloadbalancing. An IP address gives "".
func peerServiceOf(addr string) string {
	return ParseHost(addr).Service
}

// peerHints are the OpenTelemetry attributes that name what a call talked
// to, in order of preference: server.address (net.peer.name), url.full
// (http.url), rpc.service (AWS SDK: rpc.system aws-api), db.system.
// peer.service, when given, wins over all of them.
type peerHints struct {
	server, url, rpcService, rpcSystem, dbSystem string
}

func (h *peerHints) set(key, val string) {
	switch key {
	case "server.address", "net.peer.name":
		h.server = firstNonEmpty(h.server, val)
	case "url.full", "http.url":
		h.url = firstNonEmpty(h.url, val)
	case "rpc.service":
		h.rpcService = val
	case "rpc.system":
		h.rpcSystem = val
	case "db.system":
		h.dbSystem = val
	}
}

// peer returns the peer service the hints name, "" if none.
func (h *peerHints) peer() string {
	if h.server != "" {
		if p := peerServiceOf(h.server); p != "" {
			return p
		}
	}
	if h.url != "" {
		if p := ParseURL(h.url).Service; p != "" {
			return p
		}
	}
	if h.rpcService != "" && (h.rpcSystem == "" || strings.EqualFold(h.rpcSystem, "aws-api")) {
		if p := RefService(h.rpcService); p != "" {
			return p
		}
	}
	return RefService(h.dbSystem)
}
