package transform

import "time"

// Kinds of event (the kind column).
const (
	KindChange = "change"
	KindError  = "error"
	KindSignal = "signal"
	KindInfo   = "info"
)

// Sources of event (the source column).
const (
	SourceCloudTrail = "cloudtrail"
	SourceCloudWatch = "cloudwatch"
	SourceApp        = "app"
	SourceConfig     = "config"
	SourceHealth     = "health"
	SourceAlarm      = "alarm"
	SourceDeploy     = "deploy"
	SourceOTLP       = "otlp"
	// SourceEventBridge is any other EventBridge event (Auto Scaling, EC2
	// state changes, ...).
	SourceEventBridge = "eventbridge"
)

// Event is one normalized event: one row of the events table. Field order
// follows the column order of Schema. Empty strings are stored as NULL.
type Event struct {
	EventID        string
	Time           time.Time // when it happened, UTC
	ObservedTime   time.Time // when faultline decoded it, UTC
	Source         string
	Kind           string
	Service        string
	Operation      string
	Region         string
	AccountID      string
	Resource       string
	Actor          string
	SeverityNumber int32 // OpenTelemetry severity number 1-24, 0 = unspecified
	SeverityText   string
	Status         string
	ErrorCode      string
	Message        string
	RequestID      string
	TraceID        string
	ChangeType     string // catalogue type for changes (networking, dns, iam, ...)
	RiskClass      string // catalogue risk class for changes (critical, high, medium, low)
	PeerService    string // the service this event talked to, when known (server.address, endpoint)
	Attributes     string // JSON object text: everything not in a column; "" = {}

	Lineage

	// CloudProvider is the cloud the event comes from, as OpenTelemetry's
	// cloud.provider names it (ProviderAWS, ProviderGCP, ProviderAzure, or
	// an application's own value); "" = unknown. Its column is the last
	// one: it was added in schema version 2.
	CloudProvider string
}

// Cloud providers (the cloud_provider column), named as OpenTelemetry's
// cloud.provider attribute names them.
const (
	ProviderAWS   = "aws"
	ProviderGCP   = "gcp"
	ProviderAzure = "azure"
)

// Lineage says where an event or dead letter came from. Kafka input sets
// Topic, Partition and Offset; file input sets File and Offset (the record's
// position in the file). Index numbers the events decoded from one message
// or record (a CloudWatch payload holds many log events).
type Lineage struct {
	Topic     string
	Partition int32
	Offset    int64
	File      string
	Index     int32
}
