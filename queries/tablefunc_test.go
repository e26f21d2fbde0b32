package queries

import (
	"context"
	"testing"
)

// faultline_incidents and faultline_suspects answer what the Engine
// answers, through the sandbox, and join like tables.
func TestTableFunctions(t *testing.T) {
	f := lbOutage(t)
	ctx := context.Background()
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), lbTopology)
	if err := RegisterTableFunctions(ctx, f.db.DB, e); err != nil {
		t.Fatal(err)
	}
	sb, err := NewSandbox(ctx, f.db.DB, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	incs, err := e.Incidents(ctx, Window{})
	if err != nil || len(incs) != 1 {
		t.Fatalf("incidents %v %v", incs, err)
	}
	sus, err := e.Suspects(ctx, Window{})
	if err != nil || len(sus) == 0 {
		t.Fatalf("suspects %v", err)
	}
	tab, err := sb.SQL(ctx, "SELECT incident_id, onset, services, total_errors, top_suspect_event_id, top_suspect_score FROM faultline_incidents()")
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 1 || tab.Rows[0][0] != incs[0].ID || tab.Rows[0][3] != incs[0].TotalErrors || tab.Rows[0][4] != sus[0].EventID {
		t.Fatalf("faultline_incidents() = %v; engine: %+v, top suspect %s", tab.Rows, incs[0], sus[0].EventID)
	}
	if l, ok := tab.Rows[0][2].([]any); !ok || len(l) != len(incs[0].Services) {
		t.Fatalf("services %#v", tab.Rows[0][2])
	}
	// Filtered like a table; an argument is refused by DuckDB, not a crash.
	tab, err = sb.SQL(ctx, "SELECT count(*) FROM faultline_incidents() WHERE onset < TIMESTAMPTZ '2025-10-20 09:30:00+00'")
	if err != nil || tab.Rows[0][0] != int64(0) {
		t.Fatalf("window: %v %v", tab.Rows, err)
	}
	if _, err := sb.SQL(ctx, "SELECT * FROM faultline_incidents(NULL)"); err == nil {
		t.Fatal("faultline_incidents(NULL) was accepted")
	}
	// Joined with the events table.
	tab, err = sb.SQL(ctx, "SELECT s.rank, e.operation FROM faultline_suspects() s JOIN events e ON e.event_id = s.event_id ORDER BY s.rank LIMIT 1")
	if err != nil || len(tab.Rows) != 1 || tab.Rows[0][0] != int32(1) || tab.Rows[0][1] != sus[0].Operation {
		t.Fatalf("join: %v %v", tab.Rows, err)
	}
}
