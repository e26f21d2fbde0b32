package ingest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

func round2(f float64) float64 { return float64(int64(f*100)) / 100 }

// setLag sets ps's lag gauge (latest high watermark minus the offset
// stored in DuckDB) and returns the lag.
func (r *runner) setLag(ps *partState) int64 {
	l := max(0, ps.hwm.Load()-ps.committed.Load())
	r.o.Metrics.Lag.WithLabelValues(ps.topic, strconv.Itoa(int(ps.part))).Set(float64(l))
	return l
}

// Where the check of a caught-up batch run that read nothing stands.
const (
	verifyNone = iota
	verifyRunning
	verifyDone
)

// checkCaughtUp stops a batch run once every partition of the configured
// topics is stored up to its high watermark at start: by this file, or by
// whoever held it (the group's committed offset). A run that would stop
// having read nothing first checks its targets once against the brokers
// (verifyTargets): a stale answer at start must not end a run with
// "caught up" and nothing stored.
func (r *runner) checkCaughtUp(ctx context.Context) {
	if !r.o.Config.ExitWhenCaughtUp {
		return
	}
	r.mu.Lock()
	done := r.caughtUpLocked()
	check := done && r.verify == verifyNone && r.readNothingLocked()
	if check {
		r.verify = verifyRunning
	}
	running := r.verify == verifyRunning
	r.mu.Unlock()
	if !done || running && !check {
		return // not there yet, or another goroutine is checking the targets
	}
	if check {
		err := r.verifyTargets(ctx)
		r.mu.Lock()
		if err != nil {
			r.verify = verifyNone // the next probe checks again
		} else {
			r.verify = verifyDone
			done = r.caughtUpLocked()
		}
		r.mu.Unlock()
		var fatal *staleOffsetError
		if errors.As(err, &fatal) {
			r.stop(err)
			return
		}
		if err != nil {
			r.log.Warn("batch run: checking the high watermarks before exiting failed; checking again", "err", err)
			return
		}
		if !done {
			return
		}
	}
	r.mu.Lock()
	n, here := len(r.targets), len(r.parts)
	r.mu.Unlock()
	r.log.Info("caught up", "partitions", n, "read_here", here)
	r.stop(errCaughtUp)
}

// caughtUpLocked says whether every target is reached. r.mu must be held.
func (r *runner) caughtUpLocked() bool {
	if r.targets == nil {
		return false
	}
	for k, target := range r.targets {
		if r.nextOffsetLocked(k) < target {
			return false
		}
	}
	return true
}

// readNothingLocked says whether this run has stored nothing: no
// partition read here moved from where it started. r.mu must be held.
func (r *runner) readNothingLocked() bool {
	for _, ps := range r.parts {
		if ps.committed.Load() != ps.start {
			return false
		}
	}
	return r.p.Totals().Records == 0
}

// staleOffsetError says that a batch run's offsets for a partition (the
// file's or the consumer group's) are beyond the partition's end, so it
// would count a topic it never read as caught up.
type staleOffsetError struct {
	Group     string
	Topic     string
	Partition int32
	Next      int64
	End       int64
	FromGroup bool
}

func (e *staleOffsetError) Error() string {
	if e.FromGroup {
		return fmt.Sprintf("not caught up: consumer group %q's committed offset %d for kafka topic %q partition %d is beyond the partition's end %d, so this run read none of its records (was the topic deleted and recreated?); use another --group, or reset the group's offsets to the earliest",
			e.Group, e.Next, e.Topic, e.Partition, e.End)
	}
	return fmt.Sprintf("not caught up: this DuckDB file's stored offset %d for kafka topic %q partition %d is beyond the partition's end %d, so this run read none of its records (was the topic deleted and recreated?); delete the topic's rows from ingest_offsets or use another --db",
		e.Next, e.Topic, e.Partition, e.End)
}

// verifyTargets runs when a batch run would stop as caught up having read
// nothing. It reads the configured topics' partitions and high watermarks
// again with a new client (kafka-go's transport answers metadata from a
// cache refreshed every 6 s, so a topic created or grown moments before the
// run may have shown fewer partitions) and raises the targets of partitions
// that hold records beyond what is stored. A partition whose next offset
// (the file's, or the group's for a partition read elsewhere) is beyond its
// end returns *staleOffsetError: such offsets belong to an earlier topic of
// that name, and counting them as read would store nothing and exit 0.
func (r *runner) verifyTargets(ctx context.Context) error {
	_, transport, err := kafkaClient(r.o.Kafka)
	if err != nil {
		return err
	}
	defer transport.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(r.o.Kafka.Brokers...), Transport: transport, Timeout: 10 * time.Second}
	parts, missing, err := r.topicPartitionsFrom(ctx, c)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return &MissingTopicsError{Brokers: r.o.Kafka.Brokers, Topics: missing}
	}
	var all []tp
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for topic, ps := range parts {
		for _, p := range ps {
			all = append(all, tp{topic, p})
			req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(int(p)))
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	bounds, err := r.tryListOffsets(cctx, c, req, all)
	if err != nil {
		return fmt.Errorf("list offsets: %w", err)
	}
	var raised []string
	r.mu.Lock()
	defer r.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		return all[i].topic < all[j].topic || all[i].topic == all[j].topic && all[i].part < all[j].part
	})
	for _, k := range all {
		end := bounds[k][1]
		next := r.nextOffsetLocked(k)
		if next > end {
			return &staleOffsetError{Group: r.o.Kafka.Group, Topic: k.topic, Partition: k.part, Next: next, End: end, FromGroup: next > r.known[k]}
		}
		if t, ok := r.targets[k]; (!ok || end > t) && end > next {
			raised = append(raised, fmt.Sprintf("%s[%d] %d of %d (at start: %s)", k.topic, k.part, next, end, targetText(t, ok)))
			r.targets[k] = end
		}
	}
	if len(raised) > 0 {
		r.log.Warn("batch run: the partitions and high watermarks read at start showed nothing to read, the brokers now hold records beyond what is stored; reading them", "partitions", strings.Join(raised, ", "))
		r.lastProgress = time.Now()
	}
	return nil
}

func targetText(t int64, ok bool) string {
	if !ok {
		return "partition not listed"
	}
	return strconv.FormatInt(t, 10)
}

// background copies offsets to Kafka after each DuckDB commit (retrying
// every second after a failure), logs progress and probes the brokers.
func (r *runner) background(ctx context.Context) {
	commit := time.NewTicker(time.Second)
	defer commit.Stop()
	var progress <-chan time.Time
	if r.o.Config.ProgressInterval > 0 {
		t := time.NewTicker(r.o.Config.ProgressInterval)
		defer t.Stop()
		progress = t.C
	}
	// The probe has its own goroutine: an offset commit to a coordinator
	// that accepts connections and never answers blocks until kafka-go's
	// timeout, and must not delay reporting that (TestFaultNetwork).
	probeDone := make(chan struct{})
	defer func() { <-probeDone }()
	go func() {
		defer close(probeDone)
		probe := time.NewTicker(r.probeInterval())
		defer probe.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-probe.C:
				r.probe(ctx)
			}
		}
	}()
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
