package produce

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/faultline/faultline/ingest/broker"
	"github.com/faultline/faultline/transform"
)

const fixtures = "../../transform/testdata/split"

func startBroker(t *testing.T, topics map[string]int32) string {
	t.Helper()
	b, err := broker.Start(t.Context(), "127.0.0.1:0", topics)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b.Addr()
}

// readAll reads every message of every partition of topic, in partition
// order then offset order.
func readAll(t *testing.T, addr, topic string) []kafka.Message {
	t.Helper()
	conn, err := kafka.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out []kafka.Message
	for _, p := range parts {
		lc, err := kafka.DialLeader(t.Context(), "tcp", addr, topic, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		last, err := lc.ReadLastOffset()
		lc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if last == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p.ID, MaxWait: 50 * time.Millisecond})
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		for range last {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("partition %d: %v", p.ID, err)
			}
			out = append(out, m)
		}
		cancel()
		r.Close()
	}
	return out
}

type expected struct {
	key, value, file string
	index            int64
}

// expect lists what producing files should send, from the splitter.
func expect(t *testing.T, files ...string) []expected {
	t.Helper()
	var out []expected
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		err = transform.SplitFile(data, 1<<20, func(pos transform.RecordPos, rec []byte) error {
			out = append(out, expected{string(KeyFor(rec, f)), string(rec), f, pos.Index})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func testConfig(topic string) Config {
	cfg := DefaultConfig()
	cfg.Topic = topic
	cfg.DialTimeout = 5 * time.Second
	cfg.BatchSize = 7 // several batches per file
	return cfg
}

func TestRunRoundTrip(t *testing.T) {
	addr := startBroker(t, map[string]int32{"raw": 3})
	cfg := testConfig("raw")
	cfg.Format = "cloudtrail"
	sum, err := Run(t.Context(), cfg, []string{fixtures}, Options{Brokers: []string{addr}, MaxDecompressedBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	// Every file is sent, README.md and the license too (whole).
	files, _ := filepath.Glob(filepath.Join(fixtures, "*"))
	want := expect(t, files...)
	if sum.Files != len(files) || sum.Messages != len(want) {
		t.Errorf("summary %+v, want %d files and %d messages", sum, len(files), len(want))
	}
	got := readAll(t, addr, "raw")
	if len(got) != len(want) {
		t.Fatalf("read back %d messages, want %d", len(got), len(want))
	}
	// Every expected (key, value) is read back exactly once, unchanged.
	type kv struct{ k, v string }
	counts := map[kv]int{}
	for _, w := range want {
		counts[kv{w.key, w.value}]++
	}
	var bytes int64
	for _, m := range got {
		counts[kv{string(m.Key), string(m.Value)}]--
		bytes += int64(len(m.Value))
		if len(m.Headers) != 1 || m.Headers[0].Key != FormatHeader || string(m.Headers[0].Value) != "cloudtrail" {
			t.Errorf("headers %v, want %s: cloudtrail", m.Headers, FormatHeader)
		}
	}
	for k, n := range counts {
		if n != 0 {
			t.Errorf("message key %q value %.60q: read back %d times more/less than sent", k.k, k.v, -n)
		}
	}
	if sum.Bytes != bytes {
		t.Errorf("summary bytes %d, read back %d", sum.Bytes, bytes)
	}
	// Real CloudTrail keys: account and region from the records.
	wantKey := "cloudtrail/751203476945/ca-isob-northsouth-1r"
	if !slices.ContainsFunc(got, func(m kafka.Message) bool { return string(m.Key) == wantKey }) {
		t.Errorf("no message keyed %s", wantKey)
	}
	// Order within a key: the file's order.
	lastIdx := map[string]int64{}
	pos := map[string]int64{}
	for _, w := range want {
		pos[w.value] = w.index
	}
	for _, m := range got {
		idx := pos[string(m.Value)]
		k := string(m.Key)
		if prev, ok := lastIdx[k]; ok && idx < prev && strings.HasPrefix(k, "cloudtrail/") {
			t.Errorf("key %s: record %d read after record %d", k, idx, prev)
		}
		lastIdx[k] = idx
	}
}

func TestRunNDJSONAndRaw(t *testing.T) {
	addr := startBroker(t, map[string]int32{"app": 2, "blobs": 1})
	dir := t.TempDir()
	nd := filepath.Join(dir, "app.ndjson.gz")
	var lines bytes.Buffer
	for i := range 50 {
		fmt.Fprintf(&lines, `{"time":"2025-10-20T07:12:%02d.000Z","service":"svc%d","level":"error","message":"m%d"}`+"\n", i, i%3, i)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(lines.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nd, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(t.Context(), testConfig("app"), []string{nd}, Options{Brokers: []string{addr}, MaxDecompressedBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, addr, "app")
	if len(got) != 50 {
		t.Fatalf("read %d messages, want 50", len(got))
	}
	next := map[string]int{}
	for _, m := range got {
		var i int
		if _, err := fmt.Sscanf(string(m.Value[strings.Index(string(m.Value), `"message":"m`)+12:]), "%d", &i); err != nil {
			t.Fatalf("unexpected value %s", m.Value)
		}
		want := fmt.Sprintf("app/svc%d", i%3)
		if string(m.Key) != want {
			t.Errorf("message m%d key %q, want %q", i, m.Key, want)
		}
		// per service, messages keep the file's order
		if i < next[want] {
			t.Errorf("%s: m%d after m%d", want, i, next[want])
		}
		next[want] = i
	}

	cfg := testConfig("blobs")
	cfg.Raw = true
	if _, err := Run(t.Context(), cfg, []string{nd}, Options{Brokers: []string{addr}}); err != nil {
		t.Fatal(err)
	}
	blobs := readAll(t, addr, "blobs")
	if len(blobs) != 1 || !bytes.Equal(blobs[0].Value, gz.Bytes()) || string(blobs[0].Key) != nd {
		t.Errorf("--raw: %d messages, want the gzip file unchanged keyed by its path", len(blobs))
	}
}

func TestRunCompression(t *testing.T) {
	addr := startBroker(t, map[string]int32{"gzip": 1, "snappy": 1, "lz4": 1, "zstd": 1})
	file := filepath.Join(fixtures, "stratus-ssm-start-session.json")
	want := expect(t, file)
	for _, c := range []string{"gzip", "snappy", "lz4", "zstd"} {
		cfg := testConfig(c)
		cfg.Compression = c
		if _, err := Run(t.Context(), cfg, []string{file}, Options{Brokers: []string{addr}}); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		got := readAll(t, addr, c)
		if len(got) != len(want) {
			t.Fatalf("%s: %d messages, want %d", c, len(got), len(want))
		}
		for i := range got { // one partition: file order
			if string(got[i].Value) != want[i].value || string(got[i].Key) != want[i].key {
				t.Errorf("%s: message %d differs from record %d", c, i, i)
			}
		}
	}
}

func TestRunErrors(t *testing.T) {
	addr := startBroker(t, map[string]int32{"t": 1, "cloudtrail": 1})
	dir := t.TempDir()
	good := filepath.Join(fixtures, "eventbridge.json")
	corrupt := filepath.Join(dir, "broken.json.gz")
	if err := os.WriteFile(corrupt, []byte("\x1f\x8b\x08\x00garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte(`{"a":"`+strings.Repeat("x", 2000)+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// a DuckDB database: its header, then anything
	db := filepath.Join(dir, "here.duckdb")
	if err := os.WriteFile(db, append([]byte("\x00\x00\x00\x00\x00\x00\x00\x00DUCK"), make([]byte, 4096)...), 0o644); err != nil {
		t.Fatal(err)
	}
	dbDir := filepath.Join(dir, "dbonly")
	if err := os.Mkdir(dbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dbDir, "x.duckdb"), []byte("\x00\x00\x00\x00\x00\x00\x00\x00DUCK...."), 0o644); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.ndjson") // over the 64 KiB file limit below
	if err := os.WriteFile(huge, bytes.Repeat([]byte(`{"a":1}`+"\n"), 10000), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		cfg     func(*Config)
		brokers []string
		paths   []string
		want    []string
	}{
		{"missing file", nil, []string{addr}, []string{good, filepath.Join(dir, "nope.json")}, []string{"nope.json", "no such file", "check the path"}},
		{"no topic", func(c *Config) { c.Topic = "" }, []string{addr}, []string{good}, []string{"--topic"}},
		{"unknown topic", func(c *Config) { c.Topic = "absent" }, []string{addr}, []string{good}, []string{"topic absent does not exist", "faultline broker --topic absent:3"}},
		{"misspelt topic", func(c *Config) { c.Topic = "cloudtrial" }, []string{addr}, []string{good}, []string{"topic cloudtrial does not exist on " + addr + " (did you mean cloudtrail?): fix --topic"}},
		{"unreachable broker", func(c *Config) { c.DialTimeout = time.Second }, []string{"127.0.0.1:1"}, []string{good}, []string{"cannot reach Kafka at 127.0.0.1:1", "faultline broker"}},
		{"corrupt gzip", nil, []string{addr}, []string{corrupt}, []string{"broken.json.gz", "cannot be decompressed", "--raw"}},
		{"too large", func(c *Config) { c.MaxMessageBytes = 1000 }, []string{addr}, []string{big}, []string{"big.json", "produce.max_message_bytes (1000)"}},
		{"file over the limit", nil, []string{addr}, []string{good, huge}, []string{huge + " is 80000 bytes, over the 65536 byte file limit", "split it, or leave it out"}},
		{"bad compression", func(c *Config) { c.Compression = "brotli" }, []string{addr}, []string{good}, []string{"produce.compression: \"brotli\"", "zstd"}},
		{"bad format", func(c *Config) { c.Format = "xml" }, []string{addr}, []string{good}, []string{"produce.format", "\"xml\""}},
		{"empty dir", nil, []string{addr}, []string{t.TempDir()}, []string{"no files found"}},
		// a database was sent as junk messages, or refused as too large
		// with advice to raise the message limit
		{"database named", nil, []string{addr}, []string{good, db}, []string{db + " is a DuckDB database, not a log file", "faultline merge"}},
		{"dir of a database", nil, []string{addr}, []string{dbDir}, []string{"no files found under " + dbDir, "DuckDB databases are skipped"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("t")
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			start := time.Now()
			sum, err := Run(t.Context(), cfg, tc.paths, Options{Brokers: tc.brokers, MaxDecompressedBytes: 1 << 20, MaxFileBytes: 64 << 10})
			if err == nil {
				t.Fatalf("no error (summary %+v)", sum)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if sum.Messages != 0 {
				t.Errorf("%d messages sent before the error, want 0", sum.Messages)
			}
			if d := time.Since(start); d > time.Minute {
				t.Errorf("took %s to fail", d)
			}
		})
	}
	if got := readAll(t, addr, "t"); len(got) != 0 {
		t.Errorf("%d messages reached the topic, want 0", len(got))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Run(ctx, testConfig("t"), []string{good}, Options{Brokers: []string{addr}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v, want context.Canceled", err)
	}
}

// TestRunSkipsDatabases: a DuckDB database found in a directory (the
// demo's file beside the samples) is skipped; the logs beside it are sent.
func TestRunSkipsDatabases(t *testing.T) {
	addr := startBroker(t, map[string]int32{"t": 1})
	dir := t.TempDir()
	log, err := os.ReadFile(filepath.Join(fixtures, "eventbridge.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.json"), log, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.duckdb"), append([]byte("\x00\x00\x00\x00\x00\x00\x00\x00DUCK"), make([]byte, 100)...), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := Run(t.Context(), testConfig("t"), []string{dir}, Options{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Files != 1 {
		t.Errorf("%d files sent, want 1 (the database skipped)", sum.Files)
	}
	for _, m := range readAll(t, addr, "t") {
		if bytes.Contains(m.Value, []byte("DUCK")) {
			t.Errorf("the database reached the topic: %q", m.Value)
		}
	}
}

func TestKeyFor(t *testing.T) {
	tests := []struct{ rec, want string }{
		{`{"eventVersion":"1.08","recipientAccountId":"111","awsRegion":"us-east-1","eventSource":"ec2.amazonaws.com"}`, "cloudtrail/111/us-east-1"},
		{`{"time":"x","service":"checkout","level":"error"}`, "app/checkout"},
		{`{"time":"x","service":"checkout","kind":"deploy","extra":{"service":1}}`, "app/checkout"},
		{`{"version":"0","detail-type":"Config Configuration Item Change","source":"aws.config","account":"222","region":"eu-west-1"}`, "aws.config/222/eu-west-1"},
		{`{"messageType":"DATA_MESSAGE","logGroup":"/aws/lambda/x","logStream":"s1"}`, "/aws/lambda/x/s1"},
		{`{"awslogs":{"data":"H4sI"}}`, "dir/f.json"},
		{`{"service":{"name":"nested"}}`, "dir/f.json"},
		{"\x1f\x8b binary", "dir/f.json"},
		{`[1]`, "dir/f.json"},
	}
	for _, tc := range tests {
		if got := string(KeyFor([]byte(tc.rec), "dir/f.json")); got != tc.want {
			t.Errorf("KeyFor(%.50s) = %q, want %q", tc.rec, got, tc.want)
		}
	}
}

func TestTransportClientID(t *testing.T) {
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{}, "faultline"},
		{Options{ClientID: "mine"}, "mine"},
		{Options{Transport: &kafka.Transport{ClientID: "tls-client"}}, "tls-client"},
		{Options{ClientID: "mine", Transport: &kafka.Transport{ClientID: "tls-client"}}, "mine"},
	} {
		if got := transport(Config{}, c.opts).ClientID; got != c.want {
			t.Errorf("ClientID %q with Transport %v: got %q, want %q", c.opts.ClientID, c.opts.Transport != nil, got, c.want)
		}
	}
}

// TestRunAutoCreatedTopic: a broker that creates topics on first use
// (faultline broker --auto-create-topics) gets the records; produce used to
// refuse the topic because it did not exist yet.
func TestRunAutoCreatedTopic(t *testing.T) {
	cfg := broker.DefaultConfig()
	cfg.Listen, cfg.AutoCreateTopics = "127.0.0.1:0", true
	b, err := broker.StartConfig(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	sum, err := Run(t.Context(), testConfig("fresh"), []string{filepath.Join(fixtures, "eventbridge.json")}, Options{Brokers: []string{b.Addr()}})
	if err != nil {
		t.Fatalf("produce to an auto-created topic: %v", err)
	}
	if got := readAll(t, b.Addr(), "fresh"); len(got) != int(sum.Messages) || sum.Messages == 0 {
		t.Errorf("read back %d messages, produced %d", len(got), sum.Messages)
	}
}
