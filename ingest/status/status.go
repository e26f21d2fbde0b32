// Package status holds the value ingest reports about itself: broker
// connectivity, missing topics, lag per partition and the last errors. It
// is a plain value (Status) and the concurrency-safe place ingest keeps it
// up to date (Tracker); /healthz, /readyz, /metrics and the dashboards read
// snapshots. It imports nothing of faultline, so dashboards can use it
// without importing ingest's Kafka code.
package status

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Status is a snapshot of ingest.
type Status struct {
	// Running: a Kafka ingest runs in this process.
	Running bool     `json:"running"`
	Brokers []string `json:"brokers,omitempty"`
	Group   string   `json:"group,omitempty"`
	// Connected: the last request to the brokers succeeded (requests are
	// made at least every few seconds while ingest runs); false until the
	// first answer.
	Connected   bool      `json:"connected"`
	LastContact time.Time `json:"last_contact,omitzero"`
	// DisconnectedSince is when requests started failing (zero while
	// connected).
	DisconnectedSince time.Time `json:"disconnected_since,omitzero"`
	// LastError is the last Kafka error (kept after a reconnect, with its
	// time, for the record).
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
	// CommitError is the last DuckDB commit's error ("" once one succeeds).
	CommitError string `json:"commit_error,omitempty"`
	// StopError is the error that stopped ingest while the process serves
	// on (faultline serve): ingest does not run again until a restart.
	StopError string `json:"stop_error,omitempty"`
	// DatabaseError says why the DuckDB file cannot be used at all (damaged,
	// no space to open it); "" when it is open.
	DatabaseError string `json:"database_error,omitempty"`
	// MissingTopics are configured topics the brokers do not have.
	MissingTopics []MissingTopic `json:"missing_topics"`
	// Partitions are the partitions this process reads, and in a batch run
	// (--exit-when-caught-up) every partition of the configured topics.
	Partitions []Partition `json:"partitions"`
	// Lag sums Partitions' lag.
	Lag int64 `json:"lag"`
}

// MissingTopic is a configured topic the brokers do not have.
type MissingTopic struct {
	Topic string `json:"topic"`
	// Suggestion is an existing topic with a close name ("" if none).
	Suggestion string `json:"suggestion,omitempty"`
}

// String is "cloudtrial (did you mean cloudtrail?)".
func (m MissingTopic) String() string {
	if m.Suggestion != "" {
		return fmt.Sprintf("%s (did you mean %s?)", m.Topic, m.Suggestion)
	}
	return m.Topic
}

// Partition is where ingest stands on one Kafka partition.
type Partition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Owned: assigned to this process by the consumer group.
	Owned bool `json:"owned"`
	// Next is the next offset this DuckDB file (or, for a partition another
	// member holds, the consumer group) stored.
	Next int64 `json:"next_offset"`
	// HighWatermark is the latest end of the partition seen.
	HighWatermark int64 `json:"high_watermark"`
	// Lag is HighWatermark - Next (at least 0).
	Lag int64 `json:"lag"`
}

// Problems says what is wrong, one sentence each, each with what to do;
// empty when ingest is healthy or not running.
func (s Status) Problems() []string {
	var out []string
	if s.DatabaseError != "" {
		out = append(out, "the database is unavailable: "+s.DatabaseError)
	}
	if s.StopError != "" {
		out = append(out, "ingest stopped: "+s.StopError+" (fix it, then restart faultline)")
	} else if s.CommitError != "" {
		out = append(out, "ingest cannot commit to DuckDB: "+s.CommitError)
	}
	if !s.Running {
		return out
	}
	if !s.Connected && s.LastContact.IsZero() && s.LastError == "" {
		out = append(out, fmt.Sprintf("ingest is starting: no answer from Kafka at %s yet", strings.Join(s.Brokers, ",")))
	} else if !s.Connected {
		since := ""
		if !s.DisconnectedSince.IsZero() {
			since = " since " + s.DisconnectedSince.UTC().Format(time.RFC3339)
		}
		out = append(out, fmt.Sprintf("cannot reach Kafka at %s%s: %s (check kafka.brokers, the network, TLS and SASL; ingest keeps retrying)",
			strings.Join(s.Brokers, ","), since, s.LastError))
	}
	if len(s.MissingTopics) > 0 {
		names := make([]string, len(s.MissingTopics))
		for i, m := range s.MissingTopics {
			names[i] = m.String()
		}
		out = append(out, fmt.Sprintf("kafka topic %s does not exist on %s: create it or fix kafka.topics (or --topic)",
			strings.Join(names, ", "), strings.Join(s.Brokers, ",")))
	}
	return out
}

// Tracker keeps a Status up to date; its methods are safe for concurrent
// use and a nil *Tracker ignores updates. Ingest writes it, HTTP handlers
// read Snapshot.
type Tracker struct {
	mu         sync.Mutex
	s          Status
	partitions func() []Partition
	now        func() time.Time
}

func (t *Tracker) clock() time.Time {
	if t.now != nil {
		return t.now()
	}
	return time.Now()
}

// Start marks a Kafka ingest as running with these brokers and group;
// partitions is asked for the partitions on every Snapshot (nil: none).
func (t *Tracker) Start(brokers []string, group string, partitions func() []Partition) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.Running, t.s.Brokers, t.s.Group = true, append([]string(nil), brokers...), group
	// Not connected until the brokers answer: readiness must not claim a
	// connection that was never made.
	t.s.Connected, t.s.DisconnectedSince = false, time.Time{}
	t.s.StopError = ""
	t.partitions = partitions
}

// Stop marks ingest as no longer running (it keeps the last values).
func (t *Tracker) Stop() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.partitions != nil {
		t.s.Partitions = t.partitions()
		t.partitions = nil
	}
	t.s.Running = false
}

// Contact records a successful request to the brokers.
func (t *Tracker) Contact() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.Connected, t.s.LastContact, t.s.DisconnectedSince = true, t.clock(), time.Time{}
}

// KafkaError records a failed request to the brokers: ingest counts as
// disconnected until the next Contact.
func (t *Tracker) KafkaError(err error) {
	if t == nil || err == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock()
	if t.s.Connected || t.s.DisconnectedSince.IsZero() {
		t.s.DisconnectedSince = now
	}
	t.s.Connected, t.s.LastError, t.s.LastErrorTime = false, err.Error(), now
}

// Commit records a DuckDB commit's outcome (nil: it succeeded).
func (t *Tracker) Commit(err error) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.CommitError = ""
	if err != nil {
		t.s.CommitError = err.Error()
	}
}

// Stopped records the error that stopped ingest for good (nil clears it).
func (t *Tracker) Stopped(err error) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.StopError = ""
	if err != nil {
		t.s.StopError = err.Error()
	}
}

// SetDatabaseError records why the DuckDB file cannot be opened (nil: it
// is open).
func (t *Tracker) SetDatabaseError(err error) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.DatabaseError = ""
	if err != nil {
		t.s.DatabaseError = err.Error()
	}
}

// SetMissingTopics replaces the missing topics (nil: none).
func (t *Tracker) SetMissingTopics(m []MissingTopic) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.MissingTopics = append([]MissingTopic(nil), m...)
}

// Snapshot returns the current Status; lists are never nil.
func (t *Tracker) Snapshot() Status {
	if t == nil {
		return Status{MissingTopics: []MissingTopic{}, Partitions: []Partition{}}
	}
	t.mu.Lock()
	s := t.s
	parts := t.partitions
	t.mu.Unlock()
	if parts != nil {
		s.Partitions = parts()
	}
	s.Brokers = append([]string(nil), s.Brokers...)
	s.MissingTopics = append([]MissingTopic{}, s.MissingTopics...)
	s.Partitions = append([]Partition{}, s.Partitions...)
	sort.Slice(s.Partitions, func(i, j int) bool {
		a, b := s.Partitions[i], s.Partitions[j]
		return a.Topic < b.Topic || a.Topic == b.Topic && a.Partition < b.Partition
	})
	s.Lag = 0
	for _, p := range s.Partitions {
		s.Lag += p.Lag
	}
	return s
}
