package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleRecords gives read_json the records faultline load reads: array
// elements, an Azure document's records, a CloudWatch delivery's inflated
// payload, NDJSON lines; each one compact line.
func TestSampleRecords(t *testing.T) {
	dir := t.TempDir()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write([]byte(`{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":1,"message":"ERROR x"}]}`)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"a/array.json":   "[{\"eventVersion\":\"1.08\",\n \"eventName\":\"A\"}, {\"eventVersion\":\"1.08\",\"eventName\":\"B\"}]",
		"a/azure.json":   `{"records":[{"operationName":"X/WRITE","category":"Administrative"},{"operationName":"Y/DELETE","category":"Administrative"}]}`,
		"a/cw.json":      `{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(z.Bytes()) + `"}}`,
		"a/lines.jsonl":  "{\"a\":1}\n{\"a\":2}\n",
		"a/LICENSE.text": "not a record",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := sampleRecords(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if !json.Valid(r) || bytes.ContainsAny(r, "\n") {
			t.Errorf("record %q is not one line of JSON", r)
		}
		got = append(got, string(r))
	}
	want := []string{
		`{"eventVersion":"1.08","eventName":"A"}`, `{"eventVersion":"1.08","eventName":"B"}`,
		`{"operationName":"X/WRITE","category":"Administrative"}`, `{"operationName":"Y/DELETE","category":"Administrative"}`,
		`{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":1,"message":"ERROR x"}]}`,
		`{"a":1}`, `{"a":2}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if recs, err := sampleRecords(filepath.Join(dir, "missing")); err != nil || len(recs) != 0 {
		t.Errorf("a missing source: %d records, %v", len(recs), err)
	}
}

// measureStorage loads each source both ways and reports sizes per event;
// faultline's attributes are in ZSTD and no record is a dead letter.
func TestMeasureStorage(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 3 x 2000 events twice")
	}
	o := QuickOptions()
	o.StorageEvents = 2000
	res, err := measureStorage(context.Background(), o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(Topics) {
		t.Fatalf("%d results, want one per topic", len(res))
	}
	for _, r := range res {
		if r.Events < 2000 || r.DeadLetters != 0 || r.FaultlineBytes <= 0 || r.ReadJSONBytes <= 0 || r.Ratio <= 0 || r.AttributesCompression != "ZSTD" {
			t.Errorf("%s: %+v", r.Source, r)
		}
		if r.Resolved() {
			t.Errorf("%s: %.1f blocks of read_json counted as resolved", r.Source, r.ReadJSONBlocks)
		}
	}
}

func TestSizeMB(t *testing.T) {
	for in, want := range map[string]float64{"2GB": 2000, "512MiB": 536.870912, " 1.5 gb": 1500, "": 0, "lots": 0} {
		if got := sizeMB(in); got != want {
			t.Errorf("sizeMB(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestQueryTargets: issue 19's latency targets are judged per table size,
// 0.5 s over 10M events and 2 s over 100M, on the worst p95 of each.
func TestQueryTargets(t *testing.T) {
	r := &Report{Queries: []QueryResult{
		{Name: "incidents", Events: 1_000_000, P95Seconds: 9}, // no target at 1M
		{Name: "incidents", Events: 10_000_000, P95Seconds: 0.2},
		{Name: "suspects", Events: 10_000_000, P95Seconds: 0.7},
		{Name: "incidents", Events: 100_000_000, P95Seconds: 1.9},
	}}
	r.summarize()
	got := map[string]Target{}
	for _, tg := range r.Targets {
		got[tg.Name] = tg
	}
	want := map[string]Target{
		"named queries over 10M events, worst p95 s":  {"named queries over 10M events, worst p95 s", "<= 0.5", 0.7, false},
		"named queries over 100M events, worst p95 s": {"named queries over 100M events, worst p95 s", "<= 2", 1.9, true},
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("target %q = %+v, want %+v", name, got[name], w)
		}
	}
	for name := range got {
		if strings.Contains(name, "1M events") {
			t.Errorf("a target for 1M events: %q", name)
		}
	}
}
