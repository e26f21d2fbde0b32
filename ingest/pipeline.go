package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/transform"
)

// Sink commits a batch atomically: its events, dead letters and positions
// are all stored or none is. *store.Sink is the DuckDB implementation.
// Commit must not retain b or anything in it after it returns.
type Sink interface {
	Commit(ctx context.Context, b *store.Batch) error
}

// item is one raw record, decoded, on its way into a batch. Sources send
// items in position order per (source, part).
type item struct {
	source      string // "kafka:<topic>" or "file:<abs path>"
	part        int32
	next        int64  // position after this record
	gen         int32  // Kafka: consumer group generation that read it
	fingerprint string // files only
	replace     string // file whose stored rows are deleted first (a changed file)
	label       string // events_total source label
	res         *transform.Result
	raw         int64 // raw bytes; the same amount is held in the in-flight budget
	barrier     chan struct{}
	// caughtUp (batch runs) is set on the item with which its partition
	// reaches its target: the partitions of the assignment still behind.
	caughtUp *atomic.Int64
}

type pending struct {
	started  time.Time // first item
	batch    store.Batch
	pos      map[[2]any]int // (source, part) -> index in batch.Positions
	events   int
	records  int
	raw      int64
	labels   map[string]int
	reasons  map[string]int
	control  int
	skipped  int
	barriers []chan struct{}
}

// Totals are what a pipeline committed.
type Totals struct {
	Records         int64
	Bytes           int64
	Events          int64
	DeadLetters     map[string]int64 // by reason
	ControlMessages int64
	Skipped         int64
	Batches         int64
}

// DeadLetterTotal sums DeadLetters.
func (t Totals) DeadLetterTotal() int64 {
	var n int64
	for _, v := range t.DeadLetters {
		n += v
	}
	return n
}

// pipeline batches items and commits them to the sink on one committer
// goroutine, releasing the in-flight budget after each commit.
type pipeline struct {
	cfg      Config
	sink     Sink
	mem      memory.Allocator
	m        *Metrics
	log      *slog.Logger
	status   *status.Tracker
	budget   *semaphore.Weighted
	onCommit func([]store.Position) // called on the committer goroutine after each commit
	// busy is set while a batch commits or waits to: a batch is not closed
	// on batch_max_wait then (it would only wait in the queue), so batches
	// grow towards batch_max_events while DuckDB is the bottleneck.
	busy atomic.Int32
	// streaming: a commit that fails for lack of disk space is retried
	// until it succeeds (serve, ingest without --exit-when-caught-up);
	// otherwise it ends the run after commitAttempts.
	streaming bool
	// rerun says how to resume after a failed run ("rerun the same load").
	rerun string

	mu     sync.Mutex
	totals Totals
}

func newPipeline(cfg Config, sink Sink, mem memory.Allocator, m *Metrics, log *slog.Logger, st *status.Tracker) *pipeline {
	if mem == nil {
		mem = newBatchAllocator()
	}
	return &pipeline{cfg: cfg, sink: sink, mem: mem, m: m, log: log, status: st,
		budget: semaphore.NewWeighted(int64(cfg.MaxInflightBytes)), totals: Totals{DeadLetters: map[string]int64{}}}
}

// acquire takes n bytes of the in-flight budget, blocking while it is used
// up (backpressure). A record larger than the whole budget takes all of it.
func (p *pipeline) acquire(ctx context.Context, n int64) (int64, error) {
	n = min(n, int64(p.cfg.MaxInflightBytes))
	if err := p.budget.Acquire(ctx, n); err != nil {
		return 0, err
	}
	p.m.InflightBytes.Add(float64(n))
	return n, nil
}

func (p *pipeline) release(n int64) {
	p.budget.Release(n)
	p.m.InflightBytes.Sub(float64(n))
}

// Totals returns what has been committed so far.
func (p *pipeline) Totals() Totals {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.totals
	t.DeadLetters = make(map[string]int64, len(p.totals.DeadLetters))
	for k, v := range p.totals.DeadLetters {
		t.DeadLetters[k] = v
	}
	return t
}

// run batches and commits until in is closed and everything read from it is
// committed, or a commit fails for good, or ctx is done.
func (p *pipeline) run(ctx context.Context, in <-chan item) error {
	out := make(chan *pending, 1)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(out)
		return p.batch(gctx, in, out)
	})
	g.Go(func() error { return p.commitLoop(gctx, out) })
	err := g.Wait()
	for pb := range out { // after a failure: release what was queued
		if pb.batch.Events != nil {
			pb.batch.Events.Release()
		}
	}
	return err
}

func (p *pipeline) batch(ctx context.Context, in <-chan item, out chan<- *pending) error {
	b := transform.NewBuilder(p.mem)
	defer b.Release()
	var cur *pending
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	start := func() {
		if cur == nil {
			cur = &pending{pos: map[[2]any]int{}, labels: map[string]int{}, reasons: map[string]int{}, started: time.Now()}
			timer.Reset(p.cfg.BatchMaxWait)
		}
	}
	flush := func() error {
		if cur == nil {
			return nil
		}
		timer.Stop()
		if b.Len() > 0 {
			cur.batch.Events = b.NewRecordBatch()
		}
		pb := cur
		cur = nil
		p.busy.Add(1)
		select {
		case out <- pb:
			return nil
		case <-ctx.Done():
			p.busy.Add(-1)
			if pb.batch.Events != nil {
				pb.batch.Events.Release()
			}
			return ctx.Err()
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			if cur != nil && cur.events < p.cfg.BatchMaxEvents {
				if p.busy.Load() > 0 {
					// Group commit: keep filling while the committer is
					// busy, look again shortly.
					timer.Reset(min(p.cfg.BatchMaxWait, 50*time.Millisecond))
					continue
				}
				if cur.events*fastFill >= p.cfg.BatchMaxEvents && time.Since(cur.started) < fastFill/2*p.cfg.BatchMaxWait {
					// Filling fast (catching up): a few more waits make
					// a batch of a whole row group, written once.
					timer.Reset(p.cfg.BatchMaxWait)
					continue
				}
			}
			if err := flush(); err != nil {
				return err
			}
		case it, ok := <-in:
			if !ok {
				return flush()
			}
			start()
			if it.barrier != nil {
				cur.barriers = append(cur.barriers, it.barrier)
				if err := flush(); err != nil {
					return err
				}
				continue
			}
			p.add(cur, b, &it)
			// The item that brings the last partition read here to its
			// target closes the batch: the run ends without waiting
			// batch_max_wait. Counted here, where items arrive in order,
			// so every partition's last item is in the batch by then.
			// Not at each partition's end: that cut a backlog into a small
			// batch per partition, each written to the WAL and again at
			// the checkpoint.
			last := it.caughtUp != nil && it.caughtUp.Add(-1) == 0
			if last || cur.events >= p.cfg.BatchMaxEvents || cur.raw >= int64(p.cfg.BatchMaxBytes) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
}

func (p *pipeline) add(cur *pending, b *transform.Builder, it *item) {
	if it.replace != "" {
		cur.batch.ReplaceFiles = append(cur.batch.ReplaceFiles, it.replace)
	}
	if it.res != nil {
		for i := range it.res.Events {
			b.Append(&it.res.Events[i])
		}
		cur.events += len(it.res.Events)
		cur.labels[it.label] += len(it.res.Events)
		for _, d := range it.res.DeadLetters {
			cur.reasons[d.Reason]++
		}
		cur.batch.DeadLetters = append(cur.batch.DeadLetters, it.res.DeadLetters...)
		cur.control += it.res.ControlMessages
		cur.skipped += it.res.Skipped
	}
	key := [2]any{it.source, it.part}
	pos := store.Position{Source: it.source, Part: it.part, Next: it.next, Fingerprint: it.fingerprint, Generation: it.gen}
	if i, ok := cur.pos[key]; ok {
		cur.batch.Positions[i] = pos
	} else {
		cur.pos[key] = len(cur.batch.Positions)
		cur.batch.Positions = append(cur.batch.Positions, pos)
	}
	cur.records++
	cur.raw += it.raw
}

// fastFill: a batch that holds 1/fastFill of batch_max_events when
// batch_max_wait is up is filling fast enough to reach a whole row group
// within a few more waits; it may take up to fastFill/2 waits in all.
const fastFill = 10

// explainCommit says what a failed commit means and what to do.
func (p *pipeline) explainCommit(err error, pb *pending) error {
	what := fmt.Sprintf("commit batch of %d events (%d records)", pb.events, pb.records)
	var df *store.DiskFullError
	switch {
	case errors.As(err, &df):
		retry := p.rerun
		switch {
		case p.streaming && !df.Invalidated:
			retry = "retrying until there is space"
		case p.streaming:
			retry = "faultline opens the file again and retries until there is space"
		}
		return fmt.Errorf("%w: the batch of %d events was not committed and the file holds every batch before it; free space on %s or move the DuckDB file to a larger volume (%s)",
			err, pb.events, df.Volume, retry)
	case errors.As(err, new(*store.DamagedError)):
		return fmt.Errorf("%s: %w", what, err)
	case errors.Is(err, store.ErrInvalidated):
		return fmt.Errorf("%s: %w (the file holds every batch committed before; open it again: %s)", what, err, p.rerun)
	}
	return fmt.Errorf("%s: %w (check the disk and the file; retried %d times, then ingest stops)", what, err, commitAttempts)
}

// commitAttempts bounds retries of one batch: a transient DuckDB error is
// retried with backoff; one that persists stops ingest (nothing is lost: the
// batch's positions were not stored, so a restart re-reads it).
const commitAttempts = 6

func (p *pipeline) commitLoop(ctx context.Context, in <-chan *pending) error {
	for pb := range in {
		err := p.commitOne(ctx, pb)
		p.busy.Add(-1)
		if err != nil {
			return err // cancels the batcher; run releases what is queued
		}
	}
	return nil
}

func (p *pipeline) commitOne(ctx context.Context, pb *pending) error {
	defer func() {
		if pb.batch.Events != nil {
			pb.batch.Events.Release()
		}
	}()
	// A batch with nothing to store (a barrier's) is not committed, nor
	// counted as a batch.
	stored := len(pb.batch.Positions) > 0 || len(pb.batch.ReplaceFiles) > 0
	if stored {
		bo := backoff{base: 200 * time.Millisecond, max: p.cfg.RetryMaxBackoff}
		for attempt := 1; ; attempt++ {
			t0 := time.Now()
			err := p.sink.Commit(ctx, &pb.batch)
			if err == nil {
				p.m.CommitSeconds.Observe(time.Since(t0).Seconds())
				p.status.Commit(nil)
				if attempt > 1 {
					p.log.Info("batch committed after retries", "attempts", attempt, "events", pb.events)
				}
				break
			}
			err = p.explainCommit(err, pb)
			p.status.Commit(err)
			var df *store.DiskFullError
			diskFull := errors.As(err, &df)
			// A damaged file or an invalidated database does not heal by
			// retrying; a full disk does when space is freed.
			fatal := errors.Is(err, store.ErrInvalidated) || errors.As(err, new(*store.DamagedError))
			if fatal || ctx.Err() != nil || attempt >= commitAttempts && !(diskFull && p.streaming) {
				return err
			}
			p.m.CommitRetries.Inc()
			d := bo.next()
			p.log.Warn("batch commit failed, retrying", "attempt", attempt, "events", pb.events, "wait", d.Round(time.Millisecond).String(), "err", err)
			if !sleep(ctx, d) {
				return fmt.Errorf("%w (gave up on shutdown: the batch is re-read on restart)", err)
			}
		}
	}
	p.release(pb.raw)
	if stored {
		p.m.Batches.Inc()
	}
	p.m.RecordsIn.Add(float64(pb.records))
	p.m.BytesIn.Add(float64(pb.raw))
	for l, n := range pb.labels {
		p.m.EventsIn.WithLabelValues(l).Add(float64(n))
	}
	for r, n := range pb.reasons {
		p.m.DeadLetters.WithLabelValues(r).Add(float64(n))
	}
	p.m.ControlMessages.Add(float64(pb.control))
	p.m.Skipped.Add(float64(pb.skipped))
	p.mu.Lock()
	p.totals.Records += int64(pb.records)
	p.totals.Bytes += pb.raw
	p.totals.Events += int64(pb.events)
	for r, n := range pb.reasons {
		p.totals.DeadLetters[r] += int64(n)
	}
	p.totals.ControlMessages += int64(pb.control)
	p.totals.Skipped += int64(pb.skipped)
	if stored {
		p.totals.Batches++
	}
	p.mu.Unlock()
	if p.onCommit != nil && len(pb.batch.Positions) > 0 {
		p.onCommit(pb.batch.Positions)
	}
	for _, c := range pb.barriers {
		close(c)
	}
	return nil
}
