package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/faultline/faultline/transform"
)

// realData holds real sample files copied from ../shared/data (see its
// README for sources and licenses).
const realData = "../../transform/testdata/split"

type brokerCmd struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
	stderr *syncBuffer
}

// startBrokerCmd runs `faultline <args>` (a broker command) in-process and
// waits for its "listening on" line.
func startBrokerCmd(t *testing.T, args ...string) *brokerCmd {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	b := &brokerCmd{cancel: cancel, done: make(chan error, 1), stderr: &syncBuffer{}}
	var out syncBuffer
	go func() { b.done <- startCmd(ctx, &out, b.stderr, args...) }()
	deadline := time.After(20 * time.Second)
	for {
		if line, _, ok := strings.Cut(out.String(), "\n"); ok {
			addr, found := strings.CutPrefix(line, "listening on ")
			if !found {
				t.Fatalf("first line %q, want listening on ADDR", line)
			}
			b.addr = addr
			break
		}
		select {
		case err := <-b.done:
			t.Fatalf("broker exited: %v (stderr %s)", err, b.stderr)
		case <-deadline:
			t.Fatal("broker did not print its address within 20s")
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Cleanup(func() {
		cancel()
		if err := <-b.done; err != nil { // nil when stop already checked the exit
			t.Errorf("broker exited with %v", err)
		}
	})
	return b
}

// stop cancels the broker (as SIGINT does), checks it exits cleanly and
// returns what it logged.
func (b *brokerCmd) stop(t *testing.T) string {
	t.Helper()
	b.cancel()
	select {
	case err := <-b.done:
		if err != nil {
			t.Errorf("broker exited with %v", err)
		}
		b.done <- nil // for the cleanup
	case <-time.After(20 * time.Second):
		t.Fatal("broker did not stop within 20s of cancellation")
	}
	return b.stderr.String()
}

func readTopic(t *testing.T, addr, topic string) []kafka.Message {
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
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p.ID, MaxWait: 50 * time.Millisecond})
		lc, err := kafka.DialLeader(t.Context(), "tcp", addr, topic, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		last, err := lc.ReadLastOffset()
		lc.Close()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		for range last {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		cancel()
		r.Close()
	}
	return out
}

// TestBrokerProduceRoundTrip: `faultline broker` + `faultline produce` move
// real files into topics that a kafka-go reader reads back unchanged, with
// the documented keys.
func TestBrokerProduceRoundTrip(t *testing.T) {
	b := startBrokerCmd(t, "broker", "--listen", "127.0.0.1:0", "--topic", "cloudtrail:3", "--topic", "cloudwatch:1", "--topic", "events:2")

	ctFiles := []string{
		filepath.Join(realData, "cloudtrail-s3.json.gz"),
		filepath.Join(realData, "stratus-ssm-start-session.json"),
		filepath.Join(realData, "stratus-cloudtrail-stop.json"),
	}
	out, _, err := runCmd(t.Context(), t, append([]string{"produce", "--brokers", b.addr, "--topic", "cloudtrail", "--format", "cloudtrail"}, ctFiles...)...)
	if err != nil {
		t.Fatal(err)
	}
	// Independently of the splitter: the records of the real files.
	var want []map[string]any
	for _, f := range ctFiles {
		data, _ := os.ReadFile(f)
		var recs []map[string]any
		if strings.HasSuffix(f, ".gz") {
			var file struct{ Records []map[string]any }
			if err := transform.SplitFile(data, 1<<20, func(_ transform.RecordPos, rec []byte) error {
				var m map[string]any
				if err := json.Unmarshal(rec, &m); err != nil {
					return err
				}
				file.Records = append(file.Records, m)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			recs = file.Records
		} else if err := json.Unmarshal(data, &recs); err != nil {
			t.Fatal(err)
		}
		want = append(want, recs...)
	}
	if !strings.Contains(out, fmt.Sprintf("produced %d messages", len(want))) || !strings.Contains(out, "from 3 files") {
		t.Errorf("summary %q, want %d messages from 3 files", out, len(want))
	}
	got := readTopic(t, b.addr, "cloudtrail")
	if len(got) != len(want) {
		t.Fatalf("read back %d messages, want %d", len(got), len(want))
	}
	ids := map[string]int{}
	for _, w := range want {
		ids[w["eventID"].(string)]++
	}
	for _, m := range got {
		var rec map[string]any
		if err := json.Unmarshal(m.Value, &rec); err != nil {
			t.Fatalf("message is not one JSON record: %v: %.80s", err, m.Value)
		}
		id, _ := rec["eventID"].(string)
		ids[id]--
		wantKey := fmt.Sprintf("cloudtrail/%s/%s", rec["recipientAccountId"], rec["awsRegion"])
		if string(m.Key) != wantKey {
			t.Errorf("event %s key %q, want %q", id, m.Key, wantKey)
		}
		if len(m.Headers) != 1 || m.Headers[0].Key != "faultline-format" || string(m.Headers[0].Value) != "cloudtrail" {
			t.Errorf("event %s headers %v, want faultline-format: cloudtrail", id, m.Headers)
		}
	}
	for id, n := range ids {
		if n != 0 {
			t.Errorf("event %s: %d more sent than read back", id, n)
		}
	}

	// A CloudWatch Logs subscription file and EventBridge events are sent
	// whole, byte for byte.
	for topic, file := range map[string]string{"cloudwatch": "awslogs.json", "events": "eventbridge.json"} {
		path := filepath.Join(realData, file)
		if _, _, err := runCmd(t.Context(), t, "produce", "--brokers", b.addr, "--topic", topic, path); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		got := readTopic(t, b.addr, topic)
		if len(got) != 1 || string(got[0].Value) != string(data) {
			t.Fatalf("%s: %d messages, want the file unchanged as one", topic, len(got))
		}
		if topic == "events" && string(got[0].Key) != "aws.ec2/111122223333/us-west-1" {
			t.Errorf("EventBridge key %q, want source/account/region", got[0].Key)
		}
		if topic == "cloudwatch" && string(got[0].Key) != path {
			t.Errorf("CloudWatch payload key %q, want the file path %q", got[0].Key, path)
		}
	}
	b.stop(t)
}

func TestProduceCommandErrors(t *testing.T) {
	b := startBrokerCmd(t, "broker", "--listen", "127.0.0.1:0", "--topic", "t:1")
	tests := []struct {
		args  []string
		usage bool
		want  string
	}{
		{[]string{"produce", "--brokers", b.addr, "--topic", "t"}, true, "at least one FILE"},
		{[]string{"produce", "--brokers", b.addr, realData}, true, "no topic: name one with --topic"},
		{[]string{"produce", "--brokers", b.addr, "--topic", "t", "--nope", "x"}, true, "unknown flag: --nope"},
		{[]string{"produce", "--brokers", b.addr, "--topic", "t", "/no/such/file"}, false, "/no/such/file: no such file or directory (check the path)"},
		{[]string{"produce", "--brokers", "127.0.0.1:1", "--dial-timeout", "2s", "--topic", "t", realData}, false, "cannot reach Kafka at 127.0.0.1:1"},
		{[]string{"produce", "--brokers", b.addr, "--topic", "missing", realData}, false, "topic missing does not exist"},
		{[]string{"produce", "--brokers", b.addr, "--topic", "t", "--compression", "rar", realData}, true, `produce.compression: "rar"`},
		{[]string{"broker", "extra"}, true, "takes no arguments"},
		{[]string{"broker", "--listen", "127.0.0.1:0", "--topic", "bad:x"}, true, "broker.topics[0]"},
	}
	for _, tc := range tests {
		_, _, err := runCmd(t.Context(), t, tc.args...)
		if err == nil {
			t.Errorf("%v: no error", tc.args)
			continue
		}
		var ue usageError
		if isUsage := errors.As(err, &ue); isUsage != tc.usage {
			t.Errorf("%v: usage error %v, want %v (%v)", tc.args, isUsage, tc.usage, err)
		}
		if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %q, want one line containing %q", tc.args, err, tc.want)
		}
	}
}
