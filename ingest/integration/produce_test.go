//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/ingest/produce"
	"github.com/faultline/faultline/transform"
)

type kv struct{ key, value string }

// expected lists what producing files sends, by the splitter's contract.
func expected(t *testing.T, files ...string) map[kv]int {
	t.Helper()
	out := map[kv]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		err = transform.SplitFile(data, 64<<20, func(_ transform.RecordPos, rec []byte) error {
			out[kv{string(produce.KeyFor(rec, f)), string(rec)}]++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestProduceRealFiles: `faultline produce` replays the real sample files
// into Apache Kafka; kafka-go reads every record back unchanged, once,
// keyed by source, with the format header.
func TestProduceRealFiles(t *testing.T) {
	topic := newTopic(t, 3)
	files, err := filepath.Glob(filepath.Join(realData, "*.json*"))
	if err != nil || len(files) < 5 {
		t.Fatalf("real sample files: %v %v", files, err)
	}
	out := runFaultline(t, append([]string{"produce", "--brokers", brokerAddr(t), "--topic", topic, "--format", "auto"}, files...)...)
	want := expected(t, files...)
	total := 0
	for _, n := range want {
		total += n
	}
	if !strings.Contains(out, fmt.Sprintf("produced %d messages", total)) {
		t.Errorf("summary %q, want %d messages", out, total)
	}
	got := readAll(t, topic)
	if len(got) != total {
		t.Fatalf("read back %d messages, want %d", len(got), total)
	}
	partitionsOf := map[string]map[int]bool{}
	for _, m := range got {
		k := kv{string(m.Key), string(m.Value)}
		want[k]--
		if len(m.Headers) != 1 || m.Headers[0].Key != produce.FormatHeader || string(m.Headers[0].Value) != "auto" {
			t.Errorf("headers %v", m.Headers)
		}
		if partitionsOf[k.key] == nil {
			partitionsOf[k.key] = map[int]bool{}
		}
		partitionsOf[k.key][m.Partition] = true
		// CloudTrail records: the key is the record's own account/region.
		var rec struct {
			EventVersion, RecipientAccountID, AWSRegion string
		}
		if json.Unmarshal(m.Value, &rec) == nil && rec.EventVersion != "" {
			if w := "cloudtrail/" + rec.RecipientAccountID + "/" + rec.AWSRegion; k.key != w {
				t.Errorf("CloudTrail record key %q, want %q", k.key, w)
			}
		}
	}
	for k, n := range want {
		if n != 0 {
			t.Errorf("key %s value %.60s: %d more sent than read back", k.key, k.value, n)
		}
	}
	for key, parts := range partitionsOf {
		if len(parts) != 1 {
			t.Errorf("key %s spread over partitions %v: one source must stay on one partition", key, parts)
		}
	}
}

// TestProduceErrorsAgainstKafka: a missing topic on a real broker is a
// one-line error and nothing is sent.
func TestProduceErrorsAgainstKafka(t *testing.T) {
	_, stderr, err := tryFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", "it-does-not-exist", filepath.Join(realData, "eventbridge.json"))
	if err == nil {
		t.Fatal("producing to a missing topic succeeded")
	}
	if !strings.Contains(stderr, "topic it-does-not-exist does not exist") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("stderr %q, want one line naming the missing topic", stderr)
	}
}
