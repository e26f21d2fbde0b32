//go:build integration && faults

package integration

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func flipBytes(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04}, at); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestFaultDamagedFile damages copies of a real faultline file: a torn
// (truncated) WAL, bytes flipped in the WAL, bytes flipped in the file's
// header and in its data, a truncated file. Each gives either a consistent
// file (a torn WAL: DuckDB drops the torn transaction, positions included)
// or a one-line error naming the file and what to do; never a panic. serve
// on a damaged file stays up and says so on /healthz instead of exiting
// into a restart loop. The documented recoveries (move the WAL aside;
// move the file aside and rebuild it from Kafka) end with every event
// exactly once.
func TestFaultDamagedFile(t *testing.T) {
	dir := t.TempDir()
	topic := newTopic(t, 3)
	group := topic
	const first, second = 20000, 5000
	ingestArgs := func(db string) []string {
		return []string{"ingest", "--log-format", "json", "--log-level", "warn", "--db", db, "--brokers", brokerAddr(t),
			"--group", group, "--topic", topic + "=app", "--exit-when-caught-up"}
	}
	// base: a clean, checkpointed file; crashed: the same plus a WAL of
	// committed batches, left by a SIGKILL.
	base := filepath.Join(dir, "base.duckdb")
	runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic, appEvents(t, dir, "dmg", 0, first))
	if err := startProc(t, faultlineBin(t), ingestEnv, ingestArgs(base)...).exit(t, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(dir, "crashed.duckdb")
	copyFile(t, base, crashed)
	runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic, appEvents(t, dir, "dmg", first, second))
	maddr := freeAddr(t)
	p := startProc(t, faultlineBin(t), ingestEnv, "ingest", "--log-format", "json", "--log-level", "warn", "--db", crashed,
		"--brokers", brokerAddr(t), "--group", group, "--topic", topic+"=app", "--metrics-listen", maddr)
	await(t, 2*time.Minute, "the streaming run stores the second chunk", func() bool {
		r, ok := getReadyz(t, "http://"+maddr)
		var next int64
		for _, pt := range r.Ingest.Partitions {
			next += pt.Next
		}
		return ok && next == first+second
	})
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.exit(t, time.Minute)
	walSize := fileSize(t, crashed+".wal")
	t.Logf("file %d bytes, WAL %d bytes after the SIGKILL", fileSize(t, crashed), walSize)

	variant := func(name, from string, damage func(db string)) string {
		db := filepath.Join(dir, name+".duckdb")
		copyFile(t, from, db)
		if _, err := os.Stat(from + ".wal"); err == nil {
			copyFile(t, from+".wal", db+".wal")
		}
		damage(db)
		return db
	}
	// ingestFails runs a batch ingest on db and returns its last line; it
	// must fail, naming db, without a panic.
	ingestFails := func(db string) string {
		t.Helper()
		p := startProc(t, faultlineBin(t), ingestEnv, ingestArgs(db)...)
		if err := p.exit(t, 3*time.Minute); err == nil {
			t.Fatalf("ingest on the damaged %s exited 0", db)
		}
		if s := p.stderr.String(); strings.Contains(s, "panic") || strings.Contains(s, "SIGSEGV") {
			t.Fatalf("ingest on the damaged %s panicked:\n%s", db, s)
		}
		last := lastLine(p.stderr.String())
		if !strings.Contains(last, db) {
			t.Errorf("the error does not name the file %s: %q", db, last)
		}
		return last
	}
	finish := func(db string, recoverStart time.Time) {
		t.Helper()
		if err := startProc(t, faultlineBin(t), ingestEnv, ingestArgs(db)...).exit(t, 3*time.Minute); err != nil {
			t.Fatalf("ingest after the recovery: %v", err)
		}
		took := time.Since(recoverStart)
		s := openStore(t, db)
		checkExactlyOnce(t, s, topic, "dmg", first+second)
		n := queryInt(t, s, `SELECT count(*) FROM events`)
		faultReport(t, first+second, n, n-queryInt(t, s, `SELECT count(DISTINCT trace_id) FROM events`), queryInt(t, s, `SELECT count(*) FROM dead_letters`), took)
		s.Close()
	}

	t.Run("torn WAL", func(t *testing.T) {
		db := variant("torn-wal", crashed, func(db string) {
			if err := os.Truncate(db+".wal", walSize*6/10); err != nil {
				t.Fatal(err)
			}
		})
		// DuckDB replays the whole transactions and drops the torn one,
		// offsets included: ingest re-reads the rest from Kafka.
		finish(db, time.Now())
	})

	t.Run("bytes flipped in the WAL", func(t *testing.T) {
		db := variant("flip-wal", crashed, func(db string) { flipBytes(t, db+".wal", walSize/2) })
		last := ingestFails(db)
		t.Logf("%s", last)
		if !strings.Contains(last, "write-ahead log") || !strings.Contains(last, "mv "+db+".wal") {
			t.Errorf("the error does not say to move the WAL aside: %q", last)
		}
		start := time.Now()
		if err := os.Rename(db+".wal", db+".wal.damaged"); err != nil { // what the message says
			t.Fatal(err)
		}
		finish(db, start)
	})

	for _, tc := range []struct {
		name   string
		damage func(db string)
		// atOpen: DuckDB finds the damage when it opens the file, so a
		// serve without ingest meets it too (a truncated file is found by
		// the first read of a missing block: ingest's read of its offsets).
		atOpen bool
	}{
		{"bytes flipped in the header", func(db string) { flipBytes(t, db, 4096+100) }, true},
		{"truncated file", func(db string) {
			if err := os.Truncate(db, fileSize(t, db)/2); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := variant(strings.ReplaceAll(tc.name, " ", "-"), base, tc.damage)
			last := ingestFails(db)
			t.Logf("%s", last)
			if !strings.Contains(last, "is damaged") || !strings.Contains(last, "restore it from a backup") || !strings.Contains(last, "start_without_offset: earliest") {
				t.Errorf("the error does not say what to do: %q", last)
			}
			// serve: stays up, says it on /healthz, no restart loop.
			addr := freeAddr(t)
			serveArgs := []string{"serve", "--db", db, "--listen", addr, "--log-format", "json", "--log-level", "warn"}
			if !tc.atOpen {
				cfg := filepath.Join(t.TempDir(), "faultline.yaml")
				writeFile(t, cfg, "kafka:\n  brokers: ["+brokerAddr(t)+"]\n  group: "+group+"-serve\n  topics:\n    - name: "+topic+"\n      format: app\n")
				serveArgs = append(serveArgs, "--config", cfg)
			}
			sp := startProc(t, faultlineBin(t), nil, serveArgs...)
			var health string
			await(t, time.Minute, "serve reports the damage on /healthz", func() bool {
				code, body := httpGet(t, "http://"+addr+"/healthz")
				health = body
				return code == 503 && strings.Contains(body, "is damaged")
			})
			if !strings.Contains(health, "is damaged") || !strings.Contains(health, db) {
				t.Errorf("/healthz = %q, want the damage and the file", health)
			}
			if tc.atOpen {
				if code, _ := httpGet(t, "http://"+addr+"/"); code != 503 {
					t.Errorf("the dashboard answers %d on a file it cannot open, want 503 with the reason", code)
				}
			}
			time.Sleep(3 * time.Second)
			if !sp.alive() {
				t.Fatalf("serve exited on a damaged file (a supervisor would restart it in a loop)\n%s", sp.stderr)
			}
			_ = sp.cmd.Process.Signal(syscall.SIGTERM)
			if err := sp.exit(t, 30*time.Second); err != nil {
				t.Errorf("serve after SIGTERM: %v", err)
			}
			if n := strings.Count(sp.stderr.String(), `"level":"ERROR"`); n != 1 {
				t.Errorf("serve logged %d errors, want the damage once:\n%s", n, sp.stderr)
			}
			// The documented rebuild: set the file aside, re-read Kafka
			// from the earliest offset into a new file.
			start := time.Now()
			if err := os.Rename(db, db+".damaged"); err != nil {
				t.Fatal(err)
			}
			p := startProc(t, faultlineBin(t), append([]string{"FAULTLINE_INGEST_START_WITHOUT_OFFSET=earliest"}, ingestEnv...), ingestArgs(db)...)
			if err := p.exit(t, 3*time.Minute); err != nil {
				t.Fatalf("rebuild from Kafka: %v\n%s", err, p.stderr)
			}
			finish(db, start)
		})
	}

	t.Run("bytes flipped in the data", func(t *testing.T) {
		// A block of events.message, found in DuckDB's storage info:
		// blocks of 256 KiB after a 12 KiB header.
		var block int64
		s := openStore(t, base)
		if err := s.QueryRowContext(t.Context(), `SELECT block_id FROM pragma_storage_info('events') WHERE column_name = 'message' AND block_id >= 0 ORDER BY block_id LIMIT 1`).Scan(&block); err != nil {
			t.Fatal(err)
		}
		s.Close()
		db := variant("flip-data", base, func(db string) { flipBytes(t, db, 12288+block*262144+1000) })
		p := startProc(t, faultlineBin(t), nil, "query", "--db", db, "SELECT count(*), sum(length(message)), count(DISTINCT trace_id) FROM events")
		err := p.exit(t, time.Minute)
		out := lastLine(p.stderr.String())
		t.Logf("query over the damaged data: %v %s", err, out)
		if err == nil {
			t.Fatalf("a query reading every value of the damaged file succeeded: %s", p.stdout)
		}
		if !strings.Contains(out, "is damaged") || !strings.Contains(out, "restore it from a backup") {
			t.Errorf("the query error does not say the file is damaged and what to do: %q", out)
		}
	})
}
