package ingest

import (
	"errors"
	"fmt"
	"time"

	"github.com/faultline/faultline/transform"
)

// KafkaConfig says how to reach the brokers and what to consume.
type KafkaConfig struct {
	Brokers  []string      `mapstructure:"brokers"`
	Group    string        `mapstructure:"group"`
	ClientID string        `mapstructure:"client_id"`
	Topics   []TopicConfig `mapstructure:"topics"`
	TLS      TLSConfig     `mapstructure:"tls"`
	SASL     SASLConfig    `mapstructure:"sasl"`
}

// TopicConfig names a topic and the format of its messages.
type TopicConfig struct {
	Name   string `mapstructure:"name"`
	Format string `mapstructure:"format"`
}

// TLSConfig enables TLS to the brokers.
type TLSConfig struct {
	Enabled            bool   `mapstructure:"enabled"`
	CAFile             string `mapstructure:"ca_file"`
	CertFile           string `mapstructure:"cert_file"`
	KeyFile            string `mapstructure:"key_file"`
	InsecureSkipVerify bool   `mapstructure:"insecure_skip_verify"`
}

// SASLConfig enables SASL authentication.
type SASLConfig struct {
	Mechanism string `mapstructure:"mechanism"` // "", plain, scram-sha-256, scram-sha-512
	Username  string `mapstructure:"username"`
	Password  string `mapstructure:"password"`
}

// Config tunes batching, memory and failure handling.
type Config struct {
	BatchMaxEvents   int           `mapstructure:"batch_max_events"`
	BatchMaxBytes    int           `mapstructure:"batch_max_bytes"`
	BatchMaxWait     time.Duration `mapstructure:"batch_max_wait"`
	MaxInflightBytes int           `mapstructure:"max_inflight_bytes"`
	AllowDataLoss    bool          `mapstructure:"allow_data_loss"`
	ExitWhenCaughtUp bool          `mapstructure:"exit_when_caught_up"`
	MetricsListen    string        `mapstructure:"metrics_listen"`
}

// DefaultKafkaConfig returns the defaults for the kafka section.
func DefaultKafkaConfig() KafkaConfig {
	return KafkaConfig{Brokers: []string{"127.0.0.1:9092"}, Group: "faultline", ClientID: "faultline"}
}

// DefaultConfig returns the defaults for the ingest section.
func DefaultConfig() Config {
	return Config{
		BatchMaxEvents:   50000,
		BatchMaxBytes:    32 << 20,
		BatchMaxWait:     time.Second,
		MaxInflightBytes: 256 << 20,
		MetricsListen:    "",
	}
}

// Validate names every invalid key, its value and what is allowed.
func (c KafkaConfig) Validate() error {
	var errs []error
	for i, t := range c.Topics {
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("kafka.topics[%d].name: empty is not allowed: name the Kafka topic", i))
		}
		if _, err := transform.ParseFormat(t.Format); err != nil {
			errs = append(errs, fmt.Errorf("kafka.topics[%d].format: %w", i, err))
		}
	}
	switch c.SASL.Mechanism {
	case "", "plain", "scram-sha-256", "scram-sha-512":
	default:
		errs = append(errs, fmt.Errorf("kafka.sasl.mechanism: %q is not allowed: use plain, scram-sha-256 or scram-sha-512 (or leave empty)", c.SASL.Mechanism))
	}
	return errors.Join(errs...)
}

// Validate names every invalid key, its value and what is allowed.
func (c Config) Validate() error {
	var errs []error
	if c.BatchMaxEvents <= 0 {
		errs = append(errs, fmt.Errorf("ingest.batch_max_events: %d is not allowed: must be positive", c.BatchMaxEvents))
	}
	if c.BatchMaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("ingest.batch_max_bytes: %d is not allowed: must be positive", c.BatchMaxBytes))
	}
	if c.BatchMaxWait <= 0 {
		errs = append(errs, fmt.Errorf("ingest.batch_max_wait: %s is not allowed: must be a positive duration such as 1s", c.BatchMaxWait))
	}
	if c.MaxInflightBytes < c.BatchMaxBytes {
		errs = append(errs, fmt.Errorf("ingest.max_inflight_bytes: %d is not allowed: must be at least ingest.batch_max_bytes (%d)", c.MaxInflightBytes, c.BatchMaxBytes))
	}
	return errors.Join(errs...)
}
