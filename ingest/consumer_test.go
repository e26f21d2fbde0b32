package ingest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestRunExactCountsAndRestart(t *testing.T) {
	c := newCluster(t, 3, "trail")
	var recs []rec
	for i := 0; i < 3000; i++ {
		v := ctRecord(fmt.Sprintf("ev-%05d", i), i)
		if i%100 == 7 {
			v = []byte(`{"service":`) // invalid JSON
		}
		recs = append(recs, rec{"trail", int32(i % 3), v})
	}
	produce(t, c.ListenAddrs(), recs)
	db := openDB(t, "")
	mem := memory.NewCheckedAllocator(newBatchAllocator())
	defer mem.AssertSize(t, 0)
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	o.Allocator = mem
	o.Config.BatchMaxEvents = 500
	if err := Run(runCtx(t, 60*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events"); n != 2970 {
		t.Errorf("events = %d, want 2970", n)
	}
	if n := queryInt(t, db, "SELECT count(DISTINCT event_id) FROM events"); n != 2970 {
		t.Errorf("distinct positions = %d, want 2970", n)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM dead_letters WHERE reason = 'invalid_json' AND src_topic = 'trail'"); n != 30 {
		t.Errorf("dead letters = %d, want 30", n)
	}
	if n := queryInt(t, db, "SELECT sum(next_offset) FROM ingest_offsets WHERE source = 'kafka:trail'"); n != 3000 {
		t.Errorf("stored offsets sum = %d, want 3000", n)
	}

	// Restart: more messages arrive; only they are loaded.
	recs = recs[:0]
	for i := 3000; i < 3600; i++ {
		recs = append(recs, rec{"trail", int32(i % 3), ctRecord(fmt.Sprintf("ev-%05d", i), i)})
	}
	produce(t, c.ListenAddrs(), recs)
	if err := Run(runCtx(t, 60*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events"); n != 3570 {
		t.Errorf("events after restart = %d, want 3570", n)
	}
	if n := queryInt(t, db, "SELECT count(DISTINCT event_id) FROM events"); n != 3570 {
		t.Errorf("distinct positions after restart = %d, want 3570", n)
	}
	// The group's Kafka offsets (for lag tools) equal the DuckDB offsets.
	stored, err := db.Offsets(context.Background(), "kafka:trail")
	if err != nil {
		t.Fatal(err)
	}
	if got := groupOffsets(t, c.ListenAddrs(), o.Kafka.Group, "trail"); fmt.Sprint(got) != fmt.Sprint(stored) {
		t.Errorf("kafka group offsets %v, want the DuckDB offsets %v", got, stored)
	}
	// A run with nothing new exits at once and loads nothing.
	if err := Run(runCtx(t, 60*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events"); n != 3570 {
		t.Errorf("events after idle run = %d, want 3570", n)
	}
}
