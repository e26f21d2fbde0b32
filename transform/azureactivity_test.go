package transform

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// azureSamples: the real Azure samples, with the source/kind of each record
// in order (the golden files hold the exact rows).
var azureSamples = map[string]string{
	"azure/otel-administrative-log.json":    "azureactivity/info,azureactivity/info", // two Start records: the operation's change is its Success
	"azure/otel-servicehealth-valid_1.json": "health/signal",                         // maintenance resolved
	"azure/otel-resourcehealth-log.json":    "health/error",                          // Front Door profile Unavailable, cause unknown
	"azure/otel-function-app-log.json":      "azurelogs/error,azurelogs/info,azurelogs/info,azurelogs/info",
}

func TestAzureSamples(t *testing.T) {
	d := newTestDecoder(t, nil)
	for rel, kinds := range azureSamples {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			data := readSample(t, rel)
			for _, f := range []Format{FormatAzureActivity, FormatAuto} {
				r := decode(t, d, f, data)
				if len(r.DeadLetters) != 0 {
					t.Fatalf("format %s: dead letters %+v", f, r.DeadLetters)
				}
				var got []string
				for _, e := range r.Events {
					got = append(got, e.Source+"/"+e.Kind)
					if e.CloudProvider != ProviderAzure || e.AccountID == "" || strings.HasPrefix(e.Resource, "/") && e.Resource != strings.ToLower(e.Resource) {
						t.Errorf("format %s: provider %q account %q resource %q", f, e.CloudProvider, e.AccountID, e.Resource)
					}
				}
				if strings.Join(got, ",") != kinds {
					t.Fatalf("format %s: %v, want %s", f, got, kinds)
				}
			}
			golden(t, strings.TrimSuffix(rel, ".json")+".jsonl", resultJSONL(t, decode(t, d, FormatAzureActivity, data)))
		})
	}
}

// TestAzureMapping spells out the mapping of the samples' key records.
func TestAzureMapping(t *testing.T) {
	d := newTestDecoder(t, nil)
	r := decode(t, d, FormatAzureActivity, readSample(t, "azure/otel-administrative-log.json"))
	e := r.Events[0]
	want := Event{Source: SourceAzureActivity, Kind: KindInfo, Service: "Microsoft.Insights", Operation: "Microsoft.Insights/diagnosticsettings/write",
		AccountID: "11111111-1111-1111-1111-111111111111", Resource: "/subscriptions/11111111-1111-1111-1111-111111111111/providers/microsoft.insights/diagnosticsettings/example-collect-sample-logs",
		Actor: "user@example.com", SeverityNumber: SeverityInfo, SeverityText: "Informational", Status: "Start", RequestID: "aaaaaaaa-bbbb-cccc-dddd-111111111111",
		CloudProvider: ProviderAzure}
	got := e
	got.EventID, got.Attributes, got.Time, got.ObservedTime, got.Lineage = "", "", time.Time{}, time.Time{}, Lineage{}
	if got != want {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if !e.Time.Equal(time.Date(2025, 4, 15, 10, 16, 32, 987344100, time.UTC)) || !strings.HasPrefix(e.EventID, "h-") {
		t.Fatalf("time %v id %s", e.Time, e.EventID)
	}
	for _, k := range []string{`"durationMs":"0"`, `"resourceId":"/SUBSCRIPTIONS/11111111-1111-1111-1111-111111111111/PROVIDERS/MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/EXAMPLE-COLLECT-SAMPLE-LOGS"`,
		`"operationName":"MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/WRITE"`, `"http://schemas.microsoft.com/identity/claims/objectidentifier":"bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"`,
		`"RoleLocation":"France South"`, `"resultSignature":"Started."`, `"tenantId":`} {
		if !strings.Contains(e.Attributes, k) {
			t.Errorf("attributes lack %s", k)
		}
	}
	for _, k := range []string{`"time"`, `"correlationId"`, `"resultType"`, `"level"`} {
		if strings.Contains(e.Attributes, k) {
			t.Errorf("column %s repeated in attributes", k)
		}
	}
	r = decode(t, d, FormatAzureActivity, readSample(t, "azure/otel-servicehealth-valid_1.json"))
	if e := r.Events[0]; e.Service != "Microsoft.Web" || e.Region != "eastus2" || e.Resource != "1_6N-3XG" || e.Status != "Resolved" ||
		!e.Time.Equal(time.Date(2025, 4, 22, 18, 4, 8, 470593400, time.UTC)) || !strings.Contains(e.Attributes, `"time":"2025-04-23T15:01:23.3361261Z"`) ||
		!strings.Contains(e.Attributes, `"Level":5`) || e.SeverityText != "Informational" {
		t.Fatalf("service health %+v", e)
	}
	r = decode(t, d, FormatAzureActivity, readSample(t, "azure/otel-resourcehealth-log.json"))
	if e := r.Events[0]; e.Service != "Microsoft.Cdn" || e.Region != "global" || e.Status != "Unavailable" || e.Message != "Unavailable (was Available): Downtime" ||
		!strings.Contains(e.Attributes, `"resultType":"Active"`) {
		t.Fatalf("resource health %+v", e)
	}
	r = decode(t, d, FormatAzureActivity, readSample(t, "azure/otel-function-app-log.json"))
	if e := r.Events[0]; e.Service != "prod-function" || e.Region != "westeurope" || e.ErrorCode != "Exception" || e.SeverityNumber != SeverityError ||
		!strings.Contains(e.Attributes, `"location":"West Europe"`) {
		t.Fatalf("function app error %+v", e)
	}
	if e := r.Events[2]; !strings.Contains(e.Attributes, `"properties":"{'appName': 'invalidjson-function-app'`) {
		t.Fatalf("pseudo-JSON properties not kept as text: %s", e.Attributes)
	}
}

// azRecord is an Administrative record with fields replaced by the caller.
func azRecord(r ...string) string {
	rec := `{"time":"TIME","resourceId":"/SUBSCRIPTIONS/0000AAAA-1111-2222-3333-444455556666/RESOURCEGROUPS/PROD/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-NSG/SECURITYRULES/ALLOW-443",` +
		`"operationName":"OPERATION","category":"CATEGORY","resultType":"RESULT","resultSignature":"SIGNATURE","durationMs":"1234","callerIpAddress":"203.0.113.7",` +
		`"correlationId":"c-1","identity":{"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name":"ana@example.com","appid":"app-1"}},` +
		`"level":"LEVEL","location":"LOCATION","properties":PROPS}`
	def := map[string]string{"TIME": "2025-05-01T08:00:00.1234567Z", "OPERATION": "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE", "CATEGORY": "Administrative",
		"RESULT": "Success", "SIGNATURE": "Succeeded.OK", "LEVEL": "Informational", "LOCATION": "North Europe", "PROPS": `{"statusCode":"OK"}`}
	for i := 0; i+1 < len(r); i += 2 {
		def[r[i]] = r[i+1]
	}
	for _, k := range []string{"TIME", "OPERATION", "CATEGORY", "RESULT", "SIGNATURE", "LEVEL", "LOCATION", "PROPS"} {
		rec = strings.Replace(rec, k, def[k], 1)
	}
	return rec
}

func TestAzureEdgeCases(t *testing.T) {
	d := newTestDecoder(t, nil)
	ok := azRecord()
	tests := []struct {
		name                      string
		in                        string
		events, dead              int
		source, kind, service, op string
		check                     func(t *testing.T, e Event)
	}{
		{"successful write is a change", ok, 1, 0, SourceAzureActivity, KindChange, "Microsoft.Network", "Microsoft.Network/networksecuritygroups/securityrules/write", func(t *testing.T, e Event) {
			if e.Resource != "/subscriptions/0000aaaa-1111-2222-3333-444455556666/resourcegroups/prod/providers/microsoft.network/networksecuritygroups/web-nsg/securityrules/allow-443" ||
				e.AccountID != "0000aaaa-1111-2222-3333-444455556666" || e.Region != "northeurope" || e.Actor != "ana@example.com" || e.RequestID != "c-1" ||
				e.ChangeType != ChangeNetworking || e.RiskClass != RiskHigh || e.Status != "Success" || e.Time.Nanosecond() != 123456700 ||
				!strings.Contains(e.Attributes, `"durationMs":"1234"`) {
				t.Fatalf("%+v", e)
			}
		}},
		{"Start, Accept, Success of one operation: one change", azRecord("RESULT", "Start") + "\n" + azRecord("RESULT", "Accept") + "\n" + ok, 3, 0, SourceAzureActivity, KindInfo, "Microsoft.Network", "Microsoft.Network/networksecuritygroups/securityrules/write", func(t *testing.T, e Event) {}},
		{"failure with a JSON statusMessage", azRecord("RESULT", "Failure", "SIGNATURE", "Failed.Conflict", "LEVEL", "Error", "PROPS", `{"statusCode":"Conflict","statusMessage":"{\"error\":{\"code\":\"AnotherOperationInProgress\",\"message\":\"Another operation on this or dependent resource is in progress.\"}}"}`),
			1, 0, SourceAzureActivity, KindError, "Microsoft.Network", "Microsoft.Network/networksecuritygroups/securityrules/write", func(t *testing.T, e Event) {
				if e.ErrorCode != "AnotherOperationInProgress" || e.Message != "Another operation on this or dependent resource is in progress." || e.SeverityNumber != SeverityError || e.ChangeType != "" {
					t.Fatalf("%+v", e)
				}
			}},
		{"failure without details is WARN by its code", azRecord("RESULT", "Failure", "SIGNATURE", "Forbidden", "LEVEL", "Informational", "PROPS", `{}`), 1, 0, SourceAzureActivity, KindError, "Microsoft.Network", "Microsoft.Network/networksecuritygroups/securityrules/write", func(t *testing.T, e Event) {
			if e.ErrorCode != "Forbidden" || e.SeverityNumber != SeverityWarn {
				t.Fatalf("%+v", e)
			}
		}},
		{"read action is no change", azRecord("OPERATION", "Microsoft.Storage/storageAccounts/listKeys/action"), 1, 0, SourceAzureActivity, KindInfo, "Microsoft.Storage", "Microsoft.Storage/storageaccounts/listkeys/action", nil},
		{"regenerate key is a change", azRecord("OPERATION", "Microsoft.Storage/storageAccounts/regenerateKey/action"), 1, 0, SourceAzureActivity, KindChange, "Microsoft.Storage", "Microsoft.Storage/storageaccounts/regeneratekey/action", nil},
		{"scale set write", azRecord("OPERATION", "Microsoft.Compute/virtualMachineScaleSets/write"), 1, 0, SourceAzureActivity, KindChange, "Microsoft.Compute", "Microsoft.Compute/virtualmachinescalesets/write", func(t *testing.T, e Event) {
			if e.ChangeType != ChangeAutoscaling || e.RiskClass != RiskHigh {
				t.Fatalf("%+v", e)
			}
		}},
		{"AKS node pool", azRecord("OPERATION", "Microsoft.ContainerService/managedClusters/agentPools/write"), 1, 0, SourceAzureActivity, KindChange, "Microsoft.ContainerService", "Microsoft.ContainerService/managedclusters/agentpools/write", nil},
		{"DNS record", azRecord("OPERATION", "Microsoft.Network/dnszones/CNAME/write"), 1, 0, SourceAzureActivity, KindChange, "Microsoft.Network", "Microsoft.Network/dnszones/cname/write", func(t *testing.T, e Event) {
			if e.ChangeType != ChangeDNS || e.RiskClass != RiskCritical {
				t.Fatalf("%+v", e)
			}
		}},
		{"role assignment", azRecord("OPERATION", "Microsoft.Authorization/roleAssignments/write"), 1, 0, SourceAzureActivity, KindChange, "Microsoft.Authorization", "Microsoft.Authorization/roleassignments/write", func(t *testing.T, e Event) {
			if e.ChangeType != ChangeIAM || e.RiskClass != RiskHigh {
				t.Fatalf("%+v", e)
			}
		}},
		{"service principal actor", strings.Replace(ok, `"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name":"ana@example.com",`, ``, 1), 1, 0, SourceAzureActivity, KindChange, "Microsoft.Network", "Microsoft.Network/networksecuritygroups/securityrules/write", func(t *testing.T, e Event) {
			if e.Actor != "app-1" {
				t.Fatalf("actor %q", e.Actor)
			}
		}},
		{"PascalCase fields and REST values", `{"TimeGenerated":"2025-05-01T08:00:00Z","ResourceId":"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/db1/databases/orders","OperationName":{"value":"Microsoft.Sql/servers/databases/write","localizedValue":"Update database"},"Category":{"value":"Administrative"},"ResultType":"Succeeded","Caller":"ops@example.com","CorrelationId":"c-9"}`,
			1, 0, SourceAzureActivity, KindChange, "Microsoft.Sql", "Microsoft.Sql/servers/databases/write", func(t *testing.T, e Event) {
				if e.Actor != "ops@example.com" || e.RequestID != "c-9" || e.AccountID != "s1" || e.ChangeType != ChangeData || e.RiskClass != RiskHigh {
					t.Fatalf("%+v", e)
				}
			}},
		{"properties as a JSON string", azRecord("PROPS", `"{\"statusCode\":\"Created\",\"serviceRequestId\":\"r-1\"}"`), 1, 0, SourceAzureActivity, KindChange, "Microsoft.Network", "Microsoft.Network/networksecuritygroups/securityrules/write", func(t *testing.T, e Event) {
			if !strings.Contains(e.Attributes, `"properties":{"statusCode":"Created","serviceRequestId":"r-1"}`) {
				t.Fatalf("attributes %s", e.Attributes)
			}
		}},
		{"policy deny", azRecord("OPERATION", "Microsoft.Authorization/policies/deny/action", "CATEGORY", "Policy", "RESULT", "Failure", "LEVEL", "Warning", "SIGNATURE", "Failed", "PROPS", `{"isComplianceCheck":"False"}`), 1, 0, SourceAzureActivity, KindError, "Microsoft.Network", "Microsoft.Authorization/policies/deny/action", func(t *testing.T, e Event) {
			if e.ErrorCode != "RequestDisallowedByPolicy" || e.SeverityNumber != SeverityWarn {
				t.Fatalf("%+v", e)
			}
		}},
		{"policy audit", azRecord("OPERATION", "Microsoft.Authorization/policies/audit/action", "CATEGORY", "Policy", "RESULT", "Success", "LEVEL", "Warning"), 1, 0, SourceAzureActivity, KindInfo, "Microsoft.Network", "Microsoft.Authorization/policies/audit/action", nil},
		{"service health incident", `{"records":[{"time":"2025-05-01T09:00:00Z","resourceId":"/subscriptions/s1","category":"ServiceHealth","operationName":"Microsoft.ServiceHealth/incident/action","resultType":"Active","level":"Warning","location":"global","properties":{"title":"Networking issue","service":"Virtual Network","region":"West Europe, North Europe","incidentType":"Incident","trackingId":"ABC-123","stage":"Active","impactStartTime":"2025-05-01T08:41:00Z"}}]}`,
			1, 0, SourceHealth, KindError, "Microsoft.Network", "Microsoft.ServiceHealth/incident/action", func(t *testing.T, e Event) {
				if e.Region != "westeurope" || e.Resource != "ABC-123" || e.SeverityNumber != SeverityError || !e.Time.Equal(time.Date(2025, 5, 1, 8, 41, 0, 0, time.UTC)) || e.Message != "Networking issue" {
					t.Fatalf("%+v", e)
				}
			}},
		{"planned maintenance is a provider change", `{"records":[{"time":"2025-05-01T09:00:00Z","resourceId":"/subscriptions/s1","category":"ServiceHealth","operationName":"Microsoft.ServiceHealth/maintenance/action","resultType":"Active","level":"Informational","properties":{"title":"Planned maintenance","service":"SQL Database","incidentType":"Maintenance","trackingId":"M-1","stage":"Planned","impactStartTime":"2025-05-03T01:00:00Z","impactedServices":"[{\"ImpactedRegions\":[{\"RegionName\":\"East US\",\"RegionId\":\"eastus\"}],\"ServiceName\":\"SQL Database\"}]"}}]}`,
			1, 0, SourceHealth, KindChange, "Microsoft.Sql", "Microsoft.ServiceHealth/maintenance/action", func(t *testing.T, e Event) {
				if e.Region != "eastus" || e.ChangeType != ChangeProvider || e.RiskClass != RiskHigh {
					t.Fatalf("%+v", e)
				}
			}},
		{"resource health user initiated", `{"time":"2025-05-01T09:00:00Z","resourceId":"/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM1","category":"ResourceHealth","operationName":"Microsoft.Resourcehealth/healthevent/Activated/action","resultType":"Active","properties":{"currentHealthStatus":"Unavailable","previousHealthStatus":"Available","type":"Downtime","cause":"UserInitiated"}}`,
			1, 0, SourceHealth, KindSignal, "Microsoft.Compute", "Microsoft.ResourceHealth/healthevent/activated/action", nil},
		{"resource health recovered", `{"time":"2025-05-01T09:30:00Z","resourceId":"/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1","category":"ResourceHealth","operationName":"Microsoft.Resourcehealth/healthevent/Resolved/action","resultType":"Resolved","properties":{"currentHealthStatus":"Available","previousHealthStatus":"Unavailable","cause":"PlatformInitiated"}}`,
			1, 0, SourceHealth, KindSignal, "Microsoft.Compute", "Microsoft.ResourceHealth/healthevent/resolved/action", nil},
		{"alert activated", `{"time":"2025-05-01T09:00:00Z","resourceId":"/subscriptions/s1/resourceGroups/rg/providers/microsoft.insights/metricalerts/api-5xx","category":"Alert","operationName":"Microsoft.Insights/metricAlerts/Activated/action","resultType":"Activated","level":"Error"}`,
			1, 0, SourceAlarm, KindError, "Microsoft.Insights", "Microsoft.Insights/metricalerts/activated/action", nil},
		{"autoscale scale-out", `{"time":"2025-05-01T09:00:00Z","resourceId":"/subscriptions/s1/resourceGroups/rg/providers/microsoft.insights/autoscalesettings/web","category":"Autoscale","operationName":"Microsoft.Insights/AutoscaleSettings/Scaleup/Action","resultType":"Succeeded","properties":{"OldInstancesCount":"2","NewInstancesCount":"4"}}`,
			1, 0, SourceAzureActivity, KindChange, "Microsoft.Insights", "Microsoft.Insights/autoscalesettings/scaleup/action", func(t *testing.T, e Event) {
				if e.ChangeType != ChangeAutoscaling {
					t.Fatalf("%+v", e)
				}
			}},
		{"record without category", strings.Replace(ok, `"category":"Administrative",`, ``, 1), 1, 0, SourceAzureActivity, KindChange, "Microsoft.Network", "Microsoft.Network/networksecuritygroups/securityrules/write", nil},
		{"bare array of records", "[" + ok + "," + ok + "]", 2, 0, SourceAzureActivity, KindChange, "Microsoft.Network", "Microsoft.Network/networksecuritygroups/securityrules/write", nil},
		{"a bad record costs itself", `{"records":[` + ok + `,"oops",` + azRecord("TIME", "soon") + `]}`, 1, 2, SourceAzureActivity, KindChange, "Microsoft.Network", "Microsoft.Network/networksecuritygroups/securityrules/write", nil},
		{"records not an array", `{"records":{"time":"x"}}`, 0, 1, "", "", "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []Format{FormatAzureActivity, FormatAuto} {
				if tc.name == "records not an array" && f == FormatAuto {
					continue // not recognisable as Azure: an app event
				}
				r := decode(t, d, f, []byte(tc.in))
				if len(r.Events) != tc.events || len(r.DeadLetters) != tc.dead {
					t.Fatalf("format %s: events %d dead %d; want %d %d; %+v", f, len(r.Events), len(r.DeadLetters), tc.events, tc.dead, r.DeadLetters)
				}
				if tc.events == 0 {
					continue
				}
				e := r.Events[0]
				if e.Source != tc.source || e.Kind != tc.kind || e.Service != tc.service || e.Operation != tc.op || e.CloudProvider != ProviderAzure {
					t.Fatalf("format %s: got %s %s %q %q %q", f, e.Source, e.Kind, e.Service, e.Operation, e.CloudProvider)
				}
				if tc.check != nil {
					tc.check(t, e)
				}
			}
		})
	}
	// One operation's Start, Accept and Success: exactly one change.
	r := decode(t, d, FormatAzureActivity, []byte(azRecord("RESULT", "Start")+"\n"+azRecord("RESULT", "Accept")+"\n"+ok))
	if k := countKinds(r); k[KindChange] != 1 || k[KindInfo] != 2 {
		t.Fatalf("kinds %v", k)
	}
}

func TestAzureNames(t *testing.T) {
	for in, want := range map[string]string{
		"MICROSOFT.COMPUTE": "Microsoft.Compute", "microsoft.containerservice": "Microsoft.ContainerService", "Microsoft.Web": "Microsoft.Web",
		"MICROSOFT.FOOBAR": "Microsoft.Foobar", "Contoso.WidgetService": "Contoso.WidgetService", "": "",
	} {
		if got := azureNamespace(in); got != want {
			t.Errorf("azureNamespace(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"West Europe": "westeurope", "East US 2": "eastus2", "eastus": "eastus", "global": "global", " South Central US ": "southcentralus"} {
		if got := azureRegion(in); got != want {
			t.Errorf("azureRegion(%q) = %q, want %q", in, got, want)
		}
	}
	id := "/subscriptions/s1/resourcegroups/rg/providers/microsoft.web/sites/prod-api/slots/staging/providers/microsoft.insights/diagnosticsettings/d"
	if ns, name := azureResourceNamespace(id), azureResourceName(id); ns != "Microsoft.Insights" || name != "prod-api" {
		t.Errorf("namespace %q name %q", ns, name)
	}
	for in, want := range map[string]bool{"Microsoft.Storage/storageaccounts/listkeys/action": true, "Microsoft.Resources/deployments/validate/action": true,
		"Microsoft.Compute/virtualmachines/read": true, "Microsoft.Compute/virtualmachines/restart/action": false, "Microsoft.Compute/virtualmachines/write": false, "action": false} {
		if got := azureIsRead(in); got != want {
			t.Errorf("azureIsRead(%q) = %v", in, got)
		}
	}
}
