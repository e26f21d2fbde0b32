package ingest

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/faultline/faultline/ingest/store"
)

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
	r.lastProgress = time.Now()
	r.mu.Unlock()
	select { // copy the offsets to Kafka now, asynchronously
	case r.kick <- struct{}{}:
	default:
	}
	r.checkCaughtUp(context.Background())
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
