package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/faultline/faultline/transform"
)

// commitAt commits one event per time in ts from source src, offsets from
// off on, on partition 0 of topic src.
func commitAt(t *testing.T, s *Sink, mem memory.Allocator, src string, off int, ts ...time.Time) {
	t.Helper()
	b := transform.NewBuilder(mem)
	defer b.Release()
	for i, at := range ts {
		e := transform.Event{
			EventID: fmt.Sprintf("%s-%d", src, off+i), Time: at, ObservedTime: at, Source: src, Kind: transform.KindError,
			Service: "checkout", Message: "boom", Attributes: `{"k":1}`,
			Lineage: transform.Lineage{Topic: src, Partition: 0, Offset: int64(off + i)},
		}
		b.Append(&e)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := s.Commit(t.Context(), &Batch{Events: rec}); err != nil {
		t.Fatal(err)
	}
}

func every(start time.Time, step time.Duration, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = start.Add(time.Duration(i) * step)
	}
	return out
}

// readSegments reads every segment under dir with DuckDB's own Parquet
// reader, the way an analyst would, in a separate in-memory database.
func readSegments(t *testing.T, dir, q string) [][]any {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), "CREATE VIEW seg AS SELECT * FROM read_parquet('"+dir+"/**/*.parquet', hive_partitioning = true)"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		r := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range r {
			ptrs[i] = &r[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExportSegments(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	db := openTemp(t)
	s, err := db.NewSink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h7 := time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)
	// 07:00-07:59 and 08:00-08:59 of app (60 + 60), cloudtrail in 07 (30),
	// and the newest event at 09:20: hours 07 and 08 are closed (09:20 is
	// past 09:00 + 15m), 09 is open.
	commitAt(t, s, mem, "app", 0, every(h7, time.Minute, 120)...)
	commitAt(t, s, mem, "cloudtrail", 0, every(h7.Add(30*time.Second), 2*time.Minute, 30)...)
	commitAt(t, s, mem, "app", 120, h7.Add(2*time.Hour+20*time.Minute))

	dir := t.TempDir()
	cfg := DefaultSegmentsConfig()
	cfg.Dir, cfg.Node = dir, "node-a"
	ex, err := db.NewExporter(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), mem)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := ex.Export(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sg := range segs {
		rel, _ := filepath.Rel(dir, sg.Path)
		got = append(got, fmt.Sprintf("%s %d", rel, sg.Events))
	}
	want := []string{
		"date=2025-10-20/hour=07/source=app/node-a.parquet 60",
		"date=2025-10-20/hour=07/source=cloudtrail/node-a.parquet 30",
		"date=2025-10-20/hour=08/source=app/node-a.parquet 60",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("exported\n%q\nwant\n%q", got, want)
	}
	rows := readSegments(t, dir, `SELECT date::VARCHAR, hour, source, count(*), count(DISTINCT event_id), min(time) >= make_timestamptz(2025,10,20,7,0,0), max(attributes->>'k')
FROM seg GROUP BY ALL ORDER BY ALL`)
	if s := fmt.Sprint(rows); s != "[[2025-10-20 07 app 60 60 true 1] [2025-10-20 07 cloudtrail 30 30 true 1] [2025-10-20 08 app 60 60 true 1]]" {
		t.Errorf("read_parquet(hive_partitioning=true) by segment = %s", s)
	}

	// Idempotent: nothing to do again, and a new exporter (a restart) finds
	// the files on disk and writes nothing; a re-export (file removed)
	// gives the same bytes.
	before := files(t, dir)
	if segs, err := ex.Export(ctx, false); err != nil || len(segs) != 0 {
		t.Fatalf("second export wrote %v, %v", segs, err)
	}
	ex2, err := db.NewExporter(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), mem)
	if err != nil {
		t.Fatal(err)
	}
	if segs, err := ex2.Export(ctx, false); err != nil || len(segs) != 0 {
		t.Fatalf("export after restart wrote %v, %v", segs, err)
	}
	victim := filepath.Join(dir, "date=2025-10-20/hour=08/source=app/node-a.parquet")
	os.Remove(victim)
	// A crash mid-write leaves a temporary file: never read as a segment
	// (*.parquet.tmp), replaced by the next write.
	if err := os.WriteFile(victim+".tmp", []byte("torn"), 0o644); err != nil {
		t.Fatal(err)
	}
	ex3, _ := db.NewExporter(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), mem)
	if segs, err := ex3.Export(ctx, false); err != nil || len(segs) != 1 || segs[0].Path != victim {
		t.Fatalf("re-export after removal wrote %v, %v", segs, err)
	}
	after := files(t, dir)
	if len(after) != len(before) {
		t.Fatalf("files after re-export: %d, want %d (%v)", len(after), len(before), slices.Collect(maps.Keys(after)))
	}
	for p, b := range before {
		if !bytes.Equal(after[p], b) {
			t.Errorf("%s differs after a re-export", p)
		}
	}

	// A late event in a closed hour rewrites that segment only, and the
	// open hour is exported at a stop (all).
	commitAt(t, s, mem, "cloudtrail", 30, h7.Add(59*time.Minute))
	segs, err = ex.Export(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, sg := range segs {
		rel, _ := filepath.Rel(dir, sg.Path)
		got = append(got, fmt.Sprintf("%s %d", rel, sg.Events))
	}
	want = []string{
		"date=2025-10-20/hour=07/source=cloudtrail/node-a.parquet 31",
		"date=2025-10-20/hour=09/source=app/node-a.parquet 1",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("exported\n%q\nwant\n%q", got, want)
	}
	rows = readSegments(t, dir, "SELECT count(*), count(DISTINCT (source, event_id)) FROM seg")
	if s := fmt.Sprint(rows); s != "[[152 152]]" {
		t.Errorf("every event once: count, distinct = %s, want [[152 152]]", s)
	}
}

func TestSegmentsConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  SegmentsConfig
		want string
	}{
		{SegmentsConfig{Node: "a/b", Interval: time.Minute}, `parquet.node: "a/b" is not allowed`},
		{SegmentsConfig{Grace: -time.Second, Interval: time.Minute}, "parquet.grace: -1s is not allowed"},
		{SegmentsConfig{}, "parquet.interval: 0s is not allowed"},
	} {
		err := c.cfg.Validate()
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
	if err := DefaultSegmentsConfig().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// parquet.dir is created, but a path whose parent does not exist (a typo)
// or that names a file is refused, saying which.
func TestExporterDirMistakes(t *testing.T) {
	db := openTemp(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	base := t.TempDir()
	file := filepath.Join(base, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, want string }{
		{filepath.Join(base, "shraed", "segments"), "its parent directory " + filepath.Join(base, "shraed") + " does not exist"},
		{file, "is not a directory: point parquet.dir (--parquet-dir) at a directory"},
	} {
		cfg := DefaultSegmentsConfig()
		cfg.Dir = tc.dir
		_, err := db.NewExporter(cfg, log, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parquet.dir %s: %v, want an error saying %q", tc.dir, err, tc.want)
		}
		if _, serr := os.Stat(filepath.Join(base, "shraed")); serr == nil {
			t.Fatalf("parquet.dir %s: created its missing parent", tc.dir)
		}
	}
	cfg := DefaultSegmentsConfig()
	cfg.Dir = filepath.Join(base, "segments")
	if _, err := db.NewExporter(cfg, log, nil); err != nil {
		t.Fatalf("a new directory under an existing parent: %v", err)
	}
	if !isDir(cfg.Dir) {
		t.Fatalf("%s was not created", cfg.Dir)
	}
}
