//go:build integration

package integration

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

var codecs = map[string]kafka.Compression{"gzip": kafka.Gzip, "snappy": kafka.Snappy, "lz4": kafka.Lz4, "zstd": kafka.Zstd}

// TestCompressionCodecs: messages compressed by the producer with each codec
// Apache Kafka accepts are read back intact, in order, by kafka-go; and
// `faultline produce --compression` sets the codec.
func TestCompressionCodecs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	msgs := make([]kafka.Message, 2000)
	for i := range msgs {
		// Compressible JSON with some noise and a few large values.
		pad := strings.Repeat("x", rng.IntN(200))
		if i%250 == 0 {
			pad = strings.Repeat(fmt.Sprint(rng.Uint64()), 4000)
		}
		msgs[i] = kafka.Message{
			Key:   fmt.Appendf(nil, "app/svc%d", i%5),
			Value: fmt.Appendf(nil, `{"time":"2025-10-20T07:12:%02d.%03dZ","service":"svc%d","level":"error","message":"m%d %s","n":%d}`, i%60, i%1000, i%5, i, pad, rng.Int64()),
		}
	}
	for name, codec := range codecs {
		t.Run(name, func(t *testing.T) {
			topic := newTopic(t, 1)
			w := &kafka.Writer{Addr: kafka.TCP(brokerAddr(t)), Topic: topic, Compression: codec, BatchSize: 100, BatchBytes: 4 << 20, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll}
			if err := w.WriteMessages(t.Context(), msgs...); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := readAll(t, topic)
			if len(got) != len(msgs) {
				t.Fatalf("read %d messages, want %d", len(got), len(msgs))
			}
			for i := range got {
				if string(got[i].Value) != string(msgs[i].Value) || string(got[i].Key) != string(msgs[i].Key) {
					t.Fatalf("message %d differs after %s", i, name)
				}
			}

			// The same codec through faultline produce.
			topic2 := newTopic(t, 1)
			file := filepath.Join(realData, "stratus-ssm-start-session.json")
			runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic2, "--compression", name, file)
			want := expected(t, file)
			got = readAll(t, topic2)
			n := 0
			for _, m := range got {
				want[kv{string(m.Key), string(m.Value)}]--
				n++
			}
			for k, c := range want {
				if c != 0 {
					t.Errorf("faultline produce --compression %s: record %.60s off by %d", name, k.value, c)
				}
			}
			if n == 0 {
				t.Error("nothing read back")
			}
		})
	}
}
