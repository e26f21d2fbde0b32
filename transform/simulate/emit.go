package simulate

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// item is one emitted record of the application or AWS events stream.
type item struct {
	at, arrival time.Time
	key         string
	raw         []byte
}

// ctItem is one CloudTrail record.
type ctItem struct {
	at, arrival time.Time
	rec         *ctRecord
	raw         []byte
}

// cwItem is one CloudWatch Logs subscription payload.
type cwItem struct {
	at, arrival time.Time
	region      string
	payload     cwPayload
}

// minuteOut is everything that happened in one minute of the window.
type minuteOut struct {
	t   time.Time
	ct  []ctItem
	cw  []cwItem
	app []item
	aws []item
	gcp []item // Cloud Logging entries (multi-cloud)
	az  []item // Azure Activity Log documents (multi-cloud)
}

// walk produces the scenario's events minute by minute, in a deterministic
// order, and hands each minute to fn. fn must not keep the slices.
func (s *Scenario) walk(fn func(m *minuteOut) error) error {
	r := newRnd(s.Seed, 2)
	o := s.Opts
	minutes := int(o.Duration / time.Minute)
	next := 0 // next planned change
	roles := map[string]actor{}
	for _, sv := range s.services {
		roles[sv.name] = serviceActor(r, sv.name)
	}
	streams := map[string][]string{}
	for _, sv := range s.services {
		for _, region := range s.regions {
			k := sv.name + "|" + region
			for range 3 {
				if sv.runtime == "lambda" {
					streams[k] = append(streams[k], o.Start.Format("2006/01/02")+"/[$LATEST]"+r.hex(32))
				} else {
					streams[k] = append(streams[k], "ecs/"+sv.name+"/"+r.hex(32))
				}
			}
		}
	}
	// Each service's load drifts slowly (a mean-reverting random walk), so
	// error counts are overdispersed, not plain Poisson.
	drift := make([]float64, len(s.services))
	for i := range drift {
		drift[i] = 1
	}
	blips := map[string]int{}
	for _, b := range s.Truth.Blips {
		blips[b.Service+"|"+b.Region+"|"+b.Minute.Format(time.RFC3339)] += b.Errors
	}
	m := &minuteOut{}
	for i := range minutes {
		t := o.Start.Add(time.Duration(i) * time.Minute)
		*m = minuteOut{t: t, ct: m.ct[:0], cw: m.cw[:0], app: m.app[:0], aws: m.aws[:0], gcp: m.gcp[:0], az: m.az[:0]}
		for ; next < len(s.changes) && s.changes[next].at.Before(t.Add(time.Minute)); next++ {
			c := s.changes[next]
			switch c.topic {
			case TopicCloudTrail:
				m.ct = append(m.ct, ctItem{at: c.at, arrival: c.arrival, rec: c.ct})
			case TopicApp:
				m.app = append(m.app, item{at: c.at, arrival: c.arrival, key: c.service, raw: c.raw})
			case TopicAWSEvents:
				m.aws = append(m.aws, item{at: c.at, arrival: c.arrival, key: c.eventID, raw: c.raw})
			case TopicGCP:
				if c.pre != nil {
					m.gcp = append(m.gcp, item{at: c.preAt, arrival: c.arrival.Add(c.preAt.Sub(c.at)), key: c.eventID, raw: c.pre})
				}
				m.gcp = append(m.gcp, item{at: c.at, arrival: c.arrival, key: c.eventID, raw: c.raw})
			case TopicAzure:
				m.az = append(m.az, item{at: c.at, arrival: c.arrival, key: c.eventID, raw: c.raw})
			}
		}
		diurnal := 1 + 0.25*math.Sin(2*math.Pi*float64(t.Hour()*60+t.Minute()-6*60)/1440)
		for si, sv := range s.services {
			drift[si] = min(1.6, max(0.6, 1+0.92*(drift[si]-1)+0.06*r.NormFloat64()))
			regions, shares := s.regionsOf(sv)
			for ri, region := range regions {
				share := shares[ri]
				inc := 0.0
				p, a := s.affectedBy(sv.name, region)
				if a != nil {
					inc = incidentExpected(a, t, p.rampOf(a)) * o.Scale
				}
				load := share * o.Scale * diurnal * drift[si]
				s.emitService(r, m, sv, region, load, load, inc, p, a, streams[sv.name+"|"+region], roles)
				for range blips[sv.name+"|"+region+"|"+t.Format(time.RFC3339)] {
					e := errShape{"ConnectionResetError", "read: connection reset by peer (client retry burst)", "", 502}
					if len(sv.deps) > 0 {
						d := pick(r, sv.deps)
						e = errShape{"TimeoutError", "context deadline exceeded calling " + d, d + "." + region + ".svc.internal", 504}
					}
					at := within(r, t, time.Time{}, time.Time{})
					l := appLine{Time: at.Format(layoutApp), Service: sv.name, Level: "error", Message: e.msg, ErrorType: e.typ, Region: region,
						ServerAddress: e.addr, HTTPStatus: e.status, TraceID: r.trace(), SpanID: r.span(), Version: sv.version, Env: "prod"}
					if sv.cloud == "gcp" {
						m.gcp = append(m.gcp, item{at: at, arrival: at.Add(time.Second), key: sv.name, raw: s.gcpLine(r, sv, l, at)})
						continue
					}
					m.app = append(m.app, item{at: at, arrival: at.Add(time.Second), key: sv.name, raw: mustJSON(l)})
				}
			}
		}
		s.emitCloudTrail(r, m, diurnal, roles)
		if i%360 == 7 { // a subscription health check now and then
			m.cw = append(m.cw, cwItem{at: t.Add(30 * time.Second), arrival: t.Add(31 * time.Second), region: s.regions[0], payload: cwPayload{
				MessageType: "CONTROL_MESSAGE", Owner: "CloudwatchLogs", SubscriptionFilters: []string{},
				LogEvents: []cwLogEvent{{ID: "", Timestamp: t.Add(30 * time.Second).UnixMilli(), Message: "CWL CONTROL MESSAGE: Checking health of destination Firehose."}},
			}})
		}
		sort.SliceStable(m.app, func(i, j int) bool { return m.app[i].at.Before(m.app[j].at) })
		sort.SliceStable(m.gcp, func(i, j int) bool { return m.gcp[i].at.Before(m.gcp[j].at) })
		sort.SliceStable(m.ct, func(i, j int) bool { return m.ct[i].at.Before(m.ct[j].at) })
		for k := range m.ct {
			if m.ct[k].raw == nil {
				m.ct[k].raw = mustJSON(m.ct[k].rec)
			}
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// incidentExpected is the expected number of incident errors of a in the
// minute starting at t: a ramp after the onset (30 s; a slow ramp rises
// quadratically over minutes), a plateau with some waviness, a 60 s ramp
// down before the recovery.
func incidentExpected(a *AffectedService, t time.Time, ramp time.Duration) float64 {
	if !t.Add(time.Minute).After(a.Onset) || !t.Before(a.Recovery) {
		return 0
	}
	sum := 0.0
	for k := range 12 {
		u := t.Add(time.Duration(k)*5*time.Second + 2500*time.Millisecond)
		if u.Before(a.Onset) || !u.Before(a.Recovery) {
			continue
		}
		up := math.Min(1, u.Sub(a.Onset).Seconds()/ramp.Seconds())
		if ramp > time.Minute {
			up *= up
		}
		f := up * math.Min(1, a.Recovery.Sub(u).Seconds()/60)
		f *= 1 + 0.15*math.Sin(u.Sub(a.Onset).Minutes())
		sum += a.PeakRate * f / 12
	}
	return sum
}

// within returns a random instant in the minute starting at t, clipped to
// [from, to) when those fall inside it.
func within(r *rnd, t, from, to time.Time) time.Time {
	lo, hi := t, t.Add(time.Minute)
	if from.After(lo) {
		lo = from
	}
	if !to.IsZero() && to.Before(hi) {
		hi = to
	}
	if !hi.After(lo) {
		return lo
	}
	return lo.Add(r.dur(0, hi.Sub(lo))).Truncate(time.Millisecond)
}

func (r *rnd) trace() string { return fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64()) }
func (r *rnd) span() string  { return fmt.Sprintf("%016x", r.Uint64()) }

var (
	methods = []string{"GET", "GET", "POST", "PUT"}
	routes  = []string{"/api/%s", "/api/%s/{id}"}
)

type errShape struct {
	typ, msg, addr string
	status         int
}

// backgroundError is the kind of error a service logs on a normal day.
func (s *Scenario) backgroundError(r *rnd, sv *service, region string) errShape {
	switch r.IntN(4) {
	case 0:
		if len(sv.deps) > 0 {
			d := pick(r, sv.deps)
			return errShape{"TimeoutError", "context deadline exceeded calling " + d, d + "." + region + ".svc.internal", 504}
		}
		return errShape{"TimeoutError", "context deadline exceeded", "", 504}
	case 1:
		return errShape{"ValidationError", "invalid request payload: missing field \"id\"", "", 400}
	case 2:
		return errShape{"ConditionalCheckFailedException", "The conditional request failed", "dynamodb." + region + ".amazonaws.com", 409}
	default:
		return errShape{"ConnectionResetError", "read: connection reset by peer", "", 502}
	}
}

// incidentError is the error an affected service logs during the incident.
func (s *Scenario) incidentError(r *rnd, p *plant, a *AffectedService, region string, role actor) errShape {
	acct := s.Opts.Account
	if len(a.Via) > 0 {
		v := pick(r, a.Via)
		return pick(r, []errShape{
			{"UpstreamError", "upstream " + v + " returned 503 Service Unavailable", v + "." + region + ".svc.internal", 503},
			{"TimeoutError", "context deadline exceeded calling " + v, v + "." + region + ".svc.internal", 504},
		})
	}
	switch p.kind {
	case KindGCPChange:
		return gcpIncidentError(r, a, region)
	case FamilyLBChange:
		host := s.lbHost(a.Service, region)
		return pick(r, []errShape{
			{"ServiceUnavailable", "503 Service Unavailable: no healthy targets behind the load balancer", host, 503},
			{"UpstreamConnectError", "upstream connect error or disconnect/reset before headers. reset reason: connection failure", host, 502},
		})
	case FamilyDNSChange:
		host := a.Service + "-db.internal.example.com"
		return pick(r, []errShape{
			{"UnknownHostException", "dial tcp: lookup " + host + " on 10.0.0.2:53: no such host", host, 500},
			{"ConnectionRefusedError", "dial tcp 10.41.7.19:5432: connect: connection refused (" + host + ")", host, 500},
		})
	case FamilyIAMPolicy:
		op := pick(r, []string{"dynamodb:Query", "dynamodb:PutItem", "secretsmanager:GetSecretValue"})
		host := "dynamodb." + region + ".amazonaws.com"
		if strings.HasPrefix(op, "secrets") {
			host = "secretsmanager." + region + ".amazonaws.com"
		}
		return errShape{"AccessDeniedException", fmt.Sprintf("User: %s is not authorized to perform: %s on resource: arn:aws:dynamodb:%s:%s:table/%s-table because no identity-based policy allows the %s action",
			role.arn(acct), op, region, acct, a.Service, op), host, 500}
	case FamilyBadDeploy:
		return pick(r, []errShape{
			{"NilPointerError", "runtime error: invalid memory address or nil pointer dereference", "", 500},
			{"SerializationError", "json: cannot unmarshal string into Go struct field Order.total of type float64", "", 500},
		})
	case FamilyProviderIncident:
		root := p.root
		host := root + "." + region + ".amazonaws.com"
		if root == "sqs" {
			return errShape{"ServiceUnavailable", "operation error SQS: SendMessage, https response error StatusCode: 503, ServiceUnavailable", host, 503}
		}
		return pick(r, []errShape{
			{"InternalServerError", "operation error DynamoDB: GetItem, https response error StatusCode: 500, InternalServerError: Internal server error", host, 500},
			{"RequestTimeout", "operation error DynamoDB: Query, request send failed: dial tcp: i/o timeout", host, 504},
		})
	}
	return errShape{"Error", "unexpected error", "", 500}
}

// emitService emits one service's application lines and CloudWatch logs
// for one region and minute. rate scales traffic, errScale background
// errors, inc is the expected number of incident errors.
func (s *Scenario) emitService(r *rnd, m *minuteOut, sv *service, region string, rate, errScale, inc float64, pl *plant, a *AffectedService, streams []string, roles map[string]actor) {
	t := m.t
	version := sv.version
	for _, vc := range s.versions {
		if vc.service == sv.name && !t.Before(vc.from) && (vc.until.IsZero() || t.Before(vc.until)) {
			version = vc.version
		}
	}
	noun := strings.SplitN(sv.name, "-", 2)[0]
	line := func(at time.Time, level string, e *errShape) {
		method, route := pick(r, methods), fmt.Sprintf(pick(r, routes), noun)
		l := appLine{Time: at.Format(layoutApp), Service: sv.name, Level: level, Region: region, HTTPMethod: method, HTTPRoute: route,
			TraceID: r.trace(), SpanID: r.span(), Version: version, Env: "prod"}
		if e == nil {
			l.Message, l.HTTPStatus, l.DurationMS = method+" "+route+" 200", 200, 3+r.IntN(120)
		} else {
			l.Message, l.ErrorType, l.ServerAddress, l.HTTPStatus, l.DurationMS = e.msg, e.typ, e.addr, e.status, 20+r.IntN(3000)
		}
		if sv.cloud == "gcp" { // a GKE container's line, through Cloud Logging
			m.gcp = append(m.gcp, item{at: at, arrival: at.Add(r.dur(time.Second, 5*time.Second)), key: sv.name, raw: s.gcpLine(r, sv, l, at)})
			return
		}
		m.app = append(m.app, item{at: at, arrival: at.Add(r.dur(100*time.Millisecond, 2*time.Second)), key: sv.name, raw: mustJSON(l)})
	}
	var onset, recovery time.Time
	if a != nil {
		onset, recovery = a.Onset, a.Recovery
	}
	for range r.poisson(sv.traffic * rate) {
		line(within(r, t, time.Time{}, time.Time{}), "info", nil)
	}
	for range r.poisson(sv.baseErr * errScale) {
		e := s.backgroundError(r, sv, region)
		line(within(r, t, time.Time{}, time.Time{}), "error", &e)
	}
	nInc := r.poisson(inc)
	for range nInc {
		e := s.incidentError(r, pl, a, region, roles[sv.name])
		line(within(r, t, onset, recovery), "error", &e)
	}
	if sv.cloud == "gcp" {
		return // no CloudWatch Logs on Google Cloud
	}

	// CloudWatch Logs: one subscription payload per service, region and minute.
	p := cwPayload{MessageType: "DATA_MESSAGE", Owner: s.Opts.Account, LogGroup: sv.logGroup(), LogStream: pick(r, streams),
		SubscriptionFilters: []string{"faultline-" + sv.name}, PolicyLevel: "ACCOUNT_LEVEL_POLICY"}
	fields := map[string]string{"@aws.account": s.Opts.Account, "@aws.region": region}
	add := func(at time.Time, msg string) {
		p.LogEvents = append(p.LogEvents, cwLogEvent{ID: r.logEventID(), Timestamp: at.UnixMilli(), Message: msg, ExtractedFields: fields})
	}
	logErr := func(at time.Time, e errShape, reqID string) {
		if sv.runtime == "lambda" {
			add(at, "[ERROR]\t"+at.Format(layoutApp)+"\t"+reqID+"\t"+e.typ+": "+e.msg+"\n")
			return
		}
		add(at, string(mustJSON(ecsLine{Time: at.Format(layoutApp), Level: "error", Msg: e.msg, Service: sv.name, ErrorType: e.typ, ServerAddress: e.addr, HTTPStatus: e.status, TraceID: r.trace()})))
	}
	if sv.runtime == "lambda" {
		for range r.poisson(sv.traffic * 0.5 * rate) {
			at, id := within(r, t, time.Time{}, time.Time{}), r.uuid()
			d := 2 + r.Float64()*150
			add(at, "START RequestId: "+id+" Version: $LATEST\n")
			if r.chance(0.5) {
				add(at.Add(time.Duration(d/2)*time.Millisecond), "[INFO]\t"+at.Format(layoutApp)+"\t"+id+"\tprocessed "+noun+" request\n")
			}
			end := at.Add(time.Duration(d * float64(time.Millisecond)))
			add(end, "END RequestId: "+id+"\n")
			add(end, fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: 512 MB\tMax Memory Used: %d MB\t\n", id, d, int(math.Ceil(d)), 80+r.IntN(60)))
		}
	} else {
		for range r.poisson(sv.traffic * 0.6 * rate) {
			at := within(r, t, time.Time{}, time.Time{})
			route := fmt.Sprintf(pick(r, routes), noun)
			add(at, string(mustJSON(ecsLine{Time: at.Format(layoutApp), Level: "info", Msg: "request completed", Service: sv.name, HTTPRoute: route, HTTPStatus: 200, TraceID: r.trace()})))
		}
	}
	for range r.poisson(sv.baseErr * 0.5 * errScale) {
		logErr(within(r, t, time.Time{}, time.Time{}), s.backgroundError(r, sv, region), r.uuid())
	}
	for range r.poisson(inc * 0.5) {
		logErr(within(r, t, onset, recovery), s.incidentError(r, pl, a, region, roles[sv.name]), r.uuid())
	}
	if len(p.LogEvents) == 0 {
		return
	}
	sort.SliceStable(p.LogEvents, func(i, j int) bool { return p.LogEvents[i].Timestamp < p.LogEvents[j].Timestamp })
	m.cw = append(m.cw, cwItem{at: t, arrival: t.Add(time.Minute + r.dur(time.Second, 15*time.Second)), region: region, payload: p})
}

type readOp struct{ source, name string }

var readOps = []readOp{
	{"ec2.amazonaws.com", "DescribeInstances"}, {"elasticloadbalancing.amazonaws.com", "DescribeTargetHealth"},
	{"secretsmanager.amazonaws.com", "GetSecretValue"}, {"kms.amazonaws.com", "Decrypt"}, {"sts.amazonaws.com", "AssumeRole"},
	{"dynamodb.amazonaws.com", "DescribeTable"}, {"lambda.amazonaws.com", "GetFunction"}, {"monitoring.amazonaws.com", "DescribeAlarms"},
	{"ssm.amazonaws.com", "GetParameter"}, {"route53.amazonaws.com", "ListResourceRecordSets"},
}

// emitCloudTrail emits background read calls, a few failed calls, and
// during an iam-policy incident the AccessDenied calls of the broken role.
func (s *Scenario) emitCloudTrail(r *rnd, m *minuteOut, diurnal float64, roles map[string]actor) {
	acct, t := s.Opts.Account, m.t
	add := func(rec *ctRecord, at time.Time) {
		m.ct = append(m.ct, ctItem{at: at, arrival: at.Add(r.dur(2*time.Minute, 14*time.Minute)), rec: rec})
	}
	read := func(a actor, op readOp, region string, at time.Time) *ctRecord {
		if op.source == "route53.amazonaws.com" {
			region = "us-east-1"
		}
		rec := newCT(r, acct, a, at, op.source, op.name, region, true)
		switch op.name {
		case "GetSecretValue":
			rec.RequestParameters = map[string]any{"secretId": strings.TrimSuffix(a.role, "-task-role") + "/db-credentials"}
		case "Decrypt":
			rec.RequestParameters = map[string]any{"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": map[string]any{"service": a.role}}
		case "DescribeTable":
			rec.RequestParameters = map[string]any{"tableName": strings.TrimSuffix(a.role, "-task-role") + "-table"}
		case "AssumeRole":
			rec.RequestParameters = map[string]any{"roleArn": "arn:aws:iam::" + acct + ":role/" + a.role, "roleSessionName": a.name, "durationSeconds": 3600}
		case "DescribeInstances":
			rec.RequestParameters = map[string]any{"instancesSet": map[string]any{}, "filterSet": map[string]any{}}
		}
		return rec
	}
	for range r.poisson(8 * s.Opts.Scale * diurnal) {
		at := within(r, t, time.Time{}, time.Time{}).Truncate(time.Second)
		var a actor
		if r.chance(0.7) {
			a = roles[pick(r, s.services).name]
		} else {
			a = s.actors[r.IntN(len(s.actors))]
		}
		region := s.regions[0]
		if r.chance(0.3) {
			region = s.regions[1]
		}
		add(read(a, pick(r, readOps), region, at), at)
	}
	for range r.poisson(0.15 * s.Opts.Scale) { // steady low rate of failed calls
		at := within(r, t, time.Time{}, time.Time{}).Truncate(time.Second)
		a := s.actors[r.IntN(4)]
		rec := read(a, pick(r, readOps[:2]), pick(r, s.regions), at)
		if r.chance(0.5) {
			rec.ErrorCode, rec.ErrorMessage = "Client.RequestLimitExceeded", "Request limit exceeded."
		} else {
			rec.ErrorCode = "Client.UnauthorizedOperation"
			rec.ErrorMessage = "You are not authorized to perform this operation. User: " + a.arn(acct) + " is not authorized to perform: ec2:DescribeInstances because no identity-based policy allows the ec2:DescribeInstances action"
		}
		add(rec, at)
	}
	for _, p := range s.plants {
		if p.kind != FamilyIAMPolicy {
			continue
		}
		a := p.affected[p.truth.Affected[0].Service]
		s.deniedCalls(r, m, a, roles[a.Service], p.region, read, add)
	}
}

// deniedCalls emits the failed CloudTrail calls of a's role while an
// iam-policy incident breaks it.
func (s *Scenario) deniedCalls(r *rnd, m *minuteOut, a *AffectedService, role actor, region string, read func(actor, readOp, string, time.Time) *ctRecord, add func(*ctRecord, time.Time)) {
	acct, t := s.Opts.Account, m.t
	n := r.poisson(incidentExpected(a, t, 30*time.Second) * 0.5 * s.Opts.Scale)
	for range n {
		at := within(r, t, a.Onset, a.Recovery).Truncate(time.Second)
		if at.Before(a.Onset) {
			at = a.Onset.Truncate(time.Second).Add(time.Second)
		}
		op := pick(r, []readOp{readOps[2], readOps[3], readOps[8]})
		rec := read(role, op, region, at)
		action := strings.TrimSuffix(op.source, ".amazonaws.com") + ":" + op.name
		rec.ErrorCode = "AccessDenied"
		if op.name == "Decrypt" {
			rec.ErrorCode = "AccessDeniedException"
		}
		rec.ErrorMessage = fmt.Sprintf("User: %s is not authorized to perform: %s because no identity-based policy allows the %s action", role.arn(acct), action, action)
		add(rec, at)
	}
}
