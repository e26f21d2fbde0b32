package queries

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/transform"
)

// Series orders its points in Go (orderSeries) and Named("series") builds
// its table without reflection (seriesTable): both must answer what
// DuckDB's ORDER BY service, region, m read row by row through
// database/sql and the reflective toTable answer, over names that sort
// differently under other collations, more points than one Arrow batch
// (2048 rows) holds, events committed out of order and late, and windows
// whose ends fall inside a minute.
func TestSeriesEqualsOrderedSQL(t *testing.T) {
	db := testkit.OpenDB(t)
	services := []string{"svc-b", "svc-a", "Svc-a", "svc", "svc-a-1", "é-svc", "svc_a", "", "zz"}
	regions := []string{"us-east-1", "", "eu-west-1", "US-east-1"}
	kinds := []string{transform.KindError, transform.KindInfo, transform.KindError, transform.KindChange}
	rng := rand.New(rand.NewPCG(testkit.RandomSeed(t), 19))
	var evs []transform.Event
	for i := range 6000 {
		e := transform.Event{
			EventID: fmt.Sprintf("s-%d", i), Time: at("10:00").Add(time.Duration(rng.IntN(90*60)) * time.Second), ObservedTime: at("12:00"),
			Source: transform.SourceApp, Kind: kinds[rng.IntN(len(kinds))],
			Service: services[rng.IntN(len(services))], Region: regions[rng.IntN(len(regions))],
			Attributes: "{}", Lineage: transform.Lineage{Topic: "app", Offset: int64(i)},
		}
		if e.Kind == transform.KindChange {
			e.ChangeType, e.RiskClass = "deploy", "high"
		}
		evs = append(evs, e)
	}
	// Three years before the rest: the whole window then spans more
	// minutes than orderSeries counts through, and it sorts each line.
	old := evs[0]
	old.EventID, old.Time, old.Offset = "s-old", at("10:00").AddDate(-3, 0, 0), 6000
	evs = append(evs, old)
	testkit.Commit(t, db, nil, evs[:4000]...)
	testkit.Commit(t, db, nil, evs[4000:]...) // late: minutes the first commit rolled up

	e := NewEngine(db.DB, DefaultCorrelationConfig(), nil)
	ctx := context.Background()
	for _, w := range []Window{
		{},                                       // sparse minutes: sorted by line
		{Since: at("09:00"), Until: at("12:00")}, // dense: a counting sort
		{Since: at("10:10:31"), Until: at("11:05:17")},
		{Since: at("10:20:20"), Until: at("10:21:10")},
		{Since: at("13:00"), Until: at("14:00")}, // no events
	} {
		t.Run(w.Since.Format("15:04:05")+"-"+w.Until.Format("15:04:05"), func(t *testing.T) {
			want := orderedSeriesSQL(ctx, t, e, w)
			got, err := e.Series(ctx, w)
			if err != nil {
				t.Fatal(err)
			}
			if w.Until.Sub(w.Since) > time.Hour && len(want) <= 2048 {
				t.Fatalf("the window has %d points, want more than one batch of 2048", len(want))
			}
			if len(got) != len(want) {
				t.Fatalf("Series returned %d points, ORDER BY %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("point %d: Series %+v, ORDER BY %+v", i, got[i], want[i])
				}
			}
			if (got == nil) != (want == nil) {
				t.Errorf("Series returned nil %v, the row-by-row read nil %v", got == nil, want == nil)
			}

			tb, err := e.Named(ctx, "series", w)
			if err != nil {
				t.Fatal(err)
			}
			wantTb, _ := toTable(want, nil)
			if !reflect.DeepEqual(tb, wantTb) {
				t.Errorf("Named(series) differs from toTable of the ordered points: columns %v / %v, %d / %d rows",
					tb.Columns, wantTb.Columns, len(tb.Rows), len(wantTb.Rows))
			}
		})
	}
}

// orderedSeriesSQL is the series as it was read before Series used Arrow:
// series_points.sql sorted by DuckDB, scanned row by row.
func orderedSeriesSQL(ctx context.Context, t *testing.T, e *Engine, w Window) []SeriesPoint {
	t.Helper()
	s, err := e.open(ctx, w, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	rows, err := s.query(ctx, "series", sqlText("series_points")+"\nORDER BY service, region, m", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []SeriesPoint
	for rows.Next() {
		var p SeriesPoint
		var m int64
		if err := rows.Scan(&p.Service, &p.Region, &m, &p.Errors, &p.Events); err != nil {
			t.Fatal(err)
		}
		p.Minute = minuteTime(m)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
