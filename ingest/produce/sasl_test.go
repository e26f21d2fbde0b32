package produce

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/faultline/faultline/ingest"
)

// TestRunSASL: with kafka.sasl configured (the same Transport as ingest),
// produce authenticates with SCRAM; a wrong password fails fast with the
// broker's reason.
func TestRunSASL(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "alice", "s3cret"), kfake.SeedTopics(1, "secure"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	kc := ingest.DefaultKafkaConfig()
	kc.SASL = ingest.SASLConfig{Mechanism: "scram-sha-512", Username: "alice", Password: "s3cret"}
	tr, err := ingest.NewTransport(kc)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(fixtures, "stratus-cloudtrail-stop.json")
	sum, err := Run(t.Context(), testConfig("secure"), []string{file}, Options{Brokers: []string{addr}, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	want := expect(t, file)
	if sum.Messages != len(want) || sum.Messages == 0 {
		t.Fatalf("sent %d messages, want %d", sum.Messages, len(want))
	}
	// Read back as alice.
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: "secure", Dialer: &kafka.Dialer{SASLMechanism: tr.SASL}})
	defer r.Close()
	for i := range want {
		m, err := r.ReadMessage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Value) != want[i].value {
			t.Errorf("message %d differs from record %d", i, i)
		}
	}

	kc.SASL.Password = "wrong"
	bad, err := ingest.NewTransport(kc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(t.Context(), testConfig("secure"), []string{file}, Options{Brokers: []string{addr}, Transport: bad})
	if err == nil || !strings.Contains(err.Error(), "cannot reach Kafka") || !strings.Contains(err.Error(), "kafka.sasl credentials") {
		t.Errorf("wrong password: %v, want a connection error naming SASL", err)
	}
	_, err = Run(t.Context(), testConfig("secure"), []string{file}, Options{Brokers: []string{addr}})
	if err == nil {
		t.Error("no credentials: produce succeeded against a SASL-only broker")
	}
}
