package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/transform"
)

// slowSink takes its time over every commit and records the batch sizes.
type slowSink struct {
	delay time.Duration
	mu    sync.Mutex
	sizes []int64
	last  int64 // last position committed
}

func (s *slowSink) Commit(_ context.Context, b *store.Batch) error {
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	if b.Events != nil {
		n = b.Events.NumRows()
	}
	s.sizes = append(s.sizes, n)
	for _, p := range b.Positions {
		if p.Next <= s.last {
			return fmt.Errorf("position went back: %d after %d", p.Next, s.last)
		}
		s.last = p.Next
	}
	return nil
}

// TestPipelineGroupCommit: batch_max_wait does not close a batch while the
// previous one still commits, so batches grow while the sink is the
// bottleneck instead of queuing up one per wait; nothing is lost or
// reordered, and an idle pipeline still commits after the wait.
func TestPipelineGroupCommit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BatchMaxWait = 10 * time.Millisecond
	sink := &slowSink{delay: 200 * time.Millisecond}
	mem := memory.NewCheckedAllocator(newBatchAllocator())
	defer mem.AssertSize(t, 0)
	p := newPipeline(cfg, sink, mem, NewMetrics(nil), slog.New(slog.DiscardHandler), nil)
	in := make(chan item)
	done := make(chan error, 1)
	go func() { done <- p.run(context.Background(), in) }()
	const n = 100
	t0 := time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ { // one record every 5 ms: 500 ms, a wait every 2 records
		res := &transform.Result{Events: []transform.Event{{EventID: fmt.Sprint(i), Time: t0, ObservedTime: t0,
			Source: transform.SourceApp, Kind: transform.KindInfo, Lineage: transform.Lineage{Topic: "t", Offset: int64(i)}}}}
		in <- item{source: "kafka:t", next: int64(i + 1), label: "t", res: res}
		time.Sleep(5 * time.Millisecond)
	}
	// Idle: the last batch commits on its own, without close.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		sink.mu.Lock()
		last := sink.last
		sink.mu.Unlock()
		if last == n {
			break
		}
	}
	sink.mu.Lock()
	var total int64
	for _, s := range sink.sizes {
		total += s
	}
	commits, last := len(sink.sizes), sink.last
	sink.mu.Unlock()
	close(in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if total != n || last != n {
		t.Fatalf("committed %d events up to position %d, want %d", total, last, n)
	}
	// 500 ms of input over 200 ms commits: a handful of batches, not one
	// per 10 ms wait (about 50).
	if commits > 8 {
		t.Errorf("%d commits (sizes %v): batches were cut by the wait while the sink was busy", commits, sink.sizes)
	}
}

// TestPipelineFastFill: a batch that a backlog fills fast is not cut by
// batch_max_wait (it grows to batch_max_events, up to five waits), while a
// trickle still commits at every wait.
func TestPipelineFastFill(t *testing.T) {
	run := func(t *testing.T, n int, gap time.Duration) []int64 {
		cfg := DefaultConfig()
		cfg.BatchMaxEvents, cfg.BatchMaxWait = 100, 200*time.Millisecond
		sink := &slowSink{}
		mem := memory.NewCheckedAllocator(newBatchAllocator())
		defer mem.AssertSize(t, 0)
		p := newPipeline(cfg, sink, mem, NewMetrics(nil), slog.New(slog.DiscardHandler), nil)
		in := make(chan item)
		done := make(chan error, 1)
		go func() { done <- p.run(context.Background(), in) }()
		t0 := time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)
		for i := 0; i < n; i++ {
			res := &transform.Result{Events: []transform.Event{{EventID: fmt.Sprint(i), Time: t0, ObservedTime: t0,
				Source: transform.SourceApp, Kind: transform.KindInfo, Lineage: transform.Lineage{Topic: "t", Offset: int64(i)}}}}
			in <- item{source: "kafka:t", next: int64(i + 1), label: "t", res: res}
			time.Sleep(gap)
		}
		time.Sleep(1200 * time.Millisecond)
		close(in)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return sink.sizes
	}
	// 100 records over ~300 ms: dozens by the first wait, so the batch keeps
	// filling to 100 instead of being cut at 200 ms (it may take 1 s).
	if sizes := run(t, 100, 3*time.Millisecond); len(sizes) != 1 || sizes[0] != 100 {
		t.Errorf("fast: commits of %v, want one of 100", sizes)
	}
	// 6 records 150 ms apart: a trickle, committed at the waits.
	if sizes := run(t, 6, 150*time.Millisecond); len(sizes) < 2 {
		t.Errorf("trickle: commits of %v, want several", sizes)
	}
}
