package queries

import (
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// findSpikes returns the rows of the stage spikes: runs of spike minutes of
// one (service, region), from the lines and their spike_minutes columns
// (testLines). Go computes it with spike_minutes: the SQL it replaced ran
// seven window passes over a few hundred rows, each a fixed 5-7 ms in
// DuckDB (docs/benchmarks.md, issue 19 part 10).
//
// Gaps and islands: consecutive elevated minutes of a series belong to one
// run while they are at most merge_gap minutes apart (a flapping service
// stays one spike); a run counts only if at least one of its minutes is a
// real spike minute (is_spike). Each run keeps its first and last minute, its
// peak (the earliest of tied minutes), its errors, the baseline/threshold it
// was first tested against and its longest stretch of consecutive elevated
// minutes (longest_run: two lone noisy minutes a few minutes apart are not a
// sustained spike).
//
// Elevated minutes before a run's first sustained stretch (min_spike_minutes
// consecutive elevated minutes) form a run of their own (lead): a lone noisy
// minute a few minutes before an outage is not its onset
// (sql/incident_series.sql leaves such a short spike out of the incident),
// though the rise of the sustained run may still reach back over it.
//
// rise_m is where the errors began to rise, found backward from the run's
// first minute over at most rise_window minutes (and not into the series'
// previous run; a lead part split off the same run does not count): the
// minute m that maximises the sum over m..start-1 of (errors - baseline -
// max(sd/2, 0.5)) (minutes without errors count 0; the earliest of tied
// minutes), if that sum reaches max(5, 4 sd); else the run's first minute.
// A slow ramp crosses the spike threshold long after it began, and the
// change that caused it came before the ramp, not before the threshold was
// crossed (a one-sided CUSUM change point, read backward).
func (e *Engine) findSpikes(lines []seriesLine, cols spikeColumns) arrow.RecordBatch {
	mergeGap, minRun, riseMin := minutes(e.cfg.MergeGap), int64(e.cfg.MinSpikeMinutes), minutes(e.cfg.RiseWindow)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), spikesSchema)
	defer b.Release()
	f := func(i int) *array.Int64Builder { return b.Field(i).(*array.Int64Builder) }
	g := func(i int) *array.Float64Builder { return b.Field(i).(*array.Float64Builder) }
	at := 0
	for _, l := range lines {
		c := cols.slice(at, at+len(l.mins))
		at += len(l.mins)
		// the elevated minutes, as indexes into the line
		var el []int
		for i := range l.mins {
			if c.decided[i] && c.elevated[i] {
				el = append(el, i)
			}
		}
		prevEnd := int64(-1) // the last minute of the series' previous kept run
		for lo := 0; lo < len(el); {
			hi := lo + 1 // el[lo:hi] is one run
			for hi < len(el) && l.mins[el[hi]]-l.mins[el[hi-1]] <= mergeGap {
				hi++
			}
			run := el[lo:hi]
			// each minute's stretch: the length of its island of
			// consecutive minutes; the run's first sustained minute
			stretch := make([]int64, len(run))
			sustained := -1
			for i := 0; i < len(run); {
				j := i + 1
				for j < len(run) && l.mins[run[j]] == l.mins[run[j-1]]+1 {
					j++
				}
				for k := i; k < j; k++ {
					stretch[k] = int64(j - i)
				}
				if sustained < 0 && int64(j-i) >= minRun {
					sustained = i
				}
				i = j
			}
			end := prevEnd
			for _, part := range [][2]int{{0, max(sustained, 0)}, {max(sustained, 0), len(run)}} {
				if part[0] == part[1] {
					continue
				}
				var sp spikeRun
				spike := false
				for k := part[0]; k < part[1]; k++ {
					i := run[k]
					m, n := l.mins[i], l.errs[i]
					if k == part[0] {
						sp = spikeRun{start: m, peak: m, peakErrors: n, baseline: c.baseline[i], sd: c.sd[i], threshold: c.threshold[i]}
					}
					sp.end, sp.minutes, sp.errors = m, sp.minutes+1, sp.errors+n
					sp.longest = max(sp.longest, stretch[k])
					if n > sp.peakErrors {
						sp.peak, sp.peakErrors = m, n
					}
					spike = spike || c.isSpike[i]
				}
				if !spike {
					continue
				}
				sp.rise = riseOf(l, sp, prevEnd, riseMin)
				end = max(end, sp.end)
				b.Field(0).(*array.StringBuilder).Append(l.key.service)
				b.Field(1).(*array.StringBuilder).Append(l.key.region)
				for i, v := range []int64{sp.start, sp.end, sp.minutes, sp.longest, sp.peak, sp.peakErrors, sp.errors} {
					f(2 + i).Append(v)
				}
				for i, v := range []float64{sp.baseline, sp.sd, sp.threshold} {
					g(9 + i).Append(v)
				}
				f(12).Append(sp.rise)
			}
			prevEnd = end
			lo = hi
		}
	}
	return b.NewRecordBatch()
}

// spikeRun is one row of the stage spikes.
type spikeRun struct {
	start, end, minutes, longest, peak, peakErrors, errors, rise int64
	baseline, sd, threshold                                      float64
}

// riseOf returns the rise minute of run sp of line l (see findSpikes):
// the backward sum of excess errors over at most riseMin minutes before
// its start, not reaching prevEnd.
func riseOf(l seriesLine, sp spikeRun, prevEnd, riseMin int64) int64 {
	floor := math.Max(sp.sd/2, 0.5)
	// the series' errors by minute, backward from the run's start (i: the
	// last minute before it)
	i, _ := slices.BinarySearch(l.mins, sp.start)
	i--
	cum, best, bestM, found := 0.0, 0.0, int64(0), false
	for k := int64(1); k <= riseMin; k++ {
		m := sp.start - k
		if m <= prevEnd {
			break
		}
		for i >= 0 && l.mins[i] > m {
			i--
		}
		n := int64(0)
		if i >= 0 && l.mins[i] == m {
			n = l.errs[i]
		}
		cum += float64(n) - sp.baseline - floor
		if !found || cum >= best { // ties: the earlier minute
			best, bestM, found = cum, m, true
		}
	}
	if found && best >= math.Max(5, 4*sp.sd) {
		return bestM
	}
	return sp.start
}

var spikesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "service", Type: arrow.BinaryTypes.String},
	{Name: "region", Type: arrow.BinaryTypes.String},
	{Name: "start_m", Type: arrow.PrimitiveTypes.Int64},
	{Name: "end_m", Type: arrow.PrimitiveTypes.Int64},
	{Name: "spike_minutes", Type: arrow.PrimitiveTypes.Int64},
	{Name: "longest_run", Type: arrow.PrimitiveTypes.Int64},
	{Name: "peak_m", Type: arrow.PrimitiveTypes.Int64},
	{Name: "peak_errors", Type: arrow.PrimitiveTypes.Int64},
	{Name: "errors", Type: arrow.PrimitiveTypes.Int64},
	{Name: "baseline", Type: arrow.PrimitiveTypes.Float64},
	{Name: "sd", Type: arrow.PrimitiveTypes.Float64},
	{Name: "threshold", Type: arrow.PrimitiveTypes.Float64},
	{Name: "rise_m", Type: arrow.PrimitiveTypes.Int64},
}, nil)
