package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/faultline/faultline/transform"
)

// writeFile commits events [from, from+n) of topic "app" partition 0 (one
// per offset), a dead letter at offset from+n, and the position after it, as
// one ingest process would, into a new file, and closes it.
func writeFile(t *testing.T, path string, from, n int) {
	t.Helper()
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := db.NewSink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := testEvents(mem, "app", from, n)
	defer rec.Release()
	dl := transform.DeadLetter{Reason: transform.ReasonInvalidJSON, Message: "bad", Raw: []byte("{"), RawSize: 1,
		Lineage: transform.Lineage{Topic: "app", Partition: 0, Offset: int64(from + n)}}
	if err := s.Commit(ctx, &Batch{Events: rec, DeadLetters: []transform.DeadLetter{dl},
		Positions: []Position{{Source: "kafka:app", Part: 0, Next: int64(from + n + 1)}}}); err != nil {
		t.Fatal(err)
	}
}

func TestMerge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.duckdb"), filepath.Join(dir, "b.duckdb")
	// Two processes of one group: a consumed offsets 0-99 (+ a dead letter at
	// 100), then the partition moved to b, which re-read 90-149 (+ 150).
	writeFile(t, a, 0, 100)
	writeFile(t, b, 90, 60)

	target, err := Open(ctx, filepath.Join(dir, "merged.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	s, err := target.Merge(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if s.Events != 100 || s.EventsPresent != 0 || s.DeadLetters != 1 || s.Positions != 1 {
		t.Errorf("first merge: %+v, want 100 events, 1 dead letter, 1 position", s)
	}
	s, err = target.Merge(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Events != 50 || s.EventsPresent != 10 || s.DeadLetters != 1 || s.Positions != 1 {
		t.Errorf("second merge: %+v, want 50 new events (10 already there), 1 dead letter, 1 position advanced", s)
	}
	if n := count(t, target, "SELECT count(*) FROM events"); n != 150 {
		t.Errorf("%d events, want 150 (offsets 0-149 once each)", n)
	}
	if n := count(t, target, "SELECT count(DISTINCT src_offset) FROM events"); n != 150 {
		t.Errorf("%d distinct offsets, want 150", n)
	}
	if n := count(t, target, "SELECT count(*) FROM dead_letters"); n != 2 {
		t.Errorf("%d dead letters, want 2", n)
	}
	if n := count(t, target, "SELECT next_offset FROM ingest_offsets WHERE source = 'kafka:app' AND part = 0"); n != 151 {
		t.Errorf("position %d, want the larger of the two files' (151)", n)
	}

	// Merging again adds nothing; an older file never moves a position back.
	for _, p := range []string{a, b} {
		s, err := target.Merge(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if s.Events != 0 || s.DeadLetters != 0 || s.Positions != 0 {
			t.Errorf("merging %s again added %+v", filepath.Base(p), s)
		}
	}
	if n := count(t, target, "SELECT next_offset FROM ingest_offsets WHERE source = 'kafka:app' AND part = 0"); n != 151 {
		t.Errorf("position %d after re-merging, want 151", n)
	}
	// The rollups came with the events, once each.
	checkRollups(t, target)
	if n := count(t, target, "SELECT sum(errors) FROM error_minutes"); n != 150 {
		t.Errorf("error_minutes holds %d errors after merging, want 150", n)
	}
}

func TestMergeRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	target, err := Open(ctx, filepath.Join(dir, "merged.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := os.Symlink("merged.duckdb", filepath.Join(dir, "symlink.duckdb")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "merged.duckdb"), filepath.Join(dir, "hardlink.duckdb")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path, want string
	}{
		{"itself", filepath.Join(dir, "merged.duckdb"), "target file itself"},
		{"symlink to itself", filepath.Join(dir, "symlink.duckdb"), "target file itself"},
		{"hard link to itself", filepath.Join(dir, "hardlink.duckdb"), "target file itself"},
		{"missing", filepath.Join(dir, "nope.duckdb"), "nope.duckdb"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := target.Merge(ctx, c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("merge %s: %v, want an error naming %q", c.path, err, c.want)
			}
		})
	}
	// A DuckDB file that faultline did not write.
	other, err := Open(ctx, filepath.Join(dir, "plain.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.ExecContext(t.Context(), "DROP TABLE schema_version"); err != nil {
		t.Fatal(err)
	}
	other.Close()
	if _, err := target.Merge(ctx, filepath.Join(dir, "plain.duckdb")); err == nil || !strings.Contains(err.Error(), "not a faultline DuckDB file") {
		t.Errorf("merge of a file without schema_version: %v", err)
	}
	if n := count(t, target, "SELECT count(*) FROM events"); n != 0 {
		t.Errorf("failed merges left %d events", n)
	}
}

// A file loaded with different contents into the two databases is not
// mixed: merge refuses and names it.
func TestMergeRefusesChangedFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for i, name := range []string{"a.duckdb", "target.duckdb"} {
		db, err := Open(ctx, filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(t.Context(), `INSERT INTO ingest_offsets VALUES ('file:/logs/trail.json', 0, 10, now(), ?)`, []string{"100:aaaa", "120:bbbb"}[i]); err != nil {
			t.Fatal(err)
		}
		if name == "a.duckdb" {
			db.Close()
			continue
		}
		defer db.Close()
		_, err = db.Merge(ctx, filepath.Join(dir, "a.duckdb"))
		if err == nil || !strings.Contains(err.Error(), "/logs/trail.json") || !strings.Contains(err.Error(), "different contents") {
			t.Errorf("merge of a file loaded with other contents: %v", err)
		}
	}
}
