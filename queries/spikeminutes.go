package queries

import (
	"cmp"
	"context"
	"database/sql/driver"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// spikeMinutes materializes the stage spike_minutes: each minute of the
// series (a row per service, region and minute with errors), tested against
// its own series' trailing baseline. Go computes it from the series rows in
// one pass per series; the three window passes of the SQL it replaced
// (a RANGE-framed sum and two last_value IGNORE NULLS) cost 0.12-0.29 s
// over the 10M-event bench for some 43,000 rows (docs/benchmarks.md, issue
// 19 part 8). The columns and their SQL types are those later stages
// read: service, region, m, errors, baseline, sd, threshold (DOUBLE),
// is_spike and elevated (BOOLEAN; elevated NULL when it cannot be decided,
// see testLine).
//
// Baseline: the $baseline_min minutes ending $gap_min minutes before the
// tested minute; minutes without errors have no row and count as zero, so
// the series never has to be densified. From the sum and sum of squares of
// those minutes come the mean and the standard deviation of errors per
// minute. The threshold is the largest of
//   - min_errors: an absolute floor: a quiet service (mean ~ 0) needs at
//     least this many errors in a minute;
//   - ratio * mean: a relative floor: a busy, steady service must at least
//     multiply its rate;
//   - mean + sigma * max(sd, sqrt(mean)): a noisy service must rise well
//     above its usual swings; sqrt(mean) is the Poisson deviation, the
//     least spread a count series can have.
//
// Near the start of the data (the first minute of any series) the baseline
// is averaged over the history that exists; with less than min_history
// minutes of it the minute is not tested (is_spike false) rather than
// compared with an empty baseline. (Why not median/MAD: a windowed median
// needs every minute, zeros included; running sums work on the sparse rows
// directly. The floors make up for the mean's sensitivity, and the
// hysteresis for contamination by the spike.)
//
// Hysteresis: once a spike has started, the baseline fills up with the
// spike's own errors and the threshold climbs, so a long outage would look
// "recovered" after a few minutes. A minute therefore stays in the spike
// (elevated) while its errors reach the threshold of the minute that
// started the current spike (a spike minute more than merge_gap minutes
// after the previous one); findSpikes (spikes.go) keeps only runs that contain a real
// spike minute.
func (e *Engine) spikeMinutes(ctx context.Context, s *session) error {
	err := s.withArrow(func(dconn driver.Conn, ar *duckdb.Arrow) error {
		lines, err := readSeriesLines(ctx, ar)
		if err != nil {
			return fmt.Errorf("read series: %w", err)
		}
		rec, cols := e.testLines(s.params["since_m"].(int64), lines)
		defer rec.Release()
		ex, ok := dconn.(driver.ExecerContext)
		if !ok {
			return fmt.Errorf("not a DuckDB connection: %T", dconn)
		}
		if err := e.writeTemp(ctx, ar, ex, "spike_minutes", "*", rec); err != nil {
			return err
		}
		s.created = append(s.created, "spike_minutes")
		sp := e.findSpikes(lines, cols)
		defer sp.Release()
		// the types the SQL stage had (sum of BIGINT is HUGEINT)
		if err := e.writeTemp(ctx, ar, ex, "spikes", "* REPLACE (CAST(errors AS HUGEINT) AS errors)", sp); err != nil {
			return err
		}
		s.created = append(s.created, "spikes")
		return nil
	})
	if err != nil {
		return fmt.Errorf("correlation stage spike_minutes: %w", err)
	}
	return nil
}

// writeTemp makes the session's temp table name from rec (SELECT sel FROM
// its rows). The rows reach DuckDB as an Arrow view, which DuckDB creates
// in the database's catalog, not the connection's: its name is numbered so
// that concurrent sessions (pages, API calls, report schedules) do not
// replace or drop each other's.
func (e *Engine) writeTemp(ctx context.Context, ar *duckdb.Arrow, ex driver.ExecerContext, name, sel string, rec arrow.RecordBatch) error {
	rr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		return err
	}
	defer rr.Release()
	view := fmt.Sprintf("%s_rows_%d", name, e.views.Add(1))
	release, err := ar.RegisterView(rr, view)
	if err != nil {
		return fmt.Errorf("register %s rows: %w", name, err)
	}
	defer release()
	if _, err := ex.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+name+" AS SELECT "+sel+" FROM "+view, nil); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = ex.ExecContext(ctx, "DROP VIEW IF EXISTS "+view, nil)
	return err
}

// withArrow runs fn with the session's DuckDB driver connection and its
// Arrow interface. The connection is unwrapped from wrappers that expose it
// (faultline bench records statements through one).
func (s *session) withArrow(fn func(c driver.Conn, ar *duckdb.Arrow) error) error {
	return s.conn.Raw(func(dc any) error {
		c := duckdbConn(dc)
		if c == nil {
			return fmt.Errorf("not a DuckDB connection: %T", dc)
		}
		ar, err := duckdb.NewArrowFromConn(c)
		if err != nil {
			return err
		}
		return fn(c, ar)
	})
}

// duckdbConn is the driver connection under dc, unwrapped from wrappers
// that expose it; nil when there is none.
func duckdbConn(dc any) driver.Conn {
	for {
		u, ok := dc.(interface{ Unwrap() driver.Conn })
		if !ok {
			c, _ := dc.(driver.Conn)
			return c
		}
		dc = u.Unwrap()
	}
}

// seriesLine is the minutes of one series with their errors.
type seriesLine struct {
	key        seriesKey
	mins, errs []int64
}

// readSeriesLines reads the stage series, a line per (service, region),
// each line's minutes ascending.
func readSeriesLines(ctx context.Context, ar *duckdb.Arrow) ([]seriesLine, error) {
	rr, err := ar.QueryContext(ctx, `SELECT service, region, m, errors FROM series`)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	var lines []seriesLine
	idx := map[seriesKey]int{}
	for rr.Next() {
		rec := rr.RecordBatch()
		svc, ok1 := rec.Column(0).(stringColumn)
		reg, ok2 := rec.Column(1).(stringColumn)
		mc, ok3 := rec.Column(2).(*array.Int64)
		ec, ok4 := rec.Column(3).(*array.Int64)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, fmt.Errorf("series has columns %s, want (string, string, int64, int64)", rec.Schema())
		}
		ms, es := mc.Int64Values(), ec.Int64Values()
		cur := -1
		var prev seriesKey
		for i := range ms {
			k := seriesKey{svc.Value(i), reg.Value(i)}
			if cur < 0 || k != prev {
				j, ok := idx[k]
				if !ok {
					// The batch's memory is reused: keep copies.
					k = seriesKey{strings.Clone(k.service), strings.Clone(k.region)}
					j = len(lines)
					idx[k] = j
					lines = append(lines, seriesLine{key: k})
				}
				cur, prev = j, lines[j].key
			}
			l := &lines[cur]
			l.mins = append(l.mins, ms[i])
			l.errs = append(l.errs, es[i])
		}
	}
	if err := rr.Err(); err != nil {
		return nil, err
	}
	for i := range lines {
		l := &lines[i]
		if !slices.IsSorted(l.mins) {
			ord := make([]int, len(l.mins))
			for j := range ord {
				ord[j] = j
			}
			slices.SortFunc(ord, func(a, b int) int { return cmp.Compare(l.mins[a], l.mins[b]) })
			ms, es := make([]int64, len(ord)), make([]int64, len(ord))
			for j, o := range ord {
				ms[j], es[j] = l.mins[o], l.errs[o]
			}
			l.mins, l.errs = ms, es
		}
	}
	return lines, nil
}

var spikeMinutesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "service", Type: arrow.BinaryTypes.String},
	{Name: "region", Type: arrow.BinaryTypes.String},
	{Name: "m", Type: arrow.PrimitiveTypes.Int64},
	{Name: "errors", Type: arrow.PrimitiveTypes.Int64},
	{Name: "baseline", Type: arrow.PrimitiveTypes.Float64},
	{Name: "sd", Type: arrow.PrimitiveTypes.Float64},
	{Name: "threshold", Type: arrow.PrimitiveTypes.Float64},
	{Name: "is_spike", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "elevated", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

// testLines tests every line and returns the rows of spike_minutes, and
// their test columns (lines' minutes one after the other).
func (e *Engine) testLines(since int64, lines []seriesLine) (arrow.RecordBatch, spikeColumns) {
	c := e.cfg
	p := spikeTest{
		baseline:   minutes(c.BaselineWindow),
		gap:        minutes(c.BaselineGap),
		minHistory: minutes(c.BaselineMinHistory),
		minErrors:  float64(c.SpikeMinErrors),
		ratio:      c.SpikeMinRatio,
		sigma:      c.SpikeSigma,
		mergeGap:   minutes(c.MergeGap),
		since:      since,
	}
	n := 0
	for i, l := range lines {
		if i == 0 || l.mins[0] < p.first {
			p.first = l.mins[0]
		}
		n += len(l.mins)
	}
	out := spikeColumns{
		baseline:  make([]float64, n),
		sd:        make([]float64, n),
		threshold: make([]float64, n),
		isSpike:   make([]bool, n),
		elevated:  make([]bool, n),
		decided:   make([]bool, n),
	}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), spikeMinutesSchema)
	defer b.Release()
	b.Reserve(n)
	svc, reg := b.Field(0).(*array.StringBuilder), b.Field(1).(*array.StringBuilder)
	ms, es := b.Field(2).(*array.Int64Builder), b.Field(3).(*array.Int64Builder)
	at := 0
	for _, l := range lines {
		k := len(l.mins)
		p.testLine(l.mins, l.errs, out.slice(at, at+k))
		for range k {
			svc.Append(l.key.service)
			reg.Append(l.key.region)
		}
		ms.AppendValues(l.mins, nil)
		es.AppendValues(l.errs, nil)
		at += k
	}
	b.Field(4).(*array.Float64Builder).AppendValues(out.baseline, nil)
	b.Field(5).(*array.Float64Builder).AppendValues(out.sd, nil)
	b.Field(6).(*array.Float64Builder).AppendValues(out.threshold, nil)
	b.Field(7).(*array.BooleanBuilder).AppendValues(out.isSpike, nil)
	b.Field(8).(*array.BooleanBuilder).AppendValues(out.elevated, out.decided)
	return b.NewRecordBatch(), out
}

// spikeTest is the spike test's settings, in minutes where they are
// durations: the correlation configuration's, plus the window's since
// minute and the first minute of any series (the start of the data).
type spikeTest struct {
	baseline, gap, minHistory, mergeGap int64
	minErrors, ratio, sigma             float64
	since, first                        int64
}

// spikeColumns is the computed columns of spike_minutes, a row per minute.
type spikeColumns struct {
	baseline, sd, threshold []float64
	isSpike, elevated       []bool
	decided                 []bool // false: elevated is NULL
}

func (c spikeColumns) slice(lo, hi int) spikeColumns {
	return spikeColumns{c.baseline[lo:hi], c.sd[lo:hi], c.threshold[lo:hi], c.isSpike[lo:hi], c.elevated[lo:hi], c.decided[lo:hi]}
}

// testLine tests the minutes of one series (ascending, distinct) with their
// errors, filling out. The arithmetic is DuckDB's for the same SQL types
// (integer sums, DOUBLE division, round to 3 decimals half away from zero),
// so the values are those the stage always had.
//
// elevated is true for a spike minute; false before since; otherwise
// whether the errors reach the threshold of the current spike's first
// minute, NULL when the series has had no spike yet (as SQL's comparison
// with a missing threshold was; later stages read NULL as not elevated).
func (p spikeTest) testLine(mins, errs []int64, out spikeColumns) {
	// Running sums over [m - baseline - gap, m - gap - 1]: add the minutes
	// up to the frame's end, take away those before its start.
	var sum, sumsq int64
	lo, hi := 0, 0
	prevSpike, haveSpike := int64(0), false
	var onset *float64
	for i, m := range mins {
		for hi < len(mins) && mins[hi] <= m-p.gap-1 {
			sum += errs[hi]
			sumsq += errs[hi] * errs[hi]
			hi++
		}
		for lo < hi && mins[lo] < m-p.baseline-p.gap {
			sum -= errs[lo]
			sumsq -= errs[lo] * errs[lo]
			lo++
		}
		hist := min(p.baseline, m-p.gap-p.first)
		mean, vr := 0.0, 0.0
		if hist > 0 {
			mean = float64(sum) / float64(hist)
			vr = max(float64(float64(sumsq)/float64(hist))-float64(mean*mean), 0)
		}
		sd := math.Sqrt(max(vr, mean))
		thr := max(p.minErrors, float64(p.ratio*mean), mean+float64(p.sigma*sd))
		spike := hist >= p.minHistory && float64(errs[i]) >= thr && m >= p.since
		out.baseline[i] = roundTo3(mean)
		out.sd[i] = roundTo3(sd)
		out.threshold[i] = roundTo3(thr)
		out.isSpike[i] = spike
		if spike && (!haveSpike || m-prevSpike > p.mergeGap) {
			t := out.threshold[i]
			onset = &t
		}
		if spike {
			prevSpike, haveSpike = m, true
		}
		switch {
		case spike:
			out.elevated[i], out.decided[i] = true, true
		case m < p.since:
			out.elevated[i], out.decided[i] = false, true
		case onset != nil:
			out.elevated[i], out.decided[i] = float64(errs[i]) >= *onset, true
		}
	}
}

// roundTo3 is DuckDB's round(x, 3) of a DOUBLE: x scaled by 1000, rounded
// half away from zero, scaled back (x itself if that overflows).
func roundTo3(x float64) float64 {
	r := math.Round(x*1000) / 1000
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return x
	}
	return r
}
