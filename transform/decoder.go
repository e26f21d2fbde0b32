package transform

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"strconv"
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
	if !in.Time.IsZero() {
		s.fallback = in.Time.UTC()
	} else {
		s.fallback = s.observed
	}
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
	fallback time.Time // event time when a record has none
	out      *Result
	format   Format
	index    int32 // next Lineage.Index
	attrs    attrWriter
	ws       bool   // the value being decoded may hold whitespace to compact
	level    int    // envelope nesting of the bytes being decoded
	envelope []byte // EventBridge envelope members of the CloudTrail record being decoded
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

// emit finishes ev (observed time, lineage, id, utf-8) and appends it.
func (s *state) emit(ev *Event, raw []byte) {
	ev.ObservedTime = s.observed
	ev.Lineage = s.lineage()
	if ev.Time.IsZero() {
		ev.Time = s.fallback
	} else {
		ev.Time = ev.Time.UTC()
	}
	if ev.EventID == "" {
		ev.EventID = hashID(raw, ev.Lineage.Index)
	}
	if ev.Kind == KindChange {
		if ev.ChangeType == "" {
			ev.ChangeType, ev.RiskClass = s.d.cat.classify(ev.Source, ev.Service, ev.Operation)
		}
	}
	s.out.Events = append(s.out.Events, *ev)
}

// hashID is a stable event id for records without one: the hash of the
// record's bytes and its position within the input.
func hashID(raw []byte, index int32) string {
	h := sha256.New()
	h.Write(raw)
	var b [4]byte
	b[0], b[1], b[2], b[3] = byte(index>>24), byte(index>>16), byte(index>>8), byte(index)
	h.Write(b[:])
	sum := h.Sum(nil)
	return "h-" + hex.EncodeToString(sum[:16])
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
)

func isGzip(b []byte) bool { return bytes.HasPrefix(b, gzipMagic) }

// isZlib recognises a zlib header: deflate, window <= 32K, no preset
// dictionary, valid check bits.
func isZlib(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && b[1]&0x20 == 0 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
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

func preview(b []byte) string {
	if len(b) > 24 {
		b = b[:24]
	}
	return string(b)
}

func looksBase64(b []byte) bool {
	b = bytes.TrimRight(b, " \n\r\t")
	if len(b) < 8 {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_' || c == '\n' || c == '\r') {
			return false
		}
	}
	return true
}

// decodeBase64 decodes standard or URL base64 text, padded or not.
func decodeBase64(b []byte) ([]byte, bool) {
	b = bytes.TrimRight(b, " \n\r\t")
	if !looksBase64(b) {
		return nil, false
	}
	if bytes.ContainsAny(b, "\n\r") {
		b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\n"), nil), []byte("\r"), nil)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		out := make([]byte, enc.DecodedLen(len(b)))
		n, err := enc.Decode(out, b)
		if err == nil {
			return out[:n], true
		}
	}
	return nil, false
}

// decompress inflates gzip (multi-member) or zlib streams, back to back,
// enforcing the decompressed size and ratio limits while streaming.
func (s *state) decompress(b []byte, compressedSize int) (plain []byte, reason, msg string) {
	limit := s.d.cfg.MaxDecompressedBytes
	if r := s.d.cfg.MaxDecompressionRatio; compressedSize > 0 && compressedSize*r < limit && compressedSize*r > 0 {
		limit = compressedSize * r
	}
	var out bytes.Buffer
	rd := bytes.NewReader(b)
	for {
		rest := b[len(b)-rd.Len():]
		rest = rest[skipWS(rest, 0):]
		if len(rest) == 0 {
			break
		}
		if !isGzip(rest) && !isZlib(rest) {
			// Trailing uncompressed bytes (a plain payload after a compressed one).
			out.Write(rest)
			break
		}
		rd = bytes.NewReader(rest)
		var zr io.Reader
		var closer io.Closer
		if isGzip(rest) {
			g, err := gzip.NewReader(rd)
			if err != nil {
				return nil, ReasonDecompress, fmt.Sprintf("gzip header is invalid (%v); the record is corrupt or truncated", err)
			}
			g.Multistream(false)
			zr, closer = g, g
		} else {
			z, err := zlib.NewReader(rd)
			if err != nil {
				return nil, ReasonDecompress, fmt.Sprintf("zlib header is invalid (%v); the record is corrupt or truncated", err)
			}
			zr, closer = z, z
		}
		remaining := int64(limit - out.Len())
		n, err := io.Copy(&out, io.LimitReader(zr, remaining+1))
		closer.Close()
		if n > remaining {
			return nil, ReasonDecompressLimit, fmt.Sprintf("decompressed payload exceeds %d bytes (transform.max_decompressed_bytes %d, transform.max_decompression_ratio %d x %d compressed bytes); it may be a compression bomb; raise the limits if it is genuine", limit, s.d.cfg.MaxDecompressedBytes, s.d.cfg.MaxDecompressionRatio, compressedSize)
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) && out.Len() > 0 {
				return out.Bytes(), ReasonDecompress, fmt.Sprintf("compressed stream is truncated (%v) after %d inflated bytes; the complete records before the cut were decoded", err, out.Len())
			}
			return nil, ReasonDecompress, fmt.Sprintf("decompression failed (%v); the record is corrupt or truncated", err)
		}
	}
	return out.Bytes(), "", ""
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

// salvage decodes the complete leading elements of a broken CloudTrail
// file ({"Records":[...] or a bare array), typically a truncated one, and
// dead-letters the rest. It reports false when b is not such a file or
// not even one element is complete.
func (s *state) salvage(b []byte) bool {
	if s.format != FormatAuto && s.format != FormatCloudTrail {
		return false
	}
	depth := s.d.cfg.MaxJSONDepth
	i := skipWS(b, 0)
	if i < len(b) && b[i] == '{' {
		// Find the top-level "Records" member.
		i = skipWS(b, i+1)
		for {
			if i >= len(b) || b[i] != '"' {
				return false
			}
			ke, err := scanString(b, i)
			if err != nil {
				return false
			}
			key := b[i+1 : ke-1]
			vi, _, err := scanKey(b, i)
			if err != nil {
				return false
			}
			if string(key) == "Records" {
				i = vi
				break
			}
			ve, err := scanValue(b, vi, depth-1)
			if err != nil {
				return false
			}
			i = skipWS(b, ve)
			if i >= len(b) || b[i] != ',' {
				return false
			}
			i = skipWS(b, i+1)
		}
		depth--
	}
	if i >= len(b) || b[i] != '[' {
		return false
	}
	i = skipWS(b, i+1)
	var good [][]byte
	for i < len(b) && b[i] != ']' {
		end, err := scanValue(b, i, depth-1)
		if err != nil {
			break
		}
		good = append(good, b[i:end])
		i = skipWS(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	if len(good) == 0 || !isCloudTrailRecord(good[0]) {
		return false
	}
	for _, e := range good {
		s.cloudTrailRecord(e, "")
	}
	s.dead(ReasonInvalidJSON, b[i:], fmt.Sprintf("CloudTrail file is truncated or corrupt after %d complete records (which were decoded); the rest is kept here", len(good)))
	return true
}

// fixSurrogates replaces \u escapes of lone UTF-16 surrogates in validated
// JSON with \ufffd, so that attributes stay valid for strict JSON readers
// (DuckDB's JSON functions). Escaped surrogate pairs are kept.
func fixSurrogates(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] != '\\' {
			out = append(out, b[i])
			i++
			continue
		}
		if b[i+1] != 'u' {
			out = append(out, b[i], b[i+1])
			i += 2
			continue
		}
		r := hex4(b[i+2 : i+6])
		switch {
		case r >= 0xd800 && r < 0xdc00 && i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' &&
			hex4(b[i+8:i+12]) >= 0xdc00 && hex4(b[i+8:i+12]) < 0xe000:
			out = append(out, b[i:i+12]...)
			i += 12
		case r >= 0xd800 && r < 0xe000:
			out = append(out, `\ufffd`...)
			i += 6
		default:
			out = append(out, b[i:i+6]...)
			i += 6
		}
	}
	return out
}

func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		}
	}
	return r
}

// jsonError dead-letters raw after a scan error.
func (s *state) jsonError(err error, raw []byte) {
	if errors.Is(err, errTooDeep) {
		s.dead(ReasonTooDeep, raw, fmt.Sprintf("JSON nesting exceeds transform.max_json_depth (%d); flatten the record or raise the limit", s.d.cfg.MaxJSONDepth))
		return
	}
	s.dead(ReasonInvalidJSON, raw, fmt.Sprintf("%v; the record is truncated or not JSON (check the producer)", err))
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
	default:
		s.dead(ReasonUnknownFormat, v, fmt.Sprintf("format %q is not known; use one of auto, cloudtrail, cloudwatch, awsevents, app, otlp", f))
	}
}

// detect chooses a format from one validated JSON value. It returns
// FormatAuto for an array whose elements must be detected one by one.
func detect(v []byte) Format {
	if isArray(v) {
		f := FormatAuto
		eachElem(v, func(_ int, e []byte) bool {
			if isCloudTrailRecord(e) {
				f = FormatCloudTrail
			}
			return false
		})
		return f
	}
	var has struct {
		records, awslogs, messageType, eventVersion, eventSource, detailType, detail, invoking, alarm, resourceLogs, digest, source bool
	}
	var detailType, source []byte
	var records []byte
	eachField(v, func(k, val []byte) bool {
		switch string(k) {
		case "Records":
			has.records, records = true, val
		case "awslogs":
			has.awslogs = true
		case "messageType":
			has.messageType = true
		case "eventVersion":
			has.eventVersion = true
		case "eventSource":
			has.eventSource = true
		case "detail-type":
			has.detailType, detailType = true, val
		case "detail":
			has.detail = true
		case "invokingEvent", "configRuleName":
			has.invoking = true
		case "alarmData", "AlarmName", "NewStateValue", "alarmArn":
			has.alarm = true
		case "resourceLogs":
			has.resourceLogs = true
		case "digestStartTime", "digestPublicKeyFingerprint", "digestS3Object":
			has.digest = true
		case "source":
			has.source, source = true, val
		}
		// A CloudTrail record: nothing below can change the answer.
		return !(has.eventVersion && has.eventSource && !has.records && !has.detailType)
	})
	switch {
	case has.awslogs, has.messageType:
		return FormatCloudWatch
	case has.resourceLogs:
		return FormatOTLP
	case has.digest, has.eventVersion && has.eventSource:
		return FormatCloudTrail
	case has.records:
		f := FormatCloudTrail
		eachElem(records, func(_ int, e []byte) bool {
			if field(e, "Sns") != nil || field(e, "EventSource") != nil {
				f = FormatAWSEvents
			}
			return false
		})
		return f
	case has.detailType && has.detail:
		if str(detailType) == "AWS API Call via CloudTrail" {
			return FormatCloudTrail
		}
		return FormatAWSEvents
	case has.invoking, has.alarm:
		return FormatAWSEvents
	case has.source && strings.HasPrefix(str(source), "aws."):
		return FormatAWSEvents
	}
	return FormatApp
}

// parseTime parses the timestamp shapes seen in AWS and application logs.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return epochText(s)
}

var timeLayouts = []string{
	"2006-01-02T15:04:05.999999999-0700",
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-0700",
	"2006-01-02 15:04:05.999999999",
	time.RFC1123,
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 MST",
	time.RFC850,
	time.ANSIC,
}

// epochTime reads a number as seconds, milliseconds, microseconds or
// nanoseconds since the epoch, by magnitude.
func epochTime(n float64) (time.Time, bool) {
	switch {
	case n <= 0:
		return time.Time{}, false
	case n < 1e11:
		sec := math.Floor(n)
		return time.Unix(int64(sec), int64((n-sec)*1e9)).UTC(), true
	case n < 1e14:
		return time.UnixMilli(int64(n)).UTC(), true
	case n < 1e17:
		return time.UnixMicro(int64(n)).UTC(), true
	case n < 9.2e18:
		return time.Unix(0, int64(n)).UTC(), true
	}
	return time.Time{}, false
}

// timeValue parses a raw JSON time value (string or epoch number).
func timeValue(raw []byte) (time.Time, bool) {
	if len(raw) == 0 {
		return time.Time{}, false
	}
	if raw[0] == '"' {
		return parseTime(str(raw))
	}
	return epochText(string(raw))
}

// epochText reads epoch seconds/ms/us/ns text; integers exactly.
func epochText(s string) (time.Time, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch {
		case i <= 0:
			return time.Time{}, false
		case i < 1e11:
			return time.Unix(i, 0).UTC(), true
		case i < 1e14:
			return time.UnixMilli(i).UTC(), true
		case i < 1e17:
			return time.UnixMicro(i).UTC(), true
		}
		return time.Unix(0, i).UTC(), true
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, false
	}
	return epochTime(n)
}

// awsService turns an AWS endpoint or event source into a service name:
// elasticloadbalancing.amazonaws.com -> elasticloadbalancing,
// dynamodb.us-east-1.amazonaws.com -> dynamodb, aws.ec2 -> ec2.
func awsService(s string) string {
	s = strings.TrimPrefix(s, "aws.")
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(s)
}

// awsServiceRaw is awsService of a raw JSON string, allocating only the result.
func awsServiceRaw(raw []byte) string {
	if len(raw) < 2 || raw[0] != '"' || bytes.IndexByte(raw, '\\') >= 0 {
		return awsService(str(raw))
	}
	b := raw[1 : len(raw)-1]
	b = bytes.TrimPrefix(b, []byte("aws."))
	if i := bytes.IndexByte(b, '.'); i >= 0 {
		b = b[:i]
	}
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			return strings.ToLower(string(b))
		}
	}
	return string(b)
}

// arnPart returns field n (0-based) of an ARN, "" if s is not one.
func arnPart(arn string, n int) string {
	if !strings.HasPrefix(arn, "arn:") {
		return ""
	}
	parts := strings.SplitN(arn, ":", 6)
	if n < len(parts) {
		return parts[n]
	}
	return ""
}
