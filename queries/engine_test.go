package queries

import (
	"context"
	"testing"
)

func TestSmoke(t *testing.T) {
	f := lbOutage(t)
	e := NewEngine(f.db.DB, DefaultCorrelationConfig(), lbTopology)
	ctx := context.Background()
	for _, n := range NamedQueries {
		tb, err := e.Named(ctx, n, Window{})
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		t.Logf("%s: %v", n, tb.Columns)
		for i, r := range tb.Rows {
			if i < 12 {
				t.Logf("  %v", r)
			}
		}
	}
}
