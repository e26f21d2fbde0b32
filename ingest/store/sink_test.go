package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/faultline/faultline/transform"
)

func testEvents(mem memory.Allocator, topic string, from, n int) arrow.RecordBatch {
	b := transform.NewBuilder(mem)
	defer b.Release()
	t0 := time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		e := transform.Event{
			EventID: fmt.Sprintf("ev-%d", i), Time: t0.Add(time.Duration(i) * time.Second), ObservedTime: t0,
			Source: transform.SourceApp, Kind: transform.KindError, Service: "checkout", Message: "boom", CloudProvider: transform.ProviderGCP,
			SeverityNumber: 17, Attributes: `{"k":1}`,
			Lineage: transform.Lineage{Topic: topic, Partition: 0, Offset: int64(i)},
		}
		b.Append(&e)
	}
	return b.NewRecordBatch()
}

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "f.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestSinkCommit(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db := openTemp(t)
	s, err := db.NewSink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 3; i++ {
		rec := testEvents(mem, "app", i*100, 100)
		err := s.Commit(ctx, &Batch{
			Events:      rec,
			DeadLetters: []transform.DeadLetter{{Reason: transform.ReasonInvalidJSON, Message: "bad \xff", Raw: []byte("{"), RawSize: 1, Lineage: transform.Lineage{Topic: "app", Offset: int64(i)}}},
			Positions:   []Position{{Source: "kafka:app", Part: 0, Next: int64(i*100 + 100)}},
		})
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM events"); n != 300 {
		t.Errorf("events = %d, want 300", n)
	}
	if n := count(t, db, "SELECT count(DISTINCT event_id) FROM events WHERE service = 'checkout' AND (attributes->>'k') = '1'"); n != 300 {
		t.Errorf("distinct events = %d, want 300", n)
	}
	if n := count(t, db, "SELECT count(*) FROM dead_letters WHERE reason = 'invalid_json' AND src_topic = 'app'"); n != 3 {
		t.Errorf("dead letters = %d, want 3", n)
	}
	if n := count(t, db, "SELECT n FROM dead_letter_summary WHERE reason = 'invalid_json'"); n != 3 {
		t.Errorf("dead_letter_summary invalid_json = %d, want 3", n)
	}
	off, err := db.Offsets(ctx, "kafka:app")
	if err != nil {
		t.Fatal(err)
	}
	if off[0] != 300 || len(off) != 1 {
		t.Errorf("offsets = %v, want map[0:300]", off)
	}
}

// The benchmark's Appender baseline must store exactly what the Sink
// stores, or BenchmarkSinkCommit compares unequal work.
func TestAppenderBaselineStoresWhatTheSinkStores(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	checksum := func(appender bool) string {
		db := openTemp(t)
		s, err := db.NewSink(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		rec := testEvents(mem, "app", 0, 100)
		defer rec.Release()
		p := Position{Source: "kafka:app", Next: 100}
		if appender {
			err = appenderCommit(ctx, s, rec, p)
		} else {
			err = s.Commit(ctx, &Batch{Events: rec, Positions: []Position{p}})
		}
		if err != nil {
			t.Fatal(err)
		}
		var sum string
		if err := db.QueryRowContext(t.Context(), `SELECT count(*) || ' ' || sum(hash(e)) FROM (SELECT e FROM events e)`).Scan(&sum); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	if arrow, appender := checksum(false), checksum(true); arrow != appender {
		t.Errorf("events stored through the Arrow view (%s) and the Appender (%s) differ", arrow, appender)
	}
}

// A failing batch stores nothing: not its events, not its positions.
func TestSinkCommitAtomic(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db := openTemp(t)
	s, err := db.NewSink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := testEvents(mem, "app", 0, 10)
	defer rec.Release()
	if err := s.Commit(ctx, &Batch{Events: rec, Positions: []Position{{Source: "kafka:app", Next: 10}}}); err != nil {
		t.Fatal(err)
	}
	// A record batch whose schema does not match the table makes the insert fail.
	bad := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil))
	bad.Field(0).(*array.Int64Builder).Append(1)
	badRec := bad.NewRecordBatch()
	bad.Release()
	defer badRec.Release()
	rec2 := testEvents(mem, "app", 10, 10)
	defer rec2.Release()
	err = s.Commit(ctx, &Batch{
		Events:       badRec,
		ReplaceFiles: []string{"/x"},
		DeadLetters:  []transform.DeadLetter{{Reason: "empty"}},
		Positions:    []Position{{Source: "kafka:app", Next: 20}},
	})
	if err == nil {
		t.Fatal("commit of a mismatched batch succeeded")
	}
	if n := count(t, db, "SELECT count(*) FROM events"); n != 10 {
		t.Errorf("events = %d, want 10", n)
	}
	if n := count(t, db, "SELECT count(*) FROM dead_letters"); n != 0 {
		t.Errorf("dead letters = %d, want 0", n)
	}
	if off, _ := db.Offsets(ctx, "kafka:app"); off[0] != 10 {
		t.Errorf("offset = %d, want 10", off[0])
	}
	// The connection is usable after the rollback.
	if err := s.Commit(ctx, &Batch{Events: rec2, Positions: []Position{{Source: "kafka:app", Next: 20}}}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT count(*) FROM events"); n != 20 {
		t.Errorf("events = %d, want 20", n)
	}
}

func TestFilePositionAndReplace(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	s, err := db.NewSink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, ok, err := db.FilePosition(ctx, "file:/a"); ok || err != nil {
		t.Fatalf("unknown file: ok=%v err=%v", ok, err)
	}
	dl := transform.DeadLetter{Reason: "empty", Lineage: transform.Lineage{File: "/a"}}
	if err := s.Commit(ctx, &Batch{DeadLetters: []transform.DeadLetter{dl}, Positions: []Position{{Source: "file:/a", Next: 5, Fingerprint: "1:aa"}}}); err != nil {
		t.Fatal(err)
	}
	next, fp, ok, err := db.FilePosition(ctx, "file:/a")
	if err != nil || !ok || next != 5 || fp != "1:aa" {
		t.Fatalf("position = %d %q %v %v", next, fp, ok, err)
	}
	if err := s.Commit(ctx, &Batch{ReplaceFiles: []string{"/a"}, Positions: []Position{{Source: "file:/a", Next: 1, Fingerprint: "2:bb"}}}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT count(*) FROM dead_letters"); n != 0 {
		t.Errorf("dead letters after replace = %d, want 0", n)
	}
	next, fp, _, _ = db.FilePosition(ctx, "file:/a")
	if next != 1 || fp != "2:bb" {
		t.Errorf("position after replace = %d %q", next, fp)
	}
}

// A batch of directEvents or more into an events table without rows is
// written into the file at its commit (a checkpoint), not to the WAL; a
// smaller one, or one into a table that holds rows, goes to the WAL (part
// 13: checkpoints there recompress the partly filled row groups), and the
// database's checkpoint_threshold is what it was either way.
func TestSinkBigBatchSkipsWAL(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	walBytes := func(db *DB) int64 {
		st, err := os.Stat(db.Path + ".wal")
		if errors.Is(err, fs.ErrNotExist) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	commit := func(s *Sink, from, n int) {
		rec := testEvents(mem, "app", from, n)
		defer rec.Release()
		if err := s.Commit(ctx, &Batch{Events: rec, Positions: []Position{{Source: "kafka:app", Next: int64(from + n)}}}); err != nil {
			t.Fatal(err)
		}
	}

	db, s := tempSink(t, 100)
	var before string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('checkpoint_threshold')").Scan(&before); err != nil {
		t.Fatal(err)
	}
	commit(s, 0, 200)
	if n := walBytes(db); n != 0 {
		t.Errorf("after a batch of 200 events (directEvents 100) into the empty table the WAL holds %d bytes: want it checkpointed at commit", n)
	}
	var after string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('checkpoint_threshold')").Scan(&after); err != nil || after != before {
		t.Errorf("checkpoint_threshold = %q after the batch (%v), want %q as before", after, err, before)
	}
	commit(s, 200, 200)
	if n := walBytes(db); n == 0 {
		t.Errorf("after a batch of 200 events into a table that holds rows the WAL is empty: want the batch in the WAL")
	}
	if n := count(t, db, "SELECT count(DISTINCT event_id) FROM events"); n != 400 {
		t.Errorf("events = %d, want 400", n)
	}
	if n := count(t, db, "SELECT next_offset FROM ingest_offsets WHERE source = 'kafka:app'"); n != 400 {
		t.Errorf("stored position = %d, want 400", n)
	}

	db, s = tempSink(t, 100)
	commit(s, 0, 50)
	if n := walBytes(db); n == 0 {
		t.Errorf("after a batch of 50 events (directEvents 100) into the empty table the WAL is empty: want the batch in the WAL")
	}
}

// Under serve's sandbox the configuration is locked: a big batch cannot
// change checkpoint_threshold and goes to the WAL like a small one.
func TestSinkBigBatchLockedConfiguration(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db, s := tempSink(t, 100)
	if _, err := db.ExecContext(ctx, "SET lock_configuration = true"); err != nil {
		t.Fatal(err)
	}
	rec := testEvents(mem, "app", 0, 200)
	defer rec.Release()
	if err := s.Commit(ctx, &Batch{Events: rec, Positions: []Position{{Source: "kafka:app", Next: 200}}}); err != nil {
		t.Fatalf("a big batch under a locked configuration: %v", err)
	}
	if st, err := os.Stat(db.Path + ".wal"); err != nil || st.Size() == 0 {
		t.Errorf("WAL after a big batch under a locked configuration: %v, %v; want the batch in the WAL", st, err)
	}
	if n := count(t, db, "SELECT count(*) FROM events"); n != 200 {
		t.Errorf("events = %d, want 200", n)
	}
}

// tempSink opens a new DuckDB file and a sink on it whose batches of
// directEvents events or more count as big.
func tempSink(t *testing.T, directEvents int64) (*DB, *Sink) {
	t.Helper()
	db := openTemp(t)
	s, err := db.NewSink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.directEvents = directEvents
	return db, s
}
