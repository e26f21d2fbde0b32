//go:build integration && faults

package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ingestEnv is what the fault tests run ingest with: short waits, so the
// tests are quick, and otherwise the defaults.
var ingestEnv = []string{
	"FAULTLINE_INGEST_BATCH_MAX_WAIT=100ms",
	"FAULTLINE_KAFKA_FETCH_MAX_WAIT=100ms",
	"FAULTLINE_INGEST_RETRY_MAX_BACKOFF=2s",
}

// TestFaultDiskFullBatchIngest: the volume of the DuckDB file fills up
// while a batch run commits. The run fails: exit 1, "no space left on
// <volume>" and what to do; the file opens read-only on the full disk with
// every batch committed before intact and its offsets consistent; a run
// started on the still full disk fails the same way; once space is freed a
// rerun stores exactly what was produced.
func TestFaultDiskFullBatchIngest(t *testing.T) {
	vol := mountVolume(t, 48)
	dir := t.TempDir()
	topic := newTopic(t, 3)
	dbPath := vol.path("batch.duckdb")
	const first, second = 5000, 40000
	maddr := freeAddr(t)
	args := []string{"ingest", "--log-format", "json", "--log-level", "warn", "--db", dbPath, "--brokers", brokerAddr(t), "--group", topic, "--topic", topic + "=app", "--exit-when-caught-up"}
	env := append([]string{"FAULTLINE_INGEST_BATCH_MAX_EVENTS=500"}, ingestEnv...)
	runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic, appEvents(t, dir, "disk", 0, first))
	if err := startProc(t, faultlineBin(t), env, args...).exit(t, 3*time.Minute); err != nil {
		t.Fatalf("first run: %v", err)
	}
	runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic, appEvents(t, dir, "disk", first, second))

	p := startProc(t, faultlineBin(t), env, append(args, "--metrics-listen", maddr)...)
	await(t, time.Minute, "the second run commits batches", func() bool {
		return metric(t, "http://"+maddr, "faultline_ingest_batches_total") >= 3
	})
	vol.fill(t)
	start := time.Now()
	if err := p.exit(t, 3*time.Minute); err == nil {
		t.Fatalf("the run exited 0 although the disk filled up\n%s", p.stderr)
	}
	last := lastLine(p.stderr.String())
	t.Logf("exit %s after the disk filled: %s", time.Since(start).Round(100*time.Millisecond), last)
	if !strings.Contains(last, "no space left on "+vol.dir) || !strings.Contains(last, "was not committed") || !strings.Contains(last, "run ingest again") {
		t.Errorf("the last line does not say which volume is full and what to do: %q", last)
	}
	n := storedCounts(t, dbPath, topic)
	t.Logf("%d events stored and consistent with their offsets on the full disk", n)
	if n <= first || n >= first+second {
		t.Errorf("%d events stored after the failed run, want more than the first run's %d and fewer than all %d", n, first, first+second)
	}

	// Started on the full disk: it opens the file and fails at its first commit.
	p = startProc(t, faultlineBin(t), env, args...)
	if err := p.exit(t, 3*time.Minute); err == nil {
		t.Fatalf("a run on the full disk exited 0\n%s", p.stderr)
	}
	if last := lastLine(p.stderr.String()); !strings.Contains(last, "no space left on "+vol.dir) || !strings.Contains(last, "run ingest again") {
		t.Errorf("a run started on the full disk: %q", last)
	}
	if m := storedCounts(t, dbPath, topic); m != n {
		t.Errorf("%d events after a run on the full disk, want the %d before", m, n)
	}

	vol.unfill(t)
	freed := time.Now()
	if err := startProc(t, faultlineBin(t), env, args...).exit(t, 3*time.Minute); err != nil {
		t.Fatalf("rerun after freeing space: %v", err)
	}
	recover := time.Since(freed)
	db := openStore(t, dbPath)
	checkExactlyOnce(t, db, topic, "disk", first+second)
	stored := queryInt(t, db, `SELECT count(*) FROM events`)
	faultReport(t, first+second, stored, stored-queryInt(t, db, `SELECT count(DISTINCT trace_id) FROM events`), queryInt(t, db, `SELECT count(*) FROM dead_letters`), recover)
}

// TestFaultDiskFullLoad: the volume is full when `faultline load` starts
// on four files (one loaded before). The load exits 1 naming the volume and saying to rerun it;
// the file stays consistent; after space is freed the same load resumes
// and stores every event once. In "wal" the batch goes to the WAL (the
// table holds the first file's events); in "checkpoint-at-commit" the file
// is new and empty and the batch of 80,000 events checkpoints at its commit
// (a failed checkpoint invalidates the database).
func TestFaultDiskFullLoad(t *testing.T) {
	for _, tc := range []struct {
		name    string
		per     int
		preload bool // load the first file before the disk fills
	}{{"wal", 8000, true}, {"checkpoint-at-commit", 20000, false}} {
		t.Run(tc.name, func(t *testing.T) {
			vol := mountVolume(t, 40)
			dir := t.TempDir()
			dbPath := vol.path("load.duckdb")
			per := tc.per
			var files []string
			for i := range 4 {
				files = append(files, appEvents(t, dir, "load", i*per, per))
			}
			if tc.preload {
				runFaultline(t, "load", "--db", dbPath, files[0])
			} else if err := openStore(t, dbPath).Close(); err != nil { // a new file, events empty
				t.Fatal(err)
			}
			vol.fill(t)
			p := startProc(t, faultlineBin(t), nil, append([]string{"load", "--db", dbPath, "--log-format", "json"}, files...)...)
			if err := p.exit(t, 3*time.Minute); err == nil {
				t.Fatalf("load on a full disk exited 0\n%s", p.stderr)
			}
			last := lastLine(p.stderr.String())
			t.Logf("load on a full disk: %s", last)
			if !strings.Contains(last, "no space left on "+vol.dir) || !strings.Contains(last, "was not committed") || !strings.Contains(last, "faultline load again") {
				t.Errorf("the last line does not say which volume is full and what to do: %q", last)
			}
			vol.unfill(t)
			freed := time.Now()
			runFaultline(t, append([]string{"load", "--db", dbPath}, files...)...)
			recover := time.Since(freed)
			db := openStore(t, dbPath)
			n := queryInt(t, db, `SELECT count(*) FROM events`)
			distinct := queryInt(t, db, `SELECT count(DISTINCT trace_id) FROM events`)
			if n != int64(4*per) || distinct != int64(4*per) {
				t.Errorf("%d events (%d distinct) after the rerun, want %d once each", n, distinct, 4*per)
			}
			faultReport(t, int64(4*per), n, n-distinct, queryInt(t, db, `SELECT count(*) FROM dead_letters`), recover)
		})
	}
}

// TestFaultDiskFullServe: the volume fills while `faultline serve` ingests.
// serve stays up, /healthz and /readyz answer 503 saying "no space left on
// <volume>", commits are retried with backoff; once space is freed ingest
// catches up by itself and every event is stored once. With a small
// duckdb.checkpoint_threshold the failing write is a checkpoint, after which
// DuckDB invalidates the open database: serve opens the file again.
func TestFaultDiskFullServe(t *testing.T) {
	for _, tc := range []struct{ name, threshold string }{
		{"wal", "256MB"},       // the WAL write fails: the commit fails, the database stays usable
		{"checkpoint", "64KB"}, // every commit checkpoints: DuckDB invalidates the database
	} {
		t.Run(tc.name, func(t *testing.T) {
			vol := mountVolume(t, 48)
			dir := t.TempDir()
			topic := newTopic(t, 3)
			dbPath := vol.path("serve.duckdb")
			addr := freeAddr(t)
			base := "http://" + addr
			cfg := filepath.Join(dir, "faultline.yaml")
			writeFile(t, cfg, fmt.Sprintf("db: %s\nkafka:\n  brokers: [%s]\n  group: %s\n  topics:\n    - name: %s\n      format: app\nserve:\n  listen: %s\nduckdb:\n  checkpoint_threshold: %s\n",
				dbPath, brokerAddr(t), topic, topic, addr, tc.threshold))
			const first, second = 4000, 16000
			runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic, appEvents(t, dir, "serve", 0, first))
			p := startProc(t, faultlineBin(t), ingestEnv, "serve", "--config", cfg, "--log-format", "json", "--log-level", "warn")
			caughtUp := func(n int64) func() bool {
				return func() bool {
					r, ok := getReadyz(t, base)
					var next int64
					for _, pt := range r.Ingest.Partitions {
						next += pt.Next
					}
					return ok && r.Ready && next == n && r.Ingest.Lag == 0
				}
			}
			await(t, 2*time.Minute, "serve ingests the first events", caughtUp(first))

			vol.fill(t)
			runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic, appEvents(t, dir, "serve", first, second))
			var health string
			await(t, time.Minute, "/healthz reports the full disk", func() bool {
				code, body := httpGet(t, base+"/healthz")
				health = body
				return code == 503 && strings.Contains(body, "no space left on "+vol.dir)
			})
			t.Logf("/healthz while the disk is full: %s", strings.TrimSpace(health))
			cpu0 := p.cpuSeconds(t)
			time.Sleep(10 * time.Second)
			if !p.alive() {
				t.Fatalf("serve exited on a full disk\n%s", p.stderr)
			}
			cpu := (p.cpuSeconds(t) - cpu0) / 10
			t.Logf("serve used %.1f%% of a core while the disk was full", 100*cpu)
			if cpu > 0.25 {
				t.Errorf("serve used %.0f%% of a core while retrying on a full disk: a busy loop", 100*cpu)
			}
			if code, _ := httpGet(t, base+"/healthz"); code != 503 {
				t.Errorf("/healthz = %d while the disk is still full, want 503", code)
			}

			vol.unfill(t)
			freed := time.Now()
			recover := await(t, 3*time.Minute, "serve catches up after space is freed", caughtUp(first+second))
			if code, body := httpGet(t, base+"/healthz"); code != 200 {
				t.Errorf("/healthz = %d %q after recovery", code, body)
			}
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			if err := p.exit(t, time.Minute); err != nil {
				t.Fatalf("serve after SIGTERM: %v\n%s", err, p.stderr)
			}
			if strings.Contains(p.stderr.String(), "panic") {
				t.Errorf("serve panicked:\n%s", p.stderr)
			}
			t.Logf("recovered %s after space was freed; serve logged:\n%.3000s", time.Since(freed).Round(100*time.Millisecond), p.stderr)
			db := openStore(t, dbPath)
			checkExactlyOnce(t, db, topic, "serve", first+second)
			n := queryInt(t, db, `SELECT count(*) FROM events`)
			faultReport(t, first+second, n, n-queryInt(t, db, `SELECT count(DISTINCT trace_id) FROM events`), queryInt(t, db, `SELECT count(*) FROM dead_letters`), recover)
		})
	}
}

// TestFaultSpillVolumeFull: a query bigger than DuckDB's memory_limit
// spills to duckdb.temp_directory; when that volume is full the query fails
// with "no space left on <volume>" and what to do, the file is untouched,
// and the same query succeeds once the volume is larger.
func TestFaultSpillVolumeFull(t *testing.T) {
	vol := mountVolume(t, 16)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "spill.duckdb")
	runFaultline(t, "load", "--db", dbPath, appEvents(t, dir, "spill", 0, 2000))
	env := []string{"FAULTLINE_DUCKDB_TEMP_DIRECTORY=" + vol.path("tmp"), "FAULTLINE_DUCKDB_MEMORY_LIMIT=64MB", "FAULTLINE_DUCKDB_THREADS=1"}
	query := []string{"query", "--db", dbPath, "--format", "csv",
		"SELECT count(*) AS n, count(DISTINCT m) AS d FROM (SELECT md5(range::VARCHAR) || e.trace_id AS m FROM range(3000) CROSS JOIN (SELECT trace_id FROM events LIMIT 1000) e ORDER BY m)"}
	p := startProc(t, faultlineBin(t), env, query...)
	if err := p.exit(t, 3*time.Minute); err == nil {
		t.Fatalf("the spilling query succeeded on a 16 MiB temp volume: %s", p.stdout)
	}
	last := lastLine(p.stderr.String())
	t.Logf("spill on a full volume: %s", last)
	if !strings.Contains(last, "no space left on "+vol.path("tmp")) || !strings.Contains(last, "duckdb.temp_directory") {
		t.Errorf("the error does not name the spill directory and what to do: %q", last)
	}
	vol.resize(t, 1024)
	start := time.Now()
	p = startProc(t, faultlineBin(t), env, query...)
	if err := p.exit(t, 5*time.Minute); err != nil {
		t.Fatalf("the query on a 1 GiB temp volume: %v\n%s", err, p.stderr)
	}
	if got := strings.TrimSpace(p.stdout.String()); got != "n,d\n3000000,3000000" {
		t.Errorf("query result %q, want 3000000 rows", got)
	}
	db := openStore(t, dbPath)
	if n := queryInt(t, db, `SELECT count(*) FROM events`); n != 2000 {
		t.Errorf("%d events after the failed query, want 2000", n)
	}
	faultReport(t, 2000, 2000, 0, 0, time.Since(start))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
