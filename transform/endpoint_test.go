package transform

import "testing"

// Real-shaped host names: what an application's server.address, a URL or an
// error message names, and the node the topology gets from it.
func TestParseHost(t *testing.T) {
	tests := []struct {
		host string
		want Ref
	}{
		// Load balancers: the name, never the number, the region or "internal".
		{"internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com", Ref{"elasticloadbalancing", "elasticloadbalancing:us-east-1:loadbalancer/cart-alb"}},
		{"internal-cart-alb-198820557.us-east-1.elb.amazonaws.com:443", Ref{"elasticloadbalancing", "elasticloadbalancing:us-east-1:loadbalancer/cart-alb"}},
		{"my-web-lb-2098765432.eu-west-1.elb.amazonaws.com", Ref{"elasticloadbalancing", "elasticloadbalancing:eu-west-1:loadbalancer/my-web-lb"}},
		{"dualstack.internal-api-gw-v2-753159852.us-west-2.elb.amazonaws.com.", Ref{"elasticloadbalancing", "elasticloadbalancing:us-west-2:loadbalancer/api-gw-v2"}},
		{"orders-nlb-0123456789abcdef.elb.us-east-1.amazonaws.com", Ref{"elasticloadbalancing", "elasticloadbalancing:us-east-1:loadbalancer/orders-nlb"}},
		{"legacy-1234567.cn-north-1.elb.amazonaws.com.cn", Ref{"elasticloadbalancing", "elasticloadbalancing:cn-north-1:loadbalancer/legacy"}},
		{"elasticloadbalancing.us-east-1.amazonaws.com", Ref{"elasticloadbalancing", ""}},
		// Service endpoints.
		{"dynamodb.us-east-1.amazonaws.com", Ref{"dynamodb", ""}},
		{"dynamodb-fips.us-gov-west-1.amazonaws.com", Ref{"dynamodb", ""}},
		{"123456789012.ddb.us-east-1.amazonaws.com", Ref{"dynamodb", ""}},
		{"sqs.eu-central-1.amazonaws.com", Ref{"sqs", ""}},
		{"eu-west-1.queue.amazonaws.com", Ref{"sqs", ""}},
		{"secretsmanager.ap-southeast-2.amazonaws.com", Ref{"secretsmanager", ""}},
		{"sts.amazonaws.com", Ref{"sts", ""}},
		{"iam.amazonaws.com", Ref{"iam", ""}},
		{"lambda.us-east-1.amazonaws.com", Ref{"lambda", ""}},
		{"runtime.sagemaker.us-east-1.amazonaws.com", Ref{"sagemaker", ""}},
		{"api.ecr.us-east-1.amazonaws.com", Ref{"ecr", ""}},
		{"monitoring.us-east-1.amazonaws.com", Ref{"monitoring", ""}},
		{"dynamodb.us-east-1.api.aws", Ref{"dynamodb", ""}},
		{"vpce-0a1b2c3d4e5f67890-abcdefgh.secretsmanager.us-east-1.vpce.amazonaws.com", Ref{"secretsmanager", ""}},
		// RDS and Aurora.
		{"cart-db.cluster-c9akciq32.us-east-1.rds.amazonaws.com", Ref{"rds", "rds:us-east-1:cluster/cart-db"}},
		{"cart-db.cluster-ro-c9akciq32.us-east-1.rds.amazonaws.com:5432", Ref{"rds", "rds:us-east-1:cluster/cart-db"}},
		{"orders-replica.c9akciq32xyz.eu-west-1.rds.amazonaws.com", Ref{"rds", "rds:eu-west-1:db/orders-replica"}},
		{"app-proxy.proxy-c9akciq32xyz.us-east-1.rds.amazonaws.com", Ref{"rds", "rds:us-east-1:db-proxy/app-proxy"}},
		// S3: virtual-host buckets (dots allowed), path style without a bucket.
		{"invoices.s3.us-east-1.amazonaws.com", Ref{"s3", "s3::bucket/invoices"}},
		{"invoices.s3.amazonaws.com", Ref{"s3", "s3::bucket/invoices"}},
		{"my.dotted.bucket.s3.dualstack.eu-west-1.amazonaws.com", Ref{"s3", "s3::bucket/my.dotted.bucket"}},
		{"s3-backups.s3-us-west-2.amazonaws.com", Ref{"s3", "s3::bucket/s3-backups"}},
		{"site.s3-website-us-east-1.amazonaws.com", Ref{"s3", "s3::bucket/site"}},
		{"s3.us-east-1.amazonaws.com", Ref{"s3", ""}},
		{"reports-123456789012.s3-accesspoint.us-east-1.amazonaws.com", Ref{"s3", ""}},
		// API Gateway, CloudFront, Lambda function URLs, ElastiCache, OpenSearch, MSK.
		{"a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", Ref{"apigateway", "apigateway:us-east-1:restapi/a1b2c3d4e5"}},
		{"d111111abcdef8.cloudfront.net", Ref{"cloudfront", "cloudfront::distribution/d111111abcdef8"}},
		{"abcdefghijklmnopqrstuvwxyz123456.lambda-url.us-east-1.on.aws", Ref{"lambda", "lambda:us-east-1:url/abcdefghijklmnopqrstuvwxyz123456"}},
		{"sessions.abc123.ng.0001.use1.cache.amazonaws.com", Ref{"elasticache", "elasticache::cluster/sessions"}},
		{"clustercfg.sessions.abc123.use1.cache.amazonaws.com", Ref{"elasticache", "elasticache::cluster/sessions"}},
		{"search-products-abcdefghijkl.us-east-1.es.amazonaws.com", Ref{"es", "es:us-east-1:domain/products"}},
		{"b-1.events.a1b2c3.c2.kafka.us-east-1.amazonaws.com:9092", Ref{"kafka", "kafka:us-east-1:cluster/events"}},
		{"ec2-54-12-34-56.compute-1.amazonaws.com", Ref{"ec2", ""}},
		// Kubernetes, service discovery and private DNS.
		{"payments.prod.svc.cluster.local", Ref{"payments", ""}},
		{"payments.prod.svc.cluster.local:8443", Ref{"payments", ""}},
		{"payments.prod.svc", Ref{"payments", ""}},
		{"payments", Ref{"payments", ""}},
		{"payments:8443", Ref{"payments", ""}},
		{"cart-db.internal.example.com", Ref{"cart-db", "dns::record/cart-db.internal.example.com"}},
		{"inventory.us-east-1.svc.internal", Ref{"inventory", "dns::record/inventory.us-east-1.svc.internal"}},
		{"CART-DB.Internal.Example.COM.", Ref{"cart-db", "dns::record/cart-db.internal.example.com"}},
		{"ip-10-0-12-34.ec2.internal", Ref{"ec2", ""}},
		// Never a node: addresses, regions, ids.
		{"10.41.7.19", Ref{}},
		{"10.41.7.19:5432", Ref{}},
		{"[2001:db8::1]:443", Ref{}},
		{"us-east-1", Ref{}},
		{"4f9c1e0a-8b7d-4c2e-9f3a-1b2c3d4e5f60", Ref{}},
		{"1234567890", Ref{}},
		{"localhost", Ref{}},
		{"", Ref{}},
		{"not a host", Ref{}},
		{"i-0abc123def4567890.internal.example.com", Ref{"", "dns::record/i-0abc123def4567890.internal.example.com"}},
	}
	for _, tt := range tests {
		if got := ParseHost(tt.host); got != tt.want {
			t.Errorf("ParseHost(%q) = %+v, want %+v", tt.host, got, tt.want)
		}
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url  string
		want Ref
	}{
		{"https://sqs.us-east-1.amazonaws.com/123456789012/orders-queue", Ref{"sqs", "sqs:us-east-1:queue/orders-queue"}},
		{"https://sqs.us-east-1.amazonaws.com/", Ref{"sqs", ""}},
		{"https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/resize-image/invocations", Ref{"lambda", "lambda:us-east-1:function/resize-image"}},
		{"https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aresize-image/invocations", Ref{"lambda", "lambda:us-east-1:function/resize-image"}},
		{"https://s3.eu-west-1.amazonaws.com/invoices/2026/03/02/a.pdf", Ref{"s3", "s3::bucket/invoices"}},
		{"https://invoices.s3.eu-west-1.amazonaws.com/2026/a.pdf?versionId=3", Ref{"s3", "s3::bucket/invoices"}},
		{"https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/orders", Ref{"apigateway", "apigateway:us-east-1:restapi/a1b2c3d4e5"}},
		{"http://internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com/api/cart/42", Ref{"elasticloadbalancing", "elasticloadbalancing:us-east-1:loadbalancer/cart-alb"}},
		{"http://payments.prod.svc.cluster.local:8080/v1/charge", Ref{"payments", ""}},
		{"postgres://app:secret@cart-db.cluster-c9akciq32.us-east-1.rds.amazonaws.com:5432/cart", Ref{"rds", "rds:us-east-1:cluster/cart-db"}},
		{"dynamodb.us-east-1.amazonaws.com", Ref{"dynamodb", ""}},
		{"https://", Ref{}},
	}
	for _, tt := range tests {
		if got := ParseURL(tt.url); got != tt.want {
			t.Errorf("ParseURL(%q) = %+v, want %+v", tt.url, got, tt.want)
		}
	}
}

// Real-shaped ARNs: what changes touch and errors name.
func TestParseARN(t *testing.T) {
	tests := []struct {
		arn  string
		want Ref
	}{
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/cart-alb/50dc6c495c0c9188", Ref{"elasticloadbalancing", "elasticloadbalancing:us-east-1:loadbalancer/cart-alb"}},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/orders-nlb/0123456789abcdef", Ref{"elasticloadbalancing", "elasticloadbalancing:us-east-1:loadbalancer/orders-nlb"}},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/cart-alb/50dc6c495c0c9188/f2f7dc8efc522ab2", Ref{"elasticloadbalancing", "elasticloadbalancing:us-east-1:loadbalancer/cart-alb"}},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/cart-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee", Ref{"elasticloadbalancing", "elasticloadbalancing:us-east-1:loadbalancer/cart-alb"}},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/cart-tg/73e2d6bc24d8a067", Ref{"elasticloadbalancing", "elasticloadbalancing:us-east-1:targetgroup/cart-tg"}},
		{"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/legacy-web", Ref{"elasticloadbalancing", "elasticloadbalancing:eu-west-1:loadbalancer/legacy-web"}},
		{"arn:aws:dynamodb:us-east-1:123456789012:table/cart-table", Ref{"dynamodb", "dynamodb:us-east-1:table/cart-table"}},
		{"arn:aws:dynamodb:us-east-1:123456789012:table/cart-table/index/by-user", Ref{"dynamodb", "dynamodb:us-east-1:table/cart-table"}},
		{"arn:aws:dynamodb:us-east-1:123456789012:table/cart-table/stream/2026-03-02T09:00:00.000", Ref{"dynamodb", "dynamodb:us-east-1:table/cart-table"}},
		{"arn:aws:sqs:us-east-1:123456789012:orders-queue", Ref{"sqs", "sqs:us-east-1:queue/orders-queue"}},
		{"arn:aws:sns:us-east-1:123456789012:alerts", Ref{"sns", "sns:us-east-1:topic/alerts"}},
		{"arn:aws:s3:::invoices", Ref{"s3", "s3::bucket/invoices"}},
		{"arn:aws:s3:::invoices/2026/03/a.pdf", Ref{"s3", "s3::bucket/invoices"}},
		{"arn:aws:lambda:us-east-1:123456789012:function:resize-image", Ref{"lambda", "lambda:us-east-1:function/resize-image"}},
		{"arn:aws:lambda:us-east-1:123456789012:function:resize-image:prod", Ref{"lambda", "lambda:us-east-1:function/resize-image"}},
		{"arn:aws:iam::123456789012:role/cart-task-role", Ref{"iam", "iam::role/cart-task-role"}},
		{"arn:aws:iam::123456789012:role/service-role/cart-task-role", Ref{"iam", "iam::role/cart-task-role"}},
		{"arn:aws:sts::123456789012:assumed-role/cart-task-role/cart-8f3a2b1c9d0e", Ref{"iam", "iam::role/cart-task-role"}},
		{"arn:aws:iam::123456789012:policy/cart-secrets-read", Ref{"iam", "iam::policy/cart-secrets-read"}},
		{"arn:aws:rds:us-east-1:123456789012:cluster:cart-db", Ref{"rds", "rds:us-east-1:cluster/cart-db"}},
		{"arn:aws:rds:us-east-1:123456789012:db:orders-replica", Ref{"rds", "rds:us-east-1:db/orders-replica"}},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/cart-db-AbCdEf", Ref{"secretsmanager", "secretsmanager:us-east-1:secret/prod/cart-db"}},
		{"arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5/stages/prod", Ref{"apigateway", "apigateway:us-east-1:restapi/a1b2c3d4e5"}},
		{"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/orders", Ref{"apigateway", "apigateway:us-east-1:restapi/a1b2c3d4e5"}},
		{"arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ", Ref{"route53", "route53::hostedzone/Z0123456789ABCDEFGHIJ"}},
		{"arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:4f9c1e0a-8b7d-4c2e-9f3a-1b2c3d4e5f60:autoScalingGroupName/cart-asg", Ref{"autoscaling", "autoscaling:us-east-1:autoscalinggroup/cart-asg"}},
		{"arn:aws:ec2:us-east-1:123456789012:security-group/sg-0c8bf949da2ada2b2", Ref{"ec2", "ec2:us-east-1:security-group/sg-0c8bf949da2ada2b2"}},
		{"arn:aws-cn:dynamodb:cn-north-1:123456789012:table/orders", Ref{"dynamodb", "dynamodb:cn-north-1:table/orders"}},
		{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:cart-5xx-errors", Ref{"cloudwatch", "cloudwatch:us-east-1:alarm/cart-5xx-errors"}},
		{"arn:aws:health:us-east-1::event/DYNAMODB/AWS_DYNAMODB_OPERATIONAL_ISSUE/abc", Ref{"health", "health:us-east-1:event/DYNAMODB"}},
		{"not-an-arn", Ref{}},
		{"arn:aws", Ref{}},
	}
	for _, tt := range tests {
		if got := ParseARN(tt.arn); got != tt.want {
			t.Errorf("ParseARN(%q) = %+v, want %+v", tt.arn, got, tt.want)
		}
	}
}

// A DNS name in an error and the ARN of a change name the same node.
func TestHostAndARNMeet(t *testing.T) {
	pairs := [][2]string{
		{"internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com", "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/cart-alb/50dc6c495c0c9188/f2f7dc8efc522ab2"},
		{"orders-nlb-0123456789abcdef.elb.us-east-1.amazonaws.com", "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/orders-nlb/0123456789abcdef"},
		{"cart-db.cluster-c9akciq32.us-east-1.rds.amazonaws.com", "arn:aws:rds:us-east-1:123456789012:cluster:cart-db"},
		{"invoices.s3.us-east-1.amazonaws.com", "arn:aws:s3:::invoices"},
		{"a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5"},
	}
	for _, p := range pairs {
		h, a := ParseHost(p[0]), ParseARN(p[1])
		if h.Resource == "" || h.Resource != a.Resource {
			t.Errorf("%s -> %q but %s -> %q", p[0], h.Resource, p[1], a.Resource)
		}
	}
	// The same name in another region is another load balancer.
	if ParseHost("internal-cart-alb-1234567890.us-west-2.elb.amazonaws.com").Resource == ParseARN(pairs[0][1]).Resource {
		t.Error("a load balancer in us-west-2 matched one in us-east-1")
	}
}

func TestRefService(t *testing.T) {
	for in, want := range map[string]string{
		"DynamoDB": "dynamodb", "DynamoDB_20120810": "dynamodb", "S3": "s3", "SQS": "sqs", "Lambda": "lambda",
		"Secrets Manager": "secretsmanager", "CloudWatch": "monitoring", "postgresql": "postgresql", "": "", "us-east-1": "",
	} {
		if got := RefService(in); got != want {
			t.Errorf("RefService(%q) = %q, want %q", in, got, want)
		}
	}
}

// Host, URL and ARN parsing never panics, and never names a region or an id
// as a service.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"internal-cart-alb-1234567890.us-east-1.elb.amazonaws.com", "arn:aws:sts::1:assumed-role/r/s", "https://sqs.us-east-1.amazonaws.com/1/q",
		"a.s3.amazonaws.com", "us-east-1", "[::1]:80", "arn:aws:::::", "http://%zz", "x.y.z.elb.amazonaws.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range []Ref{ParseHost(s), ParseURL(s), ParseARN(s)} {
			if r.Service != "" && (isRegion(r.Service) || isDigits(r.Service)) {
				t.Fatalf("%q: service %q is a region or a number", s, r.Service)
			}
		}
	})
}
