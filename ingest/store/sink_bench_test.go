package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkSinkCommit commits batches of 10,000 events to a DuckDB file,
// inserting them through the Sink (its Arrow view) or, as a baseline, the
// DuckDB Appender (appender_bench_test.go).
func BenchmarkSinkCommit(b *testing.B) {
	for _, appender := range []bool{false, true} {
		name := "arrow"
		if appender {
			name = "appender"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			db, err := Open(ctx, filepath.Join(b.TempDir(), "b.duckdb"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			s, err := db.NewSink(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			commit := func(rec arrow.RecordBatch, p Position) error {
				return s.Commit(ctx, &Batch{Events: rec, Positions: []Position{p}})
			}
			if appender {
				commit = func(rec arrow.RecordBatch, p Position) error { return appenderCommit(ctx, s, rec, p) }
			}
			mem := memory.NewGoAllocator()
			const n = 10000
			rec := testEvents(mem, "bench", 0, n)
			defer rec.Release()
			var size int64
			for _, col := range rec.Columns() {
				for _, buf := range col.Data().Buffers() {
					if buf != nil {
						size += int64(buf.Len())
					}
				}
			}
			b.SetBytes(size)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if err := commit(rec, Position{Source: "kafka:bench", Next: int64(i * n)}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
