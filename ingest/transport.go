package ingest

import "github.com/segmentio/kafka-go"

// NewTransport returns a kafka-go Transport for c: client id, TLS and SASL
// as configured. faultline's other Kafka clients (produce) use it so that
// they reach the same clusters as ingest.
func NewTransport(c KafkaConfig) (*kafka.Transport, error) {
	_, t, err := kafkaClient(c)
	return t, err
}
