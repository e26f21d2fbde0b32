package queries

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/transform"
)

// Correlation across providers, on events decoded by the real decoders from
// the formats each cloud delivers: Cloud Logging LogEntry JSON (GKE
// container logs and Cloud Audit Logs), Azure Monitor {"records":[...]}
// (Function App logs and the Activity Log), CloudTrail {"Records":[...]} and
// application JSON lines for the AWS side. No topology is configured: a
// stranger's account.

// decodeInto decodes one message of format f with the default decoder and
// seeds its events; a dead letter fails the test (these are well-formed).
func (f *fixture) decodeInto(format transform.Format, value string) {
	f.t.Helper()
	d, err := transform.NewDecoder(transform.DefaultConfig())
	if err != nil {
		f.t.Fatal(err)
	}
	var r transform.Result
	d.Decode(transform.Input{Format: format, Value: []byte(value)}, at("12:00"), &r)
	if len(r.DeadLetters) != 0 || len(r.Events) == 0 {
		f.t.Fatalf("%s: %d events, dead letters %+v", format, len(r.Events), r.DeadLetters)
	}
	testkit.Seed(f.t, f.db, r.Events...)
}

// gkeErrors: perMin error lines a minute from `from` for mins minutes of the
// GKE container `container` in location (a zone), as Cloud Logging writes
// them (NDJSON of LogEntry).
func gkeErrors(container, zone, from string, mins, perMin int, msg string) string {
	var b strings.Builder
	next := perMinute(at(from), perMin)
	for i := range mins * perMin {
		fmt.Fprintf(&b, `{"insertId":"gke-%s-%s-%d","timestamp":%q,"severity":"ERROR",`+
			`"logName":"projects/shop-prod/logs/stderr","resource":{"type":"k8s_container","labels":{"project_id":"shop-prod",`+
			`"location":%q,"cluster_name":"prod","namespace_name":"shop","pod_name":"%s-7d9f","container_name":%q}},`+
			`"jsonPayload":{"message":%q,"severity":"ERROR"}}`+"\n",
			container, from, i, next(i).Format(time.RFC3339Nano), zone, container, container, msg)
	}
	return b.String()
}

// gcpAudit is one Admin Activity audit entry (a write by principal).
func gcpAudit(id, clock, service, method, resource, location, principal string) string {
	return fmt.Sprintf(`{"insertId":%q,"timestamp":%q,"severity":"NOTICE",`+
		`"logName":"projects/shop-prod/logs/cloudaudit.googleapis.com%%2Factivity",`+
		`"resource":{"type":"gce_firewall_rule","labels":{"project_id":"shop-prod","location":%q}},`+
		`"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":%q,"methodName":%q,`+
		`"resourceName":%q,"authenticationInfo":{"principalEmail":%q},"request":{"@type":"type.googleapis.com/compute.firewalls.patch"}}}`,
		id, at(clock).Format(time.RFC3339Nano), location, service, method, resource, principal)
}

// cloudTrail is one CloudTrail management write.
func cloudTrail(id, clock, source, name, region, resource, actor string) string {
	return fmt.Sprintf(`{"Records":[{"eventVersion":"1.09","eventTime":%q,"eventSource":%q,"eventName":%q,"awsRegion":%q,`+
		`"eventID":%q,"readOnly":false,"managementEvent":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333",`+
		`"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/%s","accountId":"111122223333","userName":%q},`+
		`"resources":[{"ARN":%q}]}]}`,
		at(clock).Format(time.RFC3339), source, name, region, id, actor, actor, resource)
}

// awsApp: application JSON lines of an AWS-hosted service, one error every
// `every` minutes (its usual background).
func awsApp(service, region, from string, mins, every int) string {
	var b strings.Builder
	for i := 0; i < mins; i += every {
		fmt.Fprintf(&b, `{"time":%q,"level":"ERROR","service":%q,"cloud.provider":"aws","cloud.region":%q,"message":"background error"}`+"\n",
			at(from).Add(time.Duration(i)*time.Minute+7*time.Second).Format(time.RFC3339), service, region)
	}
	return b.String()
}

// azureFunctionErrors: Function App error logs as Azure Monitor diagnostic
// settings export them ({"records":[...]}, category FunctionAppLogs).
func azureFunctionErrors(app, location, from string, mins, perMin int) string {
	next := perMinute(at(from), perMin)
	var recs []string
	for i := range mins * perMin {
		recs = append(recs, fmt.Sprintf(`{"time":%q,"resourceId":"/SUBSCRIPTIONS/AAAA1111-2222-3333-4444-555566667777/RESOURCEGROUPS/SHOP/PROVIDERS/MICROSOFT.WEB/SITES/%s",`+
			`"category":"FunctionAppLogs","operationName":"Microsoft.Web/sites/functions/log","level":"Error","location":%q,`+
			`"properties":{"appName":%q,"message":"Executed Functions.Charge (Failed): connection to payments-db timed out","level":"Error","levelId":4}}`,
			next(i).Format(time.RFC3339Nano), strings.ToUpper(app), location, app))
	}
	return `{"records":[` + strings.Join(recs, ",") + `]}`
}

// azureActivity is one Administrative Activity Log write that succeeded.
func azureActivity(id, clock, operation, resourceID, caller string) string {
	return fmt.Sprintf(`{"records":[{"time":%q,"resourceId":%q,"operationName":%q,"category":"Administrative",`+
		`"resultType":"Success","resultSignature":"Succeeded.Created","callerIpAddress":"203.0.113.7","correlationId":%q,`+
		`"eventDataId":%q,"identity":{"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name":%q}},"level":"Information",`+
		`"properties":{"statusCode":"Created"}}]}`,
		at(clock).Format(time.RFC3339Nano), resourceID, operation, id+"-corr", id, caller)
}

// TestCrossProviderGCPFirewall: a firewall rule patched in Google Cloud
// breaks two GKE services in us-east1; an AWS load balancer change a minute
// later in us-east-1 (its own services healthy) and an older GCP label
// change must not win. The regions view names gcp/us-east1.
func TestCrossProviderGCPFirewall(t *testing.T) {
	f := newFixture(t)
	f.decodeInto(transform.FormatApp, awsApp("orders", "us-east-1", "09:00", 150, 3))
	// GKE background: an error every 5 minutes, then the spike.
	var bg strings.Builder
	for _, svc := range []string{"checkout", "cart"} {
		for m := 0; m < 150; m += 5 {
			bg.WriteString(gkeErrors(svc, "us-east1-b", at("09:00").Add(time.Duration(m)*time.Minute).Format("15:04"), 1, 1, "background error"))
		}
	}
	f.decodeInto(transform.FormatGCPAudit, bg.String())
	f.decodeInto(transform.FormatGCPAudit, gkeErrors("checkout", "us-east1-b", "10:02", 10, 40, "upstream connect error or disconnect/reset before headers: connection timeout"))
	f.decodeInto(transform.FormatGCPAudit, gkeErrors("cart", "us-east1-c", "10:04", 8, 30, "calling checkout: 503 Service Unavailable"))
	f.decodeInto(transform.FormatGCPAudit, gcpAudit("fw-root", "10:00:20", "compute.googleapis.com", "v1.compute.firewalls.patch",
		"projects/shop-prod/global/firewalls/allow-internal", "global", "alice@shop.example"))
	f.decodeInto(transform.FormatGCPAudit, gcpAudit("gcp-labels", "09:41:00", "compute.googleapis.com", "v1.compute.instances.setLabels",
		"projects/shop-prod/zones/us-east1-b/instances/batch-1", "us-east1-b", "bob@shop.example"))
	f.decodeInto(transform.FormatCloudTrail, cloudTrail("ct-elb", "10:01:10", "elasticloadbalancing.amazonaws.com", "ModifyListener", "us-east-1",
		"arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/orders/1", "carol"))

	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
	ctx := context.Background()
	inc, err := e.Incidents(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inc) != 1 || strings.Join(inc[0].Regions, ",") != "us-east1" {
		t.Fatalf("incidents: %+v", inc)
	}
	sus, err := e.Suspects(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sus) == 0 || sus[0].EventID != "fw-root" || sus[0].Service != "compute" || sus[0].ChangeType != transform.ChangeNetworking {
		t.Fatalf("top suspect is not the GCP firewall change: %+v", sus)
	}
	for _, s := range sus[1:] {
		if s.Score >= sus[0].Score {
			t.Errorf("%s (%s) scores %.4f, not below the firewall change's %.4f", s.EventID, s.Operation, s.Score, sus[0].Score)
		}
	}
	reg, err := e.Regions(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "regions_cross_gcp", reg)
	if reg[0].IncidentID != inc[0].ID || reg[0].Where() != "gcp/us-east1" || reg[0].ErrorShare != 1 ||
		!strings.HasPrefix(reg[0].Warning, "100% of the errors on gcp/us-east1 (2 services)") {
		t.Fatalf("regions: %+v", reg[0])
	}
	where := map[string]bool{}
	for _, r := range reg {
		if r.IncidentID == "" {
			where[r.Where()] = true
		}
	}
	// global holds the GCP firewall change only: the CloudTrail call is in us-east-1.
	for _, w := range []string{"gcp/us-east1", "aws/us-east-1", "gcp/global"} {
		if !where[w] {
			t.Errorf("whole window has no %s: %v", w, where)
		}
	}
}

// TestCrossProviderAzureNSG: a network security group rule written in Azure
// breaks a Function App in eastus and its caller; a GCP firewall change
// elsewhere and an Azure tag write must not win.
func TestCrossProviderAzureNSG(t *testing.T) {
	f := newFixture(t)
	f.decodeInto(transform.FormatApp, awsApp("orders", "us-east-1", "09:00", 150, 3))
	for _, app := range []string{"billing", "invoices"} {
		var bg []string
		for m := 0; m < 150; m += 5 {
			doc := azureFunctionErrors(app, "East US", at("09:00").Add(time.Duration(m)*time.Minute).Format("15:04"), 1, 1)
			bg = append(bg, doc)
		}
		for _, d := range bg {
			f.decodeInto(transform.FormatAzureActivity, d)
		}
	}
	f.decodeInto(transform.FormatAzureActivity, azureFunctionErrors("billing", "East US", "10:03", 9, 35))
	f.decodeInto(transform.FormatAzureActivity, azureFunctionErrors("invoices", "East US", "10:05", 7, 25))
	sub := "/subscriptions/aaaa1111-2222-3333-4444-555566667777/resourceGroups/shop/providers/"
	f.decodeInto(transform.FormatAzureActivity, azureActivity("nsg-root", "10:01:00", "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE",
		sub+"Microsoft.Network/networkSecurityGroups/shop-nsg/securityRules/deny-egress-1433", "dave@shop.example"))
	f.decodeInto(transform.FormatAzureActivity, azureActivity("tag-write", "10:02:00", "MICROSOFT.RESOURCES/TAGS/WRITE",
		sub+"Microsoft.Web/sites/billing/providers/Microsoft.Resources/tags/default", "erin@shop.example"))
	f.decodeInto(transform.FormatGCPAudit, gcpAudit("gcp-fw-other", "10:02:30", "compute.googleapis.com", "v1.compute.firewalls.patch",
		"projects/shop-prod/global/firewalls/allow-batch", "global", "alice@shop.example"))

	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), nil)
	ctx := context.Background()
	sus, err := e.Suspects(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sus) == 0 || sus[0].EventID != "nsg-root" || sus[0].Service != "Microsoft.Network" || sus[0].ChangeType != transform.ChangeNetworking {
		t.Fatalf("top suspect is not the NSG rule write: %+v", sus)
	}
	reg, err := e.Regions(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if reg[0].Where() != "azure/eastus" || !strings.HasPrefix(reg[0].Warning, "100% of the errors on azure/eastus (2 services)") {
		t.Fatalf("regions: %+v", reg)
	}
	for _, r := range reg {
		if r.IncidentID == "" && r.Region == "global" && r.Provider != "azure+gcp" {
			t.Errorf("global holds an Azure and a GCP change: provider %q, want azure+gcp", r.Provider)
		}
	}
}
