package transform

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestMatchOp(t *testing.T) {
	tests := []struct {
		pat, op string
		want    bool
	}{
		{"ModifyListener", "ModifyListener", true}, {"ModifyListener", "ModifyListeners", false},
		{"Put*", "PutRolePolicy", true}, {"Put*", "GetRolePolicy", false}, {"*RouteTable*", "AssociateRouteTable", true},
		{"*RouteTable*", "CreateRoute", false}, {"Put*Policy", "PutRolePolicy", true}, {"Put*Policy", "PutRolePolicyX", false},
		{"Put*Policy", "PutPolicy", true}, {"*", "", true}, {"AWS::EC2::*", "AWS::EC2::Subnet", true}, {"*Instance", "RunInstance", true},
	}
	for _, tc := range tests {
		if got := matchOp(tc.pat, tc.op); got != tc.want {
			t.Errorf("matchOp(%q, %q) = %v", tc.pat, tc.op, got)
		}
	}
}

func TestClassify(t *testing.T) {
	c := newCatalogue([]CatalogueEntry{{Service: "ec2", Operation: "ModifyVpcAttribute", Type: "custom", Risk: RiskCritical}, {Operation: "Tag*", Type: "tagging", Risk: RiskLow}})
	tests := []struct{ source, service, op, typ, risk string }{
		{SourceCloudTrail, "ec2", "ReplaceRoute", ChangeNetworking, RiskCritical},
		{SourceCloudTrail, "ec2", "ModifyVpcAttribute", "custom", RiskCritical}, // config overrides the default
		{SourceCloudTrail, "s3", "TagResource", "tagging", RiskLow},
		{SourceCloudTrail, "elasticloadbalancing", "ModifyListener", ChangeLoadBalancer, RiskCritical},
		{SourceCloudTrail, "route53", "ChangeResourceRecordSets", ChangeDNS, RiskCritical},
		{SourceCloudTrail, "iam", "PutRolePolicy", ChangeIAM, RiskHigh},
		{SourceCloudTrail, "iam", "CreateRole", ChangeIAM, RiskMedium},
		{SourceCloudTrail, "ec2", "ReplaceRouteTableAssociation", ChangeNetworking, RiskCritical},
		{SourceCloudTrail, "ec2", "CreateRouteTable", ChangeNetworking, RiskMedium},
		{SourceGCPAudit, "iam", "google.iam.admin.CreateServiceAccountKey", ChangeSecurity, RiskMedium},
		{SourceGCPAudit, "iam", "google.iam.admin.SetIAMPolicy", ChangeIAM, RiskHigh},
		{SourceGCPAudit, "iam", "google.iam.admin.CreateRole", ChangeIAM, RiskHigh},
		{SourceGCPAudit, "iam", "google.iam.admin.CreateServiceAccount", ChangeIAM, RiskMedium},
		{SourceCloudTrail, "lambda", "UpdateFunctionConfiguration20150331v2", ChangeCompute, RiskHigh},
		{SourceCloudTrail, "autoscaling", "UpdateAutoScalingGroup", ChangeAutoscaling, RiskHigh},
		{SourceCloudTrail, "codedeploy", "CreateDeployment", ChangeDeployment, RiskHigh},
		{SourceCloudTrail, "cloudformation", "UpdateStack", ChangeIaC, RiskHigh},
		{SourceCloudTrail, "unknownsvc", "CreateThing", ChangeOther, RiskLow},
		{SourceDeploy, "checkout", "deploy", ChangeDeployment, RiskHigh},
		{SourceHealth, "ec2", "AWS_EC2_MAINTENANCE_SCHEDULED", ChangeProvider, RiskHigh},
		{SourceConfig, "ec2", "AWS::EC2::SecurityGroup", ChangeNetworking, RiskHigh},
		{SourceConfig, "s3", "AWS::S3::Bucket", ChangeOther, RiskLow},
	}
	for _, tc := range tests {
		if typ, risk := c.classify(tc.source, tc.service, tc.op); typ != tc.typ || risk != tc.risk {
			t.Errorf("classify(%s, %s, %s) = %s %s, want %s %s", tc.source, tc.service, tc.op, typ, risk, tc.typ, tc.risk)
		}
	}
}

// TestCatalogueDocumented keeps docs/schema.md's table in step with the defaults.
func TestCatalogueDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/schema.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range DefaultCatalogue {
		svc := e.Service
		if svc == "" {
			svc = "(any)"
		}
		row := fmt.Sprintf("| %s | `%s` | %s | %s |", svc, e.Operation, e.Type, e.Risk)
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/schema.md lacks the catalogue row %s", row)
		}
	}
	for _, c := range Columns {
		if !strings.Contains(string(doc), "| `"+c+"` |") {
			t.Errorf("docs/schema.md does not describe column %s", c)
		}
	}
}

// TestClassifyIgnoresCase: Azure writes one operation in several cases, and
// configured entries may copy either.
func TestClassifyIgnoresCase(t *testing.T) {
	c := newCatalogue([]CatalogueEntry{{Service: "microsoft.web", Operation: "Microsoft.Web/sites/config/*", Type: "custom", Risk: RiskCritical}})
	tests := []struct{ source, service, op, typ, risk string }{
		{SourceAzureActivity, "Microsoft.Web", "Microsoft.Web/sites/config/write", "custom", RiskCritical},
		{SourceAzureActivity, "MICROSOFT.WEB", "MICROSOFT.WEB/SITES/CONFIG/WRITE", "custom", RiskCritical},
		{SourceAzureActivity, "Microsoft.Network", "Microsoft.Network/networksecuritygroups/securityrules/write", ChangeNetworking, RiskHigh},
		{SourceAzureActivity, "Microsoft.Network", "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WRITE", ChangeNetworking, RiskHigh},
		{SourceGCPAudit, "compute", "compute.globalForwardingRules.insert", ChangeLoadBalancer, RiskCritical},
		{SourceGCPAudit, "compute", "compute.firewalls.patch", ChangeNetworking, RiskHigh},
		{SourceGCPAudit, "dns", "dns.changes.create", ChangeDNS, RiskCritical},
		{SourceGCPAudit, "gke", "google.container.ClusterManager.SetNodePoolSize", ChangeAutoscaling, RiskMedium},
		{SourceCloudTrail, "ec2", "replaceroute", ChangeNetworking, RiskCritical},
	}
	for _, tc := range tests {
		if typ, risk := c.classify(tc.source, tc.service, tc.op); typ != tc.typ || risk != tc.risk {
			t.Errorf("classify(%s, %s, %s) = %s %s, want %s %s", tc.source, tc.service, tc.op, typ, risk, tc.typ, tc.risk)
		}
	}
	if n := testing.AllocsPerRun(100, func() { c.classify(SourceCloudTrail, "ec2", "ModifySecurityGroupRules") }); n != 0 {
		t.Errorf("classify allocates %v times per call", n)
	}
}

// TestCatalogueEntriesReachable: the first matching entry wins, so an entry
// after a broader one of its service would never apply (ec2 *RouteTable*
// once hid ReplaceRouteTableAssociation, and AWS's iam * the Google Cloud
// IAM entries). Every default entry must classify an operation its pattern
// names (each "*" filled in), as docs/schema.md lists it.
func TestCatalogueEntriesReachable(t *testing.T) {
	c := newCatalogue(nil)
	for i, e := range DefaultCatalogue {
		op := strings.ReplaceAll(e.Operation, "*", "Qx")
		svc := e.Service
		if svc == "" {
			svc = "unlisted-service"
		}
		typ, risk := c.classify("", svc, op)
		if typ != orDefault(e.Type, ChangeOther) || risk != e.Risk {
			t.Errorf("entry %d (%s %s -> %s %s) never applies: %s %s classifies as %s %s (an earlier entry matches first)",
				i, e.Service, e.Operation, e.Type, e.Risk, svc, op, typ, risk)
		}
	}
}
