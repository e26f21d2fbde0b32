package ingest

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/faultline/faultline/transform"
)

// formatMessages returns, per topic format, the messages of that format:
// the real samples in transform/testdata/samples split into records the
// way `faultline produce` does, plus app, OTLP and CloudWatch payloads and
// Pub/Sub-wrapped Google Cloud entries.
func formatMessages(t *testing.T) map[transform.Format][][]byte {
	t.Helper()
	root := "../transform/testdata/samples"
	out := map[transform.Format][][]byte{}
	split := func(f transform.Format, path string) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		err = transform.SplitFile(raw, 64<<20, func(_ transform.RecordPos, rec []byte) error {
			out[f] = append(out[f], append([]byte(nil), rec...))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	whole := func(f transform.Format, path string) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = append(out[f], raw)
	}
	stratus, _ := filepath.Glob(filepath.Join(root, "cloudtrail/stratus/*.json"))
	for _, p := range stratus {
		split(transform.FormatCloudTrail, p)
	}
	s3, _ := filepath.Glob(filepath.Join(root, "cloudtrail/s3/AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz"))
	for _, p := range s3 {
		whole(transform.FormatCloudTrail, p) // a whole S3 log file as one message
	}
	whole(transform.FormatCloudWatch, filepath.Join(root, "cloudwatch/lambda-go-cloudwatch-logs-event.json"))
	data := `{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/checkout","logStream":"s","subscriptionFilters":["f"],"logEvents":[` +
		`{"id":"1","timestamp":1760944323120,"message":"[ERROR] 2025-10-20T07:12:03.120Z DynamoDB timeout"},{"id":"2","timestamp":1760944324120,"message":"REPORT RequestId: x Duration: 3.1 ms"}]}`
	control := `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1760944323120,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`
	out[transform.FormatCloudWatch] = append(out[transform.FormatCloudWatch],
		gzipBytes(t, []byte(data)), []byte(base64.StdEncoding.EncodeToString(gzipBytes(t, []byte(data)))), gzipBytes(t, []byte(control)))
	events, _ := filepath.Glob(filepath.Join(root, "events/*.json"))
	for _, p := range events {
		whole(transform.FormatAWSEvents, p)
	}
	for i := 0; i < 20; i++ {
		out[transform.FormatApp] = append(out[transform.FormatApp], fmt.Appendf(nil,
			`{"time":"2025-10-20T07:12:%02d.120Z","service":"checkout","level":"error","message":"timeout %d","error.type":"DynamoDBTimeout","region":"us-east-1","server.address":"dynamodb.us-east-1.amazonaws.com","trace_id":"t%d","version":"1.4.2","env":"prod"}`, i, i, i))
	}
	out[transform.FormatApp] = append(out[transform.FormatApp], []byte(`{"time":"2025-10-20T07:10:00Z","service":"checkout","kind":"deploy","version":"1.4.3","actor":"ci"}`))
	out[transform.FormatOTLP] = append(out[transform.FormatOTLP], []byte(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeLogs":[{"logRecords":[`+
		`{"timeUnixNano":"1760944323120000000","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"GetItem timed out"}},`+
		`{"timeUnixNano":"1760944324120000000","severityNumber":9,"body":{"stringValue":"ok"}}]}]}]}`))
	// Google Cloud: log sink entries one per message (the NDJSON sample split
	// by line), whole pretty-printed entries, and as the Pub/Sub Kafka
	// connector and a push relay deliver them.
	split(transform.FormatGCPAudit, filepath.Join(root, "gcp/plaso-gcp_logging.jsonl"))
	gcp, _ := filepath.Glob(filepath.Join(root, "gcp/*.json"))
	for _, p := range gcp {
		whole(transform.FormatGCPAudit, p)
	}
	entry := out[transform.FormatGCPAudit][0]
	b64 := base64.StdEncoding.EncodeToString(entry)
	out[transform.FormatGCPAudit] = append(out[transform.FormatGCPAudit], []byte(b64),
		[]byte(`{"message":"`+b64+`","logging.googleapis.com/timestamp":"2021-10-19T02:57:47.339377Z"}`),
		[]byte(`{"message":{"data":"`+b64+`","messageId":"1","publishTime":"2021-10-19T02:57:48Z"},"subscription":"projects/fake-project/subscriptions/faultline"}`))
	// Azure: diagnostic-settings documents as Event Hubs delivers them.
	azure, _ := filepath.Glob(filepath.Join(root, "azure/*.json"))
	for _, p := range azure {
		whole(transform.FormatAzureActivity, p)
	}
	return out
}

// TestRunEveryFormat streams every input family through Kafka, each on a
// topic of its format and all together on an "auto" topic, and checks that
// DuckDB holds exactly the events (by source and kind), dead letters and
// control messages that decoding the same messages in-process yields, with
// the cloud_provider column as the decoder set it.
func TestRunEveryFormat(t *testing.T) {
	msgs := formatMessages(t)
	var formats []transform.Format
	for _, f := range transform.Formats {
		if f != transform.FormatAuto {
			formats = append(formats, f)
		}
	}
	topics := []string{"auto"}
	var recs []rec
	var topicCfg []TopicConfig
	for _, f := range formats {
		topics = append(topics, "t-"+string(f))
		topicCfg = append(topicCfg, TopicConfig{Name: "t-" + string(f), Format: string(f)})
		for i, m := range msgs[f] {
			recs = append(recs, rec{"t-" + string(f), int32(i % 2), m}, rec{"auto", int32(i % 2), m})
		}
	}
	topicCfg = append(topicCfg, TopicConfig{Name: "auto", Format: "auto"})
	c := newCluster(t, 2, topics...)
	produce(t, c.ListenAddrs(), recs)

	// Expected: decode the same messages here.
	dec, err := transform.NewDecoder(transform.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int64{} // topic -> "source/kind" or "dead" -> n
	control := int64(0)
	for _, r := range recs {
		format := transform.FormatAuto
		if r.topic != "auto" {
			format = transform.Format(r.topic[2:])
		}
		var res transform.Result
		dec.Decode(transform.Input{Format: format, Value: r.value, Time: time.Now()}, time.Now(), &res)
		if want[r.topic] == nil {
			want[r.topic] = map[string]int64{}
		}
		for _, e := range res.Events {
			want[r.topic][e.Source+"/"+e.Kind+"/"+e.CloudProvider]++
		}
		want[r.topic]["dead"] += int64(len(res.DeadLetters))
		control += int64(res.ControlMessages)
	}
	if control == 0 {
		t.Fatal("test data holds no CloudWatch control message")
	}

	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, topicCfg...)
	m := NewMetrics(nil)
	o.Metrics = m
	if err := Run(runCtx(t, 90*time.Second), o); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]int64{}
	rows, err := db.Query(`SELECT src_topic, source || '/' || kind || '/' || coalesce(cloud_provider, ''), count(*) FROM events GROUP BY ALL
		UNION ALL SELECT src_topic, 'dead', count(*) FROM dead_letters GROUP BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var topic, key string
		var n int64
		if err := rows.Scan(&topic, &key, &n); err != nil {
			t.Fatal(err)
		}
		if got[topic] == nil {
			got[topic] = map[string]int64{}
		}
		got[topic][key] = n
	}
	for _, topic := range topics {
		w, g := want[topic], got[topic]
		events := int64(0)
		for k, n := range w {
			if k != "dead" {
				events += n
			}
			if n != 0 && g[k] != n {
				t.Errorf("topic %s: %s = %d, want %d", topic, k, g[k], n)
			}
		}
		for k, n := range g {
			if w[k] != n {
				t.Errorf("topic %s: unexpected %s = %d (want %d)", topic, k, n, w[k])
			}
		}
		if events == 0 {
			t.Errorf("topic %s: the test data decodes to no events", topic)
		}
		keys := make([]string, 0, len(g))
		for k := range g {
			keys = append(keys, fmt.Sprintf("%s=%d", k, g[k]))
		}
		sort.Strings(keys)
		t.Logf("%s: %v", topic, keys)
	}
	if n := testutil.ToFloat64(m.ControlMessages); n != float64(control) {
		t.Errorf("control messages counted = %v, want %d", n, control)
	}
	if tot := queryInt(t, db, "SELECT sum(next_offset) FROM ingest_offsets"); tot != int64(len(recs)) {
		t.Errorf("stored offsets sum = %d, want %d", tot, len(recs))
	}
	// The rollups the sink computed in Go from the real samples, the
	// dependency evidence above all (config relationships, attributes,
	// assumed roles), equal their SQL recomputation from the events.
	if err := db.CheckRollups(t.Context()); err != nil {
		t.Error(err)
	}
	for _, origin := range []string{"config_relationship", "attribute", "cloudtrail_role"} {
		if n := queryInt(t, db, "SELECT count(*) FROM edge_minutes WHERE origin = '"+origin+"'"); n == 0 {
			t.Errorf("edge_minutes holds no %s evidence from the samples", origin)
		}
	}
}
