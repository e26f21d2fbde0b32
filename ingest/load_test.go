package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/transform"
)

func records(from, n int) [][]byte {
	var out [][]byte
	for i := from; i < from+n; i++ {
		out = append(out, ctRecord(fmt.Sprintf("ev-%05d", i), i))
	}
	return out
}

func loadOpts(t testing.TB, mem memory.Allocator) LoadOptions {
	c := DefaultConfig()
	c.BatchMaxEvents = 7 // several batches per file
	return LoadOptions{Format: transform.FormatAuto, Config: c, Transform: transform.DefaultConfig(), Logger: testLogger(t), Allocator: mem}
}

// TestLoadPathsIdempotent loads every file layout, loads again (nothing
// added), changes a file (its rows replaced) and resumes a half-loaded file.
func TestLoadPathsIdempotent(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(newBatchAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	s3 := filepath.Join(dir, "AWSLogs", "123456789012", "CloudTrail", "us-east-1", "2024", "05", "14")
	doc := []byte(`{"Records":[` + string(joinBytes(records(0, 20), ",")) + `]}`)
	writeFile(t, filepath.Join(s3, "123456789012_CloudTrail_us-east-1_20240514T1200Z_a.json.gz"), gzipBytes(t, doc))
	writeFile(t, filepath.Join(dir, "AWSLogs", "123456789012", "CloudTrail-Digest", "us-east-1", "2024", "05", "14", "d.json.gz"), gzipBytes(t, []byte(`{"digestStartTime":"x"}`)))
	writeFile(t, filepath.Join(dir, "trail.ndjson"), joinBytes(records(20, 15), "\n"))
	writeFile(t, filepath.Join(dir, "array.json"), []byte("["+string(joinBytes(records(35, 10), ","))+"]"))
	writeFile(t, filepath.Join(dir, "broken.json.gz"), gzipBytes(t, doc)[:40])
	writeFile(t, filepath.Join(dir, "empty.json"), nil)
	writeFile(t, filepath.Join(dir, ".hidden", "x.json"), records(99, 1)[0])
	cw, err := os.ReadFile("../transform/testdata/samples/cloudwatch/lambda-go-cloudwatch-logs-event.json")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cw", "payload.json"), cw) // {"awslogs":{"data":...}}: 2 [ERROR] log events
	app := `{"time":"2025-10-20T07:12:03.120Z","service":"checkout","level":"error","message":"a","trace_id":"t1"}
{"time":"2025-10-20T07:12:04.120Z","service":"checkout","level":"error","message":"b","trace_id":"t2"}
{"time":"2025-10-20T07:10:00Z","service":"checkout","kind":"deploy","version":"1.4.3","actor":"ci"}`
	writeFile(t, filepath.Join(dir, "app", "errors.ndjson.gz"), gzipBytes(t, []byte(app)))

	db := openDB(t, "")
	sum, err := LoadPaths(ctx, db, []string{dir}, loadOpts(t, mem))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Files != 8 || sum.DigestFiles != 1 || sum.FilesLoaded != 7 || sum.Events != 50 {
		t.Errorf("first load: %+v", sum)
	}
	if sum.DeadLetters[transform.ReasonDecompress] != 1 || sum.DeadLetters[transform.ReasonEmpty] != 1 || sum.DeadLetterTotal() != 2 {
		t.Errorf("dead letters: %v", sum.DeadLetters)
	}
	check := func(what string, events, distinct, dls int64) {
		t.Helper()
		if n := queryInt(t, db, "SELECT count(*) FROM events"); n != events {
			t.Errorf("%s: events = %d, want %d", what, n, events)
		}
		if n := queryInt(t, db, "SELECT count(DISTINCT event_id) FROM events"); n != distinct {
			t.Errorf("%s: distinct event ids = %d, want %d", what, n, distinct)
		}
		if n := queryInt(t, db, "SELECT count(*) FROM dead_letters"); n != dls {
			t.Errorf("%s: dead letters = %d, want %d", what, n, dls)
		}
	}
	check("first load", 50, 50, 2)
	if n := queryInt(t, db, "SELECT count(*) FROM events WHERE source = 'cloudwatch' AND kind = 'error' AND src_file LIKE '%/cw/payload.json'"); n != 2 {
		t.Errorf("CloudWatch payload file events = %d, want 2 errors", n)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events WHERE src_file LIKE '%/app/errors.ndjson.gz' AND ((source = 'app' AND kind = 'error') OR (source = 'deploy' AND kind = 'change'))"); n != 3 {
		t.Errorf("app NDJSON.gz events = %d, want 2 errors and 1 deploy", n)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events WHERE src_file LIKE '%/AWSLogs/%' AND source = 'cloudtrail' AND kind = 'change'"); n != 20 {
		t.Errorf("S3 layout events = %d, want 20 cloudtrail changes", n)
	}

	// Again: nothing new.
	sum, err = LoadPaths(ctx, db, []string{dir}, loadOpts(t, mem))
	if err != nil {
		t.Fatal(err)
	}
	if sum.FilesUnchanged != 7 || sum.Events != 0 || sum.DeadLetterTotal() != 0 {
		t.Errorf("second load: %+v", sum)
	}
	check("second load", 50, 50, 2)

	// A changed file replaces its rows (when allowed: see TestLoadChangedFile).
	writeFile(t, filepath.Join(dir, "trail.ndjson"), joinBytes(records(20, 5), "\n"))
	opts := loadOpts(t, mem)
	opts.ReplaceChanged = true
	sum, err = LoadPaths(ctx, db, []string{filepath.Join(dir, "trail.ndjson")}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum.FilesReloaded != 1 || sum.Events != 5 {
		t.Errorf("changed file: %+v", sum)
	}
	check("changed file", 40, 40, 2)

	// An interrupted load resumes after the committed records.
	path, _ := filepath.Abs(filepath.Join(dir, "array.json"))
	db2 := openDB(t, "")
	sink, err := db2.NewSink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte("[" + string(joinBytes(records(35, 10), ",")) + "]")
	fp := fileFingerprint(raw, transform.FormatAuto)
	if err := sink.Commit(ctx, &store.Batch{Positions: []store.Position{{Source: "file:" + path, Next: 4, Fingerprint: fp}}}); err != nil {
		t.Fatal(err)
	}
	sink.Close()
	sum, err = LoadPaths(ctx, db2, []string{path}, loadOpts(t, mem))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != 6 {
		t.Errorf("resumed load: events = %d, want 6", sum.Events)
	}
	if n := queryInt(t, db2, "SELECT count(*) FROM events WHERE event_id < 'ev-00039'"); n != 0 {
		t.Errorf("resumed load did not start at record 4")
	}
}

func joinBytes(bs [][]byte, sep string) []byte {
	var parts []string
	for _, b := range bs {
		parts = append(parts, string(b))
	}
	return []byte(strings.Join(parts, sep))
}

func TestLoadPathsMissing(t *testing.T) {
	db := openDB(t, "")
	_, err := LoadPaths(context.Background(), db, []string{filepath.Join(t.TempDir(), "nope")}, loadOpts(t, nil))
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err = %v, want one naming the missing path", err)
	}
}

// TestLoadPathsFailsLoudly: a symlinked directory (and symlinked files in
// it) are loaded, not silently skipped; a directory without files and an
// unreadable file are errors saying what to do; a file loaded with the
// wrong format is reloaded when loaded again with another.
func TestLoadPathsFailsLoudly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	writeFile(t, filepath.Join(real, "a.ndjson"), joinBytes(records(0, 3), "\n"))
	writeFile(t, filepath.Join(dir, "elsewhere", "b.ndjson"), joinBytes(records(3, 2), "\n"))
	if err := os.Symlink(filepath.Join(dir, "elsewhere", "b.ndjson"), filepath.Join(real, "b.ndjson")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, "")
	sum, err := LoadPaths(ctx, db, []string{link}, loadOpts(t, nil))
	if err != nil || sum.Files != 2 || sum.Events != 5 {
		t.Fatalf("symlinked directory: %+v, %v; want 2 files, 5 events", sum, err)
	}

	empty := filepath.Join(dir, "empty")
	if err := os.MkdirAll(filepath.Join(empty, ".hidden"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPaths(ctx, db, []string{empty}, loadOpts(t, nil)); err == nil || !strings.Contains(err.Error(), "no files found") {
		t.Errorf("empty directory: %v, want an error", err)
	}

	if os.Geteuid() != 0 { // root reads everything
		locked := filepath.Join(dir, "locked.ndjson")
		writeFile(t, locked, records(9, 1)[0])
		if err := os.Chmod(locked, 0); err != nil {
			t.Fatal(err)
		}
		_, err := LoadPaths(ctx, db, []string{locked}, loadOpts(t, nil))
		if err == nil || !strings.Contains(err.Error(), "check the permissions") || strings.Contains(err.Error(), "another faultline process") {
			t.Errorf("unreadable file: %v, want a permission hint", err)
		}
	}

	trail := filepath.Join(dir, "trail.ndjson")
	writeFile(t, trail, joinBytes(records(20, 4), "\n"))
	o := loadOpts(t, nil)
	o.Format = transform.FormatCloudWatch // wrong
	sum, err = LoadPaths(ctx, db, []string{trail}, o)
	if err != nil || sum.Events != 0 || sum.DeadLetterTotal() != 4 {
		t.Fatalf("wrong format: %+v, %v; want 4 dead letters", sum, err)
	}
	o.Format = transform.FormatAuto
	sum, err = LoadPaths(ctx, db, []string{trail}, o)
	if err != nil || sum.FilesReloaded != 1 || sum.Events != 4 {
		t.Fatalf("loaded again with the right format: %+v, %v; want reloaded with 4 events", sum, err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM dead_letters WHERE src_file = ?", trail); n != 0 {
		t.Errorf("%d dead letters of the wrong format remain", n)
	}
	sum, err = LoadPaths(ctx, db, []string{trail}, o)
	if err != nil || sum.FilesUnchanged != 1 {
		t.Errorf("same format again: %+v, %v; want unchanged", sum, err)
	}
}

// A CloudTrail file's records with impossible times, or that are not
// CloudTrail records at all, are dead letters with a reason; none becomes
// an event stamped with the load time (issue 12: 0001-01-01 and
// {"foo":"bar"} did), or sits in 2099 or 9999 (which moved every default
// view and broke the JSON API).
func TestLoadImplausibleRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ct := func(id, when string) string {
		return `{"eventVersion":"1.08","eventTime":"` + when + `","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-1","eventID":"` + id + `"}`
	}
	doc := `{"Records":[` + strings.Join([]string{
		ct("ok-1", "2025-10-20T07:00:00Z"),
		`{"foo":"bar"}`,
		ct("zero", "0001-01-01T00:00:00Z"),
		ct("y9999", "9999-12-31T23:59:59Z"),
		ct("y2099", "2099-01-01T00:00:00Z"),
	}, ",") + `]}`
	writeFile(t, filepath.Join(dir, "trail.json"), []byte(doc))
	db := openDB(t, "")
	sum, err := LoadPaths(ctx, db, []string{dir}, loadOpts(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != 1 || sum.DeadLetters[transform.ReasonImplausibleTime] != 3 || sum.DeadLetters[transform.ReasonMissingField] != 1 {
		t.Fatalf("events %d, dead letters %v; want 1 event, 3 implausible_time, 1 missing_field", sum.Events, sum.DeadLetters)
	}
	var id string
	var when time.Time
	if err := db.QueryRow("SELECT event_id, time FROM events").Scan(&id, &when); err != nil || id != "ok-1" || !when.Equal(time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)) {
		t.Fatalf("the one event: %s %s %v", id, when, err)
	}
	rows, err := db.Query("SELECT reason, message, src_offset FROM dead_letters ORDER BY src_offset")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var reason, msg string
		var idx int
		if err := rows.Scan(&reason, &msg, &idx); err != nil {
			t.Fatal(err)
		}
		if msg == "" || idx == 0 {
			t.Errorf("dead letter %s at %d without a message or position: %q", reason, idx, msg)
		}
	}
}

// A file rewritten or truncated since it was loaded does not silently
// replace the events loaded from it: it is left as loaded and the load ends
// with an error naming --replace-changed (issue 12: a truncated file's good
// events were deleted with only a WARN). A file that only grew reloads, and
// so does any change with the flag.
func TestLoadChangedFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "trail.ndjson")
	other := filepath.Join(dir, "other.ndjson")
	writeFile(t, path, joinBytes(records(0, 10), "\n"))
	db := openDB(t, "")
	if _, err := LoadPaths(ctx, db, []string{path}, loadOpts(t, nil)); err != nil {
		t.Fatal(err)
	}
	// Truncated (e.g. a download cut short), while another file is new.
	writeFile(t, path, joinBytes(records(0, 3), "\n"))
	writeFile(t, other, joinBytes(records(100, 2), "\n"))
	sum, err := LoadPaths(ctx, db, []string{dir}, loadOpts(t, nil))
	if !errors.Is(err, ErrChangedFiles) || !strings.Contains(err.Error(), "--replace-changed") || !strings.Contains(err.Error(), "trail.ndjson") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("truncated file: %v; want one line naming the file and --replace-changed", err)
	}
	if sum.FilesRefused != 1 || sum.EventsKept != 10 || sum.FilesLoaded != 1 {
		t.Errorf("summary %+v", sum)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events WHERE src_file LIKE '%trail.ndjson'"); n != 10 {
		t.Fatalf("events of the truncated file: %d, want the 10 loaded before", n)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events WHERE src_file LIKE '%other.ndjson'"); n != 2 {
		t.Fatalf("the other file was not loaded: %d events", n)
	}
	// Grown instead: nothing loaded is lost, so no flag is needed.
	writeFile(t, path, append(joinBytes(records(0, 10), "\n"), append([]byte("\n"), joinBytes(records(10, 2), "\n")...)...))
	if _, err := LoadPaths(ctx, db, []string{path}, loadOpts(t, nil)); err != nil {
		t.Fatalf("a file that grew: %v", err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events WHERE src_file LIKE '%trail.ndjson'"); n != 12 {
		t.Fatalf("events after the file grew: %d, want 12", n)
	}
	// With the flag, a truncated file replaces its events.
	writeFile(t, path, joinBytes(records(0, 3), "\n"))
	opts := loadOpts(t, nil)
	opts.ReplaceChanged = true
	if _, err := LoadPaths(ctx, db, []string{path}, opts); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events WHERE src_file LIKE '%trail.ndjson'"); n != 3 {
		t.Fatalf("events after --replace-changed: %d, want 3", n)
	}
}

// TestLoadPathsParallelOrder: many decode workers, small batches and an
// in-flight budget far below a file (backpressure on every few records)
// still load every record exactly once, in file order, and a second load
// adds nothing.
func TestLoadPathsParallelOrder(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(newBatchAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	const files, per = 3, 600
	for f := 0; f < files; f++ {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("trail-%d.ndjson", f)), joinBytes(records(f*per, per), "\n"))
	}
	db := openDB(t, "")
	o := loadOpts(t, mem)
	o.Workers = 8
	o.Config.BatchMaxEvents = 500
	o.Config.BatchMaxBytes = 128 << 10
	o.Config.MaxInflightBytes = 128 << 10 // a record is ~1.3 KB: about 100 in flight
	sum, err := LoadPaths(ctx, db, []string{dir}, o)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != files*per || sum.DeadLetterTotal() != 0 {
		t.Fatalf("loaded %d events, %d dead letters, want %d", sum.Events, sum.DeadLetterTotal(), files*per)
	}
	if n := queryInt(t, db, "SELECT count(DISTINCT (src_file, src_offset)) FROM events"); n != files*per {
		t.Errorf("%d distinct record positions, want %d", n, files*per)
	}
	// Record k of a file is event ev-<file*per+k>: the positions match the
	// records, whatever worker decoded them.
	if n := queryInt(t, db, `SELECT count(*) FROM events
		WHERE event_id <> printf('ev-%05d', CAST(regexp_extract(src_file, 'trail-([0-9])', 1) AS INTEGER) * 600 + src_offset)`); n != 0 {
		t.Errorf("%d events at the wrong position", n)
	}
	for f := 0; f < files; f++ {
		next, _, ok, err := db.FilePosition(ctx, "file:"+filepath.Join(dir, fmt.Sprintf("trail-%d.ndjson", f)))
		if err != nil || !ok || next != per {
			t.Errorf("file %d: position %d %v %v, want %d", f, next, ok, err, per)
		}
	}
	again, err := LoadPaths(ctx, db, []string{dir}, o)
	if err != nil {
		t.Fatal(err)
	}
	if again.Events != 0 || again.FilesUnchanged != files || queryInt(t, db, "SELECT count(*) FROM events") != files*per {
		t.Errorf("second load: %+v", again)
	}
}

// TestLoadNamedEmptyFile: files named to load that all have 0 bytes (a
// download not finished, a wrong path) are refused before anything is
// loaded, as a directory without files is; they used to be loaded as dead
// letters. Once it has content it loads. An empty file named with others
// that have content is a dead letter, as one found in a directory is
// (TestLoadPathsIdempotent).
func TestLoadNamedEmptyFile(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	empty := filepath.Join(dir, "trail.json")
	writeFile(t, empty, nil)
	other := filepath.Join(dir, "other.ndjson")
	writeFile(t, other, joinBytes(records(0, 3), "\n"))
	db := openDB(t, "")
	empty2 := filepath.Join(dir, "trail2.json")
	writeFile(t, empty2, nil)
	for _, paths := range [][]string{{empty}, {empty, empty2}} {
		sum, err := LoadPaths(ctx, db, paths, loadOpts(t, nil))
		want := "load " + empty + ": the file is empty (0 bytes), nothing was loaded: check the path"
		if len(paths) > 1 {
			want = "load " + empty + " and 1 more: every file named is empty (0 bytes), nothing was loaded: check the path"
		}
		if !errors.Is(err, ErrEmptyFile) || !strings.Contains(err.Error(), want) {
			t.Errorf("load %v: %v, want the empty file named", paths, err)
		}
		if sum.Files != 0 || sum.Records != 0 {
			t.Errorf("load %v: %+v, want nothing looked at", paths, sum)
		}
	}
	if n := queryInt(t, db, "SELECT count(*) FROM dead_letters") + queryInt(t, db, "SELECT count(*) FROM events"); n != 0 {
		t.Errorf("%d rows stored, want none", n)
	}
	if err := CheckNamedFiles([]string{empty}); !errors.Is(err, ErrEmptyFile) {
		t.Errorf("CheckNamedFiles = %v", err)
	}
	// With a file that has content: that one loads, the empty one is a
	// dead letter.
	sum, err := LoadPaths(ctx, db, []string{other, empty}, loadOpts(t, nil))
	if err != nil || sum.Events != 3 || sum.DeadLetters[transform.ReasonEmpty] != 1 {
		t.Errorf("load of a file and an empty one: %+v, %v; want 3 events and 1 empty dead letter", sum, err)
	}
	writeFile(t, empty, joinBytes(records(10, 2), "\n"))
	if sum, err := LoadPaths(ctx, db, []string{empty}, loadOpts(t, nil)); err != nil || sum.Events != 2 {
		t.Errorf("load once written: %+v, %v", sum, err)
	}
}

// TestLoadSkipsDatabases: DuckDB files are not log files. The --db
// database in the directory loaded (faultline load . beside
// faultline.duckdb) is skipped without being opened (reading it and
// closing it released this process's lock on it, and it was stored as a
// dead letter, again at every load); another DuckDB file in a directory is
// skipped too; named on the command line, either is an error saying what
// to do.
func TestLoadSkipsDatabases(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		name    string
		paths   func(dir string) []string
		want    string // error substring, "" for none
		records int64
	}{
		{"directory with the target", func(dir string) []string { return []string{dir} }, "", 6},
		{"directory with another database", func(dir string) []string { return []string{filepath.Join(dir, "sub")} }, "", 3},
		{"directory with only the target", func(dir string) []string { return []string{filepath.Join(dir, "only")} }, "no files found", 0},
		{"target named", func(dir string) []string {
			return []string{filepath.Join(dir, "logs.ndjson"), filepath.Join(dir, "target.duckdb")}
		}, "the --db database itself", 0},
		{"target's write-ahead log named", func(dir string) []string { return []string{filepath.Join(dir, "target.duckdb.wal")} }, "the --db database itself", 0},
		{"another database named", func(dir string) []string { return []string{filepath.Join(dir, "sub", "other.duckdb")} }, "faultline merge", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "logs.ndjson"), joinBytes(records(0, 3), "\n"))
			writeFile(t, filepath.Join(dir, "target.duckdb.wal"), []byte("not yet checkpointed"))
			writeFile(t, filepath.Join(dir, "sub", "logs.ndjson"), joinBytes(records(3, 3), "\n"))
			openDB(t, filepath.Join(dir, "sub", "other.duckdb")).Close()
			db := openDB(t, filepath.Join(dir, "target.duckdb"))
			if err := os.Mkdir(filepath.Join(dir, "only"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(filepath.Join(dir, "target.duckdb"), filepath.Join(dir, "only", "copy.duckdb")); err != nil {
				t.Fatal(err)
			}
			sum, err := LoadPaths(ctx, db, c.paths(dir), loadOpts(t, nil))
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("load: %v, want error %q", err, c.want)
			}
			if c.want == "" && (sum.Records != c.records || sum.DeadLetterTotal() != 0) {
				t.Errorf("load: %+v, want %d records and no dead letter", sum, c.records)
			}
			if n := queryInt(t, db, "SELECT count(*) FROM dead_letters"); n != 0 {
				t.Errorf("%d dead letters, want none", n)
			}
		})
	}
}
