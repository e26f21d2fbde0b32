package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func startTest(t *testing.T, topics map[string]int32) *Broker {
	t.Helper()
	b, err := Start(t.Context(), "127.0.0.1:0", topics)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func produce(t *testing.T, addr, topic string, n int) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: topic, Balancer: &kafka.Hash{}, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: fmt.Appendf(nil, "k%d", i%7), Value: fmt.Appendf(nil, "v%d", i)}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

func TestProduceConsumeKafkaGo(t *testing.T) {
	b := startTest(t, map[string]int32{"cloudtrail": 3, "app-errors": 1})
	if got := b.Addrs(); len(got) != 1 || !strings.HasPrefix(got[0], "127.0.0.1:") || strings.HasSuffix(got[0], ":0") {
		t.Fatalf("Addrs() = %v, want one 127.0.0.1 address with a real port", got)
	}
	parts, err := (&kafka.Client{Addr: kafka.TCP(b.Addr())}).Metadata(t.Context(), &kafka.MetadataRequest{Topics: []string{"cloudtrail", "app-errors"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range parts.Topics {
		want := map[string]int{"cloudtrail": 3, "app-errors": 1}[tp.Name]
		if tp.Error != nil || len(tp.Partitions) != want {
			t.Errorf("topic %s: %d partitions (err %v), want %d", tp.Name, len(tp.Partitions), tp.Error, want)
		}
	}

	produce(t, b.Addr(), "cloudtrail", 100)
	// Every message is read back once, by key partition, in order per key.
	seen := map[string]bool{}
	lastPerKey := map[string]int{}
	for p := range 3 {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: b.Addrs(), Topic: "cloudtrail", Partition: p, MaxWait: 50 * time.Millisecond})
		conn, err := kafka.DialLeader(t.Context(), "tcp", b.Addr(), "cloudtrail", p)
		if err != nil {
			t.Fatal(err)
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		for range last {
			m, err := r.ReadMessage(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var i int
			if _, err := fmt.Sscanf(string(m.Value), "v%d", &i); err != nil {
				t.Fatalf("record %q: %v", m.Value, err)
			}
			if prev, ok := lastPerKey[string(m.Key)]; ok && prev > i {
				t.Errorf("key %s: v%d after v%d", m.Key, i, prev)
			}
			lastPerKey[string(m.Key)] = i
			seen[string(m.Value)] = true
		}
		r.Close()
	}
	if len(seen) != 100 {
		t.Errorf("read %d distinct messages, want 100", len(seen))
	}
}

func TestConsumerGroup(t *testing.T) {
	b := startTest(t, map[string]int32{"events": 4})
	produce(t, b.Addr(), "events", 200)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	newReader := func() *kafka.Reader {
		return kafka.NewReader(kafka.ReaderConfig{
			Brokers: b.Addrs(), Topic: "events", GroupID: "g1", MaxWait: 50 * time.Millisecond,
			StartOffset: kafka.FirstOffset, HeartbeatInterval: 200 * time.Millisecond,
			SessionTimeout: 6 * time.Second, RebalanceTimeout: 2 * time.Second,
		})
	}
	// Two members share the partitions; together they read everything once.
	r1, r2 := newReader(), newReader()
	defer r1.Close()
	defer r2.Close()
	type got struct {
		member, partition int
		value             string
	}
	ch := make(chan got)
	for i, r := range []*kafka.Reader{r1, r2} {
		go func() {
			for {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					return
				}
				if err := r.CommitMessages(ctx, m); err != nil {
					return
				}
				select {
				case ch <- got{i, m.Partition, string(m.Value)}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	values := map[string]int{}
	owner := map[int]int{}
	for len(values) < 200 {
		select {
		case g := <-ch:
			values[g.value]++
			owner[g.partition] = g.member
		case <-ctx.Done():
			t.Fatalf("read %d of 200 messages before the deadline", len(values))
		}
	}
	for v, n := range values {
		if n != 1 {
			t.Errorf("message %s read %d times", v, n)
		}
	}
	if len(owner) != 4 {
		t.Errorf("messages came from %d partitions, want 4", len(owner))
	}
	// Committed offsets: a new member of the group starts after them.
	cancel()
	r1.Close()
	r2.Close()
	produce(t, b.Addr(), "events", 1) // value v0 again, new offset
	r3 := newReader()
	defer r3.Close()
	ctx3, cancel3 := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel3()
	m, err := r3.FetchMessage(ctx3)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Value) != "v0" {
		t.Errorf("after the committed offsets the group read %q, want the new v0", m.Value)
	}
}

func TestCreateTopic(t *testing.T) {
	b := startTest(t, nil)
	if err := b.CreateTopic(t.Context(), "late", 2); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic(t.Context(), "late", 2); !errors.Is(err, kafka.TopicAlreadyExists) {
		t.Errorf("second create: %v, want TopicAlreadyExists", err)
	}
	if err := b.CreateTopic(t.Context(), "bad name", 2); err == nil {
		t.Error("a topic name with a space was accepted")
	}
	produce(t, b.Addr(), "late", 10)
}

func TestDataDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Topics = []string{"keep:2"}
	cfg.DataDir = dir
	b, err := StartConfig(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	produce(t, b.Addr(), "keep", 20)
	b.Close()

	cfg.Topics = append(cfg.Topics, "added:1")
	b, err = StartConfig(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var total int64
	for p := range 2 {
		conn, err := kafka.DialLeader(t.Context(), "tcp", b.Addr(), "keep", p)
		if err != nil {
			t.Fatal(err)
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		total += last
	}
	if total != 20 {
		t.Errorf("after restart the topic holds %d messages, want 20", total)
	}
	produce(t, b.Addr(), "added", 1)
}

func TestValidateAndParse(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		parts   int32
		wantErr string
	}{
		{"cloudtrail:3", "cloudtrail", 3, ""},
		{"app-errors", "app-errors", 5, ""},
		{"x:0", "", 0, "partitions \"0\""},
		{"x:abc", "", 0, "partitions \"abc\""},
		{":3", "", 0, "not allowed"},
		{"a b:1", "", 0, "not allowed"},
		{"é:1", "", 0, "letters, digits"},
	}
	for _, tc := range tests {
		name, p, err := ParseTopic(tc.in, 5)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseTopic(%q) error %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || name != tc.name || p != tc.parts {
			t.Errorf("ParseTopic(%q) = %q, %d, %v; want %q, %d", tc.in, name, p, err, tc.name, tc.parts)
		}
	}
	cfg := Config{Listen: "nohost", DefaultPartitions: 0, Topics: []string{"ok:1", "bad:x"}}
	err := cfg.Validate()
	for _, want := range []string{"broker.listen: \"nohost\"", "broker.default_partitions: 0", "broker.topics[1]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
	if _, err := Start(t.Context(), "256.1.1.1:99999", nil); err == nil {
		t.Error("Start on an impossible address succeeded")
	}
}

// A --data-dir that is a file, or under one, is named as the problem (it
// used to say to pick a free address).
func TestDataDirNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(file, []byte("a,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		file:                        "is a file: pass --data-dir with a directory",
		filepath.Join(file, "data"): "check --data-dir",
	} {
		cfg := DefaultConfig()
		cfg.Listen, cfg.DataDir = "127.0.0.1:0", path
		b, err := StartConfig(t.Context(), cfg, nil)
		if err == nil {
			b.Close()
		}
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "free address") {
			t.Errorf("--data-dir %s: %v, want it to say %q", path, err, want)
		}
	}
}
