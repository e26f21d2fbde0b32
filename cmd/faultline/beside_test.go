package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/transform"
)

// TestBesideLastPassSeesTheLastCommit: a stop signal cancels ingest's
// context while it still commits its last batch; the Parquet export beside
// it must make its last pass after that commit, so that a cleanly stopped
// process leaves every event of its file in Parquet. (The scale-out
// integration test once found a node with 85 events in its file and not
// in its segments: the export had been cancelled together with ingest.)
func TestBesideLastPassSeesTheLastCommit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "f.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := filepath.Join(t.TempDir(), "segments")
	cfg := store.DefaultSegmentsConfig()
	cfg.Dir, cfg.Node, cfg.Interval = dir, "n", 10*time.Millisecond
	ex, err := db.NewExporter(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), mem)
	if err != nil {
		t.Fatal(err)
	}

	ctx, stop := context.WithCancel(t.Context())
	h7 := time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)
	var runEnded bool
	err = beside(ctx, func(ctx context.Context) error {
		commitEvents(t, db, mem, 0, h7, 100)
		stop() // the signal arrives ...
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // ... several export intervals before the last commit
		commitEvents(t, db, mem, 100, h7.Add(100*time.Second), 37)
		return nil
	}, ex.Run, func(ctx context.Context) error {
		<-ctx.Done()
		runEnded = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !runEnded {
		t.Error("beside returned before its runs did")
	}
	seg, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	var n int64
	q := fmt.Sprintf("SELECT count(*) FROM read_parquet('%s/**/*.parquet')", dir)
	if err := seg.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 137 {
		t.Errorf("the segments hold %d events after a clean stop, want the file's 137", n)
	}
}

// commitEvents commits n app errors one second apart from at on, offsets
// from off on, through a store sink.
func commitEvents(t *testing.T, db *store.DB, mem memory.Allocator, off int, at time.Time, n int) {
	t.Helper()
	s, err := db.NewSink(context.WithoutCancel(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := transform.NewBuilder(mem)
	defer b.Release()
	for i := range n {
		ts := at.Add(time.Duration(i) * time.Second)
		e := transform.Event{
			EventID: fmt.Sprintf("app-%d", off+i), Time: ts, ObservedTime: ts, Source: "app", Kind: transform.KindError,
			Service: "checkout", Message: "boom", Attributes: `{}`,
			Lineage: transform.Lineage{Topic: "app", Partition: 0, Offset: int64(off + i)},
		}
		b.Append(&e)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := s.Commit(context.WithoutCancel(t.Context()), &store.Batch{Events: rec}); err != nil {
		t.Fatal(err)
	}
}
