package queries

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
)

// benchEvents is 1M by default; FAULTLINE_BENCH_EVENTS=10000000 for the
// 10M target.
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("FAULTLINE_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

func BenchmarkNamedQueries(b *testing.B) {
	n := benchEvents()
	ctx := context.Background()
	db := benchDB(b, n)
	topo := map[string][]string{}
	for i := range 50 {
		topo[svcName(i)] = []string{svcName((i + 1) % 50), svcName((i + 7) % 50)}
	}
	e := NewEngine(db.DB, DefaultCorrelationConfig(), topo)
	for _, name := range NamedQueries {
		b.Run(name, func(b *testing.B) {
			var d []time.Duration
			rows := 0
			for b.Loop() {
				t0 := time.Now()
				tb, err := e.Named(ctx, name, Window{})
				if err != nil {
					b.Fatal(err)
				}
				d = append(d, time.Since(t0))
				rows = len(tb.Rows)
			}
			slices.Sort(d)
			p95 := d[min(len(d)-1, len(d)*95/100)]
			b.ReportMetric(float64(p95.Milliseconds()), "p95-ms")
			b.ReportMetric(float64(rows), "rows")
			b.ReportMetric(float64(n)/d[len(d)/2].Seconds(), "events/s")
		})
	}
}

// benchDB generates n events into a DuckDB file. FAULTLINE_BENCH_DB=FILE
// keeps the file between runs (generated once if missing or of another size).
func benchDB(b *testing.B, n int) *store.DB {
	b.Helper()
	ctx := context.Background()
	path := os.Getenv("FAULTLINE_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.duckdb")
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	var have int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM events").Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have == n {
		return db
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM events"); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := db.ExecContext(ctx, BenchmarkEventsSQL, sqlNamed("n", n)...); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d events in %s", n, time.Since(start).Round(time.Millisecond))
	return db
}

func svcName(i int) string { return "svc-" + leftPad(strconv.Itoa(i)) }

func leftPad(s string) string {
	if len(s) < 2 {
		return "0" + s
	}
	return s
}
