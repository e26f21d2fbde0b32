package queries

import (
	"cmp"
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Series returns errors and events per service, region and minute in w,
// ordered by service, region and minute.
//
// A day of a busy deployment is hundreds of thousands of points, so the
// result is read as Arrow record batches (DuckDB's own columnar output), not
// row by row through database/sql, into one slice allocated at its final
// size; each distinct service and region name is one string shared by its
// points. DuckDB aggregates (sql/series_points.sql) and Go orders
// (orderSeries): over 10M events DuckDB's ORDER BY on the two names took
// twice as long as the aggregation itself, while Go places the points of
// each (service, region) in one pass and sorts only minutes within it.
func (e *Engine) Series(ctx context.Context, w Window) ([]SeriesPoint, error) {
	s, err := e.open(ctx, w, "")
	if err != nil {
		return nil, err
	}
	defer s.close()
	q := sqlText("series_points")
	args, err := s.args(q, nil)
	if err != nil {
		return nil, err
	}
	var out []SeriesPoint
	err = s.withArrow(func(_ driver.Conn, ar *duckdb.Arrow) error {
		rr, err := ar.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("correlation query series: %w", err)
		}
		defer rr.Release()
		// Keep every batch until the last has come: the points are then
		// allocated once, at their final size, and placed in order.
		var recs []arrow.RecordBatch
		defer func() {
			for _, r := range recs {
				r.Release()
			}
		}()
		for rr.Next() {
			r := rr.RecordBatch()
			r.Retain()
			recs = append(recs, r)
		}
		if err := rr.Err(); err != nil {
			return err
		}
		out, err = orderSeries(recs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read series: %w", err)
	}
	return out, nil
}

// stringColumn is what orderSeries needs of an Arrow string array (String,
// LargeString or StringView, whichever DuckDB's settings produce).
type stringColumn interface {
	arrow.Array
	Value(i int) string
}

// seriesBatch is one record batch of series_points.sql (service, region,
// m, errors, events), checked.
type seriesBatch struct {
	service, region      stringColumn
	minute, errs, events []int64
}

func newSeriesBatch(rec arrow.RecordBatch) (seriesBatch, error) {
	if rec.NumCols() != 5 {
		return seriesBatch{}, fmt.Errorf("series_points returned %d columns, want 5", rec.NumCols())
	}
	service, ok1 := rec.Column(0).(stringColumn)
	region, ok2 := rec.Column(1).(stringColumn)
	minute, ok3 := rec.Column(2).(*array.Int64)
	errs, ok4 := rec.Column(3).(*array.Int64)
	events, ok5 := rec.Column(4).(*array.Int64)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return seriesBatch{}, fmt.Errorf("series_points returned columns %s, want (string, string, int64, int64, int64)", rec.Schema())
	}
	for i, c := range rec.Columns() {
		if c.NullN() > 0 {
			return seriesBatch{}, fmt.Errorf("series_points returned NULL in column %s", rec.ColumnName(i))
		}
	}
	return seriesBatch{service, region, minute.Int64Values(), errs.Int64Values(), events.Int64Values()}, nil
}

// seriesKey is one line of the series: a service in a region.
type seriesKey struct{ service, region string }

// orderSeries turns the batches of series_points.sql (one row per service,
// region and minute, in no particular order) into points ordered by
// service, region and minute, as ORDER BY service, region, m would (names
// compare byte by byte, as DuckDB's default collation does). Every row
// finds its line (service, region) and the lines are sorted by name; then
// the rows, taken in minute order (a counting sort over the minutes the
// result spans), fill each line's range of the result front to back.
// Where the minutes are too sparse for that (a span more than
// seriesMaxSpan minutes and four times the rows), each line is sorted by
// minute instead.
func orderSeries(recs []arrow.RecordBatch) ([]SeriesPoint, error) {
	n := 0
	batches := make([]seriesBatch, len(recs))
	for i, r := range recs {
		b, err := newSeriesBatch(r)
		if err != nil {
			return nil, err
		}
		batches[i] = b
		n += len(b.minute)
	}
	if n == 0 {
		return nil, nil // no points: a nil slice, as Series has always returned
	}
	// The line of every row. A name read from a batch points into the
	// batch's buffers: the first row of a line copies its names, and
	// every point of the line shares those copies.
	lines := map[seriesKey]int32{}
	var keys []seriesKey
	var count []int
	line := make([]int32, 0, n)
	minute := make([]int64, 0, n)
	errs := make([]int64, 0, n)
	events := make([]int64, 0, n)
	for _, b := range batches {
		var prev seriesKey
		id := int32(-1)
		for i := range b.minute {
			k := seriesKey{b.service.Value(i), b.region.Value(i)}
			if id < 0 || k != prev {
				var ok bool
				if id, ok = lines[k]; !ok {
					id = int32(len(keys))
					k = seriesKey{strings.Clone(k.service), strings.Clone(k.region)}
					lines[k] = id
					keys = append(keys, k)
					count = append(count, 0)
				}
				prev = k
			}
			line = append(line, id)
			count[id]++
		}
		minute = append(minute, b.minute...)
		errs = append(errs, b.errs...)
		events = append(events, b.events...)
	}
	// Where each line starts in the result: lines in name order.
	byName := make([]int32, len(keys))
	for i := range byName {
		byName[i] = int32(i)
	}
	slices.SortFunc(byName, func(a, b int32) int {
		return cmp.Or(strings.Compare(keys[a].service, keys[b].service), strings.Compare(keys[a].region, keys[b].region))
	})
	next := make([]int, len(keys)) // the next free index of each line
	start := 0
	for _, id := range byName {
		next[id] = start
		start += count[id]
	}
	out := make([]SeriesPoint, n)
	place := func(j int) {
		id := line[j]
		out[next[id]] = SeriesPoint{Service: keys[id].service, Region: keys[id].region,
			Minute: minuteTime(minute[j]), Errors: errs[j], Events: events[j]}
		next[id]++
	}
	lo, hi := slices.Min(minute), slices.Max(minute)
	if span := uint64(hi - lo); span < seriesMaxSpan || span < 4*uint64(n) {
		// Rows in minute order (a stable counting sort), each appended to
		// its line: every line comes out sorted by minute.
		at := make([]int32, span+2)
		for _, m := range minute {
			at[m-lo+1]++
		}
		for i := 1; i < len(at); i++ {
			at[i] += at[i-1]
		}
		byMinute := make([]int32, n)
		for j, m := range minute {
			byMinute[at[m-lo]] = int32(j)
			at[m-lo]++
		}
		for _, j := range byMinute {
			place(int(j))
		}
		return out, nil
	}
	for j := range n {
		place(j)
	}
	// next[id] is now where line id ends; sort each line by minute.
	for id := range keys {
		l := out[next[id]-count[id] : next[id]]
		slices.SortFunc(l, func(a, b SeriesPoint) int { return a.Minute.Compare(b.Minute) })
	}
	return out, nil
}

// seriesMaxSpan is the most minutes (a year) orderSeries counts through
// whatever the number of points.
const seriesMaxSpan = 366 * 24 * 60

// seriesTable is toTable for series points without reflection: the
// columns are SeriesPoint's JSON names, and the rows share one backing
// array and one boxed value per distinct service, region and minute.
func seriesTable(points []SeriesPoint, err error) (Table, error) {
	if err != nil {
		return Table{}, err
	}
	const nc = 5
	t := Table{Columns: []string{"service", "region", "minute", "errors", "events"}, Types: []string{"VARCHAR", "VARCHAR", "TIMESTAMPTZ", "BIGINT", "BIGINT"}, Rows: make([][]any, len(points))}
	cells := make([]any, nc*len(points))
	var svc, reg string
	var svcV, regV any
	// The boxed minutes, by minute from the first (points are whole
	// minutes), or by time where they are sparse.
	var lo, hi int64
	for i, p := range points {
		m := p.Minute.Unix() / 60
		if i == 0 || m < lo {
			lo = m
		}
		if i == 0 || m > hi {
			hi = m
		}
	}
	var dense []any
	var sparse map[time.Time]any
	if span := uint64(hi - lo); span < seriesMaxSpan || span < 4*uint64(len(points)) {
		dense = make([]any, span+1)
	} else {
		sparse = map[time.Time]any{}
	}
	for i, p := range points {
		if svcV == nil || p.Service != svc {
			svc, svcV = p.Service, p.Service
		}
		if regV == nil || p.Region != reg {
			reg, regV = p.Region, p.Region
		}
		var m any
		if dense != nil {
			// A minute's box holds the first point's time: the same
			// instant and location as every other point's (minuteTime).
			k := p.Minute.Unix()/60 - lo
			if m = dense[k]; m == nil || m.(time.Time) != p.Minute {
				m = p.Minute
				dense[k] = m
			}
		} else if m = sparse[p.Minute]; m == nil {
			m = p.Minute
			sparse[p.Minute] = m
		}
		row := cells[i*nc : (i+1)*nc : (i+1)*nc]
		row[0], row[1], row[2], row[3], row[4] = svcV, regV, m, p.Errors, p.Events
		t.Rows[i] = row
	}
	return t, nil
}
