package testkit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/transform"
)

// The event-seeding fixture: tests describe the events of their scenario
// as transform.Events and Seed stores them the way ingest does, so every
// test reads rows shaped exactly like production rows (NULL for empty
// strings, attributes "{}" when empty, lineage columns as the sink writes
// them).

// OpenDB opens an in-memory faultline database, closed when the test ends.
func OpenDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Seed commits events to db in one transaction through ingest's sink:
// transform.Builder builds the Arrow record batch (from a checked
// allocator: the test fails on a leak) and store.Sink.Commit inserts it.
func Seed(t testing.TB, db *store.DB, events ...transform.Event) {
	t.Helper()
	Commit(t, db, nil, events...)
}

// Commit is Seed that also advances positions in the same transaction, as
// every ingest commit does (which is what moves the data version).
func Commit(t testing.TB, db *store.DB, positions []store.Position, events ...transform.Event) {
	t.Helper()
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := transform.NewBuilder(mem)
	defer b.Release()
	for i := range events {
		b.Append(&events[i])
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	sink, err := db.NewSink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if err := sink.Commit(ctx, &store.Batch{Events: rec, Positions: positions}); err != nil {
		t.Fatalf("seed %d events: %v", len(events), err)
	}
}

// Repeat returns n copies of e: the i-th has EventID id+i and Time at(i);
// its ObservedTime is at(i) too unless e sets one.
func Repeat(n int, id string, at func(i int) time.Time, e transform.Event) []transform.Event {
	out := make([]transform.Event, n)
	for i := range out {
		out[i] = e
		out[i].EventID = fmt.Sprint(id, i)
		out[i].Time = at(i).UTC()
		if e.ObservedTime.IsZero() {
			out[i].ObservedTime = out[i].Time
		}
	}
	return out
}

// Every returns at(i) = start + i*step, for Repeat.
func Every(start time.Time, step time.Duration) func(int) time.Time {
	return func(i int) time.Time { return start.Add(time.Duration(i) * step) }
}

// DeadLetter is a dead letter with the time it was written (the sink
// stamps the commit time; fixtures need fixed ones).
type DeadLetter struct {
	Time time.Time
	transform.DeadLetter
}

// SeedDeadLetters stores dead letters with their own times.
func SeedDeadLetters(t testing.TB, db *store.DB, dls ...DeadLetter) {
	t.Helper()
	for _, d := range dls {
		var topic, part, file any
		if d.Topic != "" {
			topic, part = d.Topic, d.Partition
		}
		if d.File != "" {
			file = d.File
		}
		raw := d.Raw
		if raw == nil {
			raw = []byte{}
		}
		if _, err := db.Exec(`INSERT INTO dead_letters (time, reason, message, format, raw, raw_size, src_topic, src_partition, src_offset, src_file, src_index)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.Time.UTC(), d.Reason, d.Message, string(d.Format), raw, d.RawSize, topic, part, d.Offset, file, d.Index); err != nil {
			t.Fatalf("seed dead letter: %v", err)
		}
	}
}

// Position is a stored ingest position with the time it was written.
type Position struct {
	store.Position
	UpdatedAt time.Time
}

// SeedPositions stores ingest positions with their own times.
func SeedPositions(t testing.TB, db *store.DB, ps ...Position) {
	t.Helper()
	for _, p := range ps {
		var fp any
		if p.Fingerprint != "" {
			fp = p.Fingerprint
		}
		if _, err := db.Exec(`INSERT INTO ingest_offsets (source, part, next_offset, updated_at, fingerprint) VALUES (?, ?, ?, ?, ?)`,
			p.Source, p.Part, p.Next, p.UpdatedAt.UTC(), fp); err != nil {
			t.Fatalf("seed position %s[%d]: %v", p.Source, p.Part, err)
		}
	}
}
