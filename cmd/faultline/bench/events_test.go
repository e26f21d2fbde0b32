package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/queries"
)

// The benchmark data must exercise the whole correlation, not time queries
// that find nothing: at 1M events a day its six bursts (minutes 120-134 of
// every 4 hours, services 7b..7b+5, region r0) must each be one incident.
func TestBenchmarkEventsHaveTheirBursts(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 1M events")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 1_000_000
	if err := GenerateEvents(ctx, db.DB, n); err != nil {
		t.Fatal(err)
	}
	e := queries.NewEngine(db.DB, queries.DefaultCorrelationConfig(), nil)
	inc, err := e.Incidents(ctx, queries.Window{})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 10, 20, 0, 0, 0, 0, time.UTC)
	if len(inc) != 6 {
		for _, i := range inc {
			t.Logf("incident %s onset %s services %v", i.ID, i.Onset, i.Services)
		}
		t.Fatalf("%d incidents, want the 6 bursts", len(inc))
	}
	for b, i := range inc {
		onset := day.Add(time.Duration(b*240+120) * time.Minute)
		if d := i.Onset.Sub(onset); d < 0 || d > 3*time.Minute {
			t.Errorf("burst %d: onset %s, want within 3 minutes after %s", b, i.Onset.UTC(), onset)
		}
		have := map[string]bool{}
		for _, s := range i.Services {
			have[s] = true
		}
		got := 0
		for s := b * 7; s <= b*7+5; s++ {
			if have[fmt.Sprintf("svc-%02d", s)] {
				got++
			}
		}
		// Background errors (~6%) make the odd other service spike in the
		// same minutes; incidents group by time, so it may join.
		if got < 5 {
			t.Errorf("burst %d: services %v hold %d of the burst's 6, want at least 5", b, i.Services, got)
		}
		if !slices.Contains(i.Regions, "r0") {
			t.Errorf("burst %d: regions %v, want r0 among them", b, i.Regions)
		}
	}
}
