//go:build integration

package integration

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/segmentio/kafka-go"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/transform/simulate"
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
		return startReadyIngest(t, env, "--db", dbs[name], "--brokers", brokerAddr(t), "--group", group,
			"--topic", topic+"=app", "--parquet-dir", segs)
	}
	procs := map[string]*ingestProc{"a": start("a"), "b": start("b"), "c": start("c")}
	waitGroupMembers(t, group, 3, 2*time.Minute, procs["a"], procs["b"], procs["c"])
	produceChunk(0)
	waitGroupCaughtUp(t, group, topic, parts, 3*time.Minute)
	produceChunk(1)
	time.Sleep(300 * time.Millisecond)
	procs["c"].signal(t, syscall.SIGKILL) // mid-stream
	produceChunk(2)
	procs["c"] = start("c") // the same file again; up, so SIGTERM stops it cleanly
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
	if _, err := db.ExecContext(t.Context(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return db
}

func parquetCount(t *testing.T, glob, q string) int64 {
	t.Helper()
	var n int64
	if err := parquetDB(t, glob).QueryRowContext(t.Context(), q).Scan(&n); err != nil {
		t.Fatalf("%s over %s: %v", q, glob, err)
	}
	return n
}

func parquetStrings(t *testing.T, glob, q string) []string {
	t.Helper()
	rows, err := parquetDB(t, glob).QueryContext(t.Context(), q)
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
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestScaleOutRelay: a simulated outage goes through real Kafka to three
// `faultline ingest` processes of one group, each with its own file and the
// relay on, and one `faultline serve` that only applies the relay topic.
// The root-cause change and the errors it caused are on different topics
// and partitions, so in different processes' files. One ingest process is
// killed (SIGKILL) mid-stream and restarted. The serving process then
// holds exactly the errors per (service, region, minute) and the changes
// of a single-process run over the same data (no lost or duplicated unit),
// and ranks the same suspects with the same scores, the same cascade and
// regions. The Parquet segments of the three hold every event once.
func TestScaleOutRelay(t *testing.T) {
	dir := t.TempDir()
	sc, err := simulate.Generate(simulate.FamilyLBChange, 7, simulate.Options{Duration: 90 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := sc.Messages()
	if err != nil {
		t.Fatal(err)
	}
	const parts = 3
	var topicArgs []string
	renamed := map[string]string{}
	for _, name := range simulate.Topics {
		tn := newTopic(t, parts)
		renamed[name] = tn
		topicArgs = append(topicArgs, "--topic", tn+"="+simulate.TopicFormats[name])
	}
	// each topic's messages in two halves, the second while a process dies
	produceHalf := func(half int) {
		for name, ms := range msgs {
			w := &kafka.Writer{Addr: kafka.TCP(brokerAddr(t)), Topic: renamed[name], Balancer: &kafka.Hash{},
				BatchSize: 500, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll, BatchBytes: 16 << 20}
			from, to := 0, len(ms)/2
			if half == 1 {
				from, to = len(ms)/2, len(ms)
			}
			var kms []kafka.Message
			for _, m := range ms[from:to] {
				kms = append(kms, kafka.Message{Key: m.Key, Value: m.Value, Time: m.Time})
			}
			if _, err := retryWrite(t.Context(), w, kms); err != nil {
				t.Fatalf("produce %s: %v", name, err)
			}
			w.Close()
		}
	}
	produceHalf(0)
	produceHalf(1)

	// The reference: one process, one file.
	single := filepath.Join(dir, "single.duckdb")
	runIngest(t, nil, append([]string{"--db", single, "--brokers", brokerAddr(t), "--group", renamed["cloudtrail"] + "-single"}, topicArgs...)...)

	// Scale-out: the same topics, read by another group from the start.
	relayTopic := renamed["cloudtrail"] + "-relay"
	group := renamed["cloudtrail"] + "-scale"
	segs := filepath.Join(dir, "segments")
	env := []string{"FAULTLINE_KAFKA_SESSION_TIMEOUT=6s", "FAULTLINE_INGEST_BATCH_MAX_EVENTS=500",
		"FAULTLINE_RELAY_TOPIC=" + relayTopic, "FAULTLINE_RELAY_INTERVAL=200ms", "FAULTLINE_PARQUET_INTERVAL=500ms"}
	dbs := map[string]string{}
	start := func(name string) *ingestProc {
		dbs[name] = filepath.Join(dir, name+".duckdb")
		return startReadyIngest(t, env, append([]string{"--db", dbs[name], "--brokers", brokerAddr(t), "--group", group,
			"--parquet-dir", segs}, topicArgs...)...)
	}
	procs := map[string]*ingestProc{"a": start("a"), "b": start("b")}
	waitGroupMembers(t, group, 2, 2*time.Minute, procs["a"], procs["b"])
	procs["c"] = start("c")
	time.Sleep(1500 * time.Millisecond) // c joins, the group rebalances, reading goes on
	procs["c"].signal(t, syscall.SIGKILL)
	procs["c"] = start("c") // up (startReadyIngest), so the SIGTERM below stops it cleanly

	listen := scaleAddr(t)
	all := filepath.Join(dir, "all.duckdb")
	serveCmd := exec.CommandContext(t.Context(), faultlineBin(t), "serve", "--db", all, "--listen", listen,
		"--brokers", brokerAddr(t), "--log-format", "json", "--log-level", "warn")
	serveCmd.Env = append(os.Environ(), "FAULTLINE_RELAY_TOPIC="+relayTopic, "FAULTLINE_RELAY_CONSUME=true")
	var serveErr strings.Builder
	serveCmd.Stderr = &serveErr
	if err := serveCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serveCmd.Process.Kill(); _ = serveCmd.Wait() })

	for _, name := range simulate.Topics {
		waitNonEmptyCaughtUp(t, group, renamed[name], parts, 3*time.Minute)
	}
	for _, p := range procs {
		p.signal(t, syscall.SIGTERM) // publishes the rest of its outbox
	}

	ref := openStore(t, single)
	series := `SELECT k || '=' || n FROM (SELECT coalesce(service,'(none)') || '/' || coalesce(region,'global') || '/' || (epoch_ms(time) // 60000) AS k, count(*) AS n
FROM events WHERE kind = 'error' GROUP BY ALL) ORDER BY 1`
	changes := `SELECT event_id FROM events WHERE kind = 'change' OR source = 'health' ORDER BY 1`
	wantSeries, wantChanges := storeStrings(t, ref, series), storeStrings(t, ref, changes)
	var wantErrors int64
	for _, l := range wantSeries {
		var n int64
		if _, err := fmt.Sscan(l[strings.LastIndex(l, "=")+1:], &n); err != nil {
			t.Fatalf("series line %q: %v", l, err)
		}
		wantErrors += n
	}
	ref.Close()
	// wait until serve has applied everything: its error count reaches the
	// reference's and stays there
	server := "http://" + listen
	var got int64
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got = serveCount(t, server)
		if got == wantErrors {
			time.Sleep(2 * time.Second) // a duplicate would show now
			if got = serveCount(t, server); got != wantErrors {
				t.Errorf("serve holds %d errors after settling, want exactly %d", got, wantErrors)
			}
			break
		}
		if time.Now().After(deadline) {
			var logs strings.Builder
			for name, p := range procs {
				l := p.stderr.String()
				fmt.Fprintf(&logs, "ingest %s: %s\n", name, l[max(0, len(l)-1500):])
			}
			t.Fatalf("serve applied %d errors within 2m, want %d\nserve: %s\n%s", got, wantErrors, serveErr.String(), logs.String())
		}
		time.Sleep(500 * time.Millisecond)
	}

	// The same answers.
	for _, q := range []string{"suspects", "cascade", "regions", "incidents"} {
		want := runFaultline(t, "--db", single, "query", "--named", q, "--format", "json")
		gotq := runFaultline(t, "query", "--server", server, "--named", q, "--format", "json")
		if q == "suspects" {
			w, g := suspectList(t, want), suspectList(t, gotq)
			t.Logf("suspects: single process %v; scale-out %v", head3(w), head3(g))
			if len(w) == 0 || !slices.Equal(w, g) {
				t.Errorf("suspects differ:\n single: %v\n serve:  %v", w, g)
			}
			if len(w) > 0 && !strings.Contains(w[0], sc.Truth.RootCauseEventID) {
				t.Errorf("the top suspect %s is not the root cause %s", w[0], sc.Truth.RootCauseEventID)
			}
			continue
		}
		if want != gotq {
			t.Errorf("%s differs:\n single: %.600s\n serve:  %.600s", q, want, gotq)
		}
	}
	_ = serveCmd.Process.Signal(syscall.SIGTERM)
	_ = serveCmd.Wait()
	agg := openStore(t, all)
	if g := storeStrings(t, agg, series); !slices.Equal(g, wantSeries) {
		t.Errorf("errors per (service, region, minute) in serve's file differ from the single process's (%d vs %d series points)", len(g), len(wantSeries))
	}
	if g := storeStrings(t, agg, changes); !slices.Equal(g, wantChanges) {
		t.Errorf("changes in serve's file: %d, want the single process's %d", len(g), len(wantChanges))
	}
	t.Logf("serve's file: %d errors over %d series points, %d changes and Health events, from %d relayed units",
		wantErrors, len(wantSeries), len(wantChanges), queryInt(t, agg, "SELECT count(*) FROM relay_units"))
	// the root cause and the errors were in different processes' files
	rootIn, errsIn := []string{}, []string{}
	var inFiles int64
	for name, path := range dbs {
		db := openStore(t, path)
		inFiles += queryInt(t, db, "SELECT count(*) FROM events WHERE kind = 'error'")
		if queryInt(t, db, "SELECT count(*) FROM events WHERE event_id = ?", sc.Truth.RootCauseEventID) > 0 {
			rootIn = append(rootIn, name)
		}
		if queryInt(t, db, "SELECT count(*) FROM events WHERE kind = 'error'") > 0 {
			errsIn = append(errsIn, name)
		}
		db.Close()
	}
	sort.Strings(rootIn)
	sort.Strings(errsIn)
	t.Logf("root cause %s in %v, errors in %v; the three files hold %d errors (%d read twice around the kill), serve %d", sc.Truth.RootCauseEventID, rootIn, errsIn, inFiles, inFiles-wantErrors, wantErrors)
	if len(errsIn) < 2 {
		t.Errorf("errors in %v only: the outage did not spread over the processes", errsIn)
	}
	// Parquet: each node's files hold its file's events, and every event
	// once over all segments
	for name, path := range dbs {
		db := openStore(t, path)
		n := queryInt(t, db, `SELECT count(*) FROM events`)
		db.Close()
		host, _ := os.Hostname()
		node := strings.Trim(unsafeChars.ReplaceAllString(host+"-"+name, "_"), "._-")
		var inParquet int64
		if files, _ := filepath.Glob(filepath.Join(segs, "*", "*", "*", node+".parquet")); len(files) > 0 {
			inParquet = parquetCount(t, filepath.Join(segs, "**", node+".parquet"), "SELECT count(*) FROM seg")
		}
		t.Logf("node %s: %d events in its DuckDB file, %d in its Parquet files", node, n, inParquet)
		if inParquet != n {
			var notes []string
			for _, l := range strings.Split(procs[name].stderr.String(), "\n") {
				if strings.Contains(l, "parquet") || strings.Contains(l, "WARN") || strings.Contains(l, "ERROR") || strings.Contains(l, "ingest stopped") {
					notes = append(notes, l)
				}
			}
			t.Errorf("node %s: %d events in Parquet, want its file's %d; its log:\n%s", node, inParquet, n, strings.Join(notes, "\n"))
		}
	}
	ref = openStore(t, single)
	n := queryInt(t, ref, "SELECT count(*) FROM events")
	ref.Close()
	// the files' union (by lineage) holds every event: a shortfall below
	// is then the export's, not ingest's
	lineage := `SELECT concat_ws('/', source, src_topic, src_partition, src_offset, src_file, src_index, event_id) FROM events`
	union := map[string]bool{}
	for _, path := range dbs {
		db := openStore(t, path)
		for _, k := range storeStrings(t, db, lineage) {
			union[k] = true
		}
		db.Close()
	}
	if int64(len(union)) != n {
		t.Errorf("the three files hold %d distinct events (by lineage), want the single process's %d", len(union), n)
	}
	once := parquetCount(t, filepath.Join(segs, "**", "*.parquet"), `SELECT count(*) FROM (SELECT * FROM seg QUALIFY row_number() OVER
	  (PARTITION BY source, src_topic, src_partition, src_offset, src_file, src_index, event_id) = 1)`)
	if once != n {
		t.Errorf("parquet over all segments: %d events after deduplication, want the single process's %d", once, n)
	}
}

// waitNonEmptyCaughtUp is waitGroupCaughtUp for topics that may have
// empty partitions (the group never commits an offset for those).
func waitNonEmptyCaughtUp(t *testing.T, group, topic string, partitions int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	ends := partitionEnds(t, topic)
	for {
		c := groupCommitted(t, group, topic, partitions)
		behind := 0
		for p, e := range ends {
			if e[1] > e[0] && c[p] < e[1] {
				behind++
			}
		}
		if behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s did not commit %s to its end within %s: committed %v, ends %v", group, topic, d, c, ends)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// serveCount is serve's count of error events, -1 while it does not answer.
func serveCount(t *testing.T, server string) int64 {
	out, _, err := tryFaultline(t, "query", "--server", server, "--format", "csv", "SELECT count(*) FROM events WHERE kind = 'error'")
	if err != nil {
		return -1
	}
	var n int64
	if _, err := fmt.Sscan(strings.TrimSpace(out[strings.Index(out, "\n")+1:]), &n); err != nil {
		return -1
	}
	return n
}

func scaleAddr(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func storeStrings(t *testing.T, db *store.DB, q string) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), q)
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
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// suspectList is "incident rank event_id score" per suspect of a JSON answer.
func suspectList(t *testing.T, js string) []string {
	t.Helper()
	var rows []map[string]any
	if err := json.Unmarshal([]byte(js), &rows); err != nil {
		for _, l := range strings.Split(strings.TrimSpace(js), "\n") {
			var r map[string]any
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("suspects answer is not JSON: %.300s", js)
			}
			rows = append(rows, r)
		}
	}
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%v %v %v %.6f", r["incident_id"], r["rank"], r["event_id"], r["score"]))
	}
	return out
}

func head3(s []string) []string { return s[:min(3, len(s))] }
