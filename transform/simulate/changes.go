package simulate

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// change is one planned change (or a planned AWS event such as an alarm),
// prebuilt at plan time so its event id is known to the truth.
type change struct {
	at        time.Time
	arrival   time.Time // when it reaches Kafka (CloudTrail is minutes late)
	topic     string
	eventID   string
	source    string // cloudtrail, deploy, health, alarm
	service   string // the service column the decoders give it
	operation string
	region    string
	resource  string
	ct        *ctRecord // TopicCloudTrail
	raw       []byte    // TopicApp, TopicAWSEvents, TopicGCP, TopicAzure
	pre       []byte    // TopicGCP: the operation's "first" entry, logged at preAt (raw is its "last", the change)
	preAt     time.Time
	start     time.Time // the time the decoders give it when not at (a Health issue's startTime)
}

// eventTime is the time the decoders give the change.
func (c *change) eventTime() time.Time {
	if !c.start.IsZero() {
		return c.start
	}
	return c.at
}

func (c *change) ref() ChangeRef {
	return ChangeRef{EventID: c.eventID, Source: c.source, Service: c.service, Operation: c.operation, Region: c.region, Time: c.eventTime()}
}

// stableHex returns n hex digits that depend only on the scenario's seed
// and key: a load balancer keeps its ARN id and DNS number in every change
// and error that names it.
func (s *Scenario) stableHex(key string, n int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s", s.Seed, key)
	return newRnd(int64(h.Sum64()), 5).hex(n)
}

// lbHost is the DNS name of target's internal application load balancer
// in region: internal-<target>-alb-<number>.<region>.elb.amazonaws.com,
// the same number every time.
func (s *Scenario) lbHost(target, region string) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|lb|%s|%s", s.Seed, target, region)
	return fmt.Sprintf("internal-%s-alb-%d.%s.elb.amazonaws.com", target, 100000000+h.Sum64()%1900000000, region)
}

// lbName is target's load balancer as its ARN names it: app/<target>-alb/<id>.
func (s *Scenario) lbName(target, region string) string {
	return fmt.Sprintf("app/%s-alb/%s", target, s.stableHex("lb|"+target+"|"+region, 16))
}

// tgName is target's target group as its ARN names it: targetgroup/<target>-tg/<id>.
func (s *Scenario) tgName(target, region string) string {
	return fmt.Sprintf("targetgroup/%s-tg/%s", target, s.stableHex("tg|"+target+"|"+region, 16))
}

// ctChange builds a CloudTrail change from a template.
func (s *Scenario) ctChange(r *rnd, tmpl, target, region string, a actor, at time.Time) *change {
	acct := s.Opts.Account
	at = at.Truncate(time.Second)
	var src, name, resource, resType string
	var req, resp map[string]any
	lbName := s.lbName(target, region)
	lbARN := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/%s", region, acct, lbName)
	tgARN := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:%s", region, acct, s.tgName(target, region))
	switch tmpl {
	case "ModifyListener":
		src, name = "elasticloadbalancing.amazonaws.com", "ModifyListener"
		resource = fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:listener/%s/%s", region, acct, lbName, r.hex(16))
		resType = "AWS::ElasticLoadBalancingV2::Listener"
		actions := []any{map[string]any{"type": "forward", "targetGroupArn": tgARN, "order": 1}}
		req = map[string]any{"listenerArn": resource, "port": 443, "protocol": "HTTPS", "defaultActions": actions}
		resp = map[string]any{"listeners": []any{map[string]any{"listenerArn": resource, "loadBalancerArn": lbARN, "port": 443, "protocol": "HTTPS",
			"sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06", "defaultActions": actions}}}
	case "ModifyTargetGroup":
		src, name, resource, resType = "elasticloadbalancing.amazonaws.com", "ModifyTargetGroup", tgARN, "AWS::ElasticLoadBalancingV2::TargetGroup"
		req = map[string]any{"targetGroupArn": tgARN, "healthCheckPath": pick(r, []string{"/healthz", "/ready", "/status"}), "healthCheckIntervalSeconds": 10, "unhealthyThresholdCount": 2}
		resp = map[string]any{"targetGroups": []any{map[string]any{"targetGroupArn": tgARN, "targetGroupName": target + "-tg", "protocol": "HTTP", "port": 8080, "loadBalancerArns": []any{lbARN}}}}
	case "DeregisterTargets":
		src, name, resource, resType = "elasticloadbalancing.amazonaws.com", "DeregisterTargets", tgARN, "AWS::ElasticLoadBalancingV2::TargetGroup"
		req = map[string]any{"targetGroupArn": tgARN, "targets": []any{map[string]any{"id": "i-0" + r.hex(16), "port": 8080}, map[string]any{"id": "i-0" + r.hex(16), "port": 8080}}}
	case "ChangeResourceRecordSets":
		src, name, region = "route53.amazonaws.com", "ChangeResourceRecordSets", "us-east-1"
		zone := s.zone // internal.example.com: every record of the scenario is in it
		resource, resType = "arn:aws:route53:::hostedzone/"+zone, "AWS::Route53::HostedZone"
		rrs := map[string]any{"name": target + "-db.internal.example.com", "type": "CNAME", "tTL": 60,
			"resourceRecords": []any{map[string]any{"value": fmt.Sprintf("%s-db.cluster-%s.%s.rds.amazonaws.com", target, r.hex(12), s.regions[0])}}}
		req = map[string]any{"hostedZoneId": zone, "changeBatch": map[string]any{"comment": "repoint " + target + " database endpoint",
			"changes": []any{map[string]any{"action": "UPSERT", "resourceRecordSet": rrs}}}}
		resp = map[string]any{"changeInfo": map[string]any{"id": "/change/C" + r.upper(20), "status": "PENDING", "submittedAt": at.Format(layoutRoute53)}}
	case "PutRolePolicy", "DetachRolePolicy":
		src, name, region = "iam.amazonaws.com", tmpl, "us-east-1"
		role := target + "-task-role"
		resource, resType = fmt.Sprintf("arn:aws:iam::%s:role/%s", acct, role), "AWS::IAM::Role"
		if tmpl == "PutRolePolicy" {
			doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:Query","dynamodb:PutItem"],"Resource":"arn:aws:dynamodb:*:%s:table/%s-*"}]}`, acct, target)
			req = map[string]any{"roleName": role, "policyName": target + "-data-access", "policyDocument": doc}
		} else {
			req = map[string]any{"roleName": role, "policyArn": fmt.Sprintf("arn:aws:iam::%s:policy/%s-secrets-read", acct, target)}
		}
	case "AuthorizeSecurityGroupIngress":
		src, name = "ec2.amazonaws.com", tmpl
		sg := "sg-0" + r.hex(16)
		resource, resType = fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", region, acct, sg), "AWS::EC2::SecurityGroup"
		req = map[string]any{"groupId": sg, "ipPermissions": map[string]any{"items": []any{map[string]any{"ipProtocol": "tcp", "fromPort": 8443, "toPort": 8443,
			"ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": "10.20.0.0/16", "description": target + " sidecar"}}}}}}}
		resp = map[string]any{"requestId": r.uuid(), "_return": true, "securityGroupRuleSet": map[string]any{"items": []any{map[string]any{"groupId": sg, "securityGroupRuleId": "sgr-0" + r.hex(16)}}}}
	case "CreateTags":
		src, name = "ec2.amazonaws.com", tmpl
		inst := "i-0" + r.hex(16)
		resource, resType = fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", region, acct, inst), "AWS::EC2::Instance"
		req = map[string]any{"resourcesSet": map[string]any{"items": []any{map[string]any{"resourceId": inst}}}, "tagSet": map[string]any{"items": []any{map[string]any{"key": "owner", "value": "team-" + target}}}}
		resp = map[string]any{"requestId": r.uuid(), "_return": true}
	case "UpdateFunctionConfiguration":
		src, name = "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2"
		resource, resType = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, acct, target), "AWS::Lambda::Function"
		req = map[string]any{"functionName": target, "memorySize": pick(r, []int{512, 1024, 2048}), "timeout": pick(r, []int{10, 30, 60})}
		resp = map[string]any{"functionName": target, "functionArn": resource, "runtime": "python3.12", "state": "Active", "lastUpdateStatus": "InProgress"}
	case "PutMetricAlarm":
		src, name = "monitoring.amazonaws.com", tmpl
		resource, resType = fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s-latency-p99", region, acct, target), "AWS::CloudWatch::Alarm"
		req = map[string]any{"alarmName": target + "-latency-p99", "metricName": "TargetResponseTime", "namespace": "AWS/ApplicationELB", "statistic": "p99",
			"threshold": 1.5, "comparisonOperator": "GreaterThanThreshold", "evaluationPeriods": 3, "period": 60}
	case "UpdateTable":
		src, name = "dynamodb.amazonaws.com", tmpl
		resource, resType = fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s-table", region, acct, target), "AWS::DynamoDB::Table"
		req = map[string]any{"tableName": target + "-table", "billingMode": "PAY_PER_REQUEST"}
		resp = map[string]any{"tableDescription": map[string]any{"tableName": target + "-table", "tableArn": resource, "tableStatus": "UPDATING"}}
	case "SetDesiredCapacity":
		src, name = "autoscaling.amazonaws.com", tmpl
		resource, resType = fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s-asg", region, acct, r.uuid(), target), "AWS::AutoScaling::AutoScalingGroup"
		req = map[string]any{"autoScalingGroupName": target + "-asg", "desiredCapacity": 4 + r.IntN(8), "honorCooldown": false}
	case "UpdateStack":
		src, name = "cloudformation.amazonaws.com", tmpl
		resource, resType = fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s-stack/%s", region, acct, target, r.uuid()), "AWS::CloudFormation::Stack"
		req = map[string]any{"stackName": target + "-stack", "templateURL": fmt.Sprintf("https://s3.amazonaws.com/cfn-templates-%s/%s.yaml", acct, target), "capabilities": []any{"CAPABILITY_IAM"}}
		resp = map[string]any{"stackId": resource}
	default:
		panic("unknown change template " + tmpl)
	}
	rec := newCT(r, acct, a, at, src, name, region, false)
	rec.RequestParameters, rec.ResponseElements = req, resp
	rec.Resources = []ctResource{{AccountID: acct, Type: resType, ARN: resource}}
	return &change{
		at: at, arrival: at.Add(r.dur(3*time.Minute, 14*time.Minute)), topic: TopicCloudTrail, eventID: rec.EventID, source: "cloudtrail",
		service: strings.TrimSuffix(src, ".amazonaws.com"), operation: name, region: region, resource: resource, ct: rec,
	}
}

// deploy builds a deploy event on the application stream.
func (s *Scenario) deploy(r *rnd, target, region, version, previous string, a actor, at time.Time) *change {
	at = at.Truncate(time.Millisecond)
	d := deployEvent{
		Time: at.Format(layoutApp), Service: target, Kind: "deploy", Version: version, PreviousVersion: previous,
		Actor: a.name, EventID: r.uuid(), Region: region, Env: "prod", Commit: r.hex(40), Strategy: pick(r, []string{"rolling", "blue-green", "canary"}),
	}
	return &change{at: at, arrival: at.Add(r.dur(200*time.Millisecond, 3*time.Second)), topic: TopicApp, eventID: d.EventID, source: "deploy",
		service: target, operation: "deploy", region: region, resource: target + "@" + version, raw: mustJSON(d)}
}

func bumpVersion(v string, r *rnd) string {
	var a, b, c int
	if _, err := fmt.Sscanf(v, "%d.%d.%d", &a, &b, &c); err != nil {
		return v + ".1" // not major.minor.patch: still a new version
	}
	if r.chance(0.3) {
		return fmt.Sprintf("%d.%d.0", a, b+1)
	}
	return fmt.Sprintf("%d.%d.%d", a, b, c+1)
}

// health builds an AWS Health event (EventBridge).
func (s *Scenario) health(r *rnd, svc, region, category, code, status, desc string, start, at time.Time, arn string) *change {
	acct := s.Opts.Account
	up := strings.ToUpper(svc)
	if arn == "" {
		arn = fmt.Sprintf("arn:aws:health:%s::event/%s/%s/%s_%s", region, up, code, code, r.uuid())
	}
	entity := fmt.Sprintf("arn:aws:%s:%s:%s:table/%s-table", svc, region, acct, pick(r, s.Truth.Services))
	detail := map[string]any{
		"eventArn": arn, "service": up, "eventTypeCode": code, "eventTypeCategory": category, "eventScopeCode": "ACCOUNT_SPECIFIC",
		"communicationId": r.hex(64) + "-1", "startTime": start.UTC().Format(layoutHealth), "lastUpdatedTime": at.UTC().Format(layoutHealth),
		"statusCode": status, "eventRegion": region,
		"eventDescription": []any{map[string]any{"language": "en_US", "latestDescription": desc}},
		"affectedEntities": []any{map[string]any{"entityValue": entity}},
		"affectedAccount":  acct, "page": "1", "totalPages": "1",
	}
	if status == "closed" {
		detail["endTime"] = at.UTC().Format(layoutHealth)
	}
	ev := ebEvent{Version: "0", ID: r.uuid(), DetailType: "AWS Health Event", Source: "aws.health", Account: acct,
		Time: at.UTC().Format(layoutEventBridge), Region: region, Resources: []string{entity}, Detail: detail}
	return &change{at: at.Truncate(time.Second), arrival: at.Add(r.dur(2*time.Second, 40*time.Second)), topic: TopicAWSEvents, eventID: ev.ID,
		source: "health", service: svc, operation: code, region: region, resource: arn, raw: mustJSON(ev)}
}

// alarm builds a CloudWatch alarm state change (EventBridge).
func (s *Scenario) alarm(r *rnd, svc, region, state, previous string, value float64, at time.Time) *change {
	acct := s.Opts.Account
	name := svc + "-5xx-errors"
	arn := fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", region, acct, name)
	ts := at.UTC().Format(layoutAlarm)
	cmp := "greater than"
	if state == "OK" {
		cmp = "not greater than"
	}
	reason := fmt.Sprintf("Threshold Crossed: 1 out of the last 1 datapoints [%.1f (%s)] was %s the threshold (10.0) (minimum 1 datapoint for %s -> %s transition).",
		value, at.UTC().Truncate(time.Minute).Add(-time.Minute).Format("02/01/06 15:04:05"), cmp, previous, state)
	detail := map[string]any{
		"alarmName": name,
		"state":     map[string]any{"value": state, "reason": reason, "timestamp": ts},
		"previousState": map[string]any{"value": previous, "timestamp": at.Add(-47 * time.Minute).UTC().Format(layoutAlarm),
			"reason": "Threshold Crossed: 1 out of the last 1 datapoints was not greater than the threshold (10.0)."},
		"configuration": map[string]any{"description": "5xx errors of " + svc, "metrics": []any{map[string]any{"id": "m1", "returnData": true,
			"metricStat": map[string]any{"period": 60, "stat": "Sum", "metric": map[string]any{"namespace": "AWS/ApplicationELB", "name": "HTTPCode_Target_5XX_Count",
				"dimensions": map[string]any{"LoadBalancer": s.lbName(svc, region), "TargetGroup": s.tgName(svc, region)}}}}}},
	}
	ev := ebEvent{Version: "0", ID: r.uuid(), DetailType: "CloudWatch Alarm State Change", Source: "aws.cloudwatch", Account: acct,
		Time: at.UTC().Format(layoutEventBridge), Region: region, Resources: []string{arn}, Detail: detail}
	return &change{at: at.Truncate(time.Second), arrival: at.Add(r.dur(2*time.Second, 20*time.Second)), topic: TopicAWSEvents, eventID: ev.ID,
		source: "alarm", service: svc, operation: "alarm:" + state, region: region, resource: arn, raw: mustJSON(ev)}
}

func (s *Scenario) human(r *rnd) actor { return s.actors[r.IntN(4)] }

// rootChange builds plant p's root cause at at, acting on p.root with
// p.first[0] the first service to break.
func (s *Scenario) rootChange(r *rnd, p *plant, at time.Time) *change {
	target := p.first[0]
	switch p.kind {
	case FamilyLBChange:
		return s.ctChange(r, pick(r, []string{"ModifyListener", "ModifyListener", "ModifyTargetGroup", "DeregisterTargets"}), target, p.region, s.human(r), at)
	case FamilyDNSChange:
		return s.ctChange(r, "ChangeResourceRecordSets", target, p.region, pick(r, []actor{s.human(r), s.actors[4]}), at)
	case FamilyIAMPolicy:
		return s.ctChange(r, pick(r, []string{"PutRolePolicy", "DetachRolePolicy"}), target, p.region, pick(r, []actor{s.human(r), s.actors[4]}), at)
	case KindGCPChange:
		return s.gcpChange(r, pick(r, []string{"v1.compute.firewalls.patch", "v1.compute.firewalls.update", "v1.compute.backendServices.patch"}), target, pick(r, []actor{s.human(r), s.actors[4]}), at)
	case FamilyBadDeploy:
		sv := s.service(target)
		next := bumpVersion(sv.version, r)
		c := s.deploy(r, target, p.region, next, sv.version, s.actors[5], at)
		s.versions = append(s.versions, versionChange{service: target, version: next, from: c.at}) // until: the rollback
		return c
	case FamilyProviderIncident:
		code := "AWS_" + strings.ToUpper(p.root) + "_OPERATIONAL_ISSUE"
		desc := fmt.Sprintf("We are investigating increased error rates and latencies for %s APIs in the %s Region.", strings.ToUpper(p.root), p.region)
		published := at
		if p.health > 0 {
			published = p.onset.Add(p.health) // AWS posts it well after its start
			if limit := s.Opts.Start.Add(s.Opts.Duration).Add(-2 * time.Minute); published.After(limit) {
				published = limit
			}
		}
		c := s.health(r, p.root, p.region, "issue", code, "open", desc, at, published, "")
		c.start = at.Truncate(time.Second)
		return c
	}
	panic("no root change for " + p.kind)
}

// healthUpdates plans the further publications of a late Health issue: one
// update some minutes after the first, while it is still open.
func (s *Scenario) healthUpdates(v *rnd, p *plant, end time.Time) []*change {
	at := p.rc.at.Add(v.dur(10*time.Minute, 30*time.Minute))
	if !at.Before(end.Add(-time.Minute)) || !at.Before(p.truth.Recovery) {
		return nil
	}
	desc := fmt.Sprintf("We continue to work on increased error rates for %s APIs in the %s Region and are seeing early signs of recovery.", strings.ToUpper(p.root), p.region)
	c := s.health(v, p.root, p.region, "issue", p.rc.operation, "open", desc, p.rc.start, at, p.rc.resource)
	c.start = p.rc.start
	return []*change{c}
}

// rollback undoes plant p's root cause (or closes the Health event) at at.
func (s *Scenario) rollback(r *rnd, p *plant, at time.Time) *change {
	rc := p.rc
	switch rc.source {
	case "deploy":
		sv := s.service(rc.service)
		for i := range s.versions {
			if s.versions[i].service == rc.service && s.versions[i].until.IsZero() {
				s.versions[i].until = at
			}
		}
		return s.deploy(r, rc.service, rc.region, sv.version, strings.TrimPrefix(rc.resource, rc.service+"@"), s.actors[5], at)
	case "gcpaudit": // the same resource set back
		return s.gcpChange(r, "v1."+rc.operation, p.first[0], s.human(r), at)
	case "health":
		desc := fmt.Sprintf("The issue has been resolved and the service is operating normally in the %s Region.", rc.region)
		c := s.health(r, rc.service, rc.region, "issue", rc.operation, "closed", desc, rc.start, at, rc.resource)
		c.start = rc.start
		return c
	}
	tmpl := rc.operation
	switch tmpl {
	case "DetachRolePolicy":
		tmpl = "PutRolePolicy"
	case "DeregisterTargets":
		tmpl = "ModifyTargetGroup"
	}
	return s.ctChange(r, tmpl, p.first[0], rc.region, s.human(r), at)
}

// alarms plans ALARM and OK transitions for plant p's first affected services.
func (s *Scenario) alarms(r *rnd, p *plant) []*change {
	var out []*change
	for i, a := range p.truth.Affected {
		if i >= 2 {
			break
		}
		out = append(out,
			s.alarm(r, a.Service, a.Region, "ALARM", "OK", a.PeakRate*r.uniform(0.8, 1.5), a.Onset.Add(r.dur(70*time.Second, 150*time.Second))),
			s.alarm(r, a.Service, a.Region, "OK", "ALARM", r.uniform(0, 3), a.Recovery.Add(r.dur(60*time.Second, 150*time.Second))))
	}
	return out
}

// affectedBy returns the plant that breaks service name in region, or nil.
func (s *Scenario) affectedBy(name, region string) (*plant, *AffectedService) {
	for _, p := range s.plants {
		if a, ok := p.affected[name]; ok && p.region == region {
			return p, a
		}
	}
	return nil, nil
}

// unaffected returns the application services no incident reaches.
func (s *Scenario) unaffected() []string {
	var out []string
	for _, sv := range s.services {
		hit := false
		for _, p := range s.plants {
			if _, ok := p.affected[sv.name]; ok {
				hit = true
			}
		}
		if !hit {
			out = append(out, sv.name)
		}
	}
	if len(out) == 0 {
		out = []string{s.services[len(s.services)-1].name}
	}
	return out
}

// decoys plans unrelated changes close to onset.
func (s *Scenario) decoys(r *rnd, onset time.Time) []*change {
	main, second := s.regions[0], s.regions[1]
	var out []*change
	// 1. Same region, a service the incident does not reach, shortly before.
	t := pick(r, s.unaffected())
	at := onset.Add(-r.dur(90*time.Second, 9*time.Minute))
	switch r.IntN(4) {
	case 0:
		sv := s.service(t)
		out = append(out, s.deploy(r, t, main, bumpVersion(sv.version, r), sv.version, s.actors[5], at))
	case 1:
		out = append(out, s.ctChange(r, "AuthorizeSecurityGroupIngress", t, main, s.human(r), at))
	case 2:
		out = append(out, s.ctChange(r, "PutMetricAlarm", t, main, s.actors[4], at))
	default:
		out = append(out, s.ctChange(r, "UpdateFunctionConfiguration", t, main, s.actors[4], at))
	}
	// 2. The root cause's kind somewhere it cannot explain the incident.
	at = onset.Add(-r.dur(30*time.Second, 12*time.Minute))
	other := pick(r, otherRegions)
	var fam string
	if len(s.plants) == 0 {
		fam = pick(r, Families[:5])
	} else {
		fam = s.plants[0].kind
	}
	switch fam {
	case FamilyLBChange:
		out = append(out, s.ctChange(r, "ModifyListener", pick(r, s.Truth.Services), other, s.human(r), at))
	case FamilyDNSChange:
		out = append(out, s.ctChange(r, "ChangeResourceRecordSets", t, main, s.human(r), at))
	case FamilyIAMPolicy:
		out = append(out, s.ctChange(r, "PutRolePolicy", t, main, s.actors[4], at))
	case FamilyBadDeploy:
		sv := s.service(t)
		out = append(out, s.deploy(r, t, second, bumpVersion(sv.version, r), sv.version, s.actors[5], at))
	case FamilyProviderIncident:
		out = append(out, s.health(r, "ec2", other, "issue", "AWS_EC2_OPERATIONAL_ISSUE", "open",
			"We are investigating connectivity issues affecting some instances in a single Availability Zone in the "+other+" Region.", at, at, ""))
	case KindGCPChange: // a network rule change in the other clouds
		out = append(out, s.azureChange(r, s.human(r), at))
	}
	// 3. A response action just after the onset (a person scaling up).
	if len(s.plants) > 0 && s.plants[0].kind == KindGCPChange {
		first := s.Truth.Affected[0]
		out = append(out, s.gcpChange(r, "v1.compute.instanceGroupManagers.resize", first.Service, s.human(r), s.Truth.Onset.Add(r.dur(3*time.Minute, 8*time.Minute))))
	} else if len(s.plants) > 0 {
		first := s.Truth.Affected[0]
		out = append(out, s.ctChange(r, "SetDesiredCapacity", first.Service, first.Region, s.human(r), s.Truth.Onset.Add(r.dur(3*time.Minute, 8*time.Minute))))
	}
	return out
}

// familyDecoys plans the harder families' own decoys, all closer to the
// (detected) onset than the root cause:
//
//   - decoy-closer: a change of the root cause's type on another service's
//     load balancer or role, in the same region;
//   - dns-decoy: a change of another record of the same hosted zone;
//   - deploy-decoy: a deploy of a service that calls the badly deployed one
//     (it breaks too, after it);
//   - slow-ramp: while the errors ramp up, a deploy of a caller (bad deploy)
//     or a change of another record (DNS change).
func (s *Scenario) familyDecoys(v *rnd) []*change {
	if len(s.plants) == 0 {
		return nil
	}
	p := s.plants[0]
	lead := p.truth.Onset.Sub(p.rc.at)
	closer := func() time.Time { // between the root cause and the onset
		return p.truth.Onset.Add(-v.dur(20*time.Second, max(lead-20*time.Second, 21*time.Second)))
	}
	other := func() string {
		c := s.unaffected()
		return pick(v, c)
	}
	switch s.Family {
	case FamilyMultiCloud: // a security group change on AWS, closer to the onset, where nothing broke
		return []*change{s.ctChange(v, "AuthorizeSecurityGroupIngress", other(), s.regions[0], s.human(v), closer())}
	case FamilyDecoyCloser:
		if p.kind == FamilyLBChange {
			return []*change{s.ctChange(v, pick(v, []string{"ModifyListener", "ModifyTargetGroup", "DeregisterTargets"}), other(), p.region, s.human(v), closer())}
		}
		return []*change{s.ctChange(v, pick(v, []string{"PutRolePolicy", "DetachRolePolicy"}), other(), p.rc.region, pick(v, []actor{s.human(v), s.actors[4]}), closer())}
	case FamilyDNSDecoy:
		return []*change{s.ctChange(v, "ChangeResourceRecordSets", other(), p.rc.region, pick(v, []actor{s.human(v), s.actors[4]}), closer())}
	case FamilyDeployDecoy:
		callers := s.callers(p.first[0])
		if len(callers) == 0 {
			return nil
		}
		c := pick(v, callers)
		sv := s.service(c)
		next := bumpVersion(sv.version, v)
		d := s.deploy(v, c, p.region, next, sv.version, s.actors[5], closer())
		s.versions = append(s.versions, versionChange{service: c, version: next, from: d.at, until: s.Opts.Start.Add(s.Opts.Duration)})
		return []*change{d}
	case FamilySlowRamp:
		// during the ramp, before the threshold is likely crossed
		at := p.truth.Onset.Add(v.dur(2*time.Minute, max(p.ramp/3, 2*time.Minute+time.Second)))
		if p.kind == FamilyBadDeploy {
			callers := s.callers(p.first[0])
			if len(callers) == 0 {
				return nil
			}
			c := pick(v, callers)
			sv := s.service(c)
			next := bumpVersion(sv.version, v)
			d := s.deploy(v, c, p.region, next, sv.version, s.actors[5], at)
			s.versions = append(s.versions, versionChange{service: c, version: next, from: d.at, until: s.Opts.Start.Add(s.Opts.Duration)})
			return []*change{d}
		}
		return []*change{s.ctChange(v, "ChangeResourceRecordSets", other(), p.rc.region, s.human(v), at)}
	}
	return nil
}

var backgroundTemplates = []string{
	"AuthorizeSecurityGroupIngress", "CreateTags", "CreateTags", "UpdateFunctionConfiguration", "PutMetricAlarm",
	"UpdateTable", "SetDesiredCapacity", "UpdateStack", "ModifyTargetGroup", "ModifyListener", "ChangeResourceRecordSets", "PutRolePolicy",
}

// background plans benign changes over the window; near an incident
// (excluded) only changes in regions where nothing of ours runs are
// allowed, so no benign change can explain an incident by accident.
func (s *Scenario) background(r *rnd, start, end time.Time, excluded func(time.Time) bool) []*change {
	var out []*change
	for at := start.Add(r.dur(0, 12*time.Minute)); at.Before(end); at = at.Add(r.dur(2*time.Minute, 22*time.Minute)) {
		in := excluded(at)
		tmpl := pick(r, backgroundTemplates)
		region := pick(r, []string{s.regions[0], s.regions[0], s.regions[1], pick(r, otherRegions)})
		if in {
			if tmpl == "ChangeResourceRecordSets" || strings.HasSuffix(tmpl, "RolePolicy") {
				continue
			}
			region = pick(r, otherRegions)
		}
		a := s.human(r)
		if r.chance(0.5) {
			a = s.actors[4]
		}
		out = append(out, s.ctChange(r, tmpl, pick(r, s.Truth.Services), region, a, at))
	}
	for at := start.Add(r.dur(0, 20*time.Minute)); at.Before(end); at = at.Add(r.dur(10*time.Minute, 45*time.Minute)) {
		if excluded(at) {
			continue
		}
		sv := pick(r, s.services)
		next := bumpVersion(sv.version, r)
		region := s.regions[r.IntN(2)]
		out = append(out, s.deploy(r, sv.name, region, next, sv.version, s.actors[5], at))
	}
	if r.chance(0.5) {
		at := start.Add(r.dur(0, s.Opts.Duration))
		other := pick(r, otherRegions)
		out = append(out, s.health(r, "ec2", other, "scheduledChange", "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED", "upcoming",
			"One or more of your Amazon EC2 instances in the "+other+" Region is scheduled for reboot maintenance.", at.Add(72*time.Hour), at, ""))
	}
	return out
}
