package ingest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
)

// TestCrashExactlyOnce builds the real binary, runs `faultline ingest` as a
// child process and SIGKILLs it at random instants many times, restarting
// it each time, then proves with a checksum over the produced and the
// loaded events that nothing was lost and nothing duplicated.
//
// The binary is built with the build tag faultline_crashtest, which
// compiles ingest/store/commit_crashtest.go in: it sleeps inside every
// commit transaction (FAULTLINE_TEST_COMMIT_DELAY), so that many kills land
// with a transaction open. faultline itself has no such knob. The kill
// instants come from a seed that the test logs; FAULTLINE_TEST_SEED=N
// replays a run.
func TestCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it repeatedly; skipped with -short")
	}
	tmp := t.TempDir()
	bin := testkit.CrashTestBinary(t)
	c := newCluster(t, 4, "trail")
	addr := c.ListenAddrs()[0]
	// Every run gets fresh records, so every run has work to be killed in
	// (a run that finds nothing new exits before the kill).
	const runs, total = 16, 48000
	const chunk = total / runs
	var ids []string
	poison, errorsProduced := 0, 0
	mk := func(from, to int) []rec {
		var out []rec
		for i := from; i < to; i++ {
			if i%1000 == 500 {
				out = append(out, rec{"trail", int32(i % 4), []byte(`{"eventID":`)})
				poison++
				continue
			}
			id := fmt.Sprintf("crash-%06d", i)
			ids = append(ids, id)
			r := ctRecord(id, i)
			if i%5 == 1 { // a failed call: an error, with the role that made it
				r = []byte(strings.Replace(string(r), `"eventType"`, `"errorCode":"InternalFailure","errorMessage":"boom","eventType"`, 1))
				errorsProduced++
			}
			out = append(out, rec{"trail", int32(i % 4), r})
		}
		return out
	}
	dbPath := filepath.Join(tmp, "crash.duckdb")
	rng := rand.New(rand.NewPCG(testkit.RandomSeed(t), 7))
	// runSig runs `faultline ingest`; with kill it sends sig at a random
	// instant unless the run finished first.
	runSig := func(i int, kill bool, sig syscall.Signal) (killed bool) {
		cmd := exec.CommandContext(t.Context(), bin, "ingest", "--db", dbPath, "--brokers", addr, "--topic", "trail=cloudtrail",
			"--group", fmt.Sprintf("crash-%d", i), "--exit-when-caught-up", "--log-format", "json", "--log-level", "warn")
		cmd.Env = append(os.Environ(), "FAULTLINE_TEST_COMMIT_DELAY=40ms", "FAULTLINE_INGEST_BATCH_MAX_EVENTS=250",
			"FAULTLINE_INGEST_BATCH_MAX_WAIT=50ms", "FAULTLINE_KAFKA_FETCH_MAX_WAIT=100ms")
		// A batch of over 100 events into the empty table (the file's
		// first, which the first run commits unless killed before it)
		// checkpoints at its commit, as a big first batch does, so kills
		// land in that checkpoint too.
		cmd.Env = append(cmd.Env, "FAULTLINE_TEST_DIRECT_COMMIT_EVENTS=100")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if kill {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run %d exited before the kill: %v\n%s", i, err, stderr.String())
				}
				return false
			case <-time.After(time.Duration(150+rng.IntN(700)) * time.Millisecond):
				_ = cmd.Process.Signal(sig)
				err := <-done
				if sig != syscall.SIGKILL && err != nil {
					t.Fatalf("run %d after %v: %v (want a clean exit)\n%s", i, sig, err, stderr.String())
				}
				return true
			}
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("final run: %v\n%s", err, stderr.String())
			}
		case <-time.After(90 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("final run did not catch up in 90s\n%s", stderr.String())
		}
		return false
	}
	run := func(i int, kill bool) bool { return runSig(i, kill, syscall.SIGKILL) }
	loaded := func() int64 {
		db, err := store.Open(context.Background(), dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		return queryInt(t, db, "SELECT count(*) FROM events")
	}
	kills, progressed := 0, 0
	var counts []int64
	prev := int64(0)
	for i := 0; i < runs; i++ {
		produce(t, c.ListenAddrs(), mk(i*chunk, (i+1)*chunk))
		if run(i, true) {
			kills++
		}
		if n := loaded(); n > prev {
			progressed++
			prev = n
		}
		counts = append(counts, prev)
	}
	t.Logf("events stored after each killed run: %v", counts)
	if progressed < 4 {
		t.Errorf("only %d killed runs committed anything; the kills did not land mid-stream", progressed)
	}
	// SIGTERM: graceful, exit status 0, what was read is committed.
	produce(t, c.ListenAddrs(), mk(total, total+2000))
	runSig(50, true, syscall.SIGTERM)
	run(99, false)
	t.Logf("%d kills, then a clean run", kills)
	if kills < runs/2 {
		t.Errorf("only %d of %d runs were killed; the test did not exercise crashes", kills, runs)
	}

	db := openDB(t, dbPath)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE TEMP TABLE produced (event_id VARCHAR)"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(ids); i += 1000 {
		end := min(i+1000, len(ids))
		if _, err := conn.ExecContext(ctx, "INSERT INTO produced SELECT unnest(?::VARCHAR[])", ids[i:end]); err != nil {
			t.Fatal(err)
		}
	}
	checksum := func(table string) string {
		var s string
		q := fmt.Sprintf("SELECT concat_ws(' ', count(*), count(DISTINCT event_id), sum(hash(event_id))) FROM %s", table)
		if err := conn.QueryRowContext(ctx, q).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	want, got := checksum("produced"), checksum("events")
	t.Logf("checksum (count, distinct, sum of hashes): produced %s, loaded %s", want, got)
	if got != want {
		var missing, dups int64
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM produced WHERE event_id NOT IN (SELECT event_id FROM events)").Scan(&missing); err != nil {
			t.Error(err)
		}
		if err := conn.QueryRowContext(ctx, "SELECT count(*) - count(DISTINCT event_id) FROM events").Scan(&dups); err != nil {
			t.Error(err)
		}
		t.Fatalf("loaded events differ from produced: %d missing, %d duplicated", missing, dups)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM dead_letters"); n != int64(poison) {
		t.Errorf("dead letters = %d, want %d (each poison message exactly once)", n, poison)
	}
	if n := queryInt(t, db, "SELECT count(DISTINCT (src_partition, src_offset)) FROM dead_letters"); n != int64(poison) {
		t.Errorf("distinct dead letter positions = %d, want %d", n, poison)
	}
	if n := queryInt(t, db, "SELECT sum(next_offset) FROM ingest_offsets WHERE source = 'kafka:trail'"); n != total+2000 {
		t.Errorf("stored offsets sum = %d, want %d", n, total+2000)
	}
	// The rollups committed with the events equal a recomputation from
	// them, after the kills and with late events: the record times wrap
	// every hour, so later runs add rows to minutes rolled up before.
	if err := db.CheckRollups(ctx); err != nil {
		t.Error(err)
	}
	if n := queryInt(t, db, "SELECT sum(errors) FROM error_minutes WHERE role = 'role:deployer/ci'"); n != int64(errorsProduced) {
		t.Errorf("error_minutes holds %d errors, want the %d produced", n, errorsProduced)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM changes"); n != int64(len(ids)-errorsProduced) {
		t.Errorf("changes holds %d rows, want %d", n, len(ids)-errorsProduced)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM (SELECT minute FROM activity_minutes GROUP BY minute
		HAVING count(DISTINCT (src, part, first_offset)) > 4)`); n == 0 {
		t.Error("no minute holds rows of several commits of a partition: the test made no late events")
	}
	if n := queryInt(t, db, `SELECT count(*) FROM activity_minutes a JOIN ingest_offsets o ON o.source = a.src AND o.part = a.part
		WHERE a.next_offset > o.next_offset OR a.first_offset >= a.next_offset`); n != 0 {
		t.Errorf("%d activity_minutes rows have a range beyond the stored position or empty", n)
	}
}
