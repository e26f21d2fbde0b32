package ingest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/faultline/faultline/transform"
)

// DataLossError says that Kafka deleted records (retention) that faultline
// had not read yet: the stored offset is below the partition's log start.
type DataLossError struct {
	Topic     string
	Partition int
	Stored    int64
	LogStart  int64
	// FromGroup: Stored is the consumer group's committed Kafka offset (the
	// DuckDB file had no offset for the partition), not the file's own.
	FromGroup bool
}

func (e *DataLossError) Error() string {
	what := "the stored offset"
	if e.FromGroup {
		what = "the consumer group's committed offset (this DuckDB file has none for the partition)"
	}
	return fmt.Sprintf("data loss: kafka topic %q partition %d: %s %d is below the log start offset %d, so %d messages were deleted (retention) before faultline read them; "+
		"to skip them and continue from offset %d, rerun with --allow-data-loss (config ingest.allow_data_loss: true)",
		e.Topic, e.Partition, what, e.Stored, e.LogStart, e.LogStart-e.Stored, e.LogStart)
}

// listOffsets returns [log start, high watermark] per partition, retrying
// while the brokers are unreachable.
func (r *runner) listOffsets(ctx context.Context, parts []tp) (map[tp][2]int64, error) {
	if len(parts) == 0 {
		return map[tp][2]int64{}, nil
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, k := range parts {
		req.Topics[k.topic] = append(req.Topics[k.topic], kafka.FirstOffsetOf(int(k.part)), kafka.LastOffsetOf(int(k.part)))
	}
	bo := backoff{base: 250 * time.Millisecond, max: r.o.Config.RetryMaxBackoff}
	warn := r.retryLog("listing partition offsets failed")
	for {
		out, err := r.tryListOffsets(ctx, r.client, req, parts)
		if err == nil {
			r.contact()
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.kafkaError(err)
		d := bo.next()
		warn.failed(time.Now(), d, "what", "list offsets", "brokers", strings.Join(r.o.Kafka.Brokers, ","), "err", err, "check", r.unreachableHint())
		if !sleep(ctx, d) {
			return nil, ctx.Err()
		}
	}
}

func (r *runner) tryListOffsets(ctx context.Context, c *kafka.Client, req *kafka.ListOffsetsRequest, parts []tp) (map[tp][2]int64, error) {
	resp, err := c.ListOffsets(ctx, req)
	if err != nil {
		return nil, err
	}
	out := map[tp][2]int64{}
	for topic, pos := range resp.Topics {
		for _, po := range pos {
			if po.Error != nil {
				return nil, fmt.Errorf("topic %s partition %d: %w", topic, po.Partition, po.Error)
			}
			out[tp{topic, int32(po.Partition)}] = [2]int64{po.FirstOffset, po.LastOffset}
		}
	}
	for _, k := range parts {
		if _, ok := out[k]; !ok {
			return nil, fmt.Errorf("no offsets returned for topic %s partition %d", k.topic, k.part)
		}
	}
	return out, nil
}

// fetchResponseSlack is added to kafka.fetch_max_wait for the reader's
// MaxWait. kafka-go derives both the fetch's max wait sent to the broker and
// the connection's read deadline from MaxWait: with MaxWait under 1s it asks
// the broker to wait MaxWait*3/4 and gives the response only MaxWait/4 to
// arrive (125ms of the default 500ms), so an idle fetch at the end of a
// partition answered a little late (a busy broker, a loaded machine) failed
// with an i/o timeout, a reconnect and a warning. With MaxWait of 1s or more
// kafka-go subtracts exactly 1s: the broker holds an idle fetch for
// fetch_max_wait and the response has 1s to arrive; a longer silence is
// still reported as a failed fetch.
const fetchResponseSlack = time.Second

// consumePartition reads one partition from start, decodes each message and
// hands it to the pipeline, holding its bytes in the in-flight budget.
func (r *runner) consumePartition(ctx context.Context, ps *partState, start int64) {
	format := r.formats[ps.topic]
	source := "kafka:" + ps.topic
	warn := r.retryLog("kafka fetch failed")
	rd := kafka.NewReader(kafka.ReaderConfig{
		Brokers: r.o.Kafka.Brokers, Topic: ps.topic, Partition: int(ps.part), Dialer: r.dialer,
		MinBytes: 1, MaxBytes: r.o.Kafka.FetchMaxBytes, MaxWait: r.o.Kafka.FetchMaxWait + fetchResponseSlack,
		ReadBackoffMin: 100 * time.Millisecond, ReadBackoffMax: min(r.o.Config.RetryMaxBackoff, 5*time.Second),
		QueueCapacity: 1000, MaxAttempts: 1 << 30,
		Logger: kafka.LoggerFunc(func(msg string, args ...any) { r.log.Debug("kafka reader", "detail", fmt.Sprintf(msg, args...)) }),
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			if ctx.Err() != nil {
				return // stopping: kafka-go reports its cancelled dials and requests
			}
			// Logged, not counted as disconnected: kafka-go retries here,
			// and an idle fetch answered late on a busy machine is no
			// outage (the probe and the group decide connectivity).
			detail := fmt.Sprintf(msg, args...)
			warn.failed(time.Now(), 0, "what", "fetch", "topic", ps.topic, "partition", ps.part, "detail", detail)
		}),
	})
	defer rd.Close()
	if err := rd.SetOffset(start); err != nil {
		r.stop(fmt.Errorf("position reader on %s[%d] at %d: %w", ps.topic, ps.part, start, err))
		return
	}
	expected := start
	reached := start >= ps.target // counted in ps.behind until it is
	bo := backoff{base: 100 * time.Millisecond, max: r.o.Config.RetryMaxBackoff}
	for {
		m, err := rd.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.kafkaError(fmt.Errorf("fetch %s[%d]: %w", ps.topic, ps.part, err))
			d := bo.next()
			warn.failed(time.Now(), d, "what", "fetch", "topic", ps.topic, "partition", ps.part, "err", err)
			if !sleep(ctx, d) {
				return
			}
			continue
		}
		if bo.n > 0 {
			r.contact() // fetching works again
		}
		bo.reset()
		warn.succeeded() // a message: the next failure is news again
		if m.Offset > expected {
			if err := r.checkGap(ctx, ps, expected, m.Offset); err != nil {
				r.stop(err)
				return
			}
		}
		expected = m.Offset + 1
		if m.HighWaterMark > ps.hwm.Load() {
			ps.hwm.Store(m.HighWaterMark)
		}
		n, err := r.p.acquire(ctx, int64(len(m.Value)))
		if err != nil {
			return
		}
		res := &transform.Result{}
		r.dec.Decode(transform.Input{
			Format: format, Value: m.Value, Key: m.Key, Time: m.Time,
			Lineage: transform.Lineage{Topic: ps.topic, Partition: ps.part, Offset: m.Offset},
		}, time.Now(), res)
		it := item{source: source, part: ps.part, next: m.Offset + 1, gen: ps.gen, label: ps.topic, res: res, raw: n}
		if r.o.Config.ExitWhenCaughtUp && !reached && m.Offset+1 >= ps.target {
			reached = true
			it.caughtUp = ps.behind
		}
		select {
		case r.in <- it:
		case <-ctx.Done():
			r.p.release(n)
			return
		}
	}
}

// checkGap runs when offsets jump: compaction and transaction markers do
// that harmlessly; retention deleting unread messages does not.
func (r *runner) checkGap(ctx context.Context, ps *partState, expected, got int64) error {
	b, err := r.listOffsets(ctx, []tp{ps.tp})
	if err != nil {
		return nil // shutting down
	}
	first := b[ps.tp][0]
	if expected >= first {
		r.log.Debug("offset gap (compaction or transaction markers)", "topic", ps.topic, "partition", ps.part, "from", expected, "to", got)
		return nil
	}
	dl := &DataLossError{Topic: ps.topic, Partition: int(ps.part), Stored: expected, LogStart: first}
	if !r.o.Config.AllowDataLoss {
		return dl
	}
	r.log.Warn("skipping messages deleted by retention", "topic", ps.topic, "partition", ps.part, "stored_offset", expected, "log_start", first, "skipped", first-expected, "mitigation", "ingest.allow_data_loss is set")
	return nil
}
