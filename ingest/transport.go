package ingest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// NewTransport returns a kafka-go Transport for c: client id, TLS and SASL
// as configured. faultline's other Kafka clients (produce) use it so that
// they reach the same clusters as ingest.
func NewTransport(c KafkaConfig) (*kafka.Transport, error) {
	_, t, err := kafkaClient(c)
	return t, err
}

// kafkaClient builds the dialer (readers, group) and transport (admin
// requests) with the configured TLS and SASL.
func kafkaClient(c KafkaConfig) (*kafka.Dialer, *kafka.Transport, error) {
	var tlsCfg *tls.Config
	if c.TLS.Enabled {
		tlsCfg = &tls.Config{InsecureSkipVerify: c.TLS.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in
		if c.TLS.CAFile != "" {
			pem, err := os.ReadFile(c.TLS.CAFile)
			if err != nil {
				return nil, nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("kafka.tls.ca_file: %s holds no PEM certificate", c.TLS.CAFile)
			}
			tlsCfg.RootCAs = pool
		}
		if c.TLS.CertFile != "" || c.TLS.KeyFile != "" {
			cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
			if err != nil {
				return nil, nil, fmt.Errorf("kafka.tls.cert_file/key_file: %w", err)
			}
			tlsCfg.Certificates = []tls.Certificate{cert}
		}
	}
	var mech sasl.Mechanism
	switch c.SASL.Mechanism {
	case "plain":
		mech = plain.Mechanism{Username: c.SASL.Username, Password: c.SASL.Password}
	case "scram-sha-256", "scram-sha-512":
		algo := scram.SHA256
		if c.SASL.Mechanism == "scram-sha-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, c.SASL.Username, c.SASL.Password)
		if err != nil {
			return nil, nil, fmt.Errorf("kafka.sasl: %w", err)
		}
		mech = m
	}
	d := &kafka.Dialer{ClientID: c.ClientID, Timeout: 10 * time.Second, DualStack: true, TLS: tlsCfg, SASLMechanism: mech}
	t := &kafka.Transport{ClientID: c.ClientID, TLS: tlsCfg, SASL: mech, DialTimeout: 10 * time.Second}
	return d, t, nil
}

// NewDialer returns a kafka-go Dialer for c (client id, TLS and SASL as
// configured), for readers outside ingest (the relay's).
func NewDialer(c KafkaConfig) (*kafka.Dialer, error) {
	d, _, err := kafkaClient(c)
	return d, err
}
