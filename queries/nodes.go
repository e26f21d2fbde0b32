package queries

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/faultline/faultline/transform"
)

// changeNodes returns the resource keys (transform.Ref.Resource) a change
// touched: its resource column, the ARNs anywhere in its request and
// response, and the names its request parameters give (a Route 53 record
// set, a role, a table, a function, a queue URL, a load balancer or target
// group name ...). The caller's identity (userIdentity) is not what it
// changed and is skipped.
func changeNodes(region, resource, attributes string) []string {
	set := map[string]bool{}
	add := func(r transform.Ref) {
		if r.Resource != "" {
			set[r.Resource] = true
		}
	}
	add(transform.ParseARN(resource))
	if attributes != "" && attributes != "{}" {
		var v any
		if json.Unmarshal([]byte(attributes), &v) == nil {
			walkNodes(v, region, "", add, 0)
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// skipKeys are attribute members that describe who called, how, or the
// envelope, not what was changed.
var skipKeys = map[string]bool{
	"userIdentity": true, "sessionContext": true, "tlsDetails": true, "eventbridge": true, "userAgent": true,
	"sourceIPAddress": true, "sourceIpAddress": true, "vpcEndpointId": true, "additionalEventData": true,
}

// walkNodes visits a decoded JSON value and adds what its strings name.
func walkNodes(v any, region, key string, add func(transform.Ref), depth int) {
	if depth > 12 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if skipKeys[k] {
				continue
			}
			walkNodes(val, region, k, add, depth+1)
		}
	case []any:
		for _, val := range x {
			walkNodes(val, region, key, add, depth+1)
		}
	case string:
		add(namedNode(key, x, region))
	}
}

// namedNode returns what one string member names: any ARN, an AWS host
// name or URL, or a name under a well-known request parameter.
func namedNode(key, val, region string) transform.Ref {
	val = strings.TrimSpace(val)
	if val == "" {
		return transform.Ref{}
	}
	if strings.HasPrefix(val, "arn:") {
		return transform.ParseARN(val)
	}
	if strings.Contains(val, "://") {
		return transform.ParseURL(val)
	}
	name := strings.ToLower(strings.TrimSuffix(val, "."))
	key2 := func(svc, typ string) transform.Ref {
		return transform.Ref{Service: svc, Resource: svc + ":" + region + ":" + typ + "/" + val}
	}
	switch key {
	case "name":
		// Route 53 resourceRecordSet.name (and a few other APIs' names: only a
		// DNS-looking one is taken)
		if strings.Count(name, ".") >= 1 && !strings.ContainsAny(name, " /:") {
			return transform.Ref{Service: "route53", Resource: "dns::record/" + strings.TrimPrefix(name, `\052.`)}
		}
	case "dNSName", "dnsName", "DNSName":
		if strings.Contains(name, ".") && !strings.ContainsAny(name, " /") {
			return transform.ParseHost(name)
		}
	case "roleName":
		return transform.Ref{Service: "iam", Resource: "iam::role/" + val}
	case "functionName":
		return key2("lambda", "function")
	case "tableName":
		return key2("dynamodb", "table")
	case "queueUrl":
		return transform.ParseURL(val)
	case "queueName":
		return key2("sqs", "queue")
	case "bucketName", "bucket":
		return transform.Ref{Service: "s3", Resource: "s3::bucket/" + val}
	case "loadBalancerName":
		return key2("elasticloadbalancing", "loadbalancer")
	case "targetGroupName":
		return key2("elasticloadbalancing", "targetgroup")
	case "dBClusterIdentifier":
		return transform.Ref{Service: "rds", Resource: "rds:" + region + ":cluster/" + name}
	case "dBInstanceIdentifier":
		return transform.Ref{Service: "rds", Resource: "rds:" + region + ":db/" + name}
	case "restApiId", "apiId":
		return key2("apigateway", "restapi")
	case "hostedZoneId":
		return transform.Ref{Service: "route53", Resource: "route53::hostedzone/" + strings.TrimPrefix(val, "/hostedzone/")}
	case "secretId":
		return key2("secretsmanager", "secret")
	}
	return transform.Ref{}
}

// namedBy reports whether one of the services depends on node directly,
// or through a resource it depends on directly (cart -> its load balancer
// -> the target group behind it); not through another application service.
func namedBy(g graph, services []string, node string) bool {
	for _, b := range services {
		if g.dependsOn(b, node) {
			return true
		}
		for _, r := range g.deps[b] {
			if strings.Contains(r, ":") && g.dependsOn(r, node) {
				return true
			}
		}
	}
	return false
}

// resourceType is the service and type of a resource key, without region
// and name: "elasticloadbalancing:us-east-1:loadbalancer/cart-alb" ->
// "elasticloadbalancing:loadbalancer".
func resourceType(key string) string {
	svc, rest, ok := strings.Cut(key, ":")
	if !ok {
		return ""
	}
	_, rest, _ = strings.Cut(rest, ":")
	typ, _, _ := strings.Cut(rest, "/")
	return svc + ":" + typ
}

// describeNode names a resource key in words: "load balancer cart-alb".
func describeNode(key string) string {
	kind, name := nodeWords(key)
	if name == "" {
		return key
	}
	return kind + " " + name
}

// nodeWords splits a resource key into its kind in words and its name:
// "elasticloadbalancing:us-east-1:loadbalancer/cart-alb" -> "load balancer", "cart-alb".
func nodeWords(key string) (kind, name string) {
	_, rest, ok := strings.Cut(key, ":")
	if !ok {
		return "", ""
	}
	_, rest, _ = strings.Cut(rest, ":")
	typ, name, ok := strings.Cut(rest, "/")
	if !ok {
		return "", ""
	}
	words := map[string]string{"loadbalancer": "load balancer", "targetgroup": "target group", "record": "DNS record",
		"autoscalinggroup": "auto scaling group", "restapi": "API", "db": "database", "db-proxy": "database proxy"}
	if w, ok := words[typ]; ok {
		typ = w
	}
	return typ, name
}

// nodeMatch is what the topology says about one change for one incident,
// beyond its service: the nearest resource it touched that a broken
// service depends on, or that it touched resources of a kind the broken
// services use, but not theirs.
type nodeMatch struct {
	node    string         // the touched resource the broken services reach ("" = none)
	dist    int            // its distance from the nearest broken service (-1 = none)
	via     brokenDistance // which broken services reach it
	hit     bool           // node is named by the errors of a broken service: it depends on it directly, or through a resource of its (a load balancer's target group)
	sibling bool           // the change touched resources of a kind the broken services use, none of theirs
	kind    string         // that kind in words ("load balancer")
}

// changeMatches reads the candidate changes of a batch that may touch what
// the broken services depend on (their service is a reached node, or the
// service of a reached resource), parses what each touched, and returns the
// matches per incident and event id. reach holds each incident's reachable
// nodes with their distance from its roots.
func (e *Engine) changeMatches(ctx context.Context, s *session, g graph, reach map[string]map[string]int, roots map[string][]string, params map[string]any) (map[[2]string]nodeMatch, error) {
	// Only the services of reached resources: a change can meet a resource
	// node (or be a sibling of one) only if some resource is reached, and
	// the service-level distance needs no parsing.
	svcs := map[string]bool{}
	types := map[string]map[string]bool{} // incident -> resource types reached
	for inc, nodes := range reach {
		types[inc] = map[string]bool{}
		for n := range nodes {
			if !strings.Contains(n, ":") {
				continue
			}
			types[inc][resourceType(n)] = true
			svc, _, _ := strings.Cut(n, ":")
			svcs[svc] = true
			if svc == "dns" {
				svcs["route53"], svcs["servicediscovery"] = true, true
			}
		}
	}
	out := map[[2]string]nodeMatch{}
	if len(svcs) == 0 {
		return out, nil
	}
	list := make([]string, 0, len(svcs))
	for k := range svcs {
		list = append(list, k)
	}
	sort.Strings(list)
	p := map[string]any{"chg_from": params["chg_from"], "chg_to": params["chg_to"], "svcs": list}
	rows, err := s.query(ctx, "change_nodes", sqlText("change_nodes"), p)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, region, resource, attrs string
		if err := rows.Scan(&id, &region, &resource, &attrs); err != nil {
			return nil, fmt.Errorf("read change nodes: %w", err)
		}
		nodes := changeNodes(region, resource, attrs)
		if len(nodes) == 0 {
			continue
		}
		for inc, dist := range reach {
			m := nodeMatch{dist: -1}
			for _, n := range nodes {
				if d, ok := dist[n]; ok && (m.dist < 0 || d < m.dist) {
					m.node, m.dist = n, d
				}
			}
			if m.dist < 0 {
				for _, n := range nodes {
					if types[inc][resourceType(n)] && !m.sibling {
						m.sibling = true
						m.kind, _ = nodeWords(n)
					}
				}
				if !m.sibling {
					continue
				}
			} else {
				m.via = e.distanceTo(g, roots[inc], m.node)
				m.hit = namedBy(g, roots[inc], m.node)
			}
			out[[2]string{inc, id}] = m
		}
	}
	return out, rows.Err()
}
