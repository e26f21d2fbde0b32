package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/transform"
)

// Config is the relay's configuration (config section relay).
type Config struct {
	// Topic is the compacted Kafka topic the units go through; "" turns the
	// relay off. Every ingest/serve process of the group publishes to it.
	Topic string `mapstructure:"topic"`
	// Consume makes `serve` apply the topic into its own file, so that its
	// correlation covers the whole account. Such a process must not ingest
	// kafka.topics itself.
	Consume bool `mapstructure:"consume"`
	// Node names this process in the units it publishes; "" is <host>-<db
	// file name>.
	Node string `mapstructure:"node"`
	// Interval is how often the outbox is looked at when it was empty.
	Interval time.Duration `mapstructure:"interval"`
	// Partitions of the topic when faultline creates it.
	Partitions int `mapstructure:"partitions"`
}

// DefaultConfig: off; when on, the outbox is looked at every second and a
// new topic has 3 partitions.
func DefaultConfig() Config {
	return Config{Interval: time.Second, Partitions: 3}
}

// Validate names every invalid key, its value and what is allowed.
func (c Config) Validate() error {
	var errs []error
	if c.Consume && c.Topic == "" {
		errs = append(errs, errors.New("relay.consume: needs relay.topic: name the relay topic the ingest processes publish to"))
	}
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("relay.interval: %s is not allowed: use a positive duration, e.g. 1s", c.Interval))
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("relay.partitions: %d is not allowed: use 1 or more", c.Partitions))
	}
	return errors.Join(errs...)
}

// message is a unit on the relay topic (the value; the key is Key).
type message struct {
	V      int             `json:"v"`
	Node   string          `json:"node"`
	Src    string          `json:"src"`
	Part   int32           `json:"part"`
	First  int64           `json:"first_offset"`
	Next   int64           `json:"next_offset"`
	Gen    int32           `json:"generation"`
	Counts json.RawMessage `json:"counts"`
	Rows   json.RawMessage `json:"rows"`
}

// Key is the relay topic key of a unit: source, partition and first offset,
// so that a unit published again (after a crash before the outbox was
// cleared) replaces itself, in the topic (compaction) and where applied.
func Key(u store.Unit) string { return u.Key() }

// ensureTopic creates the compacted relay topic if it does not exist.
func ensureTopic(ctx context.Context, client *kafka.Client, cfg Config) error {
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: cfg.Topic, NumPartitions: cfg.Partitions, ReplicationFactor: -1,
		ConfigEntries: []kafka.ConfigEntry{
			{ConfigName: "cleanup.policy", ConfigValue: "compact"},
			{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(maxMessageBytes)},
		},
	}}})
	if err != nil {
		return fmt.Errorf("create the relay topic %s: %w (create it yourself with cleanup.policy=compact)", cfg.Topic, err)
	}
	if err := resp.Errors[cfg.Topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create the relay topic %s: %w (create it yourself with cleanup.policy=compact)", cfg.Topic, err)
	}
	return nil
}

// maxMessageBytes bounds one unit on the topic (a commit of a whole row
// group with many distinct error messages); the topic is created with it.
const maxMessageBytes = 32 << 20

// Publisher publishes the relay units of a file's outbox.
type Publisher struct {
	db     *store.DB
	cfg    Config
	node   string
	log    *slog.Logger
	w      *kafka.Writer
	client *kafka.Client
}

// NewPublisher returns a publisher of db's outbox to cfg.Topic.
func NewPublisher(db *store.DB, kc ingest.KafkaConfig, cfg Config, node string, log *slog.Logger) (*Publisher, error) {
	tr, err := ingest.NewTransport(kc)
	if err != nil {
		return nil, err
	}
	w := &kafka.Writer{
		Addr: kafka.TCP(kc.Brokers...), Topic: cfg.Topic, Balancer: &kafka.Hash{}, Transport: tr,
		RequiredAcks: kafka.RequireAll, MaxAttempts: 5, BatchSize: 100, BatchBytes: maxMessageBytes,
		BatchTimeout: 5 * time.Millisecond, WriteTimeout: 30 * time.Second, Compression: kafka.Zstd,
	}
	return &Publisher{db: db, cfg: cfg, node: node, log: log, w: w,
		client: &kafka.Client{Addr: kafka.TCP(kc.Brokers...), Transport: tr, Timeout: 10 * time.Second}}, nil
}

// Run publishes the outbox until ctx ends, then once more (what the last
// commits wrote). Failures are logged and retried: the outbox keeps every
// unit until the topic has it.
func (p *Publisher) Run(ctx context.Context) error {
	defer p.w.Close()
	created := false
	wait := p.cfg.Interval
	for {
		if !created {
			if err := ensureTopic(ctx, p.client, p.cfg); err != nil {
				p.log.Warn("relay topic unavailable; retrying", "topic", p.cfg.Topic, "err", err)
			} else {
				created = true
			}
		}
		n, err := p.Flush(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			p.log.Warn("relay publish failed; the outbox keeps the units, retrying", "topic", p.cfg.Topic, "retry_in", wait, "err", err)
			wait = min(2*wait, 30*time.Second)
		case err == nil:
			wait = p.cfg.Interval
		}
		if n > 0 && err == nil {
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			err := ensureTopic(fctx, p.client, p.cfg)
			for n := 1; err == nil && n > 0; {
				n, err = p.Flush(fctx)
			}
			if err != nil {
				p.log.Warn("relay publish at stop failed; the next start publishes the rest", "topic", p.cfg.Topic, "err", err)
			}
			return nil
		case <-time.After(wait):
		}
	}
}

// Flush publishes up to 100 waiting units and removes them from the
// outbox; it returns how many it published.
func (p *Publisher) Flush(ctx context.Context) (int, error) {
	us, err := p.db.Outbox(ctx, 100)
	if err != nil || len(us) == 0 {
		return 0, err
	}
	msgs := make([]kafka.Message, len(us))
	done := make([]store.Unit, len(us))
	for i, u := range us {
		v, err := json.Marshal(message{V: 1, Node: p.node, Src: u.Src, Part: u.Part, First: u.First, Next: u.Next,
			Gen: u.Generation, Counts: u.Counts, Rows: u.Rows})
		if err != nil {
			return 0, err
		}
		msgs[i] = kafka.Message{Key: []byte(Key(u.Unit)), Value: v}
		done[i] = u.Unit
	}
	if err := p.w.WriteMessages(ctx, msgs...); err != nil {
		return 0, fmt.Errorf("publish %d relay units to %s: %w", len(msgs), p.cfg.Topic, err)
	}
	if err := p.db.Published(ctx, done); err != nil {
		return 0, err
	}
	return len(us), nil
}

// count is one entry of a unit's counts (relay_outbox.sql).
type count struct {
	M              int64  `json:"m"`
	Source         string `json:"source"`
	Kind           string `json:"kind"`
	Actor          string `json:"actor"`
	Attrs          string `json:"attrs"`
	Service        string `json:"service"`
	Region         string `json:"region"`
	CloudProvider  string `json:"cloud_provider"`
	AccountID      string `json:"account_id"`
	Resource       string `json:"resource"`
	ErrorCode      string `json:"error_code"`
	PeerService    string `json:"peer_service"`
	Message        string `json:"message"`
	SeverityNumber int32  `json:"severity_number"`
	N              int64  `json:"n"`
}

// row is one entry of a unit's rows: a change or Health event whole.
type row struct {
	EventID        string `json:"event_id"`
	TimeUS         int64  `json:"time_us"`
	ObservedUS     int64  `json:"observed_us"`
	Source         string `json:"source"`
	Kind           string `json:"kind"`
	Service        string `json:"service"`
	Operation      string `json:"operation"`
	Region         string `json:"region"`
	AccountID      string `json:"account_id"`
	Resource       string `json:"resource"`
	Actor          string `json:"actor"`
	SeverityNumber int32  `json:"severity_number"`
	SeverityText   string `json:"severity_text"`
	Status         string `json:"status"`
	ErrorCode      string `json:"error_code"`
	Message        string `json:"message"`
	RequestID      string `json:"request_id"`
	TraceID        string `json:"trace_id"`
	ChangeType     string `json:"change_type"`
	RiskClass      string `json:"risk_class"`
	PeerService    string `json:"peer_service"`
	Attributes     string `json:"attributes"`
	SrcOffset      int64  `json:"src_offset"`
	SrcIndex       int32  `json:"src_index"`
	CloudProvider  string `json:"cloud_provider"`
}

// relayedAttributes marks the rows made from a unit's counts; the
// attributes the correlation reads (count.Attrs) follow it.
const relayedAttributes = `{"faultline.relay":"per-minute count"`

// events turns a unit into the events a consuming process stores: its
// rows as they were, and each count as that many events at the minute's
// start with the columns the correlation reads of them.
func (m *message) events(appendEvent func(*transform.Event)) error {
	topic := strings.TrimPrefix(m.Src, "kafka:")
	tag := store.Unit{Src: m.Src, Part: m.Part, First: m.First}.Tag()
	var rows []row
	if err := json.Unmarshal(m.Rows, &rows); err != nil {
		return fmt.Errorf("rows: %w", err)
	}
	for _, r := range rows {
		e := transform.Event{
			EventID: r.EventID, Time: time.UnixMicro(r.TimeUS).UTC(), ObservedTime: time.UnixMicro(r.ObservedUS).UTC(),
			Source: r.Source, Kind: r.Kind, Service: r.Service, Operation: r.Operation, Region: r.Region,
			AccountID: r.AccountID, Resource: r.Resource, Actor: r.Actor, SeverityNumber: r.SeverityNumber,
			SeverityText: r.SeverityText, Status: r.Status, ErrorCode: r.ErrorCode, Message: r.Message,
			RequestID: r.RequestID, TraceID: r.TraceID, ChangeType: r.ChangeType, RiskClass: r.RiskClass,
			PeerService: r.PeerService, Attributes: r.Attributes, CloudProvider: r.CloudProvider,
			Lineage: transform.Lineage{Topic: topic, Partition: m.Part, Offset: r.SrcOffset, Index: r.SrcIndex, File: tag},
		}
		appendEvent(&e)
	}
	var errs []count
	if err := json.Unmarshal(m.Counts, &errs); err != nil {
		return fmt.Errorf("counts: %w", err)
	}
	k := int32(0)
	for _, c := range errs {
		at := time.Unix(c.M*60, 0).UTC()
		attrs := relayedAttributes + "}"
		if len(c.Attrs) > 2 && c.Attrs[0] == '{' {
			attrs = relayedAttributes + "," + c.Attrs[1:]
		}
		for range c.N {
			e := transform.Event{
				EventID: fmt.Sprintf("relay-%s-%d-%d-%d", topic, m.Part, m.First, k), Time: at, ObservedTime: at,
				Source: c.Source, Kind: c.Kind, Service: c.Service, Region: c.Region, Actor: c.Actor,
				AccountID: c.AccountID, Resource: c.Resource, ErrorCode: c.ErrorCode, PeerService: c.PeerService,
				Message: c.Message, SeverityNumber: c.SeverityNumber, CloudProvider: c.CloudProvider,
				Attributes: attrs,
				Lineage:    transform.Lineage{Topic: topic, Partition: m.Part, Offset: m.First, Index: k, File: tag},
			}
			appendEvent(&e)
			k++
		}
	}
	return nil
}
