package bench

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/queries"
)

// benchEvents is 1M by default; FAULTLINE_BENCH_EVENTS=10000000 for the
// 10M target.
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("FAULTLINE_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// BenchmarkNamedQueries times every named query over GenerateEvents' data
// with the generated services' topology (queryTopology), as faultline bench
// does, with Go's benchmark tooling (-cpuprofile and the like).
func BenchmarkNamedQueries(b *testing.B) {
	n := benchEvents()
	ctx := context.Background()
	db := benchDB(b, n)
	e := queries.NewEngine(db.DB, queries.DefaultCorrelationConfig(), queryTopology)
	for _, name := range queries.NamedQueries {
		b.Run(name, func(b *testing.B) {
			var d []time.Duration
			rows := 0
			for b.Loop() {
				t0 := time.Now()
				tb, err := e.Named(ctx, name, queries.Window{})
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
	have, err := countEvents(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	if have == int64(n) {
		return db
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM events"); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := GenerateEvents(ctx, db.DB, n); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d events in %s", n, time.Since(start).Round(time.Millisecond))
	return db
}
