package transform

import (
	"net"
	"net/url"
	"strings"
)

// What a host name, URL or ARN names: the service behind it and, when the
// name identifies one, the concrete resource. The correlation builds its
// dependency graph from these (queries/topology.go), and the decoders use
// Ref.Service as the peer_service column.
//
// Resource keys have the shape "<service>:<region>:<type>/<name>", region
// empty for global resources: "elasticloadbalancing:us-east-1:loadbalancer/cart-alb",
// "dynamodb:eu-west-1:table/orders", "iam::role/cart-task-role",
// "s3::bucket/invoices", "dns::record/cart-db.internal.example.com". The
// same resource gets the same key whether it is seen as a DNS name in an
// error (internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com) or as an
// ARN in a change (arn:aws:elasticloadbalancing:us-east-1:...:loadbalancer/app/cart-alb/50dc6c495c0c9188),
// so a change on that resource meets the errors that name it. Per-request
// and per-deployment ids (the number in an ELB DNS name, the hex id of a
// load balancer ARN, a session name) are never part of a key, and a region
// or an id alone is never a service.

// Ref is what a name refers to.
type Ref struct {
	Service  string // AWS service (as in CloudTrail's eventSource: elasticloadbalancing, dynamodb, rds ...) or application service; "" if none
	Resource string // resource key, "" when the name identifies no single resource
}

// hostServiceAliases maps endpoint prefixes to the service names CloudTrail
// uses in eventSource (changes carry those).
var hostServiceAliases = map[string]string{
	"execute-api": "apigateway", "elb": "elasticloadbalancing", "email": "ses", "api.ecr": "ecr",
	"streams.dynamodb": "dynamodb", "runtime.sagemaker": "sagemaker", "bedrock-runtime": "bedrock",
	"data.iot": "iot", "s3-control": "s3", "s3-external-1": "s3", "queue": "sqs", "lambda-url": "lambda",
	"ddb": "dynamodb",
}

// ParseHost names the service (and resource) behind a host name, with or
// without a port: AWS endpoints and resource DNS names (load balancers,
// RDS, S3 virtual-host buckets, API Gateway, CloudFront, Lambda function
// URLs, ElastiCache, OpenSearch), Kubernetes service names
// (payments.prod.svc.cluster.local) and private or public DNS names
// (cart-db.internal.example.com: the first label as a service, the name as
// a DNS record). An IP address, a region or an id-like name gives Ref{}.
func ParseHost(host string) Ref {
	h := normHost(host)
	if h == "" || h == "localhost" || strings.HasSuffix(h, ".localhost") || net.ParseIP(h) != nil || strings.ContainsAny(h, " /@_") {
		return Ref{}
	}
	if r, ok := awsHost(h); ok {
		return r
	}
	labels := strings.Split(h, ".")
	first := labels[0]
	switch {
	case strings.HasSuffix(h, ".cloudfront.net") && len(labels) == 3:
		return Ref{Service: "cloudfront", Resource: "cloudfront::distribution/" + first}
	case strings.HasSuffix(h, ".svc.cluster.local") || len(labels) == 3 && labels[2] == "svc":
		// Kubernetes: <service>.<namespace>.svc[.cluster.local]
		return Ref{Service: nodeName(first)}
	case strings.HasSuffix(h, ".ec2.internal") || strings.HasSuffix(h, ".compute.internal"):
		return Ref{Service: "ec2"} // an instance's private name
	case len(labels) == 1:
		return Ref{Service: nodeName(first)}
	}
	// Any other DNS name: the first label names the service behind it
	// (payments.internal, cart-db.internal.example.com), and the name itself
	// is a DNS record a change may touch.
	return Ref{Service: nodeName(first), Resource: "dns::record/" + h}
}

// normHost lower-cases a host, drops a port, brackets and a trailing dot.
func normHost(host string) string {
	h := strings.TrimSpace(host)
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
		if j := strings.IndexAny(h, "/?#"); j >= 0 {
			h = h[:j]
		}
		if j := strings.LastIndexByte(h, '@'); j >= 0 {
			h = h[j+1:]
		}
	}
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// awsHost parses the AWS host names: <...>.amazonaws.com(.cn), <...>.api.aws
// and <...>.on.aws.
func awsHost(h string) (Ref, bool) {
	var rest string
	switch {
	case strings.HasSuffix(h, ".amazonaws.com"):
		rest = strings.TrimSuffix(h, ".amazonaws.com")
	case strings.HasSuffix(h, ".amazonaws.com.cn"):
		rest = strings.TrimSuffix(h, ".amazonaws.com.cn")
	case strings.HasSuffix(h, ".api.aws"):
		rest = strings.TrimSuffix(h, ".api.aws")
	case strings.HasSuffix(h, ".on.aws"):
		// Lambda function URLs: <url-id>.lambda-url.<region>.on.aws
		l := strings.Split(strings.TrimSuffix(h, ".on.aws"), ".")
		if len(l) == 3 && l[1] == "lambda-url" && isRegion(l[2]) {
			return Ref{Service: "lambda", Resource: "lambda:" + l[2] + ":url/" + l[0]}, true
		}
		return Ref{}, true
	default:
		return Ref{}, false
	}
	l := strings.Split(rest, ".")
	n := len(l)
	// Load balancers.
	//   ALB / classic: [dualstack.][internal-]<name>-<number>.<region>.elb
	//   NLB:           <name>-<hex id>.elb.<region>
	if n >= 3 && l[n-1] == "elb" && isRegion(l[n-2]) {
		if name := lbName(l[n-3]); name != "" {
			return Ref{Service: "elasticloadbalancing", Resource: "elasticloadbalancing:" + l[n-2] + ":loadbalancer/" + name}, true
		}
		return Ref{Service: "elasticloadbalancing"}, true
	}
	if n >= 3 && l[n-2] == "elb" && isRegion(l[n-1]) {
		if name := lbName(l[n-3]); name != "" {
			return Ref{Service: "elasticloadbalancing", Resource: "elasticloadbalancing:" + l[n-1] + ":loadbalancer/" + name}, true
		}
		return Ref{Service: "elasticloadbalancing"}, true
	}
	if n == 2 && l[0] == "elasticloadbalancing" && isRegion(l[1]) {
		return Ref{Service: "elasticloadbalancing"}, true
	}
	// RDS / Aurora: <name>.cluster-[ro-]<id>.<region>.rds, <name>.<id>.<region>.rds,
	// <name>.proxy-<id>.<region>.rds
	if n == 4 && l[3] == "rds" && isRegion(l[2]) {
		name, id := l[0], l[1]
		switch {
		case strings.HasPrefix(id, "cluster-"):
			return Ref{Service: "rds", Resource: "rds:" + l[2] + ":cluster/" + name}, true
		case strings.HasPrefix(id, "proxy-"):
			return Ref{Service: "rds", Resource: "rds:" + l[2] + ":db-proxy/" + name}, true
		}
		return Ref{Service: "rds", Resource: "rds:" + l[2] + ":db/" + name}, true
	}
	// API Gateway: <api id>.execute-api.<region>
	if n == 3 && l[1] == "execute-api" && isRegion(l[2]) {
		return Ref{Service: "apigateway", Resource: "apigateway:" + l[2] + ":restapi/" + l[0]}, true
	}
	// ElastiCache: <name>.<id>.[ng.]<nnnn>.<region short>.cache, clustercfg.<name>.<id>.<short>.cache
	if l[n-1] == "cache" && n >= 4 {
		name := l[0]
		if name == "clustercfg" || name == "master" || name == "replica" {
			name = l[1]
		}
		if name = nodeName(name); name != "" {
			return Ref{Service: "elasticache", Resource: "elasticache::cluster/" + name}, true
		}
		return Ref{Service: "elasticache"}, true
	}
	// OpenSearch: search-<domain>-<id>.<region>.es, vpc-<domain>-<id>.<region>.es
	if n == 3 && l[2] == "es" && isRegion(l[1]) {
		d := l[0]
		d = strings.TrimPrefix(strings.TrimPrefix(d, "search-"), "vpc-")
		if i := strings.LastIndexByte(d, '-'); i > 0 {
			d = d[:i]
		}
		if d != "" {
			return Ref{Service: "es", Resource: "es:" + l[1] + ":domain/" + d}, true
		}
		return Ref{Service: "es"}, true
	}
	// S3: <bucket>.s3[.-<region>|.dualstack.<region>|.<region>], s3[.<region>],
	// <bucket>.s3-website[-.]<region>, s3-accesspoint
	for i := n - 1; i >= 0; i-- {
		x := l[i]
		if x == "s3-control" || x == "s3-accesspoint" || x == "s3-outposts" {
			return Ref{Service: "s3"}, true
		}
		if x == "s3" || x == "s3-external-1" || x == "s3-fips" || strings.HasPrefix(x, "s3-website") || strings.HasPrefix(x, "s3-") && isRegion(x[3:]) {
			if i == 0 {
				return Ref{Service: "s3"}, true
			}
			return Ref{Service: "s3", Resource: "s3::bucket/" + strings.Join(l[:i], ".")}, true
		}
	}
	// EC2 public names: ec2-54-1-2-3.compute-1, ec2-54-1-2-3.eu-west-1.compute
	if strings.HasPrefix(l[n-1], "compute") {
		return Ref{Service: "ec2"}, true
	}
	// Interface VPC endpoints: vpce-<id>[-<az>].<service>.<region>.vpce
	if n >= 4 && l[n-1] == "vpce" && isRegion(l[n-2]) {
		return Ref{Service: awsServiceName(strings.Join(l[1:n-2], "."))}, true
	}
	// MSK: b-1.<cluster>.<id>.c2.kafka.<region>
	if n >= 3 && l[n-2] == "kafka" && isRegion(l[n-1]) {
		if n >= 5 {
			if c := nodeName(l[1]); c != "" {
				return Ref{Service: "kafka", Resource: "kafka:" + l[n-1] + ":cluster/" + c}, true
			}
		}
		return Ref{Service: "kafka"}, true
	}
	// Legacy SQS: <region>.queue
	if n == 2 && l[1] == "queue" && isRegion(l[0]) {
		return Ref{Service: "sqs"}, true
	}
	// Service endpoints: <service>[-fips].<region>, <service>, <prefix>.<service>.<region>
	end := n
	if end > 1 && isRegion(l[end-1]) {
		end--
	}
	if end == 0 {
		return Ref{}, true
	}
	return Ref{Service: awsServiceName(strings.Join(l[:end], "."))}, true
}

// awsServiceName maps an endpoint prefix to CloudTrail's service name.
func awsServiceName(p string) string {
	p = strings.TrimSuffix(p, "-fips")
	if a, ok := hostServiceAliases[p]; ok {
		return a
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 { // runtime.lex -> lex
		p = p[i+1:]
		if a, ok := hostServiceAliases[p]; ok {
			return a
		}
	}
	return nodeName(p)
}

// lbName extracts a load balancer's name from the first label of its DNS
// name: internal-cart-alb-1234567890 -> cart-alb, orders-nlb-0123456789abcdef -> orders-nlb.
func lbName(label string) string {
	label = strings.TrimPrefix(label, "dualstack.")
	label = strings.TrimPrefix(label, "internal-")
	i := strings.LastIndexByte(label, '-')
	if i <= 0 {
		return ""
	}
	if id := label[i+1:]; !allHexDigits(id) || len(id) < 6 {
		return ""
	}
	return label[:i]
}

// ParseURL names the service and resource behind a URL: its host, and for
// AWS APIs whose resource is in the path the resource (SQS queue URLs,
// Lambda Invoke, S3 path-style requests). A bare host is parsed as a host.
func ParseURL(raw string) Ref {
	raw = strings.TrimSpace(raw)
	if !strings.Contains(raw, "://") {
		return ParseHost(raw)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Ref{}
	}
	r := ParseHost(u.Host)
	h := normHost(u.Host)
	seg := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	region := ""
	for _, l := range strings.Split(h, ".") {
		if isRegion(l) {
			region = l
		}
	}
	switch {
	case r.Service == "sqs" && len(seg) >= 2 && isDigits(seg[0]) && seg[1] != "":
		return Ref{Service: "sqs", Resource: "sqs:" + region + ":queue/" + seg[1]}
	case r.Service == "lambda" && len(seg) >= 3 && seg[1] == "functions":
		fn, _ := url.PathUnescape(seg[2])
		if a := ParseARN(fn); a.Resource != "" {
			return a
		}
		return Ref{Service: "lambda", Resource: "lambda:" + region + ":function/" + fn}
	case r.Service == "s3" && r.Resource == "" && len(seg) >= 1 && seg[0] != "":
		return Ref{Service: "s3", Resource: "s3::bucket/" + seg[0]}
	}
	return r
}

// ParseARN names the service and resource of an ARN. Sub-resources name
// their parent where the parent is what clients call: a listener or a rule
// names its load balancer, a DynamoDB index or stream its table, an
// assumed-role session its role, a Lambda alias its function.
func ParseARN(arn string) Ref {
	p := strings.SplitN(strings.TrimSpace(arn), ":", 6)
	if len(p) < 6 || p[0] != "arn" || p[2] == "" {
		return Ref{}
	}
	svc, region, res := strings.ToLower(p[2]), p[3], p[5]
	if nodeName(svc) == "" {
		return Ref{}
	}
	key := func(typ, name string) Ref {
		if name == "" {
			return Ref{Service: svc}
		}
		return Ref{Service: svc, Resource: svc + ":" + region + ":" + typ + "/" + name}
	}
	typ, rest := splitResource(res)
	switch svc {
	case "elasticloadbalancing":
		parts := strings.Split(rest, "/")
		switch typ {
		case "loadbalancer", "listener", "listener-rule":
			// loadbalancer/app/<name>/<id>, loadbalancer/<classic name>, listener/app/<name>/<lb id>/<id>
			if len(parts) >= 2 && (parts[0] == "app" || parts[0] == "net" || parts[0] == "gwy") {
				return key("loadbalancer", parts[1])
			}
			return key("loadbalancer", parts[0])
		case "targetgroup":
			return key("targetgroup", parts[0])
		}
		return Ref{Service: svc}
	case "dynamodb":
		if typ == "table" {
			name, _, _ := strings.Cut(rest, "/")
			return key("table", name)
		}
		return Ref{Service: svc}
	case "sqs", "sns":
		if res == "" || strings.Contains(res, "/") {
			return Ref{Service: svc}
		}
		t := "queue"
		if svc == "sns" {
			t = "topic"
			res, _, _ = strings.Cut(res, ":") // subscription ARNs: topic:<id>
		}
		return key(t, res)
	case "s3":
		bucket, _, _ := strings.Cut(res, "/")
		if bucket == "" || strings.Contains(res, ":") { // accesspoint/..., job/...
			return Ref{Service: svc}
		}
		return Ref{Service: svc, Resource: "s3::bucket/" + bucket}
	case "lambda":
		if typ == "function" {
			name, _, _ := strings.Cut(rest, ":")
			return key("function", name)
		}
		return Ref{Service: svc}
	case "iam", "sts":
		// role/path/name, assumed-role/name/session: the role
		switch typ {
		case "role":
			seg := strings.Split(rest, "/")
			return Ref{Service: "iam", Resource: "iam::role/" + seg[len(seg)-1]}
		case "assumed-role":
			name, _, _ := strings.Cut(rest, "/")
			if name == "" {
				return Ref{Service: "iam"}
			}
			return Ref{Service: "iam", Resource: "iam::role/" + name}
		case "policy", "user", "group", "instance-profile":
			seg := strings.Split(rest, "/")
			return Ref{Service: "iam", Resource: "iam::" + typ + "/" + seg[len(seg)-1]}
		}
		return Ref{Service: "iam"}
	case "rds":
		if typ == "cluster" || typ == "db" || typ == "db-proxy" {
			return key(typ, rest)
		}
		return Ref{Service: svc}
	case "secretsmanager":
		if typ == "secret" {
			// secret:<name>-<6 random characters>
			name := rest
			if i := strings.LastIndexByte(name, '-'); i > 0 && len(name)-i == 7 {
				name = name[:i]
			}
			return key("secret", name)
		}
		return Ref{Service: svc}
	case "apigateway", "execute-api":
		// arn:aws:apigateway:us-east-1::/restapis/<id>/stages/prod; arn:aws:execute-api:us-east-1:acct:<id>/stage/GET/path
		seg := strings.Split(strings.TrimPrefix(res, "/"), "/")
		if len(seg) >= 2 && (seg[0] == "restapis" || seg[0] == "apis") {
			return Ref{Service: "apigateway", Resource: "apigateway:" + region + ":restapi/" + seg[1]}
		}
		if svc == "execute-api" && seg[0] != "" {
			return Ref{Service: "apigateway", Resource: "apigateway:" + region + ":restapi/" + seg[0]}
		}
		return Ref{Service: "apigateway"}
	case "autoscaling":
		// autoScalingGroup:<uuid>:autoScalingGroupName/<name>
		if _, name, ok := strings.Cut(res, "autoScalingGroupName/"); ok {
			return key("autoscalinggroup", name)
		}
		return Ref{Service: svc}
	case "route53":
		if typ == "hostedzone" {
			return Ref{Service: svc, Resource: "route53::hostedzone/" + rest}
		}
		return Ref{Service: svc}
	}
	if typ == "" || rest == "" {
		return Ref{Service: svc}
	}
	name := rest
	if i := strings.IndexAny(name, "/:"); i >= 0 {
		name = name[:i]
	}
	return key(typ, name)
}

// splitResource splits an ARN's resource part into type and the rest:
// "table/orders" -> table, orders; "function:f:prod" -> function, f:prod;
// "orders" -> "", orders.
func splitResource(res string) (string, string) {
	i := strings.IndexAny(res, "/:")
	if i < 0 {
		return "", res
	}
	return res[:i], res[i+1:]
}

// RefService names the service of an AWS SDK rpc.service attribute
// (OpenTelemetry rpc.system "aws-api": "DynamoDB", "S3", "SQS") or of a
// db.system ("dynamodb"): the CloudTrail service name, lower case.
func RefService(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "", "other_sql", "other":
		return ""
	case "dynamodb_20120810", "dynamodbstreams":
		return "dynamodb"
	case "elasticloadbalancingv2", "elastic load balancing v2":
		return "elasticloadbalancing"
	case "cloudwatch":
		return "monitoring"
	case "cloudwatchlogs", "cloudwatch logs":
		return "logs"
	case "sfn":
		return "states"
	case "secrets manager":
		return "secretsmanager"
	case "api gateway":
		return "apigateway"
	}
	n = strings.ReplaceAll(n, " ", "")
	return nodeName(n)
}

// nodeName returns s when it can name a service: a DNS-style label that is
// neither a region nor an id (numbers, hex or UUID-like strings, an ELB
// name's per-deployment number); else "".
func nodeName(s string) string {
	if !isLabel(s) || isRegion(s) || looksLikeID(s) {
		return ""
	}
	return s
}

// isLabel reports a DNS-style label: letters, digits, '-' and '_' (a few
// dots allowed for names such as runtime.lex), not starting with '-'.
func isLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// isRegion reports an AWS region name: us-east-1, eu-central-2,
// us-gov-west-1, cn-northwest-1, ap-southeast-5, il-central-1.
func isRegion(s string) bool {
	p := strings.Split(s, "-")
	if len(p) < 3 || len(p) > 4 || len(p[0]) != 2 || !isDigits(p[len(p)-1]) || len(p[len(p)-1]) > 2 {
		return false
	}
	switch p[len(p)-2] {
	case "east", "west", "north", "south", "central", "northeast", "northwest", "southeast", "southwest":
	default:
		return false
	}
	return len(p) == 3 || p[1] == "gov" || strings.HasPrefix(p[1], "iso")
}

// looksLikeID reports names that identify one request, task or deployment
// rather than a service: all digits, long hex strings with digits, UUIDs,
// or a name ending in a long number (internal-cart-alb-1234567890).
func looksLikeID(s string) bool {
	if isDigits(s) {
		return true
	}
	if len(s) >= 8 && allHexDigits(strings.ReplaceAll(s, "-", "")) && strings.ContainsAny(s, "0123456789") {
		return true
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		tail := s[i+1:]
		if len(tail) >= 6 && isDigits(tail) {
			return true
		}
		if len(tail) >= 12 && allHexDigits(tail) && strings.ContainsAny(tail, "0123456789") {
			return true
		}
	}
	for _, p := range []string{"i-0", "eni-", "vpce-", "sg-0", "subnet-", "vol-", "ip-1", "ip-172-", "ip-192-"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func allHexDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
