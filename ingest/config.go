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
	// FetchMaxWait bounds how long a fetch waits for new data (with
	// MinBytes 1, so low-volume topics never look stuck).
	FetchMaxWait time.Duration `mapstructure:"fetch_max_wait"`
	// FetchMaxBytes caps one fetch response per partition.
	FetchMaxBytes int `mapstructure:"fetch_max_bytes"`
	// SessionTimeout: a member that stops heartbeating for this long loses its partitions.
	SessionTimeout time.Duration `mapstructure:"session_timeout"`
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

// Values of Config.StartWithoutOffset.
const (
	StartGroup    = "group"
	StartEarliest = "earliest"
)

// Config tunes batching, memory and failure handling.
type Config struct {
	BatchMaxEvents   int           `mapstructure:"batch_max_events"`
	BatchMaxBytes    int           `mapstructure:"batch_max_bytes"`
	BatchMaxWait     time.Duration `mapstructure:"batch_max_wait"`
	MaxInflightBytes int           `mapstructure:"max_inflight_bytes"`
	AllowDataLoss    bool          `mapstructure:"allow_data_loss"`
	// StartWithoutOffset says where a partition starts when this DuckDB file
	// has no stored offset for it: StartGroup (the consumer group's committed
	// Kafka offset, else the earliest) or StartEarliest.
	StartWithoutOffset string `mapstructure:"start_without_offset"`
	ExitWhenCaughtUp   bool   `mapstructure:"exit_when_caught_up"`
	MetricsListen      string `mapstructure:"metrics_listen"`
	// ProgressInterval is how often progress and lag are logged (0 = never).
	ProgressInterval time.Duration `mapstructure:"progress_interval"`
	// RetryMaxBackoff caps the exponential backoff between retries while
	// brokers are unreachable or a commit fails.
	RetryMaxBackoff time.Duration `mapstructure:"retry_max_backoff"`
	// GiveUpAfter ends a batch run (ExitWhenCaughtUp) with an error after
	// this long without progress: brokers unreachable, or partitions held
	// by another member. Streaming runs retry forever.
	GiveUpAfter time.Duration `mapstructure:"give_up_after"`
}

// DefaultKafkaConfig returns the defaults for the kafka section.
func DefaultKafkaConfig() KafkaConfig {
	return KafkaConfig{
		Brokers: []string{"127.0.0.1:9092"}, Group: "faultline", ClientID: "faultline",
		FetchMaxWait: 500 * time.Millisecond, FetchMaxBytes: 16 << 20, SessionTimeout: 30 * time.Second,
	}
}

// DuckDBRowGroup is the rows of one DuckDB row group. A transaction that
// appends at least that many rows has DuckDB write them compressed straight
// to the file instead of to the WAL first and again at the checkpoint:
// batch_max_events defaults to it (docs/benchmarks.md, Change log).
const DuckDBRowGroup = 122_880

// DefaultConfig returns the defaults for the ingest section.
func DefaultConfig() Config {
	return Config{
		BatchMaxEvents:     DuckDBRowGroup,
		BatchMaxBytes:      256 << 20,
		BatchMaxWait:       time.Second,
		MaxInflightBytes:   512 << 20,
		MetricsListen:      "",
		StartWithoutOffset: StartGroup,
		ProgressInterval:   10 * time.Second,
		RetryMaxBackoff:    30 * time.Second,
		GiveUpAfter:        2 * time.Minute,
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
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka.brokers: empty is not allowed: list at least one host:port"))
	}
	if c.Group == "" {
		errs = append(errs, errors.New("kafka.group: empty is not allowed: name the consumer group, e.g. faultline"))
	}
	if c.FetchMaxWait <= 0 {
		errs = append(errs, fmt.Errorf("kafka.fetch_max_wait: %s is not allowed: must be a positive duration such as 500ms", c.FetchMaxWait))
	}
	if c.FetchMaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("kafka.fetch_max_bytes: %d is not allowed: must be positive", c.FetchMaxBytes))
	}
	if c.SessionTimeout < time.Second {
		errs = append(errs, fmt.Errorf("kafka.session_timeout: %s is not allowed: must be at least 1s", c.SessionTimeout))
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
	switch c.StartWithoutOffset {
	case StartGroup, StartEarliest:
	default:
		errs = append(errs, fmt.Errorf("ingest.start_without_offset: %q is not allowed: use %s or %s", c.StartWithoutOffset, StartGroup, StartEarliest))
	}
	if c.ProgressInterval < 0 {
		errs = append(errs, fmt.Errorf("ingest.progress_interval: %s is not allowed: use 0 (off) or a positive duration", c.ProgressInterval))
	}
	if c.GiveUpAfter < time.Second {
		errs = append(errs, fmt.Errorf("ingest.give_up_after: %s is not allowed: must be at least 1s (longer than kafka.session_timeout, so a rerun after a crash waits out the dead process's session)", c.GiveUpAfter))
	}
	if c.RetryMaxBackoff < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("ingest.retry_max_backoff: %s is not allowed: must be at least 100ms", c.RetryMaxBackoff))
	}
	return errors.Join(errs...)
}
