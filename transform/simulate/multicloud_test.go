package simulate

import (
	"slices"
	"testing"
	"time"

	"github.com/faultline/faultline/transform"
)

// The multi-cloud family through the Kafka path: every message decodes with
// the format its topic's truth names, the root cause is a Cloud Audit Logs
// change on Google Cloud, the services it breaks log from GKE in us-east1,
// the AWS services stay healthy, and the decoys are an Azure NSG rule write
// and an AWS security group change closer to the onset.
func TestMultiCloudMessages(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		s, err := Generate(FamilyMultiCloud, seed, Options{Duration: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		tr := s.Truth
		if tr.Topics[TopicGCP] != "gcpaudit" || tr.Topics[TopicAzure] != "azureactivity" || tr.Region != GCPRegion || tr.Kind != KindGCPChange {
			t.Fatalf("seed %d: truth topics %v region %s kind %s", seed, tr.Topics, tr.Region, tr.Kind)
		}
		dec, err := transform.NewDecoder(transform.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		out := &transform.Result{}
		perTopic := map[string]int{}
		err = s.EachMessage(func(topic string, m Message) error {
			f, ok := tr.Topics[topic]
			if !ok {
				t.Fatalf("message on topic %s, which the truth does not list", topic)
			}
			perTopic[topic]++
			dec.Decode(transform.Input{Format: transform.Format(f), Value: m.Value, Key: m.Key, Time: m.Time, Lineage: transform.Lineage{Topic: topic}}, time.Now(), out)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.DeadLetters) > 0 {
			t.Fatalf("seed %d: %d dead letters, first %s: %s", seed, len(out.DeadLetters), out.DeadLetters[0].Reason, out.DeadLetters[0].Message)
		}
		if perTopic[TopicGCP] == 0 || perTopic[TopicAzure] != 1 {
			t.Fatalf("seed %d: messages per topic %v", seed, perTopic)
		}
		checkDecoded(t, s, out.Events)

		byID := map[string]transform.Event{}
		errs := map[string]map[string]int{} // service -> provider/region -> errors during the incident
		for _, e := range out.Events {
			byID[e.EventID] = e
			if e.Kind == transform.KindError && !e.Time.Before(tr.Onset) && e.Time.Before(tr.Recovery) {
				if errs[e.Service] == nil {
					errs[e.Service] = map[string]int{}
				}
				errs[e.Service][e.CloudProvider+"/"+e.Region]++
			}
		}
		rc := byID[tr.RootCauseEventID]
		if rc.CloudProvider != transform.ProviderGCP || rc.Source != transform.SourceGCPAudit || rc.Kind != transform.KindChange ||
			rc.Service != "compute" || (rc.ChangeType != transform.ChangeNetworking && rc.ChangeType != transform.ChangeLoadBalancer) {
			t.Errorf("seed %d: root cause decoded as %+v", seed, rc)
		}
		for _, a := range tr.Affected {
			if !slices.Contains(tr.GCPServices, a.Service) || a.Region != GCPRegion || errs[a.Service]["gcp/"+GCPRegion] < 10 {
				t.Errorf("seed %d: affected %s (%s) is not a GKE service erroring in gcp/%s: %v", seed, a.Service, a.Region, GCPRegion, errs[a.Service])
			}
		}
		for svc, where := range errs {
			if slices.Contains(tr.GCPServices, svc) {
				continue
			}
			for w, n := range where {
				if w == "gcp/"+GCPRegion || w == "gcp/global" {
					t.Errorf("seed %d: AWS service %s has %d errors on %s", seed, svc, n, w)
				}
			}
		}
		var clouds []string
		for _, d := range tr.Decoys {
			clouds = append(clouds, byID[d.EventID].CloudProvider)
		}
		if !slices.Contains(clouds, transform.ProviderAzure) || !slices.Contains(clouds, transform.ProviderAWS) {
			t.Errorf("seed %d: decoys from %v, want an Azure and an AWS change", seed, clouds)
		}
	}
}
