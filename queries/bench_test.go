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

// genSQL generates one day of events directly in DuckDB: 50 services, 6
// regions, ~2% changes, ~5% background errors and 6 error bursts (15 minutes,
// 6 services each, one region) with peer_service set on errors.
const genSQL = `
INSERT INTO events (event_id, time, observed_time, source, kind, service, operation, region, account_id,
    resource, actor, severity_number, severity_text, status, error_code, message, change_type, risk_class,
    peer_service, attributes)
SELECT
    'e' || i,
    t, t + INTERVAL 2 SECOND,
    CASE WHEN is_change THEN 'cloudtrail' ELSE 'app' END,
    CASE WHEN is_change THEN 'change' WHEN is_error THEN 'error' ELSE 'info' END,
    'svc-' || lpad(svc::VARCHAR, 2, '0'),
    CASE WHEN is_change THEN 'Op' || (h2 % 20) END,
    region,
    '1111222233' || (h2 % 3),
    CASE WHEN is_change THEN 'arn:aws:svc:' || region || ':res/' || (h2 % 500) END,
    CASE WHEN is_change THEN 'user' || (h2 % 30) END,
    CASE WHEN is_error THEN 17 ELSE 9 END,
    CASE WHEN is_error THEN 'ERROR' ELSE 'INFO' END,
    'ok', CASE WHEN is_error THEN 'Timeout' END,
    CASE WHEN is_error THEN 'upstream timed out' ELSE 'handled request' END,
    CASE WHEN is_change THEN (['deploy','networking','iam','dns','config'])[1 + (h2 % 5)::BIGINT] END,
    CASE WHEN is_change THEN (['low','medium','high','critical'])[1 + (h2 % 4)::BIGINT] END,
    CASE WHEN is_error THEN 'svc-' || lpad(((svc + 1) % 50)::VARCHAR, 2, '0') END,
    '{}'
FROM (
    SELECT *,
        h1 % 50 = 0 AS is_change,
        h1 % 50 <> 0 AND (h1 % 100 < 6 OR (burst >= 0 AND svc BETWEEN burst * 7 AND burst * 7 + 5
                                           AND region = 'r0' AND h2 % 4 <> 0)) AS is_error
    FROM (
        SELECT i, h1, h2, svc, t,
            'r' || (h2 % 6) AS region,
            CASE WHEN m % 240 BETWEEN 120 AND 134 THEN m // 240 ELSE -1 END AS burst
        FROM (
            SELECT i, hash(i) AS h1, hash(i * 31 + 7) AS h2, hash(i) % 50 AS svc,
                TIMESTAMPTZ '2025-10-20 00:00:00+00' + to_microseconds(i * (86400000000 // $n)) AS t,
                (i * 1440) // $n AS m
            FROM range($n) r(i)
        )
    )
)`

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
	if _, err := db.ExecContext(ctx, genSQL, sqlNamed("n", n)...); err != nil {
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
