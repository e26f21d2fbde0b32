package simulate

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// readGz returns a file's bytes, gunzipped when it ends in .gz.
func readGz(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// loaded is a scenario written to disk and read back as plain objects.
type loaded struct {
	truth   Truth
	man     Manifest
	ct      []map[string]any // CloudTrail records
	cw      []cwPayload
	app     []map[string]any
	aws     []map[string]any
	ctByID  map[string]map[string]any
	appByID map[string]map[string]any
	awsByID map[string]map[string]any
	// multi-cloud: Cloud Audit Logs entries by insertId and Azure records
	// by eventDataId (the GKE services' lines are in app, as the app
	// stream's fields: time, service, region, level)
	cloudByID map[string]map[string]any
}

func writeAndRead(t testing.TB, family string, seed int64, o Options) (*Scenario, loaded) {
	t.Helper()
	s, err := Generate(family, seed, o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	man, err := s.WriteDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := loaded{man: man, ctByID: map[string]map[string]any{}, appByID: map[string]map[string]any{}, awsByID: map[string]map[string]any{}, cloudByID: map[string]map[string]any{}}
	if err := json.Unmarshal(readGz(t, man.Truth), &l.truth); err != nil {
		t.Fatal(err)
	}
	for _, f := range man.Files {
		b := readGz(t, filepath.Join(dir, f.Path))
		switch f.Format {
		case "cloudtrail":
			var doc struct{ Records []map[string]any }
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			if len(doc.Records) != f.Records {
				t.Fatalf("%s: %d records, manifest says %d", f.Path, len(doc.Records), f.Records)
			}
			for _, r := range doc.Records {
				l.ctByID[r["eventID"].(string)] = r
			}
			l.ct = append(l.ct, doc.Records...)
		case "cloudwatch": // gzip members concatenated, one payload each
			dec := json.NewDecoder(bytes.NewReader(b))
			n := 0
			for dec.More() {
				var p cwPayload
				if err := dec.Decode(&p); err != nil {
					t.Fatalf("%s: %v", f.Path, err)
				}
				l.cw = append(l.cw, p)
				n++
			}
			if n != f.Messages {
				t.Fatalf("%s: %d payloads, manifest says %d", f.Path, n, f.Messages)
			}
		case "app":
			sc := bufio.NewScanner(bytes.NewReader(b))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("%s: %v: %s", f.Path, err, sc.Text())
				}
				if id, ok := m["event_id"].(string); ok {
					l.appByID[id] = m
				}
				l.app = append(l.app, m)
			}
		case "awsevents":
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			l.awsByID[m["id"].(string)] = m
			l.aws = append(l.aws, m)
		case "gcpaudit": // Cloud Logging NDJSON
			sc := bufio.NewScanner(bytes.NewReader(b))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var e gcpEntry
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatalf("%s: %v: %s", f.Path, err, sc.Text())
				}
				if e.ProtoPayload != nil {
					var m map[string]any
					_ = json.Unmarshal(sc.Bytes(), &m)
					l.cloudByID[e.InsertID] = m
					continue
				}
				level := "info"
				if e.Severity == "ERROR" {
					level = "error"
				}
				zone := e.Resource.Labels["location"]
				l.app = append(l.app, map[string]any{"time": e.Timestamp, "service": e.Resource.Labels["container_name"], "region": zone[:strings.LastIndexByte(zone, '-')], "level": level})
			}
		case "azureactivity":
			var doc struct{ Records []map[string]any }
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			for _, r := range doc.Records {
				l.cloudByID[r["eventDataId"].(string)] = r
			}
		default:
			t.Fatalf("%s: unexpected format %q", f.Path, f.Format)
		}
	}
	return s, l
}

func dirDigest(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "manifest.json" { // holds the directory name
			return nil
		}
		out[rel] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func messagesDigest(t *testing.T, s *Scenario) (string, map[string]int) {
	t.Helper()
	h := sha256.New()
	n := map[string]int{}
	err := s.EachMessage(func(topic string, m Message) error {
		fmt.Fprintf(h, "%s|%s|%s|%d\n", topic, m.Key, m.Value, m.Time.UnixNano())
		n[topic]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil)), n
}

func TestDeterministic(t *testing.T) {
	for _, fam := range []string{FamilyIAMPolicy, FamilyQuiet, FamilyRandom} {
		t.Run(fam, func(t *testing.T) {
			o := Options{Duration: time.Hour, Services: 6}
			a, _ := Generate(fam, 42, o)
			b, _ := Generate(fam, 42, o)
			da, db := t.TempDir(), t.TempDir()
			if _, err := a.WriteDir(da); err != nil {
				t.Fatal(err)
			}
			if _, err := b.WriteDir(db); err != nil {
				t.Fatal(err)
			}
			ha, hb := dirDigest(t, da), dirDigest(t, db)
			if len(ha) < 10 {
				t.Fatalf("only %d files written", len(ha))
			}
			if len(ha) != len(hb) {
				t.Fatalf("%d files vs %d", len(ha), len(hb))
			}
			for k, v := range ha {
				if hb[k] != v {
					t.Errorf("%s differs between two runs with the same seed", k)
				}
			}
			ma, _ := messagesDigest(t, a)
			mb, _ := messagesDigest(t, b)
			if ma != mb {
				t.Error("messages differ between two runs with the same seed")
			}
			// Writing does not disturb the messages (state is not consumed).
			if _, err := a.WriteDir(t.TempDir()); err != nil {
				t.Fatal(err)
			}
			if mc, _ := messagesDigest(t, a); mc != ma {
				t.Error("messages changed after WriteDir")
			}
			c, _ := Generate(fam, 43, o)
			if mc, _ := messagesDigest(t, c); mc == ma {
				t.Error("seed 43 produced the same messages as seed 42")
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string // substring of the error, "" = valid
	}{
		{"defaults", Options{}, ""},
		{"short", Options{Duration: 10 * time.Minute}, "duration"},
		{"few services", Options{Services: 2}, "services"},
		{"negative scale", Options{Scale: -1}, "scale"},
		{"bad account", Options{Account: "12ab"}, "account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate(FamilyQuiet, 1, tt.o)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
	if _, err := Generate("nope", 1, Options{}); err == nil || !strings.Contains(err.Error(), "lb-change") {
		t.Fatalf("unknown scenario: error %v should list the families", err)
	}
}

func TestRandomCoversFamilies(t *testing.T) {
	if slices.Contains(randomFamilies, FamilyMultiCloud) {
		t.Error("random picks multi-cloud: the families of documented random seeds would change")
	}
	seen := map[string]bool{}
	for seed := range int64(60) {
		f, err := ResolveFamily(FamilyRandom, seed)
		if err != nil {
			t.Fatal(err)
		}
		seen[f] = true
	}
	for _, f := range randomFamilies {
		if !seen[f] {
			t.Errorf("random never picked %s in 60 seeds", f)
		}
	}
}

// errorsPerMinute counts error lines of the application stream per
// service, region and minute.
func errorsPerMinute(l loaded) map[string]map[time.Time]int {
	out := map[string]map[time.Time]int{}
	for _, m := range l.app {
		if m["level"] != "error" {
			continue
		}
		at, _ := time.Parse(time.RFC3339Nano, m["time"].(string))
		k := m["service"].(string) + "|" + m["region"].(string)
		if out[k] == nil {
			out[k] = map[time.Time]int{}
		}
		out[k][at.Truncate(time.Minute)]++
	}
	return out
}

func TestTruthConsistency(t *testing.T) {
	for _, fam := range Families {
		for seed := range int64(3) {
			t.Run(fmt.Sprintf("%s/%d", fam, seed), func(t *testing.T) {
				s, l := writeAndRead(t, fam, seed, Options{Duration: time.Hour, Services: 4 + int(seed)*3})
				tr := l.truth
				if tr.Scenario != fam || tr.Seed != seed {
					t.Fatalf("truth names %s/%d", tr.Scenario, tr.Seed)
				}
				for svc, deps := range tr.Topology {
					if len(deps) == 0 && s.service(svc).layer < 2 {
						t.Errorf("service %s has no dependencies", svc)
					}
				}
				if fam == FamilyQuiet {
					if tr.Incident || tr.RootCauseEventID != "" || len(tr.Affected) != 0 || len(tr.Also) != 0 {
						t.Fatalf("quiet scenario has an incident: %+v", tr)
					}
					return
				}
				if !tr.Incident || tr.RootCauseEventID == "" {
					t.Fatal("no root cause")
				}
				planted := append([]IncidentTruth{tr.IncidentTruth}, tr.Also...)
				if fam == FamilyTwoIncidents && len(planted) != 2 && len(tr.Services) >= 7 {
					t.Errorf("two-incidents with %d services planted %d", len(tr.Services), len(planted))
				}
				onsets := map[string]time.Time{}
				for _, in := range planted {
					checkIncident(t, tr, in, l, onsets)
				}
				if len(planted) == 2 && planted[0].Affected[0].Region == planted[1].Affected[0].Region {
					// two incidents in one region break disjoint services
					for _, a := range planted[1].Affected {
						for _, b := range planted[0].Affected {
							if a.Service == b.Service {
								t.Errorf("%s is broken by both incidents", a.Service)
							}
						}
					}
				}
				// Every service depending on an affected service is affected.
				for svc, deps := range tr.Topology {
					for _, d := range deps {
						if _, ok := onsets[d]; ok {
							if _, ok := onsets[svc]; !ok {
								t.Errorf("%s depends on affected %s but is not affected", svc, d)
							}
						}
					}
				}
				// Decoys are in the data and are not the root cause.
				for _, d := range tr.Decoys {
					if d.EventID == tr.RootCauseEventID {
						t.Error("a decoy is the root cause")
					}
					if l.ctByID[d.EventID] == nil && l.appByID[d.EventID] == nil && l.awsByID[d.EventID] == nil && l.cloudByID[d.EventID] == nil {
						t.Errorf("decoy %s not in the data", d.EventID)
					}
				}
			})
		}
	}
}

// checkIncident checks one planted incident against the data.
func checkIncident(t *testing.T, tr Truth, in IncidentTruth, l loaded, onsets map[string]time.Time) {
	t.Helper()
	// The root cause is in the data, once, with the truth's event id.
	var found int
	if _, ok := l.ctByID[in.RootCauseEventID]; ok {
		found++
	}
	if _, ok := l.appByID[in.RootCauseEventID]; ok {
		found++
	}
	if _, ok := l.awsByID[in.RootCauseEventID]; ok {
		found++
	}
	if _, ok := l.cloudByID[in.RootCauseEventID]; ok {
		found++
	}
	if found != 1 {
		t.Fatalf("root cause %s found %d times in the data", in.RootCauseEventID, found)
	}
	if !in.RootCauseTime.Before(in.Onset) {
		t.Errorf("root cause at %s does not precede the onset %s", in.RootCauseTime, in.Onset)
	}
	if lead := in.Onset.Sub(in.RootCauseTime); lead > 10*time.Minute {
		t.Errorf("lead time %s is implausibly long", lead)
	}
	if !in.Onset.Equal(in.Affected[0].Onset) {
		t.Errorf("truth onset %s is not the first affected onset %s", in.Onset, in.Affected[0].Onset)
	}
	region := in.Affected[0].Region
	for _, a := range in.Affected {
		onsets[a.Service] = a.Onset
		if a.Region != region {
			t.Errorf("%s broke in %s, the incident's region is %s", a.Service, a.Region, region)
		}
		if !a.Recovery.After(a.Onset) || a.Recovery.After(tr.Window.Until) {
			t.Errorf("%s: recovery %s not after onset %s or outside the window", a.Service, a.Recovery, a.Onset)
		}
	}
	for i, a := range in.Affected {
		if i > 0 && a.Onset.Before(in.Affected[i-1].Onset) {
			t.Errorf("affected not in onset order at %s", a.Service)
		}
		// Every affected service is reached through the topology: it
		// depends on the root node, or on an affected service that broke
		// before it.
		deps := tr.Topology[a.Service]
		rootNode := map[string]string{FamilyLBChange: "elasticloadbalancing", FamilyDNSChange: "route53", FamilyIAMPolicy: "iam", FamilyProviderIncident: in.RootCauseService, KindGCPChange: "compute"}[in.Kind]
		direct := (rootNode != "" && slices.Contains(deps, rootNode)) || (in.Kind == FamilyBadDeploy && a.Service == in.RootCauseService)
		if direct != (len(a.Via) == 0) {
			t.Errorf("%s: direct=%v but via=%v", a.Service, direct, a.Via)
		}
		for _, v := range a.Via {
			if !slices.Contains(deps, v) {
				t.Errorf("%s: via %s is not one of its dependencies %v", a.Service, v, deps)
			}
			if !onsets[v].Before(a.Onset) {
				t.Errorf("%s broke at %s, not after its dependency %s at %s", a.Service, a.Onset, v, onsets[v])
			}
		}
	}
	// No error line of the incident precedes the onset, and each affected
	// service really spikes.
	epm := errorsPerMinute(l)
	for _, a := range in.Affected {
		series := epm[a.Service+"|"+a.Region]
		var before, peak int
		for m, n := range series {
			if m.Before(a.Onset.Truncate(time.Minute)) && n > before {
				before = n
			}
			if !m.Before(a.Onset) && m.Before(a.Recovery) && n > peak {
				peak = n
			}
		}
		if peak < max(2*before, before+8) {
			t.Errorf("%s: peak %d errors/min is no spike over the worst minute before (%d)", a.Service, peak, before)
		}
	}
	if in.Rollback == nil || !in.Rollback.Time.After(in.Onset) && in.RootCauseSource != "health" {
		t.Errorf("rollback %+v should come after the onset", in.Rollback)
	}
}

func TestQuietHasNoSpike(t *testing.T) {
	for seed := range int64(3) {
		_, l := writeAndRead(t, FamilyQuiet, seed, Options{Duration: 2 * time.Hour})
		blip := map[string]int{}
		for _, b := range l.truth.Blips {
			blip[b.Service+"|"+b.Region+"|"+b.Minute.String()] += b.Errors
		}
		for k, series := range errorsPerMinute(l) {
			for m, n := range series {
				if n-blip[k+"|"+m.String()] > 12 {
					t.Errorf("seed %d: %s has %d errors at %s on a quiet day", seed, k, n, m)
				}
			}
		}
		if len(l.truth.Decoys) == 0 {
			t.Errorf("seed %d: quiet day without nearby changes", seed)
		}
	}
}

func TestFamilySignatures(t *testing.T) {
	for seed := range int64(2) {
		for _, fam := range Families[:5] {
			_, l := writeAndRead(t, fam, seed+20, Options{Duration: time.Hour})
			tr := l.truth
			switch fam {
			case FamilyLBChange, FamilyDNSChange, FamilyIAMPolicy:
				rec := l.ctByID[tr.RootCauseEventID]
				want := map[string]string{FamilyLBChange: "elasticloadbalancing.amazonaws.com", FamilyDNSChange: "route53.amazonaws.com", FamilyIAMPolicy: "iam.amazonaws.com"}[fam]
				if rec["eventSource"] != want || rec["readOnly"] != false || rec["errorCode"] != nil || rec["eventType"] != "AwsApiCall" {
					t.Errorf("%s/%d: root cause record %v is not a successful %s write", fam, seed, rec["eventName"], want)
				}
				if fam == FamilyDNSChange && rec["eventName"] != "ChangeResourceRecordSets" {
					t.Errorf("dns-change root cause is %v", rec["eventName"])
				}
				if fam == FamilyIAMPolicy {
					denied := 0
					for _, r := range l.ct {
						if code, _ := r["errorCode"].(string); strings.HasPrefix(code, "AccessDenied") {
							at, _ := time.Parse(time.RFC3339, r["eventTime"].(string))
							if at.Before(tr.Onset.Truncate(time.Second)) {
								t.Errorf("AccessDenied at %s before the onset %s", at, tr.Onset)
							}
							denied++
						}
					}
					appDenied := 0
					for _, m := range l.app {
						if m["error.type"] == "AccessDeniedException" {
							appDenied++
						}
					}
					if denied < 20 || appDenied < 20 {
						t.Errorf("iam-policy/%d: %d AccessDenied CloudTrail records and %d app errors, want a spike", seed, denied, appDenied)
					}
				}
			case FamilyBadDeploy:
				d := l.appByID[tr.RootCauseEventID]
				if d["kind"] != "deploy" || d["service"] != tr.RootCauseService || d["service"] != tr.Affected[0].Service {
					t.Fatalf("bad-deploy/%d: root cause %v is not a deploy of the first broken service", seed, d)
				}
				bad := 0
				for _, m := range l.app {
					if m["service"] == tr.RootCauseService && m["level"] == "error" && m["version"] == d["version"] {
						bad++
					}
				}
				if bad < 20 {
					t.Errorf("bad-deploy/%d: only %d errors carry the new version %v", seed, bad, d["version"])
				}
			case FamilyProviderIncident:
				e := l.awsByID[tr.RootCauseEventID]
				det := e["detail"].(map[string]any)
				if e["source"] != "aws.health" || e["detail-type"] != "AWS Health Event" || det["eventTypeCategory"] != "issue" {
					t.Fatalf("provider-incident/%d: root cause %v is not a Health issue", seed, e)
				}
				if _, err := time.Parse(layoutHealth, det["startTime"].(string)); err != nil {
					t.Errorf("Health startTime %v: %v", det["startTime"], err)
				}
				// No customer change in the main region shortly before onset
				// other than the decoys.
				decoys := map[string]bool{}
				for _, d := range tr.Decoys {
					decoys[d.EventID] = true
				}
				for _, r := range l.ct {
					at, _ := time.Parse(time.RFC3339, r["eventTime"].(string))
					if r["readOnly"] == false && r["awsRegion"] == tr.Region && !decoys[r["eventID"].(string)] &&
						at.After(tr.Onset.Add(-15*time.Minute)) && at.Before(tr.Onset) {
						t.Errorf("provider-incident/%d: unexpected change %v at %s", seed, r["eventName"], at)
					}
				}
			}
		}
	}
}

func TestFormatsLookReal(t *testing.T) {
	_, l := writeAndRead(t, FamilyLBChange, 7, Options{Duration: time.Hour})
	apps := 0
	hourly := regexp.MustCompile(`^data/app/2026/03/02/app-events-(09|10)\.ndjson$`)
	for _, f := range l.man.Files {
		if f.Format == "app" {
			// one file per hour: data/app/YYYY/MM/DD/app-events-HH.ndjson
			apps++
			if !hourly.MatchString(f.Path) {
				t.Errorf("app file %s is not named by its hour", f.Path)
			}
		}
		if f.Format == "cloudtrail" {
			parts := strings.Split(f.Path, "/")
			// data/cloudtrail/AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<ts>_<rand>.json.gz
			if len(parts) != 10 || parts[2] != "AWSLogs" || parts[4] != "CloudTrail" || !strings.HasPrefix(parts[9], parts[3]+"_CloudTrail_"+parts[5]+"_") {
				t.Errorf("CloudTrail key %s does not follow the S3 layout", f.Path)
			}
		}
	}
	for _, r := range l.ct[:5] {
		for _, k := range []string{"eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent", "userIdentity", "requestID", "eventID", "readOnly", "eventType", "managementEvent", "recipientAccountId"} {
			if _, ok := r[k]; !ok {
				t.Errorf("CloudTrail record lacks %s", k)
			}
		}
	}
	if apps != 1 { // the hour 09:00-10:00 of a one-hour window
		t.Errorf("%d app files for a one-hour window, want 1", apps)
	}
	for _, m := range l.app {
		if ts, _ := m["time"].(string); !strings.HasPrefix(ts, "2026-03-02T09:") {
			t.Errorf("app line at %s outside the window's hour", ts)
			break
		}
	}
	var control, reports, lambdaErr int
	for _, p := range l.cw {
		if p.MessageType == "CONTROL_MESSAGE" {
			control++
			continue
		}
		if p.MessageType != "DATA_MESSAGE" || p.Owner != "123456789012" || len(p.SubscriptionFilters) != 1 ||
			!(strings.HasPrefix(p.LogGroup, "/aws/lambda/") || strings.HasPrefix(p.LogGroup, "/ecs/")) {
			t.Fatalf("bad payload header %+v", p)
		}
		for _, e := range p.LogEvents {
			if len(e.ID) != 56 || strings.Trim(e.ID, "0123456789") != "" {
				t.Fatalf("log event id %q is not 56 digits", e.ID)
			}
			if strings.HasPrefix(e.Message, "REPORT RequestId:") {
				reports++
			}
			if strings.HasPrefix(e.Message, "[ERROR]\t") {
				lambdaErr++
			}
		}
	}
	if control == 0 || reports == 0 {
		t.Errorf("control messages %d, REPORT lines %d: want some of each", control, reports)
	}
	for _, m := range l.app {
		if m["kind"] == "deploy" {
			for _, k := range []string{"time", "service", "version", "actor", "event_id"} {
				if m[k] == nil {
					t.Errorf("deploy event lacks %s: %v", k, m)
				}
			}
			continue
		}
		for _, k := range []string{"time", "service", "level", "message", "region", "trace_id"} {
			if m[k] == nil {
				t.Fatalf("app line lacks %s: %v", k, m)
			}
		}
	}
}

func TestMessagesMatchFiles(t *testing.T) {
	s, l := writeAndRead(t, FamilyBadDeploy, 3, Options{Duration: time.Hour})
	_, n := messagesDigest(t, s)
	for topic, format := range TopicFormats {
		if n[topic] != l.man.Messages[format] || n[topic] == 0 {
			t.Errorf("topic %s: %d messages, files hold %d", topic, n[topic], l.man.Messages[format])
		}
	}
	if l.man.Records["cloudwatch"] <= l.man.Messages["cloudwatch"] {
		t.Errorf("%d log events in %d payloads: want several per payload", l.man.Records["cloudwatch"], l.man.Messages["cloudwatch"])
	}
	// Messages arrive in order per topic (CloudTrail late, by arrival).
	last := map[string]time.Time{}
	bad := 0
	err := s.EachMessage(func(topic string, m Message) error {
		if topic == TopicCloudTrail && m.Time.Before(last[topic]) {
			bad++
		}
		last[topic] = m.Time
		if topic == TopicCloudWatch {
			if _, err := gzip.NewReader(bytes.NewReader(m.Value)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || bad > 0 {
		t.Fatalf("err %v, %d CloudTrail messages out of arrival order", err, bad)
	}
}

func TestScale(t *testing.T) {
	count := func(scale float64) int {
		s, err := Generate(FamilyQuiet, 5, Options{Duration: time.Hour, Scale: scale})
		if err != nil {
			t.Fatal(err)
		}
		_, n := messagesDigest(t, s)
		return n[TopicApp] + n[TopicCloudTrail]
	}
	one, ten := count(1), count(10)
	if ratio := float64(ten) / float64(one); ratio < 8 || ratio > 12 {
		t.Fatalf("scale 10 gave %d events vs %d at scale 1 (ratio %.1f), want about 10", ten, one, ratio)
	}
}

// The harder families (issue 21) plant what they say: the decoy of the
// root cause's type closer to the onset, the record of the same zone, the
// late Health issue, the second incident, the slow ramp, the caller's
// deploy. Load balancer DNS names are stable: one number per load balancer.
func TestHarderFamilies(t *testing.T) {
	decoyOf := func(tr Truth, pred func(ChangeRef) bool) *ChangeRef {
		for i := range tr.Decoys {
			if pred(tr.Decoys[i]) {
				return &tr.Decoys[i]
			}
		}
		return nil
	}
	for seed := range int64(3) {
		seed += 40
		for _, fam := range []string{FamilyDecoyCloser, FamilyDNSDecoy, FamilyLateHealth, FamilyTwoIncidents, FamilySlowRamp, FamilyDeployDecoy, FamilyLBChange} {
			_, l := writeAndRead(t, fam, seed, Options{Duration: 2 * time.Hour, Services: 10})
			tr := l.truth
			closer := func(d ChangeRef) bool { return d.Time.After(tr.RootCauseTime) && d.Time.Before(tr.Onset) }
			switch fam {
			case FamilyDecoyCloser:
				d := decoyOf(tr, func(d ChangeRef) bool {
					return d.Service == tr.RootCauseService && d.Region == tr.RootCauseRegion && closer(d)
				})
				if d == nil {
					t.Errorf("%s/%d: no %s decoy in %s between the root cause and the onset: %+v", fam, seed, tr.RootCauseService, tr.RootCauseRegion, tr.Decoys)
				}
			case FamilyDNSDecoy:
				d := decoyOf(tr, func(d ChangeRef) bool { return d.Operation == "ChangeResourceRecordSets" && closer(d) })
				if d == nil {
					t.Fatalf("%s/%d: no record change closer to the onset: %+v", fam, seed, tr.Decoys)
				}
				zone := func(id string) any {
					return l.ctByID[id]["requestParameters"].(map[string]any)["hostedZoneId"]
				}
				if zone(d.EventID) != zone(tr.RootCauseEventID) {
					t.Errorf("%s/%d: decoy record in zone %v, root cause in %v", fam, seed, zone(d.EventID), zone(tr.RootCauseEventID))
				}
			case FamilyLateHealth:
				e := l.awsByID[tr.RootCauseEventID]
				pub, _ := time.Parse(time.RFC3339, e["time"].(string))
				det := e["detail"].(map[string]any)
				start, _ := time.Parse(layoutHealth, det["startTime"].(string))
				if pub.Sub(tr.Onset) < 8*time.Minute || !start.Before(tr.Onset) || !start.Equal(tr.RootCauseTime.Truncate(time.Second)) {
					t.Errorf("%s/%d: Health issue started %s, published %s; onset %s", fam, seed, start, pub, tr.Onset)
				}
				n := 0
				for _, ev := range l.aws {
					if d, ok := ev["detail"].(map[string]any); ok && d["eventArn"] == det["eventArn"] {
						n++
					}
				}
				if n < 2 {
					t.Errorf("%s/%d: %d publications of the Health issue, want updates too", fam, seed, n)
				}
			case FamilyTwoIncidents:
				if len(tr.Also) != 1 || tr.Also[0].Kind == tr.Kind || tr.Also[0].RootCauseEventID == "" {
					t.Fatalf("%s/%d: also %+v", fam, seed, tr.Also)
				}
				b := tr.Also[0]
				if d := b.Onset.Sub(tr.Onset); d < -3*time.Minute || d > 8*time.Minute {
					t.Errorf("%s/%d: second onset %s, first %s: not overlapping", fam, seed, b.Onset, tr.Onset)
				}
			case FamilySlowRamp:
				first := tr.Affected[0]
				perMin := errorsPerMinute(l)[first.Service+"|"+first.Region]
				early, peak := 0, 0
				for m, n := range perMin {
					if !m.Before(first.Onset.Truncate(time.Minute)) && m.Before(first.Onset.Add(3*time.Minute)) {
						early = max(early, n)
					}
					peak = max(peak, n)
				}
				if early*3 > peak {
					t.Errorf("%s/%d: %d errors/min in the first 3 minutes of a slow ramp to %d", fam, seed, early, peak)
				}
				if d := decoyOf(tr, func(d ChangeRef) bool {
					return d.Time.After(tr.Onset.Add(time.Minute)) && d.Time.Before(tr.Onset.Add(15*time.Minute)) && d.Operation != "SetDesiredCapacity"
				}); d == nil {
					t.Errorf("%s/%d: no change during the ramp: %+v", fam, seed, tr.Decoys)
				}
			case FamilyDeployDecoy:
				d := decoyOf(tr, func(d ChangeRef) bool { return d.Source == "deploy" && closer(d) })
				if d == nil {
					t.Fatalf("%s/%d: no deploy closer to the onset: %+v", fam, seed, tr.Decoys)
				}
				if !slices.Contains(tr.Topology[d.Service], tr.RootCauseService) {
					t.Errorf("%s/%d: decoy deploy of %s, which does not call %s", fam, seed, d.Service, tr.RootCauseService)
				}
				newVersion := l.appByID[d.EventID]["version"]
				carry := 0
				for _, m := range l.app {
					if m["service"] == d.Service && m["level"] == "error" && m["version"] == newVersion {
						carry++
					}
				}
				if carry < 20 {
					t.Errorf("%s/%d: only %d errors of %s carry its new version %v", fam, seed, carry, d.Service, newVersion)
				}
			case FamilyLBChange:
				hosts := map[string]bool{}
				for _, m := range l.app {
					if m["service"] == tr.Affected[0].Service {
						if h, _ := m["server.address"].(string); strings.HasSuffix(h, ".elb.amazonaws.com") {
							hosts[h] = true
						}
					}
				}
				if len(hosts) != 1 {
					t.Errorf("%s/%d: the broken load balancer has %d DNS names, want one: %v", fam, seed, len(hosts), hosts)
				}
			}
		}
	}
}
