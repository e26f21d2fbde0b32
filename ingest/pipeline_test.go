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
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
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
	time.Sleep(400 * time.Millisecond) // idle: the last batch commits on its own
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
