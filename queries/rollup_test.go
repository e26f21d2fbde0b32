package queries

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/transform"
)

func TestWholeMinutes(t *testing.T) {
	for _, c := range []struct{ lo, hi, from, to string }{
		{"10:00", "10:05", "10:00", "10:05"},             // aligned: all whole
		{"10:00:30", "10:05", "10:01", "10:05"},          // partial first minute
		{"10:00", "10:04:10", "10:00", "10:04"},          // partial last minute
		{"10:00:30", "10:04:10", "10:01", "10:04"},       // both
		{"10:00:10", "10:00:50", "10:00:50", "10:00:50"}, // within one minute: none whole
		{"10:00:10", "10:01", "10:01", "10:01"},          // the rest of one minute
		{"10:00:10", "10:01:20", "10:01", "10:01"},       // two partial minutes
	} {
		from, to := wholeMinutes(at(c.lo), at(c.hi))
		if !from.Equal(at(c.from)) || !to.Equal(at(c.to)) {
			t.Errorf("wholeMinutes(%s, %s) = %s, %s; want %s, %s", c.lo, c.hi,
				from.Format("15:04:05"), to.Format("15:04:05"), c.from, c.to)
		}
	}
}

// The stages that read the rollups (error_minutes, activity_minutes,
// change_events) answer what the same aggregation over the events does,
// whatever the window's bounds: on a minute or inside one, late events
// included (several rows of one minute).
func TestRollupReadsEqualEventReads(t *testing.T) {
	db := testkit.OpenDB(t)
	var evs []transform.Event
	kinds := []string{transform.KindError, transform.KindError, transform.KindInfo, transform.KindChange}
	for i := range 400 {
		e := transform.Event{
			EventID: fmt.Sprintf("r-%d", i), Time: at("10:00").Add(time.Duration(i*7) * time.Second), ObservedTime: at("12:00"),
			Source: transform.SourceApp, Kind: kinds[i%4], Service: []string{"cart", "checkout", ""}[i%3],
			Region: []string{"us-east-1", "", "eu-west-1"}[i%3/2], CloudProvider: []string{"aws", "", "gcp", "azure", "aws"}[i%5], PeerService: []string{"", "payments"}[i%2],
			Attributes: "{}", Lineage: transform.Lineage{Topic: "app", Offset: int64(i)},
		}
		if e.Kind == transform.KindChange {
			e.ChangeType, e.RiskClass = "deploy", "high"
		}
		evs = append(evs, e)
	}
	// Two commits, the second late: its events fall in minutes the first
	// one rolled up.
	testkit.Commit(t, db, nil, evs[:300]...)
	for i := range evs[300:] {
		evs[300+i].Time = evs[300+i].Time.Add(-30 * time.Minute)
	}
	testkit.Commit(t, db, nil, evs[300:]...)

	// A short baseline, so that base_from (since minus it) falls inside the
	// data and the window's first partial minute has events.
	cfg := DefaultCorrelationConfig()
	cfg.BaselineWindow, cfg.BaselineGap, cfg.Lookback, cfg.RateWindow = 5*time.Minute, time.Minute, 5*time.Minute, 2*time.Minute
	e := NewEngine(db.DB, cfg, nil)
	ctx := context.Background()
	const seriesOfEvents = `SELECT coalesce(service, '(none)'), coalesce(region, 'global'), epoch_ms(time) // 60000 AS m, count(*)
		FROM events WHERE kind = 'error' AND time >= CAST(? AS TIMESTAMPTZ) AND time < CAST(? AS TIMESTAMPTZ) GROUP BY ALL`
	for _, w := range []Window{
		{Since: at("10:10"), Until: at("10:40")},
		{Since: at("10:10:31"), Until: at("10:40:17")},
		{Since: at("10:12:05"), Until: at("10:12:55")},
		{Since: at("10:20:20"), Until: at("10:21:10")},
		{},
	} {
		t.Run(w.Since.Format("15:04:05")+"-"+w.Until.Format("15:04:05"), func(t *testing.T) {
			s, err := e.open(ctx, w, "series")
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			var diff int64
			err = s.conn.QueryRowContext(ctx, `SELECT count(*) FROM (
				(SELECT * FROM series EXCEPT ALL SELECT * FROM (`+seriesOfEvents+`))
				UNION ALL
				(SELECT * FROM (`+seriesOfEvents+`) EXCEPT ALL SELECT * FROM series))`,
				s.params["base_from"], s.params["until"], s.params["base_from"], s.params["until"]).Scan(&diff)
			if err != nil {
				t.Fatal(err)
			}
			var rows int64
			if err := s.conn.QueryRowContext(ctx, "SELECT count(*) FROM series").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if diff != 0 {
				t.Errorf("series differs from the events' errors per minute in %d rows (of %d)", diff, rows)
			}
			if w.Since.IsZero() && rows == 0 {
				t.Error("the whole window has no series rows: the test data did not load")
			}

			// Which providers each region has (activity_minutes) against
			// the events of [cand_from, until).
			got := func() []string {
				prov, err := s.query(ctx, "region_providers", sqlText("region_providers"), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer prov.Close()
				var out []string
				for prov.Next() {
					var r, p string
					if err := prov.Scan(&r, &p); err != nil {
						t.Fatal(err)
					}
					out = append(out, r+"/"+p)
				}
				if err := prov.Err(); err != nil {
					t.Fatal(err)
				}
				return out
			}()
			var want string
			if err := s.conn.QueryRowContext(ctx, `SELECT coalesce(string_agg(x, ' ' ORDER BY x), '') FROM (SELECT DISTINCT coalesce(region, 'global') || '/' || cloud_provider AS x
				FROM events WHERE coalesce(cloud_provider, '') <> '' AND time >= CAST(? AS TIMESTAMPTZ) AND time < CAST(? AS TIMESTAMPTZ))`,
				s.params["cand_from"], s.params["until"]).Scan(&want); err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, " "); g != want {
				t.Errorf("region_providers %q, the events %q", g, want)
			}

			// The named query "series" (activity_minutes) against events.
			pts, err := e.Series(ctx, w)
			if err != nil {
				t.Fatal(err)
			}
			since, until := w.Bounds()
			var errs, all, total int64
			for _, p := range pts {
				errs += p.Errors
				all += p.Events
			}
			if err := db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE kind = 'error'), count(*) FROM events
				WHERE time >= ? AND time < ?`, since, until).Scan(&total, &diff); err != nil {
				t.Fatal(err)
			}
			if errs != total || all != diff {
				t.Errorf("series points hold %d errors and %d events, the events %d and %d", errs, all, total, diff)
			}
		})
	}
}
