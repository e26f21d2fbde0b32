//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// realData holds real sample files (copied from ../shared/data; sources and
// licenses in its README.md).
const realData = "../../transform/testdata/split"

func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the integration suite with 'make test-integration'", name)
	}
	return v
}

func brokerAddr(t *testing.T) string { return env(t, "FAULTLINE_IT_BROKERS") }

// faultlineBin is the binary under test (make build).
func faultlineBin(t *testing.T) string { return env(t, "FAULTLINE_IT_BIN") }

// kafkactl stops ("stop": SIGTERM, "kill": SIGKILL) or starts the broker;
// start returns once it serves clients again on the same port.
func kafkactl(t *testing.T, action string) {
	t.Helper()
	start := time.Now()
	out, err := exec.CommandContext(t.Context(), env(t, "FAULTLINE_IT_KAFKA_CTL"), action).CombinedOutput()
	if err != nil {
		t.Fatalf("kafkactl %s: %v\n%s", action, err, out)
	}
	t.Logf("kafkactl %s took %s", action, time.Since(start).Round(100*time.Millisecond))
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// newTopic creates a topic unique to this test run.
func newTopic(t *testing.T, partitions int) string {
	t.Helper()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := fmt.Sprintf("it-%s-%s", unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), hex.EncodeToString(suffix))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokerAddr(t)), Timeout: 30 * time.Second}
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: name, NumPartitions: partitions, ReplicationFactor: 1}}})
	if err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	if err := resp.Errors[name]; err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	// Wait until the topic's partitions have leaders.
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{name}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) == partitions {
			ready := true
			for _, p := range md.Topics[0].Partitions {
				ready = ready && p.Error == nil && p.Leader.Host != ""
			}
			if ready {
				return name
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("topic %s has no leaders after 30s (last error %v)", name, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// runFaultline runs the binary and returns stdout; a failure ends the test.
func runFaultline(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := tryFaultline(t, args...)
	if err != nil {
		t.Fatalf("faultline %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return stdout
}

func tryFaultline(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, faultlineBin(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// partitionEnds returns each partition's first and end offsets. Right
// after a broker restart partitions may briefly have no leader, so it
// retries for up to a minute.
func partitionEnds(t *testing.T, topic string) map[int][2]int64 {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ends, err := tryPartitionEnds(t, topic)
		if err == nil {
			return ends
		}
		if time.Now().After(deadline) {
			t.Fatalf("offsets of %s: %v", topic, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func tryPartitionEnds(t *testing.T, topic string) (map[int][2]int64, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokerAddr(t)), Timeout: 30 * time.Second}
	md, err := client.Metadata(t.Context(), &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return nil, fmt.Errorf("metadata of %s: %+v", topic, md.Topics)
	}
	var reqs []kafka.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	resp, err := client.ListOffsets(t.Context(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, err
	}
	out := map[int][2]int64{}
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("partition %d: %w", po.Partition, po.Error)
		}
		out[po.Partition] = [2]int64{po.FirstOffset, po.LastOffset}
	}
	return out, nil
}

// readAll reads every message of topic up to the current end offsets, per
// partition in offset order, partitions in order.
func readAll(t *testing.T, topic string) []kafka.Message {
	t.Helper()
	ends := partitionEnds(t, topic)
	parts := make([]int, 0, len(ends))
	for p := range ends {
		parts = append(parts, p)
	}
	sort.Ints(parts)
	var out []kafka.Message
	for _, p := range parts {
		first, last := ends[p][0], ends[p][1]
		if last <= first {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{brokerAddr(t)}, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		if err := r.SetOffset(first); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				cancel()
				r.Close()
				t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			out = append(out, m)
			if m.Offset >= last-1 {
				break
			}
		}
		cancel()
		r.Close()
	}
	return out
}

// retryWrite writes msgs until the broker takes them (it may be restarting);
// it returns how many attempts failed.
func retryWrite(ctx context.Context, w *kafka.Writer, msgs []kafka.Message) (int, error) {
	failed := 0
	for {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil {
			return failed, nil
		}
		if ctx.Err() != nil {
			return failed, errors.Join(ctx.Err(), err)
		}
		failed++
		time.Sleep(250 * time.Millisecond)
	}
}
