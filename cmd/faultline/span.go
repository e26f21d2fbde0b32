package main

import (
	"context"
	"fmt"
	"strconv"
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

// dataSpan asks q (the file or a running serve, through the analyst
// sandbox) for the database's time range and the events in w.
func dataSpan(ctx context.Context, q queries.Querier, w queries.Window) (span, error) {
	cond := "true"
	if !w.Since.IsZero() {
		cond += fmt.Sprintf(" AND time >= TIMESTAMPTZ '%s'", w.Since.UTC().Format(time.RFC3339Nano))
	}
	if !w.Until.IsZero() {
		cond += fmt.Sprintf(" AND time < TIMESTAMPTZ '%s'", w.Until.UTC().Format(time.RFC3339Nano))
	}
	var c queries.Collect
	sum, err := q.Stream(ctx, "SELECT count(*), min(time), max(time), count(*) FILTER (WHERE "+cond+"), max(time) FILTER (WHERE kind = 'error') FROM events", &c)
	t := c.Done(sum)
	if err != nil {
		return span{}, fmt.Errorf("read the database's time range: %w", err)
	}
	if len(t.Rows) != 1 || len(t.Rows[0]) != 5 {
		return span{}, fmt.Errorf("read the database's time range: unexpected answer %v", t.Rows)
	}
	r := t.Rows[0]
	return span{Events: cellInt(r[0]), First: cellTime(r[1]), Last: cellTime(r[2]), InWindow: cellInt(r[3]), LastErr: cellTime(r[4])}, nil
}

func cellInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint64:
		return int64(x)
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

func cellTime(v any) time.Time {
	switch x := v.(type) {
	case time.Time:
		return x.UTC()
	case string:
		t, _ := time.Parse(time.RFC3339Nano, x)
		return t.UTC()
	}
	return time.Time{}
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
