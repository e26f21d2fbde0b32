package report

import (
	"context"
	"reflect"
	"testing"

	"github.com/faultline/faultline/queries"
)

func TestStats(t *testing.T) {
	f := newFixtureDB(t)
	ctx := context.Background()
	w := queries.Window{Since: clock("06:00"), Until: clock("08:00")}
	st, err := newSource(t, f).Stats(ctx, w, 5)
	if err != nil {
		t.Fatal(err)
	}
	// 4 services x 120 min x 6 info/min; 4 x 24 background errors; the
	// spikes 26x30 + 24x20 + 22x12 + 2x1; 4 changes.
	const info, bg, spikes, changes = 4 * 120 * 6, 4 * 24, 26*30 + 24*20 + 22*12 + 2, 4
	if st.Events != info+bg+spikes+changes || st.Errors != bg+spikes || st.Changes != changes {
		t.Errorf("totals = %d events, %d errors, %d changes; want %d, %d, %d",
			st.Events, st.Errors, st.Changes, info+bg+spikes+changes, bg+spikes, changes)
	}
	var top []string
	for _, e := range st.TopErrors {
		top = append(top, e.Service+"/"+e.ErrorCode)
	}
	wantTop := []string{"orders/DynamoDBTimeout", "checkout/UpstreamTimeout", "frontend/HTTP503", "checkout/BackgroundError", "frontend/BackgroundError"}
	if !reflect.DeepEqual(top, wantTop) {
		t.Errorf("top errors = %v, want %v", top, wantTop)
	}
	if st.TopErrors[0].Errors != 780 || !st.TopErrors[0].FirstSeen.Equal(clock("07:04:03")) {
		t.Errorf("top error source = %+v, want 780 errors first seen 07:04:03", st.TopErrors[0])
	}
	wantDL := []queries.DeadLetterCount{{Reason: "invalid_json", Count: 2, Last: clock("07:12")}, {Reason: "missing_time", Count: 1, Last: clock("07:40")}}
	if !reflect.DeepEqual(st.DeadLetters, wantDL) {
		t.Errorf("dead letters = %+v, want %+v", st.DeadLetters, wantDL)
	}
	if len(st.Offsets) != 3 || st.Offsets[2].Source != "kafka:cloudtrail" || st.Offsets[0].NextOffset != 5230 {
		t.Errorf("ingest offsets = %+v", st.Offsets)
	}

	// A window that excludes the outage sees only its own slice.
	st, err = newSource(t, f).Stats(ctx, queries.Window{Since: clock("06:00"), Until: clock("07:00")}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if st.Errors != 4*12 || st.Changes != 2 || len(st.DeadLetters) != 0 {
		t.Errorf("06:00-07:00: %d errors, %d changes, %d dead-letter reasons; want 48, 2, 0", st.Errors, st.Changes, len(st.DeadLetters))
	}
}
