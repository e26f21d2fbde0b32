package ingest

import (
	"context"
	"strconv"
	"time"
)

func round2(f float64) float64 { return float64(int64(f*100)) / 100 }

// setLag sets ps's lag gauge (latest high watermark minus the offset
// stored in DuckDB) and returns the lag.
func (r *runner) setLag(ps *partState) int64 {
	l := max(0, ps.hwm.Load()-ps.committed.Load())
	r.o.Metrics.Lag.WithLabelValues(ps.topic, strconv.Itoa(int(ps.part))).Set(float64(l))
	return l
}

// checkCaughtUp stops a batch run once every partition of the configured
// topics is stored up to its high watermark at start: by this file, or by
// whoever held it (the group's committed offset).
func (r *runner) checkCaughtUp() {
	if !r.o.Config.ExitWhenCaughtUp {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.targets == nil {
		return
	}
	for k, target := range r.targets {
		if r.nextOffsetLocked(k) < target {
			return
		}
	}
	r.log.Info("caught up", "partitions", len(r.targets), "read_here", len(r.parts))
	r.stop(errCaughtUp)
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
