package ingest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/faultline/faultline/ingest/status"
)

// MissingTopicsError says that configured topics do not exist on the
// brokers. A batch run (Config.ExitWhenCaughtUp) returns it at start; a
// streaming run reports the topics in its status and waits for them.
type MissingTopicsError struct {
	Brokers []string
	Topics  []status.MissingTopic
}

func (e *MissingTopicsError) Error() string {
	names := make([]string, len(e.Topics))
	for i, m := range e.Topics {
		names[i] = m.String()
	}
	what := "topic"
	if len(names) > 1 {
		what = "topics"
	}
	return fmt.Sprintf("kafka %s %s not found on %s: fix --topic (or kafka.topics), or create the topic first (for the embedded broker: faultline broker --topic %s:3)",
		what, strings.Join(names, ", "), strings.Join(e.Brokers, ","), e.Topics[0].Topic)
}

// UnknownBrokersError says that DNS has no address for the host of any
// configured broker ("no such host"): a typo in --brokers. A batch run
// (Config.ExitWhenCaughtUp) returns it at start instead of retrying until
// Config.GiveUpAfter; a streaming run keeps retrying (a name may be
// published later, as Kubernetes does for a pod once it is ready).
type UnknownBrokersError struct {
	Brokers []string
	Hosts   []string // the hosts DNS does not know
}

func (e *UnknownBrokersError) Error() string {
	return fmt.Sprintf("kafka brokers %s: no such host %s (DNS does not know the name): fix --brokers (kafka.brokers), e.g. --brokers localhost:9092",
		strings.Join(e.Brokers, ","), strings.Join(e.Hosts, ", "))
}

// unknownBrokers returns an *UnknownBrokersError when err, from a request
// to the brokers, is DNS saying a host does not exist and DNS says so of
// every configured broker's host (one good broker is enough to start).
// It returns nil for any other error, and when DNS could not answer.
func unknownBrokers(ctx context.Context, brokers []string, err error) error {
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		return nil
	}
	var hosts []string
	for _, b := range brokers {
		host, _, serr := net.SplitHostPort(b)
		if serr != nil {
			host = b
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, lerr := net.DefaultResolver.LookupHost(lctx, host)
		cancel()
		if !errors.As(lerr, &dnsErr) || !dnsErr.IsNotFound {
			return nil // it resolves, or DNS could not say
		}
		hosts = append(hosts, host)
	}
	return &UnknownBrokersError{Brokers: brokers, Hosts: hosts}
}

// unreachableHint says, in the warning of a failed request to the
// brokers, what to check and how long a batch run keeps trying.
func (r *runner) unreachableHint() string {
	h := "is Kafka running and listening at that address? check --brokers (kafka.brokers), the network, TLS and SASL"
	if r.o.Config.ExitWhenCaughtUp {
		h += fmt.Sprintf("; retrying for up to %s (ingest.give_up_after, --give-up-after)", r.o.Config.GiveUpAfter)
	} else {
		h += "; retrying until they answer"
	}
	return h
}

// retryLog returns the throttled warnings of a request that failed
// because msg ("kafka brokers unreachable"); a batch run's summaries say
// when it gives up.
func (r *runner) retryLog(msg string) *retryLog {
	l := &retryLog{log: r.log, msg: msg}
	if r.o.Config.ExitWhenCaughtUp {
		l.giveUp = r.givingUpIn
	}
	return l
}

// givingUpIn is how long a batch run has left before checkGiveUp stops it
// if nothing moves.
func (r *runner) givingUpIn(now time.Time) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return max(r.o.Config.GiveUpAfter-now.Sub(r.lastProgress), 0), true
}

// probeInterval is how often a running ingest asks the brokers for their
// topics: connectivity in the status, missing topics appearing, and in a
// batch run the group offsets of partitions other members hold.
func (r *runner) probeInterval() time.Duration {
	return min(max(r.o.Kafka.SessionTimeout/3, time.Second), 10*time.Second)
}

// contact and kafkaError keep connectivity in the status and the metrics.
func (r *runner) contact() {
	r.o.Status.Contact()
	r.o.Metrics.BrokerConnected.Set(1)
}

func (r *runner) kafkaError(err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	r.o.Status.KafkaError(err)
	r.o.Metrics.BrokerConnected.Set(0)
	r.o.Metrics.KafkaErrors.Inc()
}

// progress records that a batch run moved forward (see checkGiveUp).
func (r *runner) progress() {
	r.mu.Lock()
	r.lastProgress = time.Now()
	r.mu.Unlock()
}

// topicPartitions asks the brokers for their topics and returns the
// partitions of each configured topic they have, and the configured topics
// they do not have (with the closest existing name).
func (r *runner) topicPartitions(ctx context.Context) (map[string][]int32, []status.MissingTopic, error) {
	return r.topicPartitionsFrom(ctx, r.client)
}

// topicPartitionsFrom is topicPartitions asking c (whose transport answers
// from its metadata cache, refreshed every 6 s).
func (r *runner) topicPartitionsFrom(ctx context.Context, c *kafka.Client) (map[string][]int32, []status.MissingTopic, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := c.Metadata(cctx, &kafka.MetadataRequest{})
	if err != nil {
		return nil, nil, fmt.Errorf("list topics: %w", err)
	}
	have := map[string][]int32{}
	var names []string
	for _, t := range resp.Topics {
		if t.Error != nil || len(t.Partitions) == 0 {
			continue
		}
		if !t.Internal {
			names = append(names, t.Name)
		}
		for _, p := range t.Partitions {
			have[t.Name] = append(have[t.Name], int32(p.ID))
		}
	}
	sort.Strings(names)
	out := map[string][]int32{}
	var missing []status.MissingTopic
	for _, t := range r.o.Kafka.Topics {
		ps, ok := have[t.Name]
		if !ok {
			missing = append(missing, status.MissingTopic{Topic: t.Name, Suggestion: status.Closest(t.Name, names)})
			continue
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		out[t.Name] = ps
	}
	return out, missing, nil
}

// discover waits until the brokers answer with their topics (retrying with
// backoff, warning at every failure what to check; a batch run gives up
// through checkGiveUp, and at once with *UnknownBrokersError when no
// broker's host exists), records the missing ones and returns the
// partitions of the present ones.
func (r *runner) discover(ctx context.Context) (map[string][]int32, []status.MissingTopic, error) {
	bo := backoff{base: 250 * time.Millisecond, max: r.o.Config.RetryMaxBackoff}
	for {
		parts, missing, err := r.topicPartitions(ctx)
		if err == nil {
			r.unreachable.succeeded()
			r.contact()
			r.setMissing(missing)
			return parts, missing, nil
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		r.kafkaError(err)
		if r.o.Config.ExitWhenCaughtUp {
			// A name DNS does not know will not heal while a batch run waits.
			if uerr := unknownBrokers(ctx, r.o.Kafka.Brokers, err); uerr != nil {
				return nil, nil, uerr
			}
		}
		d := bo.next()
		r.unreachable.failed(time.Now(), d, "what", "list topics", "brokers", strings.Join(r.o.Kafka.Brokers, ","), "err", err, "check", r.unreachableHint())
		if !sleep(ctx, d) {
			return nil, nil, ctx.Err()
		}
	}
}

// setMissing records the missing topics in the status and the metrics.
func (r *runner) setMissing(missing []status.MissingTopic) {
	r.o.Status.SetMissingTopics(missing)
	r.o.Metrics.MissingTopics.Reset()
	for _, m := range missing {
		r.o.Metrics.MissingTopics.WithLabelValues(m.Topic).Set(1)
	}
}

// groupTopics is the topics the consumer group subscribes to: the
// configured ones that exist.
func (r *runner) groupTopics() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.topics...)
}

// ping makes one request that must reach a broker: kafka-go's transport
// answers metadata requests from its cache, which it keeps serving while a
// broker that accepts connections never answers (TestFaultNetwork: ~40 s
// before the status said so). ApiVersions always goes to the broker.
func (r *runner) ping(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := r.client.ApiVersions(cctx, &kafka.ApiVersionsRequest{}); err != nil {
		return fmt.Errorf("ping brokers: %w", err)
	}
	return nil
}

// probe runs every probeInterval: it checks connectivity and the topics;
// a streaming run restarts its consumer group when a missing topic
// appeared; a batch run reads the group offsets of partitions other members
// hold and checks whether it is caught up or should give up.
func (r *runner) probe(ctx context.Context) {
	err := r.ping(ctx)
	var parts map[string][]int32
	var missing []status.MissingTopic
	if err == nil {
		parts, missing, err = r.topicPartitions(ctx)
	}
	if err != nil {
		if ctx.Err() == nil {
			r.kafkaError(err)
			r.unreachable.failed(time.Now(), 0, "what", "list topics", "brokers", strings.Join(r.o.Kafka.Brokers, ","), "err", err, "check", r.unreachableHint())
		}
	} else {
		r.unreachable.succeeded()
		r.contact()
		r.setMissing(missing)
		if !r.o.Config.ExitWhenCaughtUp {
			r.addAppearedTopics(parts, missing)
		}
	}
	if r.o.Config.ExitWhenCaughtUp {
		if err == nil {
			r.fetchGroupOffsets(ctx)
		}
		r.checkCaughtUp(ctx)
		r.checkGiveUp()
	}
}

// addAppearedTopics restarts the consumer group with the topics that were
// missing and now exist.
func (r *runner) addAppearedTopics(parts map[string][]int32, missing []status.MissingTopic) {
	r.mu.Lock()
	have := map[string]bool{}
	for _, t := range r.topics {
		have[t] = true
	}
	var added []string
	for t := range parts {
		if !have[t] {
			added = append(added, t)
			r.topics = append(r.topics, t)
		}
	}
	group := r.curGroup
	r.mu.Unlock()
	if len(added) == 0 {
		return
	}
	sort.Strings(added)
	r.log.Info("kafka topics appeared; restarting the consumer group with them", "topics", strings.Join(added, ","), "still_missing", len(missing))
	select {
	case r.regroup <- struct{}{}:
	default:
	}
	if group != nil {
		group.Close() // ends the generation; consume joins again with the new topics
	}
}

// fetchGroupOffsets reads the consumer group's committed offsets of the
// partitions a batch run must see caught up: a partition another member
// holds counts as read up to the offset that member committed (it commits
// right after each of its DuckDB commits).
func (r *runner) fetchGroupOffsets(ctx context.Context) {
	req := &kafka.OffsetFetchRequest{GroupID: r.o.Kafka.Group, Topics: map[string][]int{}}
	r.mu.Lock()
	for k := range r.targets {
		if r.parts[k] == nil {
			req.Topics[k.topic] = append(req.Topics[k.topic], int(k.part))
		}
	}
	r.mu.Unlock()
	if len(req.Topics) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := r.client.OffsetFetch(cctx, req)
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		r.log.Debug("fetching the group's committed offsets failed", "err", err)
		return
	}
	moved := false
	r.mu.Lock()
	for topic, ps := range resp.Topics {
		for _, p := range ps {
			k := tp{topic, int32(p.Partition)}
			if p.Error == nil && p.CommittedOffset > r.groupOff[k] {
				r.groupOff[k] = p.CommittedOffset
				moved = true
			}
		}
	}
	r.mu.Unlock()
	if moved {
		r.progress()
	}
}

// checkGiveUp stops a batch run that made no progress (no commit, no new
// assignment, no partition moved by another member) for
// ingest.give_up_after, saying why.
func (r *runner) checkGiveUp() {
	r.mu.Lock()
	idle := time.Since(r.lastProgress)
	var behind []string
	for k, target := range r.targets {
		if n := r.nextOffsetLocked(k); n < target {
			where := "held by another member of the group"
			if r.parts[k] != nil {
				where = "read here"
			}
			behind = append(behind, fmt.Sprintf("%s[%d] at %d of %d (%s)", k.topic, k.part, n, target, where))
		}
	}
	r.mu.Unlock()
	limit := r.o.Config.GiveUpAfter
	if idle < limit {
		return
	}
	st := r.o.Status.Snapshot()
	if !st.Connected {
		r.stop(fmt.Errorf("cannot reach Kafka at %s for %s (ingest.give_up_after): %s; check --brokers (kafka.brokers), the network, TLS and SASL, or raise --give-up-after",
			strings.Join(r.o.Kafka.Brokers, ","), limit, st.LastError))
		return
	}
	sort.Strings(behind)
	if len(behind) > 5 {
		behind = append(behind[:5], fmt.Sprintf("and %d more", len(behind)-5))
	}
	r.stop(fmt.Errorf("not caught up: no progress for %s (ingest.give_up_after) with %s; another member of consumer group %q holds partitions (a killed process keeps them until kafka.session_timeout %s expires): stop it, wait, or raise --give-up-after",
		limit, strings.Join(behind, ", "), r.o.Kafka.Group, r.o.Kafka.SessionTimeout))
}

// nextOffsetLocked is the next offset known to be stored for k: by this
// file, or, for a partition another member holds, by that member (the
// group's committed offset, which members write right after their DuckDB
// commits). Until this member joined a generation it does not know who
// holds what, so only the file counts. r.mu must be held.
func (r *runner) nextOffsetLocked(k tp) int64 {
	n := r.known[k]
	switch ps := r.parts[k]; {
	case ps != nil:
		n = max(n, ps.committed.Load())
	case r.gen != nil:
		n = max(n, r.groupOff[k])
	}
	return n
}

// partitionStatus is the status's partition list: the partitions read here
// and, in a batch run, every other partition it waits for.
func (r *runner) partitionStatus() []status.Partition {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []status.Partition
	for k, ps := range r.parts {
		next, hwm := ps.committed.Load(), ps.hwm.Load()
		out = append(out, status.Partition{Topic: k.topic, Partition: k.part, Owned: true, Next: next, HighWatermark: hwm, Lag: max(0, hwm-next)})
	}
	for k, target := range r.targets {
		if r.parts[k] != nil {
			continue
		}
		next := r.nextOffsetLocked(k)
		out = append(out, status.Partition{Topic: k.topic, Partition: k.part, Next: next, HighWatermark: target, Lag: max(0, target-next)})
	}
	return out
}
