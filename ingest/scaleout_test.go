package ingest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
)

// TestRunScaleOut runs two consumers in one group, each with its own DuckDB
// file, while messages keep arriving. The second member's arrival
// rebalances the partitions: the first member commits what it read and
// copies those offsets to the group before it rejoins, and the second starts
// the partitions it takes over at the group's offsets (its file has none).
// Nothing is lost: together the files hold every message; within each file
// no message appears twice; across the files at most one batch is in both.
func TestRunScaleOut(t *testing.T) {
	const n, batch = 6000, 300
	c := newCluster(t, 4, "trail")
	mk := func(from, to int) []rec {
		var out []rec
		for i := from; i < to; i++ {
			out = append(out, rec{"trail", int32(i % 4), ctRecord(fmt.Sprintf("ev-%05d", i), i)})
		}
		return out
	}
	produce(t, c.ListenAddrs(), mk(0, n/2))
	dir := t.TempDir()
	dbs := []string{filepath.Join(dir, "a.duckdb"), filepath.Join(dir, "b.duckdb")}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	joined := testkit.NewLogs() // the second member's
	var g errgroup.Group
	var handles []*store.DB
	for i, path := range dbs {
		db := openDB(t, path)
		handles = append(handles, db)
		o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
		o.Kafka.Group = "scale"
		o.Config.ExitWhenCaughtUp = false
		o.Config.BatchMaxEvents = batch
		if i == 1 {
			o.Logger = joined.Logger()
		}
		g.Go(func() error { return Run(runCtx, o) })
		if i == 0 {
			// The first member consumes the first half alone and copies
			// its offsets to the group.
			testkit.Await(t, 60*time.Second, "the first member to commit the first half to its file and to the group", func() bool {
				var sum int64
				for _, off := range groupOffsets(t, c.ListenAddrs(), "scale", "trail") {
					sum += off
				}
				return queryInt(t, db, "SELECT count(*) FROM events") == n/2 && sum == n/2
			})
		}
	}
	// The rest arrives once the second member owns partitions, so both
	// consume it.
	joined.AwaitCount(t, "partitions assigned", 1, 60*time.Second)
	for i := n / 2; i < n; i += 150 {
		produce(t, c.ListenAddrs(), mk(i, i+150))
	}
	// covered counts the distinct events the files hold together.
	covered := func() int {
		ids := map[string]bool{}
		for _, db := range handles {
			rows, err := db.QueryContext(t.Context(), "SELECT event_id FROM events")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids[id] = true
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				t.Fatal(err)
			}
		}
		return len(ids)
	}
	testkit.Await(t, 60*time.Second, "the files to hold every event together", func() bool { return covered() >= n })
	stop()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := covered(); got != n {
		t.Fatalf("the files together hold %d distinct events, want %d", got, n)
	}
	var sum int64
	for i, db := range handles {
		all, distinct := queryInt(t, db, "SELECT count(*) FROM events"), queryInt(t, db, "SELECT count(DISTINCT event_id) FROM events")
		if all != distinct {
			t.Errorf("file %d holds %d events but %d distinct", i, all, distinct)
		}
		if all == 0 {
			t.Errorf("file %d holds no events: the group did not spread the partitions", i)
		}
		sum += all
	}
	t.Logf("rows over both files %d for %d distinct events: %d in both files after the rebalance (before group offsets were used: ~1,500)", sum, n, sum-n)
	if sum-n > batch {
		t.Errorf("%d events are in both files, want at most one batch (%d): the new member did not start at the group's offsets (docs/ingest.md)", sum-n, batch)
	}
}
