package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/faultline/faultline/ingest/status"
)

// Metrics are ingest's Prometheus metrics. Create them once per registry
// with NewMetrics and share them between Run and LoadPaths.
type Metrics struct {
	EventsIn        *prometheus.CounterVec // by source (kafka topic or "file")
	RecordsIn       prometheus.Counter     // raw records (messages, file records)
	BytesIn         prometheus.Counter     // raw bytes read
	DeadLetters     *prometheus.CounterVec // by reason
	ControlMessages prometheus.Counter
	Skipped         prometheus.Counter
	Batches         prometheus.Counter
	CommitSeconds   prometheus.Histogram
	CommitRetries   prometheus.Counter
	Lag             *prometheus.GaugeVec // by topic, partition: high watermark - committed next offset
	InflightBytes   prometheus.Gauge     // raw bytes read and not yet committed
	// BrokerConnected is 1 while the last request to the brokers succeeded,
	// 0 while they are unreachable (only while a Kafka ingest runs).
	BrokerConnected prometheus.Gauge
	KafkaErrors     prometheus.Counter   // failed requests to the brokers
	MissingTopics   *prometheus.GaugeVec // 1 per configured topic the brokers do not have
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered, e.g. in tests and benchmarks).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		EventsIn:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "faultline_ingest_events_total", Help: "Normalized events committed to DuckDB."}, []string{"source"}),
		RecordsIn:       prometheus.NewCounter(prometheus.CounterOpts{Name: "faultline_ingest_records_total", Help: "Raw records (Kafka messages, file records) committed."}),
		BytesIn:         prometheus.NewCounter(prometheus.CounterOpts{Name: "faultline_ingest_bytes_total", Help: "Raw bytes of the committed records."}),
		DeadLetters:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "faultline_ingest_dead_letters_total", Help: "Records stored as dead letters, by reason."}, []string{"reason"}),
		ControlMessages: prometheus.NewCounter(prometheus.CounterOpts{Name: "faultline_ingest_control_messages_total", Help: "CloudWatch CONTROL_MESSAGE payloads skipped."}),
		Skipped:         prometheus.NewCounter(prometheus.CounterOpts{Name: "faultline_ingest_skipped_total", Help: "Records recognised and intentionally not loaded (CloudTrail digests)."}),
		Batches:         prometheus.NewCounter(prometheus.CounterOpts{Name: "faultline_ingest_batches_total", Help: "Batches committed."}),
		CommitSeconds:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "faultline_ingest_commit_seconds", Help: "Latency of one batch transaction.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}),
		CommitRetries:   prometheus.NewCounter(prometheus.CounterOpts{Name: "faultline_ingest_commit_retries_total", Help: "Batch commits retried after an error."}),
		Lag:             prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "faultline_ingest_lag_messages", Help: "High watermark minus the committed next offset, per partition."}, []string{"topic", "partition"}),
		InflightBytes:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "faultline_ingest_inflight_bytes", Help: "Raw bytes read and not yet committed (bounded by ingest.max_inflight_bytes)."}),
		BrokerConnected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "faultline_ingest_broker_connected", Help: "1 while the last request to the Kafka brokers succeeded, 0 while they are unreachable."}),
		KafkaErrors:     prometheus.NewCounter(prometheus.CounterOpts{Name: "faultline_ingest_kafka_errors_total", Help: "Failed requests to the Kafka brokers (join group, metadata, list offsets, fetch)."}),
		MissingTopics:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "faultline_ingest_topic_missing", Help: "1 for each configured topic that does not exist on the brokers."}, []string{"topic"}),
	}
	if reg != nil {
		reg.MustRegister(m.EventsIn, m.RecordsIn, m.BytesIn, m.DeadLetters, m.ControlMessages, m.Skipped,
			m.Batches, m.CommitSeconds, m.CommitRetries, m.Lag, m.InflightBytes,
			m.BrokerConnected, m.KafkaErrors, m.MissingTopics)
	}
	return m
}

// Handler serves /metrics from g, and /healthz and /readyz from st (nil:
// not running). /healthz answers 200 "ok", or 503 with one line per
// problem (DuckDB commits failing, brokers unreachable, missing topics);
// /readyz answers the status as JSON (docs/ingest.md), 200 when there is
// no problem, else 503: the endpoints of `faultline ingest --metrics-listen`.
// `faultline serve` does not mount this mux: dashboards answers /healthz
// and /readyz with the same status writers (status.WriteHealthz,
// WriteReadyz), behind its authentication, and /metrics over the registry
// ingest registers with.
func Handler(g prometheus.Gatherer, st *status.Tracker) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		status.WriteHealthz(w, st.Snapshot())
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		status.WriteReadyz(w, st.Snapshot())
	})
	return mux
}

// Serve listens on addr and serves handler until ctx is done.
func Serve(ctx context.Context, addr string, handler http.Handler, log *slog.Logger) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listener on %s: %w (check ingest.metrics_listen)", addr, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	log.Info("serving metrics", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
			err = errors.Join(err, e)
		}
		return err
	}
}
