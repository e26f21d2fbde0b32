package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/faultline/faultline/ingest/status"
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
	// Status, if not nil, is kept up to date: broker connectivity, missing
	// topics, partitions and lag, commit errors. Serve it with Handler.
	Status *status.Tracker
	// Allocator for Arrow batches (nil: newBatchAllocator, which maps big
	// buffers from the kernel on Linux).
	Allocator memory.Allocator
	// Relay makes every commit also write its relay unit (store's outbox:
	// the changes and per-minute error counts of each partition, with the
	// consumer group generation that read them) for ingest/relay to
	// publish, and starts a partition at the group's committed offset when
	// that is beyond the file's (another member stored and relayed what is
	// between). docs/operations.md, Account-wide answers.
	Relay bool
}

var errCaughtUp = errors.New("caught up")

type tp struct {
	topic string
	part  int32
}

// partState tracks one assigned partition.
type partState struct {
	tp
	target    int64        // batch runs: high watermark at start (else at assignment)
	start     int64        // offset the reader started at
	hwm       atomic.Int64 // latest high watermark seen
	committed atomic.Int64 // next offset stored in DuckDB
	gen       int32        // consumer group generation this reader runs in
	// behind counts the partitions of this assignment that started short
	// of their target and have not sent the item that reaches it (batch
	// runs); shared by their partStates.
	behind *atomic.Int64
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
	// topics the group subscribes to (the configured ones that exist);
	// curGroup is the running group (closed to restart it with new topics,
	// regroup says so).
	topics   []string
	curGroup *kafka.ConsumerGroup
	regroup  chan struct{}
	// Batch runs: targets is the high watermark of every partition of the
	// configured topics at start; known the next offset this file stored
	// for it before this run; groupOff the consumer group's committed offset
	// (whoever held it); lastProgress the last time anything moved
	// (checkGiveUp).
	targets      map[tp]int64
	known        map[tp]int64
	groupOff     map[tp]int64
	lastProgress time.Time
	// verify is where the check of a caught-up run that read nothing
	// stands (checkCaughtUp): verifyNone, verifyRunning or verifyDone.
	verify int
	// unreachable throttles the warnings of discover and probe (the
	// brokers do not answer).
	unreachable *retryLog
	// newFile: the file stored no Kafka position when Run started; the
	// first assignment then warns if it starts after records the group
	// already read (a deleted or rebuilt file would silently miss them).
	newFile bool
}

// Run consumes the configured topics into DuckDB until ctx is done (then it
// commits what is in flight and returns nil), until a fatal error (data
// loss not allowed, a commit that keeps failing), or, if
// Config.ExitWhenCaughtUp (a batch run), until every partition of the
// configured topics is stored up to the high watermark it had at start, by
// this process or by whoever held it (the group's committed offset).
//
// A batch run fails at start with *MissingTopicsError when a configured
// topic does not exist, with *UnknownBrokersError when DNS knows no
// configured broker's host, and gives up with an error after
// Config.GiveUpAfter without progress (brokers unreachable, partitions held
// by another member). A streaming run retries unreachable brokers forever
// and waits for missing topics, reporting both in Options.Status. On the
// way out Run leaves the consumer group, so a restarted process gets its
// partitions at once. See docs/ingest.md for the delivery guarantee.
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
	if o.Status == nil {
		o.Status = &status.Tracker{} // connectivity decides how a batch run gives up
	}
	dialer, transport, err := kafkaClient(o.Kafka)
	if err != nil {
		return err
	}
	defer transport.CloseIdleConnections() // the admin client's (list offsets, final offset commit)
	sink := o.Sink
	if sink == nil {
		s, err := o.DB.NewSink(context.WithoutCancel(ctx)) // a stop now is handled below
		if err != nil {
			return err
		}
		defer s.Close()
		s.Outbox = o.Relay
		sink = s
	}
	r := &runner{
		o: o, log: log, dec: dec, dialer: dialer,
		client:  &kafka.Client{Addr: kafka.TCP(o.Kafka.Brokers...), Transport: transport, Timeout: 10 * time.Second},
		formats: map[string]transform.Format{}, parts: map[tp]*partState{},
		in: make(chan item, 256), pipeDone: make(chan struct{}), kick: make(chan struct{}, 1),
		regroup: make(chan struct{}, 1), lastProgress: time.Now(),
	}
	for _, t := range o.Kafka.Topics {
		r.formats[t.Name] = transform.Format(t.Format)
	}
	r.unreachable = r.retryLog("kafka brokers unreachable")
	// (a stop signal during this small read must not fail the run: the
	// stop is handled below like any other)
	if n, err := o.DB.KafkaPartitions(context.WithoutCancel(ctx)); err != nil {
		return err
	} else {
		r.newFile = n == 0
	}
	r.p = newPipeline(o.Config, sink, o.Allocator, o.Metrics, log, o.Status)
	r.p.onCommit = r.committed
	r.p.streaming = !o.Config.ExitWhenCaughtUp
	r.p.rerun = "then run ingest again: it resumes from the stored offsets"

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
	o.Status.Start(o.Kafka.Brokers, o.Kafka.Group, r.partitionStatus)
	defer o.Status.Stop()
	if err := r.prepare(cctx); err != nil {
		stop(err)
	} else {
		stop(r.consume(cctx)) // a no-op if already stopped (caught up, pipeline failure, ctx done)
	}
	r.wg.Wait() // partition readers stop with cctx
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

// prepare finds the configured topics on the brokers. A batch run fails
// when one is missing, reads every partition's high watermark (its target)
// and what is already stored, and may be caught up at once.
func (r *runner) prepare(ctx context.Context) error {
	parts, missing, err := r.discover(ctx)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		merr := &MissingTopicsError{Brokers: r.o.Kafka.Brokers, Topics: missing}
		if r.o.Config.ExitWhenCaughtUp {
			return merr
		}
		r.log.Error("kafka topics missing; consuming the others and waiting for them", "err", merr.Error())
	}
	r.mu.Lock()
	for t := range parts {
		r.topics = append(r.topics, t)
	}
	sort.Strings(r.topics)
	r.mu.Unlock()
	if !r.o.Config.ExitWhenCaughtUp {
		return nil
	}
	var all []tp
	known := map[tp]int64{}
	for topic, ps := range parts {
		offs, err := r.o.DB.Offsets(ctx, "kafka:"+topic)
		if err != nil {
			return err
		}
		for _, p := range ps {
			k := tp{topic, p}
			all = append(all, k)
			if o, ok := offs[p]; ok {
				known[k] = o
			}
		}
	}
	bounds, err := r.listOffsets(ctx, all)
	if err != nil {
		return err
	}
	targets := map[tp]int64{}
	for _, k := range all {
		targets[k] = bounds[k][1]
	}
	r.mu.Lock()
	r.targets, r.known, r.groupOff = targets, known, map[tp]int64{}
	r.mu.Unlock()
	r.fetchGroupOffsets(ctx)
	r.log.Info("batch run: reading every partition up to its high watermark at start", "partitions", len(all))
	r.checkCaughtUp(ctx)
	return nil
}

// consume drives the consumer group: one generation after another, each
// resuming every assigned partition from the offset stored in DuckDB.
func (r *runner) consume(ctx context.Context) error {
	bo := backoff{base: 250 * time.Millisecond, max: r.o.Config.RetryMaxBackoff}
	warn := r.retryLog("kafka consumer group unavailable")
	var group *kafka.ConsumerGroup
	defer func() { r.group = group }() // Run closes it after the last commit
	for ctx.Err() == nil {
		topics := r.groupTopics()
		if len(topics) == 0 { // streaming, every topic missing: wait for one
			select {
			case <-ctx.Done():
				return nil
			case <-r.regroup:
				continue
			}
		}
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
			r.mu.Lock()
			r.curGroup = group
			r.mu.Unlock()
		}
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			select {
			case <-r.regroup: // new topics: join again with them at once
				group.Close()
				group = nil
				continue
			default:
			}
			r.kafkaError(err)
			d := bo.next()
			warn.failed(time.Now(), d, "what", "join group "+r.o.Kafka.Group, "brokers", strings.Join(r.o.Kafka.Brokers, ","), "err", err, "check", r.unreachableHint())
			group.Close()
			group = nil
			if !sleep(ctx, d) {
				return nil
			}
			continue
		}
		bo.reset()
		warn.succeeded()
		r.contact()
		r.progress()
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
	behind := &atomic.Int64{}
	starts := map[tp]int64{}
	var unread int64 // records before the group offsets a new file starts at
	for _, k := range req {
		b := bounds[k]
		start, ok := stored[k]
		fromGroup := false
		switch {
		case !ok:
			start, fromGroup = r.startWithoutOffset(k, groupOff[k], b)
			if fromGroup && r.newFile {
				unread += max(0, min(start, b[1])-b[0])
			}
		case r.o.Relay && groupOff[k] > start:
			// Another member stored (and relayed) the records between:
			// re-reading them would relay them twice.
			r.log.Info("partition's group offset is beyond this file's; starting there (relay)", "topic", k.topic, "partition", k.part,
				"stored_offset", start, "group_offset", groupOff[k])
			start, fromGroup = groupOff[k], true
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
		target := b[1]
		r.mu.Lock()
		if t, ok := r.targets[k]; ok {
			target = t // a batch run's target is the high watermark at start
		} else if r.targets != nil {
			// A partition the brokers' metadata did not show at start (a
			// topic created or grown moments before): wait for it too.
			r.log.Warn("batch run: assigned a partition missing from the topic metadata read at start; reading it up to its high watermark now", "topic", k.topic, "partition", k.part, "high_watermark", b[1])
			r.targets[k] = target
		}
		r.mu.Unlock()
		ps := &partState{tp: k, target: target, start: start, gen: gen.ID, behind: behind}
		if start < target {
			behind.Add(1)
		}
		ps.hwm.Store(b[1])
		ps.committed.Store(start)
		parts[k] = ps
		starts[k] = start
	}
	if unread > 0 {
		r.log.Warn("this DuckDB file is new, and consumer group "+r.o.Kafka.Group+" has already read its partitions: it starts where the group stopped and will not hold the records before",
			"records_not_read", unread, "to_read_them", "run with a new --group, or set ingest.start_without_offset: earliest (in a scale-out, another member's file holds them)")
	}
	r.newFile = false
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
	r.checkCaughtUp(ctx)
	return nil
}
