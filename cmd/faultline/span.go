package main

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline/faultline/queries"
)

// span is what the database holds and how much of it a window covers.
type span struct {
	Events   int64     // events in the database
	First    time.Time // earliest event time (zero when empty)
	Last     time.Time // latest event time
	LastErr  time.Time // latest error event time (zero without errors)
	InWindow int64     // events in the window asked about
}

// spanReader is what query and report ask about the data before they
// answer: the span of the stored events and a window's totals.
// *queries.Engine reads them from the file, *client.Client from a running
// faultline serve.
type spanReader interface {
	EventSpan(ctx context.Context) (queries.EventSpan, error)
	Stats(ctx context.Context, w queries.Window, topErrors int) (queries.WindowStats, error)
}

// dataSpan asks r for the database's time range and the events in w.
func dataSpan(ctx context.Context, r spanReader, w queries.Window) (span, error) {
	es, err := r.EventSpan(ctx)
	if err != nil {
		return span{}, fmt.Errorf("read the database's time range: %w", err)
	}
	sp := span{Events: es.Events, First: es.First, Last: es.Last, LastErr: es.LastError}
	if es.Events == 0 || (!w.Since.IsZero() && w.Since.After(es.Last)) || (!w.Until.IsZero() && !w.Until.After(es.First)) {
		return sp, nil // the window misses the data: nothing to count
	}
	st, err := r.Stats(ctx, w, 1)
	if err != nil {
		return span{}, fmt.Errorf("count the events in the window: %w", err)
	}
	sp.InWindow = st.Events
	return sp, nil
}

// holds says in words what the database holds.
func (s span) holds(db string) string {
	if s.Events == 0 {
		return fmt.Sprintf("the database %s holds no events: load some with faultline load or faultline ingest", db)
	}
	return fmt.Sprintf("the database %s holds %d events from %s to %s", db, s.Events, s.First.Format(time.RFC3339), s.Last.Format(time.RFC3339))
}

// emptyWindowError says that w holds no events and what the database
// holds, with the flags that reach it.
func emptyWindowError(w queries.Window, s span, db string) error {
	if s.Events == 0 {
		return fmt.Errorf("%s", s.holds(db))
	}
	return fmt.Errorf("no events between %s and %s: %s; pass --since and --until within that range (e.g. --since %s --until %s)",
		whenText(w.Since, "the beginning"), whenText(w.Until, "now"), s.holds(db),
		s.First.Truncate(time.Minute).Format(time.RFC3339), s.Last.Truncate(time.Minute).Add(time.Minute).Format(time.RFC3339))
}

func whenText(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format(time.RFC3339)
}

// defaultWindow is the window of a report given no --since/--until: the
// 24 hours up to the latest error (the minute after it; without errors the
// latest event), as the dashboards do, so a report over historical data
// covers the data, not the empty day before now.
func defaultWindow(s span, now time.Time) queries.Window {
	until := now
	if s.Events > 0 {
		last := s.Last
		if !s.LastErr.IsZero() {
			last = s.LastErr
		}
		until = last.Truncate(time.Minute).Add(time.Minute)
		if until.After(now) {
			until = now
		}
	}
	return queries.Window{Since: until.Add(-24 * time.Hour), Until: until}
}
