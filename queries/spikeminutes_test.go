package queries

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// testLine on hand-computed series: baseline 5 min, gap 0, min history 3,
// floors 3 errors and 2x the mean, 3 sigma, merge gap 2.
func TestSpikeTestLine(t *testing.T) {
	p := spikeTest{baseline: 5, gap: 0, minHistory: 3, minErrors: 3, ratio: 2, sigma: 3, mergeGap: 2}
	mins := []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 21, 22, 23}
	errs := []int64{2, 2, 2, 2, 2, 20, 10, 2, 2, 20, 30, 4, 100, 3}
	tests := []struct {
		name         string
		first, since int64
		// per minute: s spike, t elevated, f not elevated, n elevated NULL
		want string
	}{
		// m0-m2: under 3 minutes of history (start of data), not tested; m3,
		// m4 quiet; no spike yet so elevated is NULL. m5 spikes (threshold
		// 6.243), m6 and m9 stay elevated on it, m7 m8 not. m20 (15 minutes
		// later) starts a new spike at threshold 3: m21 (4 errors) is elevated
		// on it. m22 spikes 2 minutes after m20 (within the merge gap): the
		// threshold stays m20's, so m23 (3 errors) is elevated too.
		{"start of data", 0, 0, "nnnnnstfftstst"},
		// the data started long before: m0-m2 are tested (against an
		// empty baseline: threshold 3, not reached by 2 errors).
		{"history before", -100, 0, "nnnnnstfftstst"},
		// since 6: earlier minutes are context only (not elevated, not NULL);
		// m6 and m9 have no spike to stay elevated on.
		{"since", 0, 6, "ffffffnnnnstst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := p
			q.first, q.since = tt.first, tt.since
			n := len(mins)
			out := spikeColumns{make([]float64, n), make([]float64, n), make([]float64, n), make([]bool, n), make([]bool, n), make([]bool, n)}
			q.testLine(mins, errs, out)
			got := make([]byte, n)
			for i := range n {
				switch {
				case out.isSpike[i]:
					got[i] = 's'
				case !out.decided[i]:
					got[i] = 'n'
				case out.elevated[i]:
					got[i] = 't'
				default:
					got[i] = 'f'
				}
				if out.isSpike[i] && !(out.decided[i] && out.elevated[i]) {
					t.Errorf("minute %d: a spike minute must be elevated", mins[i])
				}
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	// The values of a few minutes (start of data).
	q := p
	n := len(mins)
	out := spikeColumns{make([]float64, n), make([]float64, n), make([]float64, n), make([]bool, n), make([]bool, n), make([]bool, n)}
	q.testLine(mins, errs, out)
	for _, c := range []struct {
		i                       int
		baseline, sd, threshold float64
	}{
		{0, 0, 0, 3},         // no history: the absolute floor
		{1, 2, 1.414, 6.243}, // one minute of history: mean 2, Poisson sd sqrt(2)
		{6, 5.6, 7.2, 27.2},  // (2+2+2+2+20)/5, sd of those, mean + 3 sd
		{10, 0, 0, 3},        // nothing in the 5 minutes before m20
		{11, 6, 12, 42},      // 30/5 = 6, sd sqrt(900/5 - 36) = 12, 6 + 36
	} {
		if out.baseline[c.i] != c.baseline || out.sd[c.i] != c.sd || out.threshold[c.i] != c.threshold {
			t.Errorf("minute %d: baseline %v sd %v threshold %v, want %v %v %v", mins[c.i],
				out.baseline[c.i], out.sd[c.i], out.threshold[c.i], c.baseline, c.sd, c.threshold)
		}
	}
}

// roundTo3 rounds half away from zero, as DuckDB's round(x, 3).
func TestRoundTo3(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{6.2426406871, 6.243}, {0.0005, 0.001}, {-0.0005, -0.001}, {2, 2}, {1.2344, 1.234},
	} {
		if got := roundTo3(c.in); got != c.want {
			t.Errorf("roundTo3(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestSpikeMinutesConcurrentSessions runs the correlation of several windows
// at once, as serve does for pages, API calls and report schedules. The
// spike_minutes stage hands its rows to DuckDB through an Arrow view, and
// DuckDB creates that view in the database's catalog, shared by every
// connection: under one fixed name two sessions replaced and dropped each
// other's view ("Catalog write-write conflict", "could not register arrow
// view", "spikes_rows does not exist") and pages answered 500.
func TestSpikeMinutesConcurrentSessions(t *testing.T) {
	f := lbOutage(t)
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), lbTopology)
	ctx := context.Background()
	const n = 8
	errs := make(chan error, n*4)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := Window{Since: at("09:00").Add(time.Duration(i) * time.Minute), Until: at("11:00")}
			for range 4 {
				inc, err := e.Incidents(ctx, w)
				if err == nil && len(inc) != 1 {
					err = fmt.Errorf("window %v: %d incidents, want 1", w, len(inc))
				}
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
