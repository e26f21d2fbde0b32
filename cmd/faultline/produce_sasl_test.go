package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestProduceSASL: `faultline produce` authenticates with kafka.sasl (the
// same settings as ingest); a wrong password fails fast with a hint to check
// the credentials.
func TestProduceSASL(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "alice", "s3cret"), kfake.SeedTopics(1, "secure"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	file := filepath.Join(realData, "stratus-cloudtrail-stop.json")
	t.Setenv("FAULTLINE_KAFKA_SASL_MECHANISM", "scram-sha-512")
	t.Setenv("FAULTLINE_KAFKA_SASL_USERNAME", "alice")
	t.Setenv("FAULTLINE_KAFKA_SASL_PASSWORD", "s3cret")
	out, _, err := runCmd(t.Context(), t, "produce", "--brokers", addr, "--topic", "secure", file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "produced 1 messages") {
		t.Errorf("summary %q, want the file's one record", out)
	}
	mech, err := scram.Mechanism(scram.SHA512, "alice", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: "secure", Dialer: &kafka.Dialer{SASLMechanism: mech}})
	defer r.Close()
	m, err := r.ReadMessage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.Value), `"eventVersion"`) {
		t.Errorf("first message %.80s is not a CloudTrail record", m.Value)
	}

	t.Setenv("FAULTLINE_KAFKA_SASL_PASSWORD", "wrong")
	_, _, err = runCmd(t.Context(), t, "produce", "--brokers", addr, "--topic", "secure", "--dial-timeout", "3s", file)
	if err == nil || !strings.Contains(err.Error(), "kafka.sasl credentials") {
		t.Errorf("wrong password: %v, want a hint to check kafka.sasl", err)
	}
}
