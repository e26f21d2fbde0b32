package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
)

// benchRecords is the workload: CloudTrail records, one per message / line.
const benchRecords = 50000

func benchPayload() ([][]byte, int64) {
	var out [][]byte
	var n int64
	for i := 0; i < benchRecords; i++ {
		r := ctRecord(fmt.Sprintf("bench-%07d", i), i)
		out = append(out, r)
		n += int64(len(r))
	}
	return out, n
}

// BenchmarkEndToEnd: a pre-filled kfake topic (2 partitions) into a fresh
// DuckDB file with `ingest.Run` until caught up.
func BenchmarkEndToEnd(b *testing.B) {
	for _, batch := range []int{5000, 20000, DefaultConfig().BatchMaxEvents} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchEndToEnd(b, batch) })
	}
}

func benchEndToEnd(b *testing.B, batch int) {
	recs, size := benchPayload()
	c := newCluster(b, 2, "trail")
	var rs []rec
	for i, r := range recs {
		rs = append(rs, rec{"trail", int32(i % 2), r})
	}
	produce(b, c.ListenAddrs(), rs)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	var secs float64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		db := openDB(b, filepath.Join(b.TempDir(), "e2e.duckdb"))
		o := testOptions(b, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
		o.Kafka.Group = fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)
		o.Config.BatchMaxWait = time.Second
		o.Config.BatchMaxEvents = batch
		b.StartTimer()
		t0 := time.Now()
		if err := Run(context.Background(), o); err != nil {
			b.Fatal(err)
		}
		secs += time.Since(t0).Seconds()
		b.StopTimer()
		if n := queryInt(b, db, "SELECT count(*) FROM events"); n != benchRecords {
			b.Fatalf("events = %d, want %d", n, benchRecords)
		}
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(benchRecords*b.N)/secs, "events/s")
}

// readJSONSQL loads the same NDJSON bytes with DuckDB's own reader into the
// same events table, mapping fields the way the CloudTrail decoder does
// (everything else kept as JSON attributes).
const readJSONSQL = `INSERT INTO events
SELECT eventID, eventTime::TIMESTAMPTZ, now(), 'cloudtrail', 'change',
       split_part(eventSource, '.', 1), eventName, awsRegion, recipientAccountId,
       requestParameters.instanceId, userIdentity.arn, 9, 'INFO', 'success', NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, to_json(j), NULL, NULL, 0, '%s', 0, 'aws'
FROM read_json('%s', format = 'newline_delimited') j`

// writeBenchNDJSON writes the benchmark payload as NDJSON into dir and
// returns the file and the payload's size in bytes.
func writeBenchNDJSON(b *testing.B, dir string) (string, int64) {
	b.Helper()
	recs, size := benchPayload()
	f := filepath.Join(dir, "bench.ndjson")
	var buf []byte
	for _, r := range recs {
		buf = append(append(buf, r...), '\n')
	}
	if err := os.WriteFile(f, buf, 0o644); err != nil {
		b.Fatal(err)
	}
	return f, size
}

// BenchmarkReadJSONBaseline is the yardstick: DuckDB's read_json loading the
// benchmark's NDJSON bytes into the events table.
func BenchmarkReadJSONBaseline(b *testing.B) {
	dir := b.TempDir()
	f, size := writeBenchNDJSON(b, dir)
	b.SetBytes(size)
	var secs float64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		db, err := store.Open(context.Background(), filepath.Join(dir, fmt.Sprintf("rj-%d.duckdb", i)))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		if _, err := db.Exec(fmt.Sprintf(readJSONSQL, f, f)); err != nil {
			b.Fatal(err)
		}
		secs += time.Since(t0).Seconds()
		b.StopTimer()
		if n := queryInt(b, db, "SELECT count(*) FROM events"); n != benchRecords {
			b.Fatalf("events = %d, want %d", n, benchRecords)
		}
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(benchRecords*b.N)/secs, "events/s")
}

// BenchmarkLoadNDJSON: `faultline load` on the same NDJSON file.
func BenchmarkLoadNDJSON(b *testing.B) {
	dir := b.TempDir()
	f, size := writeBenchNDJSON(b, dir)
	b.SetBytes(size)
	var secs float64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		db := openDB(b, filepath.Join(dir, fmt.Sprintf("l-%d.duckdb", i)))
		o := loadOpts(b, nil)
		o.Config = DefaultConfig()
		b.StartTimer()
		t0 := time.Now()
		sum, err := LoadPaths(context.Background(), db, []string{f}, o)
		if err != nil {
			b.Fatal(err)
		}
		secs += time.Since(t0).Seconds()
		if sum.Events != benchRecords {
			b.Fatalf("events = %d", sum.Events)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(benchRecords*b.N)/secs, "events/s")
}
