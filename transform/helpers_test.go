package transform

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	goldenfile "github.com/faultline/faultline/internal/testkit/golden"
)

// observedAt is the fixed observed time of every test decode.
var observedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newTestDecoder(t testing.TB, mod func(*Config)) *Decoder {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	d, err := NewDecoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// decode runs one Decode and checks the invariants every output must hold.
func decode(t testing.TB, d *Decoder, f Format, data []byte) *Result {
	t.Helper()
	var r Result
	// As a Kafka message or a file would, the input has a time: records
	// without their own take it.
	d.Decode(Input{Format: f, Value: data, Time: observedAt, Lineage: Lineage{File: "test", Offset: 7}}, observedAt, &r)
	checkInvariants(t, &r)
	return &r
}

// checkInvariants asserts what every event and dead letter must satisfy.
func checkInvariants(t testing.TB, r *Result) {
	t.Helper()
	for i, e := range r.Events {
		if e.EventID == "" || e.Source == "" || e.Kind == "" {
			t.Errorf("event %d: empty event_id/source/kind: %+v", i, e)
		}
		switch e.Kind {
		case KindChange, KindError, KindSignal, KindInfo:
		default:
			t.Errorf("event %d: kind %q", i, e.Kind)
		}
		for _, s := range []string{e.EventID, e.Source, e.Kind, e.Service, e.Operation, e.Region, e.AccountID,
			e.Resource, e.Actor, e.SeverityText, e.Status, e.ErrorCode, e.Message, e.RequestID, e.TraceID,
			e.ChangeType, e.RiskClass, e.PeerService, e.Attributes, e.Topic, e.File, e.CloudProvider} {
			if !utf8.ValidString(s) {
				t.Errorf("event %d: invalid UTF-8 in %q", i, s)
			}
		}
		if e.Attributes != "" {
			dec := json.NewDecoder(strings.NewReader(e.Attributes))
			dec.UseNumber() // 1e700 is valid JSON but no float64
			var m map[string]any
			if err := dec.Decode(&m); err != nil || dec.More() {
				t.Errorf("event %d: attributes are not a JSON object: %v: %s", i, err, e.Attributes)
			}
		}
		if e.Time.Location() != time.UTC || e.ObservedTime.Location() != time.UTC {
			t.Errorf("event %d: times not UTC", i)
		}
		if e.Kind == KindChange && (e.ChangeType == "" || e.RiskClass == "") {
			t.Errorf("event %d: change without change_type/risk_class", i)
		}
		if e.CloudProvider == "" && e.Source != SourceApp && e.Source != SourceOTLP && e.Source != SourceDeploy {
			t.Errorf("event %d: source %s without cloud_provider", i, e.Source)
		}
		if e.SeverityNumber < 0 || e.SeverityNumber > 24 {
			t.Errorf("event %d: severity %d", i, e.SeverityNumber)
		}
	}
	for i, dl := range r.DeadLetters {
		if dl.Reason == "" || dl.Message == "" {
			t.Errorf("dead letter %d without reason or message", i)
		}
		if len(dl.Raw) > dl.RawSize {
			t.Errorf("dead letter %d: raw %d > size %d", i, len(dl.Raw), dl.RawSize)
		}
	}
}

type eventJSON struct {
	EventID        string          `json:"event_id"`
	Time           string          `json:"time"`
	Source         string          `json:"source"`
	Kind           string          `json:"kind"`
	Service        string          `json:"service,omitempty"`
	Operation      string          `json:"operation,omitempty"`
	Region         string          `json:"region,omitempty"`
	CloudProvider  string          `json:"cloud_provider,omitempty"`
	AccountID      string          `json:"account_id,omitempty"`
	Resource       string          `json:"resource,omitempty"`
	Actor          string          `json:"actor,omitempty"`
	SeverityNumber int32           `json:"severity_number,omitempty"`
	SeverityText   string          `json:"severity_text,omitempty"`
	Status         string          `json:"status,omitempty"`
	ErrorCode      string          `json:"error_code,omitempty"`
	Message        string          `json:"message,omitempty"`
	RequestID      string          `json:"request_id,omitempty"`
	TraceID        string          `json:"trace_id,omitempty"`
	ChangeType     string          `json:"change_type,omitempty"`
	RiskClass      string          `json:"risk_class,omitempty"`
	PeerService    string          `json:"peer_service,omitempty"`
	Attributes     json.RawMessage `json:"attributes,omitempty"`
	Index          int32           `json:"src_index"`
}

// resultJSONL renders a Result as JSON lines: a summary, then events, then
// dead letters (reason and size only).
func resultJSONL(t testing.TB, r *Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(enc.Encode(map[string]int{"events": len(r.Events), "dead_letters": len(r.DeadLetters), "skipped": r.Skipped, "control_messages": r.ControlMessages}))
	for _, e := range r.Events {
		j := eventJSON{e.EventID, e.Time.Format(time.RFC3339Nano), e.Source, e.Kind, e.Service, e.Operation, e.Region,
			e.CloudProvider, e.AccountID, e.Resource, e.Actor, e.SeverityNumber, e.SeverityText, e.Status, e.ErrorCode, e.Message,
			e.RequestID, e.TraceID, e.ChangeType, e.RiskClass, e.PeerService, nil, e.Index}
		if e.Attributes != "" {
			j.Attributes = json.RawMessage(e.Attributes)
		}
		must(enc.Encode(j))
	}
	for _, d := range r.DeadLetters {
		must(enc.Encode(map[string]any{"dead_letter": d.Reason, "raw_size": d.RawSize, "src_index": d.Index}))
	}
	return buf.Bytes()
}

// golden compares got with testdata/golden/name (golden.Check).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", "golden", name), got)
}

func readSample(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "samples", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countKinds counts events by kind.
func countKinds(r *Result) map[string]int {
	m := map[string]int{}
	for _, e := range r.Events {
		m[e.Kind]++
	}
	return m
}
