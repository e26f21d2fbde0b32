package transform

import "time"

// Input is one raw record to decode: a Kafka message, or a file (or one
// record of a file). Lineage is copied onto every event and dead letter
// decoded from it.
type Input struct {
	Format Format
	Value  []byte
	Key    []byte
	Time   time.Time // Kafka message timestamp or file modification time: the time of records that have none (zero: such records are dead letters)
	Lineage
}

// DeadLetter is a record that could not be decoded, kept with its raw bytes
// (capped at Config.DeadLetterMaxBytes; RawSize is the original size), its
// source position, a machine-readable reason and a message for humans.
type DeadLetter struct {
	Reason  string // machine-readable, e.g. "invalid_json", see Reason* constants
	Message string // what was wrong and what to do
	Format  Format
	Raw     []byte
	RawSize int
	Lineage
}

// Reasons a record becomes a dead letter.
const (
	ReasonInvalidJSON     = "invalid_json"
	ReasonTooLarge        = "too_large"
	ReasonDecompress      = "decompress_failed"
	ReasonDecompressLimit = "decompressed_too_large" // size or ratio limit (gzip bomb)
	ReasonTooDeep         = "too_deep"
	ReasonInvalidUTF8     = "invalid_utf8"
	ReasonUnknownFormat   = "unknown_format"
	ReasonMissingField    = "missing_field"
	ReasonBadTimestamp    = "bad_timestamp"
	ReasonImplausibleTime = "implausible_time" // before 1970, or further ahead than transform.max_future_skew
	ReasonBadBase64       = "bad_base64"
	ReasonEmpty           = "empty"
	ReasonInternal        = "internal_error" // a decoder bug caught by recover; the record is kept
)

// Result collects what one or more Decode calls produced. Reset reuses it.
type Result struct {
	Events          []Event
	DeadLetters     []DeadLetter
	ControlMessages int // CloudWatch CONTROL_MESSAGE payloads: counted, not stored
	Skipped         int // recognised and intentionally not loaded (CloudTrail digest files)
}

// Reset empties r, keeping its capacity.
func (r *Result) Reset() {
	clear(r.Events)
	clear(r.DeadLetters)
	r.Events = r.Events[:0]
	r.DeadLetters = r.DeadLetters[:0]
	r.ControlMessages, r.Skipped = 0, 0
}
