//go:build integration

package integration

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
)

// TestIngestEveryFormat: real files of every input format go through
// `faultline produce` -> Apache Kafka -> `faultline ingest` and land in
// DuckDB exactly as `faultline load` loads the same files; a second ingest
// run resumes from the stored offsets and adds only what is new.
func TestIngestEveryFormat(t *testing.T) {
	dir := t.TempDir()
	otlp := filepath.Join(dir, "otlp.json")
	writeFile(t, otlp, `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}},{"key":"cloud.region","value":{"stringValue":"us-east-1"}}]},"scopeLogs":[{"logRecords":[`+
		`{"timeUnixNano":"1760944323120000000","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"DynamoDB timeout"}},`+
		`{"timeUnixNano":"1760944324120000000","severityNumber":9,"severityText":"INFO","body":{"stringValue":"retrying"}}]}]}]}`)
	app := appEvents(t, dir, "every", 0, 300)
	inputs := []struct {
		format string
		paths  []string
	}{
		{"cloudtrail", []string{filepath.Join(samples, "cloudtrail")}},
		{"cloudwatch", []string{filepath.Join(samples, "cloudwatch")}},
		{"awsevents", []string{filepath.Join(samples, "events")}},
		{"app", []string{app}},
		{"otlp", []string{otlp}},
	}
	var topicArgs []string
	topics := map[string]string{}
	for _, in := range inputs {
		topic := newTopic(t, 3)
		topics[in.format] = topic
		runFaultline(t, append([]string{"produce", "--brokers", brokerAddr(t), "--topic", topic, "--format", in.format}, in.paths...)...)
		topicArgs = append(topicArgs, "--topic", topic+"="+in.format)
	}
	dbPath := filepath.Join(dir, "kafka.duckdb")
	group := "it-every-" + fmt.Sprint(rand.Uint32())
	runIngest(t, nil, append([]string{"--db", dbPath, "--brokers", brokerAddr(t), "--group", group}, topicArgs...)...)

	// The same files loaded directly.
	loadDB := filepath.Join(dir, "load.duckdb")
	for _, in := range inputs {
		runFaultline(t, append([]string{"load", "--db", loadDB, "--format", in.format}, in.paths...)...)
	}
	perSource := func(path string) map[string]int64 {
		db := openStore(t, path)
		defer db.Close()
		rows, err := db.QueryContext(t.Context(), `SELECT source || '/' || kind, count(*) FROM events GROUP BY ALL`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int64{}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			out[k] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	viaKafka, viaFiles := perSource(dbPath), perSource(loadDB)
	t.Logf("events by source/kind via Kafka: %v", viaKafka)
	if len(viaKafka) == 0 {
		t.Fatal("no events ingested")
	}
	for k, n := range viaFiles {
		if viaKafka[k] != n {
			t.Errorf("%s: %d events via Kafka, %d via faultline load", k, viaKafka[k], n)
		}
	}
	for k, n := range viaKafka {
		if _, ok := viaFiles[k]; !ok {
			t.Errorf("%s: %d events via Kafka, none via faultline load", k, n)
		}
	}
	for _, src := range []string{"cloudtrail", "cloudwatch", "app", "config", "alarm"} {
		found := false
		for k := range viaKafka {
			found = found || strings.HasPrefix(k, src+"/")
		}
		if !found {
			t.Errorf("no %s events came through Kafka", src)
		}
	}

	// Every message is accounted for: decoded (events carry their offset) or
	// a dead letter; the stored offsets are the ends of the partitions.
	db := openStore(t, dbPath)
	for format, topic := range topics {
		var msgs int64
		for _, e := range partitionEnds(t, topic) {
			msgs += e[1] - e[0]
		}
		seen := queryInt(t, db, `SELECT count(*) FROM (SELECT DISTINCT src_partition, src_offset FROM events WHERE src_topic = ? UNION SELECT DISTINCT src_partition, src_offset FROM dead_letters WHERE src_topic = ?)`, topic, topic)
		stored := queryInt(t, db, `SELECT coalesce(sum(next_offset), 0) FROM ingest_offsets WHERE source = ?`, "kafka:"+topic)
		if stored != msgs {
			t.Errorf("%s: stored offsets sum to %d, want the %d messages", format, stored, msgs)
		}
		if seen > msgs {
			t.Errorf("%s: %d positions stored for %d messages", format, seen, msgs)
		}
		if format == "app" && seen != msgs {
			t.Errorf("app: %d of %d messages produced events", seen, msgs)
		}
	}
	checkExactlyOnce(t, db, topics["app"], "every", 300)
	db.Close()

	// Restart from stored offsets: only the new messages are added.
	more := appEvents(t, dir, "every", 300, 200)
	runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topics["app"], more)
	runIngest(t, nil, append([]string{"--db", dbPath, "--brokers", brokerAddr(t), "--group", group}, topicArgs...)...)
	db = openStore(t, dbPath)
	checkExactlyOnce(t, db, topics["app"], "every", 500)
	for k, n := range perSource(dbPath) {
		if !strings.HasPrefix(k, "app/") && viaKafka[k] != n {
			t.Errorf("%s: %d events after the second run, %d before: nothing new was produced there", k, n, viaKafka[k])
		}
	}
}

// TestIngestBrokerRestart: `faultline ingest` keeps running while the broker
// is stopped (SIGTERM) and crashes (SIGKILL) mid-stream and comes back; it
// ends with every event exactly once.
func TestIngestBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	topic := newTopic(t, 3)
	group := topic + "-group"
	dbPath := filepath.Join(dir, "restart.duckdb")
	const chunk = 1000
	produceChunk := func(i int) {
		runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic, appEvents(t, dir, "restart", i*chunk, chunk))
	}
	produceChunk(0)
	p := startIngest(t, nil, "--db", dbPath, "--brokers", brokerAddr(t), "--group", group, "--topic", topic+"=app")
	waitGroupCaughtUp(t, group, topic, 3, 2*time.Minute)
	produceChunk(1)
	kafkactl(t, "stop")
	time.Sleep(2 * time.Second)
	kafkactl(t, "start")
	produceChunk(2)
	kafkactl(t, "kill")
	time.Sleep(2 * time.Second)
	kafkactl(t, "start")
	produceChunk(3)
	waitGroupCaughtUp(t, group, topic, 3, 3*time.Minute)
	p.signal(t, syscall.SIGTERM)
	if strings.Contains(p.stderr.String(), `"level":"ERROR"`) {
		t.Logf("ingest logged errors while the broker was down (expected, it retried):\n%.2000s", p.stderr)
	}
	db := openStore(t, dbPath)
	checkExactlyOnce(t, db, topic, "restart", 4*chunk)
}

// TestIngestSIGKILL: `faultline ingest` is SIGKILLed at random instants
// and restarted, against Apache Kafka; at the end every event is stored
// exactly once. It runs the crash-test build of faultline
// (testkit.CrashTestBinary), whose commits sleep inside the transaction
// (FAULTLINE_TEST_COMMIT_DELAY) so that some kills land there. The seed of
// the kill instants is logged; FAULTLINE_TEST_SEED=N replays it.
func TestIngestSIGKILL(t *testing.T) {
	dir := t.TempDir()
	topic := newTopic(t, 4)
	dbPath := filepath.Join(dir, "crash.duckdb")
	// Every run gets fresh records, so every run has work to be killed in:
	// with one big backlog, a fast machine consumed it in the first runs
	// and the later ones exited, caught up, before their kill.
	const runs, chunk = 12, 4000
	const total = runs * chunk
	env := []string{"FAULTLINE_TEST_COMMIT_DELAY=25ms", "FAULTLINE_INGEST_BATCH_MAX_EVENTS=250"}
	rng := rand.New(rand.NewPCG(testkit.RandomSeed(t), 9))
	bin := testkit.CrashTestBinary(t)
	kills, progressed := 0, 0
	var stored []int64
	for i := range runs {
		runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic, appEvents(t, dir, "crash", i*chunk, chunk))
		p := startIngestBin(t, bin, env, "--db", dbPath, "--brokers", brokerAddr(t), "--group", fmt.Sprintf("%s-%d", topic, i), "--topic", topic+"=app", "--exit-when-caught-up")
		select {
		case err := <-p.done:
			if err != nil {
				t.Fatalf("run %d: %v\n%s", i, err, p.stderr)
			}
			p.done <- err
		case <-time.After(time.Duration(200+rng.IntN(800)) * time.Millisecond):
			p.signal(t, syscall.SIGKILL)
			kills++
		}
		db := openStore(t, dbPath)
		n := queryInt(t, db, `SELECT count(*) FROM events`)
		db.Close()
		if len(stored) == 0 || n > stored[len(stored)-1] {
			progressed++
		}
		stored = append(stored, n)
	}
	t.Logf("events stored after each run: %v", stored)
	if progressed < 4 {
		t.Errorf("only %d runs stored anything new: the kills did not land mid-stream", progressed)
	}
	startIngestBin(t, bin, env, "--db", dbPath, "--brokers", brokerAddr(t), "--group", topic+"-final", "--topic", topic+"=app",
		"--exit-when-caught-up").wait(t, 3*time.Minute)
	t.Logf("%d of %d runs killed", kills, runs)
	if kills < runs/3 {
		t.Errorf("only %d runs were killed mid-stream; the test did not exercise crashes", kills)
	}
	db := openStore(t, dbPath)
	checkExactlyOnce(t, db, topic, "crash", total)
	if n := queryInt(t, db, `SELECT sum(next_offset) FROM ingest_offsets WHERE source = ?`, "kafka:"+topic); n != total {
		t.Errorf("stored offsets sum to %d, want %d", n, total)
	}
}

// TestIngestConsumerGroup: two `faultline ingest` processes in one consumer
// group share the partitions, each writing its own DuckDB file; when one is
// SIGKILLed the other takes over its partitions at the group's committed
// offsets: nothing is lost, and at most A's last batch (committed to its
// file, its Kafka offset commit not yet acknowledged) is in both files.
func TestIngestConsumerGroup(t *testing.T) {
	dir := t.TempDir()
	const parts = 6
	topic := newTopic(t, parts)
	group := topic + "-group"
	dbA, dbB := filepath.Join(dir, "a.duckdb"), filepath.Join(dir, "b.duckdb")
	const chunk = 1500
	produceChunk := func(i int) {
		runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic, appEvents(t, dir, "group", i*chunk, chunk))
	}
	const batch = 200 // small batches, so that the bound below is meaningful
	env := []string{"FAULTLINE_KAFKA_SESSION_TIMEOUT=6s", fmt.Sprintf("FAULTLINE_INGEST_BATCH_MAX_EVENTS=%d", batch)}
	a := startIngest(t, env, "--db", dbA, "--brokers", brokerAddr(t), "--group", group, "--topic", topic+"=app")
	b := startIngest(t, env, "--db", dbB, "--brokers", brokerAddr(t), "--group", group, "--topic", topic+"=app")
	waitGroupMembers(t, group, 2, 2*time.Minute) // both own partitions before any data
	produceChunk(0)
	waitGroupCaughtUp(t, group, topic, parts, 3*time.Minute)
	produceChunk(1)
	time.Sleep(500 * time.Millisecond)
	a.signal(t, syscall.SIGKILL) // mid-stream, probably mid-batch
	produceChunk(2)
	waitGroupCaughtUp(t, group, topic, parts, 3*time.Minute)
	b.signal(t, syscall.SIGTERM)

	A, B := openStore(t, dbA), openStore(t, dbB)
	nA := queryInt(t, A, `SELECT count(*) FROM events`)
	nB := queryInt(t, B, `SELECT count(*) FROM events`)
	partsA := queryInt(t, A, `SELECT count(DISTINCT src_partition) FROM events`)
	t.Logf("process A stored %d events from %d partitions before it was killed, B %d", nA, partsA, nB)
	if nA == 0 || partsA >= parts {
		t.Errorf("A stored %d events from %d of %d partitions: the two processes did not share the partitions", nA, partsA, parts)
	}
	// Each file on its own: no position twice.
	for name, db := range map[string]*store.DB{"A": A, "B": B} {
		if dup := queryInt(t, db, `SELECT count(*) FROM (SELECT src_partition, src_offset FROM events GROUP BY ALL HAVING count(*) > 1)`); dup != 0 {
			t.Errorf("file %s: %d positions stored twice", name, dup)
		}
	}
	// Together: every event at least once (zero loss).
	union := map[string]int{}
	for _, db := range []*store.DB{A, B} {
		func() {
			rows, err := db.QueryContext(t.Context(), `SELECT trace_id FROM events`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				union[id]++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
		}()
	}
	missing, twice := 0, 0
	for i := range 3 * chunk {
		switch union[fmt.Sprintf("group-%d", i)] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d events are in neither file: lost", missing, 3*chunk)
	}
	t.Logf("%d events are in both files (before B started A's partitions at the group's offsets: 1,300-8,000)", twice)
	if twice > batch {
		t.Errorf("%d events are in both files, want at most one batch (%d): B did not start A's partitions at the group's committed offsets", twice, batch)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
