package ingest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/transform"
)

// Options configure Run. Kafka, Config, Transform and DB are required.
type Options struct {
	Kafka     KafkaConfig
	Config    Config
	Transform transform.Config
	// DB is the DuckDB file: stored offsets are read from it and, unless
	// Sink is set, batches are committed to it. Run does not close it.
	DB *store.DB
	// Sink overrides the DuckDB sink (tests). It must store positions in DB.
	Sink Sink
	// Logger receives progress, retries and warnings (nil: discard).
	Logger *slog.Logger
	// Metrics, if nil, are created and registered with Registerer (which may
	// be nil: not registered). Pass the same Metrics to Run and LoadPaths.
	Metrics    *Metrics
	Registerer prometheus.Registerer
	// Health is updated after every commit (may be nil); serve it with Handler.
	Health *Health
	// Allocator for Arrow batches (nil: Go allocator).
	Allocator memory.Allocator
	// CommitDelay widens the commit window for crash tests; zero otherwise.
	CommitDelay time.Duration
}

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

var errCaughtUp = errors.New("caught up")

type tp struct {
	topic string
	part  int32
}

// partState tracks one assigned partition.
type partState struct {
	tp
	target    int64        // high watermark seen when the partition was assigned
	start     int64        // offset the reader started at
	hwm       atomic.Int64 // latest high watermark seen
	committed atomic.Int64 // next offset stored in DuckDB
}

type runner struct {
	o       Options
	log     *slog.Logger
	dec     *transform.Decoder
	p       *pipeline
	in      chan item
	formats map[string]transform.Format
	dialer  *kafka.Dialer
	client  *kafka.Client
	stop    context.CancelCauseFunc
	group   *kafka.ConsumerGroup // set when consume returns
	wg      sync.WaitGroup       // partition readers
	// pipeDone is closed when the pipeline stopped; kick asks background
	// to copy the offsets to Kafka now (after each DuckDB commit).
	pipeDone chan struct{}
	kick     chan struct{}
	// commitMu orders Kafka offset commits (after-batch and handover), so
	// an older offset never lands after a newer one.
	commitMu sync.Mutex

	mu    sync.Mutex
	parts map[tp]*partState
	gen   *kafka.Generation
	dirty bool
}

// Run consumes the configured topics into DuckDB until ctx is done (then it
// commits what is in flight and returns nil), until every assigned partition
// is caught up if Config.ExitWhenCaughtUp, or until a fatal error (data loss
// not allowed, a commit that keeps failing). Unreachable brokers are retried
// forever with backoff. See docs/ingest.md for the delivery guarantee.
func Run(ctx context.Context, o Options) error {
	if o.DB == nil {
		return errors.New("ingest: Options.DB is required")
	}
	if err := errors.Join(o.Kafka.Validate(), o.Config.Validate()); err != nil {
		return err
	}
	if len(o.Kafka.Topics) == 0 {
		return errors.New("no topics to consume: set kafka.topics or pass --topic NAME=FORMAT")
	}
	dec, err := transform.NewDecoder(o.Transform)
	if err != nil {
		return err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(o.Registerer)
	}
	dialer, transport, err := kafkaClient(o.Kafka)
	if err != nil {
		return err
	}
	defer transport.CloseIdleConnections() // the admin client's (list offsets, final offset commit)
	sink := o.Sink
	if sink == nil {
		s, err := o.DB.NewSink(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		s.CommitDelay = o.CommitDelay
		sink = s
	}
	r := &runner{
		o: o, log: log, dec: dec, dialer: dialer,
		client:  &kafka.Client{Addr: kafka.TCP(o.Kafka.Brokers...), Transport: transport, Timeout: 10 * time.Second},
		formats: map[string]transform.Format{}, parts: map[tp]*partState{},
		in: make(chan item, 256), pipeDone: make(chan struct{}), kick: make(chan struct{}, 1),
	}
	for _, t := range o.Kafka.Topics {
		r.formats[t.Name] = transform.Format(t.Format)
	}
	r.p = newPipeline(o.Config, sink, o.Allocator, o.Metrics, log, o.Health)
	r.p.onCommit = r.committed

	cctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r.stop = stop
	pipeErr := make(chan error, 1)
	go func() {
		err := r.p.run(context.WithoutCancel(ctx), r.in)
		if err != nil {
			stop(err)
		}
		close(r.pipeDone)
		pipeErr <- err
	}()
	bg := make(chan struct{})
	go func() {
		defer close(bg)
		r.background(cctx)
	}()
	t0 := time.Now()
	log.Info("ingest starting", "brokers", strings.Join(o.Kafka.Brokers, ","), "group", o.Kafka.Group, "topics", len(o.Kafka.Topics), "db", o.DB.Path)
	stop(r.consume(cctx)) // a no-op if already stopped (caught up, pipeline failure, ctx done)
	r.wg.Wait()           // partition readers stop with cctx
	close(r.in)
	perr := <-pipeErr
	<-bg
	if r.group != nil {
		r.group.Close() // leaves the group
	}
	r.finalCommitKafka(ctx)
	tot := r.p.Totals()
	el := time.Since(t0).Seconds()
	log.Info("ingest stopped", "events", tot.Events, "records", tot.Records, "dead_letters", tot.DeadLetterTotal(),
		"seconds", round2(el), "events_per_sec", round2(float64(tot.Events)/el))
	if perr != nil {
		return perr
	}
	if cause := context.Cause(cctx); !errors.Is(cause, errCaughtUp) && !errors.Is(cause, context.Canceled) {
		return cause // a fatal error, or the caller's deadline
	}
	return nil
}

func round2(f float64) float64 { return float64(int64(f*100)) / 100 }

// consume drives the consumer group: one generation after another, each
// resuming every assigned partition from the offset stored in DuckDB.
func (r *runner) consume(ctx context.Context) error {
	topics := make([]string, 0, len(r.o.Kafka.Topics))
	for _, t := range r.o.Kafka.Topics {
		topics = append(topics, t.Name)
	}
	bo := backoff{base: 250 * time.Millisecond, max: r.o.Config.RetryMaxBackoff}
	var group *kafka.ConsumerGroup
	defer func() { r.group = group }() // Run closes it after the last commit
	for attempt := 1; ctx.Err() == nil; {
		if group == nil {
			var err error
			group, err = kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
				ID: r.o.Kafka.Group, Brokers: r.o.Kafka.Brokers, Topics: topics, Dialer: r.dialer,
				SessionTimeout: r.o.Kafka.SessionTimeout, HeartbeatInterval: r.o.Kafka.SessionTimeout / 10,
				RebalanceTimeout: r.o.Kafka.SessionTimeout, JoinGroupBackoff: time.Second,
				WatchPartitionChanges: true, PartitionWatchInterval: 10 * time.Second,
				StartOffset: kafka.FirstOffset, Timeout: 10 * time.Second,
				Logger:      kafka.LoggerFunc(func(msg string, args ...any) { r.log.Debug("kafka group", "detail", fmt.Sprintf(msg, args...)) }),
				ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) { r.log.Debug("kafka group error", "detail", fmt.Sprintf(msg, args...)) }),
			})
			if err != nil {
				return fmt.Errorf("kafka consumer group: %w", err)
			}
		}
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d := bo.next()
			r.log.Warn("kafka consumer group unavailable, retrying", "what", "join group "+r.o.Kafka.Group, "brokers", strings.Join(r.o.Kafka.Brokers, ","), "attempt", attempt, "wait", d.Round(time.Millisecond), "err", err)
			attempt++
			group.Close()
			group = nil
			if !sleep(ctx, d) {
				return nil
			}
			continue
		}
		bo.reset()
		attempt = 1
		if err := r.startGeneration(ctx, gen); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

// startGeneration waits until everything read in earlier generations is
// committed, re-reads the stored offsets and starts one reader per assigned
// partition.
func (r *runner) startGeneration(ctx context.Context, gen *kafka.Generation) error {
	barrier := make(chan struct{})
	select {
	case r.in <- item{barrier: barrier}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-barrier:
	case <-ctx.Done():
		return ctx.Err()
	}
	var req []tp
	stored := map[tp]int64{}
	groupOff := map[tp]int64{}
	for topic, as := range gen.Assignments {
		offs, err := r.o.DB.Offsets(ctx, "kafka:"+topic)
		if err != nil {
			return err
		}
		for _, a := range as {
			k := tp{topic, int32(a.ID)}
			req = append(req, k)
			groupOff[k] = a.Offset
			if o, ok := offs[k.part]; ok {
				stored[k] = o
			}
		}
	}
	sort.Slice(req, func(i, j int) bool {
		return req[i].topic < req[j].topic || req[i].topic == req[j].topic && req[i].part < req[j].part
	})
	bounds, err := r.listOffsets(ctx, req)
	if err != nil {
		return err
	}
	parts := map[tp]*partState{}
	starts := map[tp]int64{}
	for _, k := range req {
		b := bounds[k]
		start, ok := stored[k]
		fromGroup := false
		if !ok {
			start, fromGroup = r.startWithoutOffset(k, groupOff[k], b)
		}
		switch {
		case start < b[0]:
			dl := &DataLossError{Topic: k.topic, Partition: int(k.part), Stored: start, LogStart: b[0], FromGroup: fromGroup}
			if !r.o.Config.AllowDataLoss {
				return dl
			}
			r.log.Warn("skipping messages deleted by retention", "topic", k.topic, "partition", k.part, "stored_offset", start, "from_group_offset", fromGroup, "log_start", b[0], "skipped", b[0]-start, "mitigation", "ingest.allow_data_loss is set")
			start = b[0]
		case start > b[1] && !fromGroup:
			r.log.Error("stored offset is beyond the end of the partition; waiting for new messages (was the topic deleted and recreated? then delete its rows from ingest_offsets)", "topic", k.topic, "partition", k.part, "stored_offset", start, "high_watermark", b[1])
		case start > b[1]:
			r.log.Error("the consumer group's committed offset is beyond the end of the partition; waiting for new messages (was the topic deleted and recreated? then reset the group's offsets, or set ingest.start_without_offset: earliest)", "topic", k.topic, "partition", k.part, "group_offset", start, "high_watermark", b[1])
		}
		ps := &partState{tp: k, target: b[1], start: start}
		ps.hwm.Store(b[1])
		ps.committed.Store(start)
		parts[k] = ps
		starts[k] = start
	}
	r.mu.Lock()
	r.parts, r.gen, r.dirty = parts, gen, false
	r.o.Metrics.Lag.Reset() // partitions this member no longer owns
	for _, ps := range parts {
		r.setLag(ps)
	}
	r.mu.Unlock()
	r.log.Info("partitions assigned", "generation", gen.ID, "partitions", len(req))
	for _, k := range req {
		ps, start := parts[k], starts[k]
		r.log.Debug("partition starting", "topic", k.topic, "partition", k.part, "offset", start, "high_watermark", ps.target)
		r.wg.Add(1)
		gen.Start(func(gctx context.Context) {
			defer r.wg.Done()
			pctx, cancel := context.WithCancel(gctx)
			defer cancel()
			stop := context.AfterFunc(ctx, cancel)
			defer stop()
			r.consumePartition(pctx, ps, start)
			r.handOff(gen, ps)
		})
	}
	r.checkCaughtUp()
	return nil
}

// startWithoutOffset picks where a partition that this DuckDB file has no
// offset for starts: the consumer group's committed Kafka offset (group >= 0)
// unless ingest.start_without_offset is earliest, else the log start b[0].
// Another member that consumed the partition into its own file committed
// that offset right after its DuckDB commits, so starting there keeps the
// files' union free of duplicates up to the bound in docs/ingest.md.
func (r *runner) startWithoutOffset(k tp, group int64, b [2]int64) (int64, bool) {
	attrs := []any{"topic", k.topic, "partition", k.part, "earliest", b[0], "high_watermark", b[1]}
	if group >= 0 {
		attrs = append(attrs, "group_offset", group)
	}
	switch {
	case r.o.Config.StartWithoutOffset == StartGroup && group >= 0:
		r.log.Info("partition has no offset in this DuckDB file; starting at the consumer group's committed offset",
			append(attrs, "offset", group, "reason", "another member of group "+r.o.Kafka.Group+" (or an earlier run) stored the records before it in its own file")...)
		return group, true
	case group >= 0:
		r.log.Info("partition has no offset in this DuckDB file; starting at the earliest offset",
			append(attrs, "offset", b[0], "reason", "ingest.start_without_offset is earliest: records before the group offset may also be in another member's file; deduplicate on (src_topic, src_partition, src_offset, src_index) across files")...)
	default:
		r.log.Info("partition has no offset in this DuckDB file; starting at the earliest offset",
			append(attrs, "offset", b[0], "reason", "the consumer group has no committed offset for it")...)
	}
	return b[0], false
}

// handOff runs when a partition reader stopped (the generation ended: a
// rebalance, shutdown, caught up, a fatal error). Before this member rejoins
// or leaves the group it waits until everything read from the partition is
// committed to DuckDB, then commits that offset to Kafka in the ending
// generation (the coordinator accepts it while the group is preparing the
// rebalance), so the member that takes the partition over starts right after
// the last record this file holds. Best effort, bounded by half the session
// timeout: without it the next member starts at the last periodic commit.
func (r *runner) handOff(gen *kafka.Generation, ps *partState) {
	ctx, cancel := context.WithTimeout(context.Background(), r.o.Kafka.SessionTimeout/2)
	defer cancel()
	barrier := make(chan struct{})
	select {
	case r.in <- item{barrier: barrier}:
	case <-r.pipeDone:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-barrier:
	case <-r.pipeDone:
		return
	case <-ctx.Done():
		r.log.Debug("partition handover: commit still running, not copying its offset to kafka", "topic", ps.topic, "partition", ps.part)
		return
	}
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	off := ps.committed.Load()
	if off == ps.start {
		return // nothing new: never move the group's offset back to an old stored one
	}
	if err := gen.CommitOffsets(map[string]map[int]int64{ps.topic: {int(ps.part): off}}); err != nil {
		r.log.Debug("partition handover: kafka offset commit failed (the next owner starts at the previous group offset)", "topic", ps.topic, "partition", ps.part, "offset", off, "err", err)
		return
	}
	r.log.Debug("partition handover: offset committed to kafka", "topic", ps.topic, "partition", ps.part, "offset", off)
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
	for attempt := 1; ; attempt++ {
		out, err := r.tryListOffsets(ctx, req, parts)
		if err == nil {
			return out, nil
		}
		d := bo.next()
		r.log.Warn("listing partition offsets failed, retrying", "what", "list offsets", "attempt", attempt, "wait", d.Round(time.Millisecond), "err", err)
		if !sleep(ctx, d) {
			return nil, ctx.Err()
		}
	}
}

func (r *runner) tryListOffsets(ctx context.Context, req *kafka.ListOffsetsRequest, parts []tp) (map[tp][2]int64, error) {
	resp, err := r.client.ListOffsets(ctx, req)
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
	rd := kafka.NewReader(kafka.ReaderConfig{
		Brokers: r.o.Kafka.Brokers, Topic: ps.topic, Partition: int(ps.part), Dialer: r.dialer,
		MinBytes: 1, MaxBytes: r.o.Kafka.FetchMaxBytes, MaxWait: r.o.Kafka.FetchMaxWait + fetchResponseSlack,
		ReadBackoffMin: 100 * time.Millisecond, ReadBackoffMax: min(r.o.Config.RetryMaxBackoff, 5*time.Second),
		QueueCapacity: 1000, MaxAttempts: 1 << 30,
		Logger: kafka.LoggerFunc(func(msg string, args ...any) { r.log.Debug("kafka reader", "detail", fmt.Sprintf(msg, args...)) }),
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			r.log.Warn("kafka fetch failed, retrying", "what", "fetch", "topic", ps.topic, "partition", ps.part, "detail", fmt.Sprintf(msg, args...))
		}),
	})
	defer rd.Close()
	if err := rd.SetOffset(start); err != nil {
		r.stop(fmt.Errorf("position reader on %s[%d] at %d: %w", ps.topic, ps.part, start, err))
		return
	}
	expected := start
	bo := backoff{base: 100 * time.Millisecond, max: r.o.Config.RetryMaxBackoff}
	for {
		m, err := rd.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d := bo.next()
			r.log.Warn("kafka fetch failed, retrying", "what", "fetch", "topic", ps.topic, "partition", ps.part, "wait", d.Round(time.Millisecond), "err", err)
			if !sleep(ctx, d) {
				return
			}
			continue
		}
		bo.reset()
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
		it := item{source: source, part: ps.part, next: m.Offset + 1, label: ps.topic, res: res, raw: n,
			flush: r.o.Config.ExitWhenCaughtUp && m.Offset+1 == ps.target} // don't wait batch_max_wait to exit
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

// committed runs on the committer goroutine after each DuckDB commit.
func (r *runner) committed(pos []store.Position) {
	r.mu.Lock()
	for _, p := range pos {
		topic, ok := strings.CutPrefix(p.Source, "kafka:")
		if !ok {
			continue
		}
		if ps := r.parts[tp{topic, p.Part}]; ps != nil {
			ps.committed.Store(p.Next)
			r.setLag(ps)
		}
	}
	r.dirty = true
	r.mu.Unlock()
	select { // copy the offsets to Kafka now, asynchronously
	case r.kick <- struct{}{}:
	default:
	}
	r.checkCaughtUp()
}

// setLag sets ps's lag gauge (latest high watermark minus the offset
// stored in DuckDB) and returns the lag.
func (r *runner) setLag(ps *partState) int64 {
	l := max(0, ps.hwm.Load()-ps.committed.Load())
	r.o.Metrics.Lag.WithLabelValues(ps.topic, strconv.Itoa(int(ps.part))).Set(float64(l))
	return l
}

// checkCaughtUp stops consuming once every assigned partition's committed
// offset reached the high watermark seen at assignment.
func (r *runner) checkCaughtUp() {
	if !r.o.Config.ExitWhenCaughtUp {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gen == nil {
		return
	}
	for _, ps := range r.parts {
		if ps.committed.Load() < ps.target {
			return
		}
	}
	r.log.Info("caught up", "partitions", len(r.parts))
	r.stop(errCaughtUp)
}

// commitKafka copies the DuckDB offsets to the group's Kafka offsets: for
// lag tooling, and as the start of a partition in a DuckDB file that has no
// offset for it (another member takes it over). It runs after every DuckDB
// commit (and every second while a commit failed), off the commit path.
func (r *runner) commitKafka() {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	r.mu.Lock()
	if !r.dirty || r.gen == nil {
		r.mu.Unlock()
		return
	}
	offs := map[string]map[int]int64{}
	for k, ps := range r.parts {
		off := ps.committed.Load()
		if off == ps.start {
			continue // never move the group's offset back to an old stored one
		}
		if offs[k.topic] == nil {
			offs[k.topic] = map[int]int64{}
		}
		offs[k.topic][int(k.part)] = off
	}
	gen := r.gen
	r.dirty = false
	r.mu.Unlock()
	if err := gen.CommitOffsets(offs); err != nil {
		r.mu.Lock()
		if r.gen == gen {
			r.dirty = true // retried by the one-second ticker
		}
		r.mu.Unlock()
		r.log.Debug("kafka offset commit failed (DuckDB holds this file's offsets; a member taking a partition over starts at the last successful commit)", "err", err)
	}
}

// finalCommitKafka copies the last DuckDB offsets to Kafka after this
// member left the group (a generation ends as soon as one of its partition
// readers stops, so the generation cannot be used for it). Kafka accepts
// such a commit when the group has no other members; otherwise the
// members' own periodic commits keep the group offsets current.
func (r *runner) finalCommitKafka(ctx context.Context) {
	r.mu.Lock()
	topics := map[string][]kafka.OffsetCommit{}
	for k, ps := range r.parts {
		if off := ps.committed.Load(); off != ps.start {
			topics[k.topic] = append(topics[k.topic], kafka.OffsetCommit{Partition: int(k.part), Offset: off})
		}
	}
	r.mu.Unlock()
	if len(topics) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	resp, err := r.client.OffsetCommit(cctx, &kafka.OffsetCommitRequest{GroupID: r.o.Kafka.Group, GenerationID: -1, Topics: topics})
	if err == nil {
		for _, ps := range resp.Topics {
			for _, p := range ps {
				err = errors.Join(err, p.Error)
			}
		}
	}
	if err != nil {
		r.log.Debug("final kafka offset commit failed (lag tooling only; DuckDB holds the real offsets)", "err", err)
	}
}

// background copies offsets to Kafka after each DuckDB commit (retrying
// every second after a failure) and logs progress.
func (r *runner) background(ctx context.Context) {
	commit := time.NewTicker(time.Second)
	defer commit.Stop()
	var progress <-chan time.Time
	if r.o.Config.ProgressInterval > 0 {
		t := time.NewTicker(r.o.Config.ProgressInterval)
		defer t.Stop()
		progress = t.C
	}
	last, lastT := r.p.Totals(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-commit.C:
			r.commitKafka()
		case <-r.kick:
			r.commitKafka()
		case now := <-progress:
			tot := r.p.Totals()
			var lag int64
			r.mu.Lock()
			for _, ps := range r.parts {
				lag += r.setLag(ps)
			}
			nparts := len(r.parts)
			r.mu.Unlock()
			dt := now.Sub(lastT).Seconds()
			r.log.Info("ingest progress", "events", tot.Events, "records", tot.Records, "dead_letters", tot.DeadLetterTotal(),
				"events_per_sec", round2(float64(tot.Events-last.Events)/dt), "mb_per_sec", round2(float64(tot.Bytes-last.Bytes)/dt/1e6),
				"lag", lag, "partitions", nparts)
			last, lastT = tot, now
		}
	}
}

// kafkaClient builds the dialer (readers, group) and transport (admin
// requests) with the configured TLS and SASL.
func kafkaClient(c KafkaConfig) (*kafka.Dialer, *kafka.Transport, error) {
	var tlsCfg *tls.Config
	if c.TLS.Enabled {
		tlsCfg = &tls.Config{InsecureSkipVerify: c.TLS.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in
		if c.TLS.CAFile != "" {
			pem, err := os.ReadFile(c.TLS.CAFile)
			if err != nil {
				return nil, nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("kafka.tls.ca_file: %s holds no PEM certificate", c.TLS.CAFile)
			}
			tlsCfg.RootCAs = pool
		}
		if c.TLS.CertFile != "" || c.TLS.KeyFile != "" {
			cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
			if err != nil {
				return nil, nil, fmt.Errorf("kafka.tls.cert_file/key_file: %w", err)
			}
			tlsCfg.Certificates = []tls.Certificate{cert}
		}
	}
	var mech sasl.Mechanism
	switch c.SASL.Mechanism {
	case "plain":
		mech = plain.Mechanism{Username: c.SASL.Username, Password: c.SASL.Password}
	case "scram-sha-256", "scram-sha-512":
		algo := scram.SHA256
		if c.SASL.Mechanism == "scram-sha-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, c.SASL.Username, c.SASL.Password)
		if err != nil {
			return nil, nil, fmt.Errorf("kafka.sasl: %w", err)
		}
		mech = m
	}
	d := &kafka.Dialer{ClientID: c.ClientID, Timeout: 10 * time.Second, DualStack: true, TLS: tlsCfg, SASLMechanism: mech}
	t := &kafka.Transport{ClientID: c.ClientID, TLS: tlsCfg, SASL: mech, DialTimeout: 10 * time.Second}
	return d, t, nil
}
