package transform

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Decoder decodes Inputs into events. It is safe for concurrent use: it
// holds only configuration.
type Decoder struct {
	cfg  Config
	cat  *catalogue
	pool sync.Pool // *state, reused for its attribute buffer
}

// NewDecoder validates cfg and returns a Decoder.
func NewDecoder(cfg Config) (*Decoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Decoder{cfg: cfg, cat: newCatalogue(cfg.Catalogue)}, nil
}

// maxUnwrap bounds nested envelopes (base64 of gzip of base64...).
const maxUnwrap = 4

// Decode appends the events and dead letters decoded from in to out. It
// never fails as a whole and never panics: what cannot be decoded becomes a
// dead letter, and a bad record inside a good payload costs only that
// record. observed is stamped as every event's ObservedTime. Decode does
// not retain in.Value after it returns.
func (d *Decoder) Decode(in Input, observed time.Time, out *Result) {
	s, _ := d.pool.Get().(*state)
	if s == nil {
		s = &state{}
	}
	*s = state{d: d, in: &in, observed: observed.UTC(), out: out, format: in.Format, ws: true, attrs: attrWriter{buf: s.attrs.buf[:0]}}
	defer func() {
		buf := s.attrs.buf
		*s = state{} // keep nothing of in or out
		if cap(buf) <= 1<<20 {
			s.attrs.buf = buf[:0]
		}
		d.pool.Put(s)
	}()
	if s.format == "" {
		s.format = FormatAuto
	}
	s.fallback = in.Time.UTC() // zero: a record without a time is a dead letter
	defer func() {
		if r := recover(); r != nil {
			s.dead(ReasonInternal, in.Value, fmt.Sprintf("decoder bug (%v at %s) while decoding this record; it was kept as a dead letter, please report it with this raw value", r, panicSite(debug.Stack())))
		}
	}()
	if len(in.Value) > d.cfg.MaxMessageBytes {
		s.dead(ReasonTooLarge, in.Value, fmt.Sprintf("record is %d bytes, over transform.max_message_bytes (%d); raise the limit or split the input", len(in.Value), d.cfg.MaxMessageBytes))
		return
	}
	s.bytes(in.Value, len(in.Value), 0)
}

// panicSite returns the first stack frame inside this package below the
// panic, as "function file:line".
func panicSite(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	seenPanic := false
	for i := 0; i+1 < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "panic(") {
			seenPanic = true
			continue
		}
		if seenPanic && strings.Contains(l, "/transform.") {
			return l + " " + strings.TrimSpace(lines[i+1])
		}
	}
	return "unknown"
}

// state is the per-call decoding state.
type state struct {
	d        *Decoder
	in       *Input
	observed time.Time
	fallback time.Time // event time when a record has none (the Kafka message or file time); zero = none
	out      *Result
	format   Format
	index    int32 // next Lineage.Index
	attrs    attrWriter
	ws       bool   // the value being decoded may hold whitespace to compact
	level    int    // envelope nesting of the bytes being decoded
	envelope []byte // EventBridge envelope members of the CloudTrail record being decoded
	provider string // cloud_provider of the family being decoded ("" for app and OTLP: the event says)
	// gcpEnvelope: Pub/Sub metadata of the message whose data is being decoded.
	gcpEnvelope []byte
}

func (s *state) lineage() Lineage {
	l := s.in.Lineage
	l.Index = s.index
	s.index++
	return l
}

// dead appends a dead letter holding a capped copy of raw.
func (s *state) dead(reason string, raw []byte, msg string) {
	n := len(raw)
	if max := s.d.cfg.DeadLetterMaxRawBytes; n > max {
		n = max
	}
	cp := make([]byte, n)
	copy(cp, raw)
	s.out.DeadLetters = append(s.out.DeadLetters, DeadLetter{
		Reason: reason, Message: msg, Format: s.format, Raw: cp, RawSize: len(raw), Lineage: s.lineage(),
	})
}

// howFar says how far t is after now, in the unit a person would use.
func howFar(now, t time.Time) string {
	switch d := t.Sub(now); {
	case t.Year()-now.Year() >= 2:
		return fmt.Sprintf("%d years", t.Year()-now.Year())
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	default:
		return d.Round(time.Second).String()
	}
}

// maxScheduledAhead is how far ahead an AWS Health scheduled change may be
// announced (its time is the planned start).
const maxScheduledAhead = 366 * 24 * time.Hour

// earliest is the first plausible event time.
var earliest = time.Unix(0, 0).UTC()

// emit finishes ev (time, observed time, lineage, id, utf-8) and appends
// it. A record whose time is implausible (before 1970, or further ahead of
// the moment of decoding than transform.max_future_skew) or that has no
// time at all (neither its own nor its Kafka message's or file's) is a dead
// letter instead: stamping it with another time would put it where it did
// not happen (a record dated 9999 or 2099 moved every default view, one
// stamped with the load time looked like news).
func (s *state) emit(ev *Event, raw []byte) {
	if ev.Time.IsZero() {
		if s.fallback.IsZero() {
			s.dead(ReasonMissingField, raw, "record has no time, and neither has its input (no Kafka message timestamp or file time); add a time field (RFC 3339, e.g. 2025-10-20T07:12:03Z)")
			return
		}
		ev.Time = s.fallback
	}
	ev.Time = ev.Time.UTC()
	ahead := s.d.cfg.MaxFutureSkew
	if ev.Source == SourceHealth && ev.Kind == KindChange {
		ahead = max(ahead, maxScheduledAhead)
	}
	switch {
	case ev.Time.Before(earliest):
		s.dead(ReasonImplausibleTime, raw, fmt.Sprintf("event time %s is before 1970: the record's clock or time field is wrong (0001-01-01 often means unset); fix the producer", ev.Time.Format(time.RFC3339Nano)))
		return
	case ev.Time.After(s.observed.Add(ahead)):
		s.dead(ReasonImplausibleTime, raw, fmt.Sprintf("event time %s is %s ahead of now (%s), more than transform.max_future_skew (%s): the producer's clock or the time field is wrong; raise the limit if such times are genuine", ev.Time.Format(time.RFC3339Nano), howFar(s.observed, ev.Time), s.observed.Format(time.RFC3339), ahead))
		return
	}
	ev.ObservedTime = s.observed
	ev.Lineage = s.lineage()
	if ev.EventID == "" {
		ev.EventID = hashID(raw, ev.Index)
	}
	if ev.CloudProvider == "" {
		ev.CloudProvider = s.provider
	}
	if ev.Kind == KindChange {
		if ev.ChangeType == "" {
			ev.ChangeType, ev.RiskClass = s.d.cat.classify(ev.Source, ev.Service, ev.Operation)
		}
	}
	s.out.Events = append(s.out.Events, *ev)
}

// hashID is a stable event id for records without one: the hash of the
// record's bytes and its position within the input, "h-" and 64 bits in
// hex. 64 bits, not 128: the id is random to DuckDB's compression, and
// half the bits are half the bytes on disk (application events: 19.7 ->
// 11 bytes each, docs/benchmarks.md, issue 19 part 7). event_id is not a
// key (duplicates are kept) and lookups pair it with a time window;
// 10^8 such ids hold a collision somewhere with probability ~3e-4.
func hashID(raw []byte, index int32) string {
	h := sha256.New()
	h.Write(raw)
	var b [4]byte
	b[0], b[1], b[2], b[3] = byte(index>>24), byte(index>>16), byte(index>>8), byte(index)
	h.Write(b[:])
	sum := h.Sum(nil)
	return "h-" + hex.EncodeToString(sum[:8])
}

// bytes decodes raw bytes: decompresses, base64-decodes and enforces the
// UTF-8 policy, then decodes the JSON values inside. compressedSize is the
// size of the original compressed input, for the ratio limit.
func (s *state) bytes(b []byte, compressedSize, level int) {
	saved := s.level
	s.level = level
	defer func() { s.level = saved }()
	orig := b // what a dead letter keeps: the record as received
	if level > 0 {
		orig = s.in.Value
	}
	t := b[skipWS(b, 0):]
	if len(t) == 0 {
		if level == 0 {
			s.dead(ReasonEmpty, orig, "record is empty; nothing to decode (check the producer)")
		} else {
			s.dead(ReasonEmpty, orig, "payload is empty after unwrapping; nothing to decode (check the producer)")
		}
		return
	}
	if level > maxUnwrap {
		s.dead(ReasonInvalidJSON, orig, "too many nested envelopes (compression/base64); the record is not in a supported format")
		return
	}
	if isGzip(t) || isZlib(t) {
		plain, reason, msg := s.decompress(t, compressedSize)
		if reason == ReasonDecompress && len(plain) == 0 && !isGzip(t) && utf8.Valid(t) {
			// Text that merely starts like a zlib header ("x^..."): not compressed.
			goto text
		}
		if reason != "" {
			s.dead(reason, orig, msg)
			if reason != ReasonDecompress || len(plain) == 0 {
				return
			}
			// A truncated stream: decode what did inflate; what is cut off
			// becomes its own dead letter.
		}
		s.bytes(plain, compressedSize, level+1)
		return
	}
text:
	if !utf8.Valid(t) {
		if s.d.cfg.InvalidUTF8 == "reject" {
			s.dead(ReasonInvalidUTF8, orig, "record is not valid UTF-8 and transform.invalid_utf8 is \"reject\"; fix the producer's encoding or set invalid_utf8: replace")
			return
		}
		t = bytes.ToValidUTF8(t, []byte("\uFFFD"))
	}
	switch t[0] {
	case '{', '[':
		s.sequence(t)
	case '"':
		// A JSON string: base64 of the record (Kafka Connect's
		// JsonConverter writes bytes so), else a scalar the family rejects.
		if end, err := scanValue(t, 0, 1); err == nil && skipWS(t, end) == len(t) {
			if plain, ok := decodeBase64([]byte(str(t[:end]))); ok {
				s.bytes(plain, len(plain), level+1)
				return
			}
		}
		s.sequence(t)
	default:
		if plain, ok := decodeBase64(t); ok {
			s.bytes(plain, len(plain), level+1)
			return
		}
		if s.format == FormatApp || s.format == FormatAuto {
			if looksBase64(t) {
				s.dead(ReasonBadBase64, orig, "record looks like base64 but does not decode; check the producer's encoding")
				return
			}
		}
		s.dead(ReasonInvalidJSON, orig, fmt.Sprintf("record is neither JSON, base64 nor gzip/zlib (starts with %q); check the topic's or file's format", preview(t)))
	}
}

// sequence decodes one or more JSON values back to back (one value, NDJSON
// or concatenated payloads). A value that does not parse costs its line.
func (s *state) sequence(b []byte) {
	for i := skipWS(b, 0); i < len(b); i = skipWS(b, i) {
		end, ws, err := scanValueWS(b, i, s.d.cfg.MaxJSONDepth)
		if err != nil {
			// NDJSON: a bad line costs that line when the next line starts a
			// new value at column 0; otherwise the rest of the input is bad.
			stop := len(b)
			if nl := bytes.IndexByte(b[i:], '\n'); nl >= 0 && i+nl+1 < len(b) {
				if c := b[i+nl+1]; c == '{' || c == '[' {
					stop = i + nl + 1
				}
			}
			if !s.salvage(b[i:stop]) {
				s.jsonError(err, b[i:stop])
			}
			i = stop
			continue
		}
		s.ws = ws
		v := b[i:end]
		if bytes.Contains(v, []byte(`\ud`)) || bytes.Contains(v, []byte(`\uD`)) {
			v = fixSurrogates(v)
		}
		s.value(v, s.format)
		s.ws = true
		i = end
	}
}

// jsonError dead-letters raw after a scan error.
func (s *state) jsonError(err error, raw []byte) {
	if errors.Is(err, errTooDeep) {
		s.dead(ReasonTooDeep, raw, fmt.Sprintf("JSON nesting exceeds transform.max_json_depth (%d); flatten the record or raise the limit", s.d.cfg.MaxJSONDepth))
		return
	}
	s.dead(ReasonInvalidJSON, raw, fmt.Sprintf("%v; the record is truncated or not JSON (check the producer)", err))
}

// providerOf is the cloud every event of format f comes from; "" for the
// application formats, whose events name their cloud themselves.
func providerOf(f Format) string {
	switch f {
	case FormatCloudTrail, FormatCloudWatch, FormatAWSEvents:
		return ProviderAWS
	case FormatGCPAudit:
		return ProviderGCP
	case FormatAzureActivity:
		return ProviderAzure
	}
	return ""
}

// value decodes one validated JSON value in format f.
func (s *state) value(v []byte, f Format) {
	if f == FormatAuto {
		f = detect(v)
		if f == FormatAuto { // an array of mixed or app records
			eachElem(v, func(_ int, e []byte) bool {
				s.value(e, FormatAuto)
				return true
			})
			return
		}
	}
	saved := s.provider
	defer func() { s.provider = saved }()
	s.provider = providerOf(f)
	switch f {
	case FormatCloudTrail:
		s.cloudTrail(v)
	case FormatCloudWatch:
		s.cloudWatch(v)
	case FormatAWSEvents:
		s.awsEvent(v)
	case FormatApp:
		s.app(v)
	case FormatOTLP:
		s.otlp(v)
	case FormatGCPAudit:
		s.gcpLogging(v)
	case FormatAzureActivity:
		s.azureRecords(v)
	default:
		s.dead(ReasonUnknownFormat, v, fmt.Sprintf("format %q is not known; use one of %s", f, formatList()))
	}
}
