package transform

import (
	"encoding/json"
	"time"
)

// Decoder decodes Inputs into events. It is safe for concurrent use.
type Decoder struct {
	cfg Config
}

// NewDecoder validates cfg and returns a Decoder.
func NewDecoder(cfg Config) (*Decoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Decoder{cfg: cfg}, nil
}

// Decode appends the events and dead letters decoded from in to out. It
// never fails as a whole: what cannot be decoded becomes a dead letter.
// observed is stamped as every event's ObservedTime. Decode does not retain
// in.Value after it returns.
//
// INTERIM: only a minimal app decoder is wired here; the full set of
// decoders replaces this (issue: transform).
func (d *Decoder) Decode(in Input, observed time.Time, out *Result) {
	var m map[string]any
	if err := json.Unmarshal(in.Value, &m); err != nil {
		out.DeadLetters = append(out.DeadLetters, DeadLetter{Reason: ReasonInvalidJSON, Message: err.Error(), Format: in.Format, Raw: in.Value, RawSize: len(in.Value), Lineage: in.Lineage})
		return
	}
	ev := Event{Source: SourceApp, Kind: KindInfo, ObservedTime: observed.UTC(), Time: in.Time.UTC(), Lineage: in.Lineage}
	if s, ok := m["service"].(string); ok {
		ev.Service = s
	}
	if s, ok := m["message"].(string); ok {
		ev.Message = s
	}
	ev.EventID = in.Topic
	out.Events = append(out.Events, ev)
}
