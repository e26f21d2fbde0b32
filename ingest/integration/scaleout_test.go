//go:build integration

package integration

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

// TestScaleOutParquet: three `faultline ingest` processes in one consumer
// group export their events as Parquet segments into one directory; one of
// them is killed (SIGKILL) mid-stream and restarted. After a clean stop,
// the segments read with DuckDB's read_parquet(hive_partitioning) and the
// deduplication of docs/operations.md hold every produced event exactly
// once, each node's files hold exactly what its DuckDB file holds, and the
// hours and sources are the path partitions.
func TestScaleOutParquet(t *testing.T) {
	dir := t.TempDir()
	segs := filepath.Join(dir, "segments")
	const parts = 6
	topic := newTopic(t, parts)
	group := topic + "-group"
	const chunk = 3000 // one event per second: 3 chunks span 07:00-09:30
	produceChunk := func(i int) {
		runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic, appEvents(t, dir, "seg", i*chunk, chunk))
	}
	env := []string{"FAULTLINE_KAFKA_SESSION_TIMEOUT=6s", "FAULTLINE_INGEST_BATCH_MAX_EVENTS=200",
		"FAULTLINE_PARQUET_INTERVAL=500ms"}
	dbs := map[string]string{}
	start := func(name string) *ingestProc {
		dbs[name] = filepath.Join(dir, name+".duckdb")
		return startIngest(t, env, "--db", dbs[name], "--brokers", brokerAddr(t), "--group", group,
			"--topic", topic+"=app", "--parquet-dir", segs)
	}
	procs := map[string]*ingestProc{"a": start("a"), "b": start("b"), "c": start("c")}
	waitGroupMembers(t, group, 3, 2*time.Minute)
	produceChunk(0)
	waitGroupCaughtUp(t, group, topic, parts, 3*time.Minute)
	produceChunk(1)
	time.Sleep(300 * time.Millisecond)
	procs["c"].signal(t, syscall.SIGKILL) // mid-stream
	produceChunk(2)
	procs["c"] = start("c") // the same file again
	waitGroupCaughtUp(t, group, topic, parts, 3*time.Minute)
	for _, p := range procs {
		p.signal(t, syscall.SIGTERM) // a clean stop writes the open hour too
	}

	// Each node's files hold exactly its file's events, per segment.
	for name, path := range dbs {
		db := openStore(t, path)
		n := queryInt(t, db, `SELECT count(*) FROM events`)
		host, _ := os.Hostname()
		node := strings.Trim(unsafeChars.ReplaceAllString(host+"-"+name, "_"), "._-")
		inParquet := parquetCount(t, filepath.Join(segs, "**", node+".parquet"), "SELECT count(*) FROM seg")
		t.Logf("node %s: %d events in its DuckDB file, %d in its Parquet files", node, n, inParquet)
		if n == 0 || inParquet != n {
			t.Errorf("node %s: %d events in Parquet, want its file's %d (and more than 0)", node, inParquet, n)
		}
		db.Close()
	}

	all := filepath.Join(segs, "**", "*.parquet")
	raw := parquetCount(t, all, "SELECT count(*) FROM seg")
	// The documented view: one row per record's event (lineage).
	dedup := `SELECT count(*) FROM (SELECT * FROM seg QUALIFY row_number() OVER
	  (PARTITION BY source, src_topic, src_partition, src_offset, src_file, src_index, event_id) = 1)`
	once := parquetCount(t, all, dedup)
	ids := parquetCount(t, all, `SELECT count(DISTINCT trace_id) FROM seg WHERE starts_with(trace_id, 'seg-')`)
	t.Logf("parquet: %d rows over all segments, %d after the lineage deduplication (%d in two nodes' files after the kill), %d distinct ids", raw, once, raw-once, ids)
	if once != 3*chunk || ids != 3*chunk {
		t.Errorf("parquet over all segments: %d events after deduplication, %d distinct ids; want exactly %d", once, ids, 3*chunk)
	}
	hours := parquetStrings(t, all, `SELECT DISTINCT date::VARCHAR || ' ' || hour || ' ' || source FROM seg ORDER BY 1`)
	if got := strings.Join(hours, ","); got != "2025-10-20 07 app,2025-10-20 08 app,2025-10-20 09 app" {
		t.Errorf("partitions = %s, want the hours 07, 08 and 09 of source app", got)
	}
	if left, _ := filepath.Glob(filepath.Join(segs, "*", "*", "*", "*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left after a clean stop: %v", left)
	}
}

func parquetDB(t *testing.T, glob string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q := fmt.Sprintf(`CREATE VIEW seg AS SELECT * FROM read_parquet('%s', hive_partitioning = true,
	  hive_types = {'date': DATE, 'hour': VARCHAR, 'source': VARCHAR})`, glob)
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return db
}

func parquetCount(t *testing.T, glob, q string) int64 {
	t.Helper()
	var n int64
	if err := parquetDB(t, glob).QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s over %s: %v", q, glob, err)
	}
	return n
}

func parquetStrings(t *testing.T, glob, q string) []string {
	t.Helper()
	rows, err := parquetDB(t, glob).Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
