package transform

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

// EvidenceRow is what DependencyEvidence reads of one event: the columns
// of the events table it looks at, each with whether it is non-NULL.
type EvidenceRow struct {
	Source, Kind                                        string
	Service, Peer, Message, Attributes, Actor, Region   string
	HasService, HasPeer, HasMessage, HasAttrs, HasActor bool
	HasRegion                                           bool
}

// Evidence is one sign in an event that From depends on what Ref names.
// Origin says where it was found:
//
//	peer_service         the decoder's peer (OpenTelemetry peer.service, or
//	                     the service behind server.address ...), used when
//	                     the event has none of the attributes below
//	attribute            "key":"value" of the OpenTelemetry attributes that
//	                     name a callee (server.address, url.full,
//	                     rpc.service, db.system ...) of an error event or a
//	                     CloudWatch log line, sorted and tab-separated: the
//	                     full host name, so the edge reaches the load
//	                     balancer, table or DNS record, not only the service
//	message              an AWS host name, ARN or looked-up DNS name in an
//	                     error message (not in CloudTrail's own errors, whose
//	                     ARNs name the caller)
//	config_relationship  the resource type of a resource an AWS Config item
//	                     is related to
//	cloudtrail_role      From is the caller's identity (an assumed role's
//	                     ARN, its session name cut before any id:
//	                     RoleCaller), Ref the AWS service it called
//	association          From "" and Ref the region, then the load balancer
//	                     and target group ARNs or alarm dimensions one load
//	                     balancer change or alarm names together,
//	                     tab-separated
//
// The query side (queries/topology.go) parses each Ref into the service and
// the concrete resource it names. The sink keeps the evidence of every
// commit per minute (table edge_minutes); ingest/store/rollups.sql computes
// the same rows in SQL, which CheckRollups compares.
type Evidence struct {
	From, Origin, Ref string
}

// The cheap tests before a regular expression runs, and the expressions:
// the same as ingest/store/rollups.sql (edge_minutes). RE2 in both.
var (
	attrMarkers = []string{`.address"`, `peer.name"`, `url.full"`, `http.url"`, `rpc.service"`, `db.system"`, `s3.bucket"`}
	// attrKeys: the keys rollups.sql's expression
	// '"(?:server\.address|...|aws\.s3\.bucket)"\s*:\s*"[^"]*"' matches,
	// which attributeKVs scans for by hand.
	attrKeys   = []string{"server.address", "net.peer.name", "url.full", "http.url", "rpc.service", "rpc.system", "db.system", "aws.s3.bucket"}
	msgMarkers = []string{"amazonaws.com", "arn:aws", "lookup ", "UnknownHost", ".on.aws", "cloudfront.net", ".api.aws"}
	msgRE      = regexp.MustCompile(`(arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:[A-Za-z0-9_./:+=@-]+|[A-Za-z0-9][A-Za-z0-9.-]*\.(?:amazonaws\.com(?:\.cn)?|api\.aws|on\.aws|cloudfront\.net)|lookup [A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z]|UnknownHostException: [A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z])`)
	assocRE    = regexp.MustCompile(`(arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]*:(?:loadbalancer|listener|targetgroup)/[A-Za-z0-9_./-]+|"LoadBalancer"\s*:\s*"[^"]+"|"TargetGroup"\s*:\s*"[^"]+")`)
	// configPaths lead to an AWS Config item's relationships in the
	// attributes of a config event: the item itself, a rule invocation
	// (invokingEvent), an EventBridge event (detail).
	configPaths = [][]string{
		{"relationships"},
		{"configurationItem", "relationships"},
		{"invokingEvent", "configurationItem", "relationships"},
		{"detail", "configurationItem", "relationships"},
	}
)

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// A Finder finds the dependency evidence in events, parsing each distinct
// error message once (errors repeat). Not safe for concurrent use; it keeps
// the messages it saw, so use one per batch of events.
type Finder struct {
	messages map[string][]string // message -> its host names and ARNs
}

// DependencyEvidence appends to out the dependency evidence in one event
// and returns it (a Finder of its own: see Finder.Find).
func DependencyEvidence(r *EvidenceRow, out []Evidence) []Evidence {
	var f Finder
	return f.Find(r, out)
}

// Find appends to out the dependency evidence in one event and returns
// it. Only error events of services (CloudTrail's own errors excepted),
// CloudTrail calls by assumed roles, Config items with relationships, and
// load balancer changes and alarms that name a target group carry any; an
// event may carry several.
func (f *Finder) Find(r *EvidenceRow, out []Evidence) []Evidence {
	add := func(from, origin, ref string) {
		if ref != "" {
			out = append(out, Evidence{From: from, Origin: origin, Ref: ref})
		}
	}
	if r.Kind == KindError && r.HasService && r.Source != SourceCloudTrail {
		var attrs string
		hasAttrs := false
		switch {
		case r.Source == SourceCloudWatch:
			attrs, hasAttrs = r.Message, r.HasMessage
		case r.HasPeer:
			attrs, hasAttrs = r.Attributes, r.HasAttrs
		}
		var kvs []string
		if hasAttrs && containsAny(attrs, attrMarkers) {
			kvs = attributeKVs(attrs)
		}
		switch {
		case len(kvs) > 0:
			slices.Sort(kvs)
			add(r.Service, "attribute", strings.Join(kvs, "\t"))
		case r.HasPeer:
			add(r.Service, "peer_service", strings.ToLower(r.Peer))
		}
		if r.HasMessage && containsAny(r.Message, msgMarkers) {
			refs, ok := f.messages[r.Message]
			if !ok {
				refs = msgRE.FindAllString(r.Message, -1)
				if f.messages == nil {
					f.messages = map[string][]string{}
				}
				f.messages[r.Message] = refs
			}
			for _, m := range refs {
				add(r.Service, "message", m)
			}
		}
	}
	if r.Source == SourceConfig && r.HasService && r.HasAttrs && strings.Contains(r.Attributes, "relationships") {
		for _, rt := range relatedTypes(r.Attributes) {
			add(r.Service, "config_relationship", rt)
		}
	}
	if r.Source == SourceCloudTrail && r.HasService && r.HasActor && strings.HasPrefix(r.Actor, "arn:aws") &&
		strings.Contains(r.Actor[len("arn:aws"):], ":assumed-role/") {
		add(RoleCaller(r.Actor), "cloudtrail_role", r.Service)
	}
	if ((r.Kind == KindChange && r.HasService && r.Service == "elasticloadbalancing") || r.Source == SourceAlarm) &&
		r.HasAttrs && r.HasRegion && strings.Contains(r.Attributes, "argetGroup") {
		names := assocRE.FindAllString(r.Attributes, -1)
		slices.Sort(names)
		ref := r.Region + "\t" + strings.Join(slices.Compact(names), "\t")
		if strings.Count(ref, "\t") >= 2 {
			add("", "association", ref)
		}
	}
	return out
}

// attributeKVs returns the "key":"value" pairs of attrs whose key names a
// callee (attrKeys), in order: what rollups.sql's regexp_extract_all gives
// with '"(?:server\.address|...)"\s*:\s*"[^"]*"', scanned by hand (a
// match starts at a quote, and its extent is fixed once the key matched).
func attributeKVs(attrs string) []string {
	var out []string
	for i := 0; i < len(attrs); {
		q := strings.IndexByte(attrs[i:], '"')
		if q < 0 {
			break
		}
		p := i + q
		if end := attributeKVAt(attrs, p); end > 0 {
			out = append(out, attrs[p:end])
			i = end
			continue
		}
		i = p + 1
	}
	return out
}

// attributeKVAt is the end of the "key":"value" match at p (a quote), or 0.
func attributeKVAt(s string, p int) int {
	j := -1
	for _, k := range attrKeys {
		if strings.HasPrefix(s[p+1:], k) && p+1+len(k) < len(s) && s[p+1+len(k)] == '"' {
			j = p + 2 + len(k)
			break
		}
	}
	if j < 0 {
		return 0
	}
	space := func() {
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\f' || s[j] == '\r') {
			j++
		}
	}
	space()
	if j >= len(s) || s[j] != ':' {
		return 0
	}
	j++
	space()
	if j >= len(s) || s[j] != '"' {
		return 0
	}
	e := strings.IndexByte(s[j+1:], '"')
	if e < 0 {
		return 0
	}
	return j + 1 + e + 1
}

// RoleCaller is an assumed role's ARN with its session name cut before the
// first '-'-separated part that holds a digit: the name a service may
// have (a Lambda function's checkout-handler, an ECS task's cart), not an
// id (the task's 9f8e7d6c5b4a, an instance's i-0abc, a random number), so
// that the calls of a role's thousands of sessions count as the calls of
// a few (arn:aws:sts::1:assumed-role/cart-task-role/cart-9f8e7d6c ->
// .../cart-task-role/cart). Other actors are returned as they are.
//
// rollups.sql computes it with three regular expressions (RE2):
// regexp_extract(actor, '^(.*?:assumed-role/[^/]*/)', 1) ||
// regexp_extract(<session>, '^([^0-9-]+(?:-[^0-9-]+)*)(?:-|$)', 1) where
// <session> is regexp_extract(actor, ':assumed-role/[^/]*/(.*)$', 1); this
// is the same by hand, several times faster (FuzzRoleCaller compares them).
func RoleCaller(actor string) string {
	const marker = ":assumed-role/"
	i := strings.Index(actor, marker)
	if i < 0 || !strings.Contains(actor[i+len(marker):], "/") {
		return actor
	}
	// The prefix: '.' stops at a newline, so the first marker must be on
	// the first line; [^/]* then runs to the first '/' after it.
	prefix := ""
	if !strings.Contains(actor[:i], "\n") {
		j := i + len(marker) + strings.IndexByte(actor[i+len(marker):], '/')
		prefix = actor[:j+1]
	}
	// The session: after the first '/' that follows a marker, to the end,
	// on one line; the first marker where that holds.
	session := ""
	for k := i; k >= 0; {
		rest := actor[k+len(marker):]
		if j := strings.IndexByte(rest, '/'); j >= 0 && !strings.Contains(rest[j+1:], "\n") {
			session = rest[j+1:]
			break
		}
		next := strings.Index(actor[k+1:], marker)
		if next < 0 {
			break
		}
		k += 1 + next
	}
	// Its leading '-'-separated parts that are not empty and hold no digit.
	n := 0
	for part := range strings.SplitSeq(session, "-") {
		if part == "" || strings.ContainsAny(part, "0123456789") {
			break
		}
		n += len(part) + 1
	}
	return prefix + session[:max(n-1, 0)]
}

// relatedTypes returns the resourceType of each relationship of the AWS
// Config item in attrs (configPaths) that names an AWS resource type
// (AWS::...), as DuckDB's json_extract_string(attrs,
// '$...relationships[*].resourceType') does: keys match exactly, and an
// element without a string resourceType gives none.
func relatedTypes(attrs string) []string {
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(attrs), &top) != nil {
		return nil
	}
	var out []string
	for _, path := range configPaths {
		raw := top[path[0]]
		for _, key := range path[1:] {
			var obj map[string]json.RawMessage
			if raw == nil || json.Unmarshal(raw, &obj) != nil {
				raw = nil
				break
			}
			raw = obj[key]
		}
		var rels []json.RawMessage
		if raw == nil || json.Unmarshal(raw, &rels) != nil {
			continue
		}
		for _, rel := range rels {
			var obj map[string]json.RawMessage
			var rt string
			if json.Unmarshal(rel, &obj) != nil || json.Unmarshal(obj["resourceType"], &rt) != nil {
				continue
			}
			if strings.HasPrefix(rt, "AWS::") {
				out = append(out, rt)
			}
		}
	}
	return out
}

// Relevant returns r with the fields DependencyEvidence does not read for
// it cleared, and whether it can carry evidence at all. Rows with equal
// Relevant rows have equal evidence, so a caller that sees the same error
// thousands of times parses it once.
func (r EvidenceRow) Relevant() (EvidenceRow, bool) {
	errRow := r.Kind == KindError && r.HasService && r.Source != SourceCloudTrail
	cfg := r.Source == SourceConfig && r.HasService
	role := r.Source == SourceCloudTrail && r.HasService && r.HasActor
	assoc := (r.Kind == KindChange && r.HasService && r.Service == "elasticloadbalancing") || r.Source == SourceAlarm
	if !errRow && !cfg && !role && !assoc {
		return EvidenceRow{}, false
	}
	k := EvidenceRow{Source: r.Source, Kind: r.Kind, Service: r.Service, HasService: r.HasService}
	if errRow {
		k.Peer, k.HasPeer = r.Peer, r.HasPeer
		k.Message, k.HasMessage = r.Message, r.HasMessage
	}
	if role {
		k.Actor, k.HasActor = r.Actor, r.HasActor
	}
	if assoc {
		k.Region, k.HasRegion = r.Region, r.HasRegion
	}
	if cfg || assoc || (errRow && r.HasPeer && r.Source != SourceCloudWatch) {
		k.Attributes, k.HasAttrs = r.Attributes, r.HasAttrs
	}
	return k, true
}
