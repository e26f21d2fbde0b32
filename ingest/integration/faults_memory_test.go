//go:build integration && faults

package integration

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/faultline/faultline/internal/testkit"
)

// memCgroup is a memory cgroup made for one test (v2 where the memory
// controller is on the unified hierarchy, else v1).
type memCgroup struct {
	dir string
	v2  bool
}

// newMemCgroup creates a memory cgroup limited to limit bytes (no swap).
func newMemCgroup(t *testing.T, limit int64) *memCgroup {
	t.Helper()
	needRoot(t, "creating a memory cgroup")
	fail := func(format string, args ...any) {
		t.Fatalf(format+" (the memory tests need a writable memory cgroup, v1 or v2: run the fault suite as root where /sys/fs/cgroup is writable, e.g. docker run --privileged)", args...)
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		fail("read /proc/self/cgroup: %v", err)
	}
	name := fmt.Sprintf("faultline-%s-%d", strings.ToLower(unsafeChars.ReplaceAllString(t.Name(), "-")), rand.Uint32())
	var cg *memCgroup
	for _, line := range strings.Split(strings.TrimSpace(string(self)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" { // v2, if its memory controller is usable
			root := "/sys/fs/cgroup"
			if _, err := os.Stat(root + "/cgroup.controllers"); err != nil {
				root = "/sys/fs/cgroup/unified"
			}
			ctrl, _ := os.ReadFile(filepath.Join(root, f[2], "cgroup.subtree_control"))
			if strings.Contains(string(ctrl), "memory") {
				cg = &memCgroup{dir: filepath.Join(root, f[2], name), v2: true}
				break
			}
		}
		if strings.Contains(","+f[1]+",", ",memory,") {
			cg = &memCgroup{dir: filepath.Join("/sys/fs/cgroup/memory", f[2], name)}
		}
	}
	if cg == nil {
		fail("no usable memory cgroup controller (v1 or v2) in /proc/self/cgroup")
	}
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		fail("create cgroup %s: %v", cg.dir, err)
	}
	t.Cleanup(func() {
		// Processes are gone by now (their own cleanups ran first).
		for i := 0; i < 50; i++ {
			if err := os.Remove(cg.dir); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove cgroup %s", cg.dir)
	})
	if cg.v2 {
		cg.write(t, "memory.max", strconv.FormatInt(limit, 10))
		cg.write(t, "memory.swap.max", "0")
	} else {
		cg.write(t, "memory.limit_in_bytes", strconv.FormatInt(limit, 10))
	}
	return cg
}

func (c *memCgroup) write(t *testing.T, file, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, file), []byte(value), 0o644); err != nil && !(file == "memory.swap.max" && errors.Is(err, os.ErrNotExist)) {
		t.Fatalf("write %s to %s: %v", value, file, err)
	}
}

// ooms is how many processes the kernel's OOM killer killed in the cgroup.
func (c *memCgroup) ooms(t *testing.T) int {
	t.Helper()
	file := "memory.oom_control"
	if c.v2 {
		file = "memory.events"
	}
	b, err := os.ReadFile(filepath.Join(c.dir, file))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return -1 // kernels before 4.13 do not count (v1)
}

// start runs bin with args inside the cgroup from its first instruction
// (a shell joins the cgroup, then execs bin).
func (c *memCgroup) start(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	return startProc(t, "/bin/sh", env, append([]string{"-c", `echo $$ > "$0" && exec "$@"`, filepath.Join(c.dir, "cgroup.procs"), bin}, args...)...)
}

// bigMessages produces n messages of about size bytes to a new topic that
// accepts them: each an NDJSON of app error events with long messages
// (ids prefix-0.. in order). It returns the topic and the event count.
func bigMessages(t *testing.T, prefix string, n, size int) (string, int) {
	t.Helper()
	topic := newTopic(t, 3)
	client := &kafka.Client{Addr: kafka.TCP(brokerAddr(t)), Timeout: 30 * time.Second}
	if _, err := client.IncrementalAlterConfigs(t.Context(), &kafka.IncrementalAlterConfigsRequest{Resources: []kafka.IncrementalAlterConfigsRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic,
		Configs: []kafka.IncrementalAlterConfigsRequestConfig{{Name: "max.message.bytes", Value: strconv.Itoa(2 * size), ConfigOperation: kafka.ConfigOperationSet}},
	}}}); err != nil {
		t.Fatalf("raise max.message.bytes of %s: %v", topic, err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(brokerAddr(t)), Topic: topic, Balancer: &kafka.RoundRobin{}, BatchSize: 1,
		BatchBytes: int64(2 * size), RequiredAcks: kafka.RequireAll, WriteTimeout: time.Minute}
	defer w.Close()
	base := time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)
	pad := strings.Repeat("x", 1500)
	id := 0
	for range n {
		var b strings.Builder
		for b.Len() < size {
			fmt.Fprintf(&b, `{"time":"%s","service":"svc%d","level":"error","message":"upstream timeout %d %s","error.type":"Timeout","region":"us-east-1","trace_id":"%s-%d"}`+"\n",
				base.Add(time.Duration(id)*time.Millisecond).Format(time.RFC3339Nano), id%7, id, pad, prefix, id)
			id++
		}
		// The topic's new max.message.bytes takes a moment to apply.
		deadline := time.Now().Add(30 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			err := w.WriteMessages(ctx, kafka.Message{Value: []byte(b.String())})
			cancel()
			if err == nil {
				break
			}
			if !strings.Contains(err.Error(), "Message Size Too Large") || time.Now().After(deadline) {
				t.Fatalf("produce a %d-byte message: %v", b.Len(), err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	return topic, id
}

// TestFaultMemoryBudget: streaming ingest of 4 MiB messages (2,600 events
// each) inside a memory cgroup sized by the documented formula
// (docs/operations.md, Sizing): duckdb.memory_limit + 3 x
// ingest.max_inflight_bytes + 2 x partitions x kafka.fetch_max_bytes +
// 256 MiB. It is not OOM-killed, its peak RSS stays within the formula, and
// every event is stored once.
func TestFaultMemoryBudget(t *testing.T) {
	const (
		msgSize     = 4 << 20
		duckdbLimit = 256 << 20
		inflight    = 64 << 20
		fetchMax    = 8 << 20
		partitions  = 3
	)
	bound := int64(duckdbLimit + 3*inflight + 2*partitions*fetchMax + 256<<20)
	topic, events := bigMessages(t, "mem", 40, msgSize)
	// The cgroup also charges the page cache of the file being written
	// (v1 counts it in the limit): 256 MiB of room for it above the RSS
	// bound, which is what is asserted.
	cg := newMemCgroup(t, bound+256<<20)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "mem.duckdb")
	maddr := freeAddr(t)
	env := append([]string{
		"FAULTLINE_DUCKDB_MEMORY_LIMIT=256MB",
		fmt.Sprintf("FAULTLINE_INGEST_MAX_INFLIGHT_BYTES=%d", inflight),
		fmt.Sprintf("FAULTLINE_INGEST_BATCH_MAX_BYTES=%d", 16<<20),
		fmt.Sprintf("FAULTLINE_KAFKA_FETCH_MAX_BYTES=%d", fetchMax),
		fmt.Sprintf("FAULTLINE_TRANSFORM_MAX_MESSAGE_BYTES=%d", 2*msgSize),
		fmt.Sprintf("GOMEMLIMIT=%dMiB", (bound-duckdbLimit)>>20),
	}, ingestEnv...)
	start := time.Now()
	p := cg.start(t, faultlineBin(t), env, "ingest", "--log-format", "json", "--log-level", "warn", "--db", dbPath,
		"--brokers", brokerAddr(t), "--group", topic, "--topic", topic+"=app", "--metrics-listen", maddr)
	await(t, 5*time.Minute, "ingest of the big messages catches up", func() bool {
		if !p.alive() {
			t.Fatalf("ingest ended inside the cgroup (OOM kills: %d): %v\n%s", cg.ooms(t), p.exit(t, time.Second), p.stderr)
		}
		r, ok := getReadyz(t, "http://"+maddr)
		var next int64
		for _, pt := range r.Ingest.Partitions {
			next += pt.Next
		}
		return ok && r.Ready && next == 40
	})
	took := time.Since(start)
	peak := p.peakRSS(t)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.exit(t, time.Minute); err != nil {
		t.Fatalf("ingest after SIGTERM: %v (OOM kills in the cgroup: %d; peak RSS before SIGTERM %d MiB)\n%s", err, cg.ooms(t), peak>>20, p.stderr)
	}
	t.Logf("%d events in 40 messages of 4 MiB (160 MiB) in %s; peak RSS %d MiB, bound %d MiB (cgroup limit 256 MiB above), OOM kills %d",
		events, took.Round(100*time.Millisecond), peak>>20, bound>>20, cg.ooms(t))
	if peak == 0 || peak > bound {
		t.Errorf("peak RSS %d MiB, want within the documented bound of %d MiB", peak>>20, bound>>20)
	}
	if n := cg.ooms(t); n > 0 {
		t.Errorf("%d OOM kills in the cgroup", n)
	}
	db := openStore(t, dbPath)
	checkExactlyOnce(t, db, topic, "mem", events)
	n := queryInt(t, db, `SELECT count(*) FROM events`)
	faultReport(t, int64(events), n, n-queryInt(t, db, `SELECT count(DISTINCT trace_id) FROM events`), queryInt(t, db, `SELECT count(*) FROM dead_letters`), 0)
}

// TestFaultMemoryOOMKill: ingest with the default sizing inside a cgroup
// far too small for it (160 MiB) is killed by the kernel's OOM killer
// (SIGKILL) while it builds and commits large batches; restarted with room,
// it stores every event exactly once, as after any other kill.
func TestFaultMemoryOOMKill(t *testing.T) {
	const msgSize = 4 << 20
	topic, events := bigMessages(t, "oom", 40, msgSize)
	cg := newMemCgroup(t, 160<<20)
	dbPath := filepath.Join(t.TempDir(), "oom.duckdb")
	args := []string{"ingest", "--log-format", "json", "--log-level", "warn", "--db", dbPath,
		"--brokers", brokerAddr(t), "--group", topic, "--topic", topic + "=app", "--exit-when-caught-up"}
	env := append([]string{fmt.Sprintf("FAULTLINE_TRANSFORM_MAX_MESSAGE_BYTES=%d", 2*msgSize)}, ingestEnv...)
	kills := 0
	for run := 0; run < 5; run++ {
		p := cg.start(t, faultlineBin(t), env, args...)
		err := p.exit(t, 5*time.Minute)
		var ee *exec.ExitError
		if err == nil {
			break // finished within the limit (it made progress in earlier runs)
		}
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("run %d ended with %v, want an OOM kill (SIGKILL)\n%s", run, err, p.stderr)
		}
		kills++
		t.Logf("run %d: OOM-killed (kills counted by the cgroup: %d)", run, cg.ooms(t))
	}
	if kills == 0 {
		t.Fatal("ingest was never OOM-killed in a 160 MiB cgroup: the test proves nothing")
	}
	if n := cg.ooms(t); n >= 0 && n < kills {
		t.Errorf("the cgroup counted %d OOM kills, the runs ended by SIGKILL %d times", n, kills)
	}
	// Restarted with room (no cgroup): exactly once, as after any kill.
	start := time.Now()
	if err := startProc(t, faultlineBin(t), env, args...).exit(t, 5*time.Minute); err != nil {
		t.Fatalf("the run after the OOM kills: %v", err)
	}
	db := openStore(t, dbPath)
	checkExactlyOnce(t, db, topic, "oom", events)
	n := queryInt(t, db, `SELECT count(*) FROM events`)
	faultReport(t, int64(events), n, n-queryInt(t, db, `SELECT count(DISTINCT trace_id) FROM events`), queryInt(t, db, `SELECT count(*) FROM dead_letters`), time.Since(start))
}

// TestFaultKillMidCommit: SIGKILL (what the OOM killer sends) lands inside
// large commits: the crash-test binary (build tag faultline_crashtest)
// holds every commit transaction open for 1.5s after its writes, so most of
// a run's time is spent inside a commit of up to 50,000 events. After five
// kills a clean run stores every event exactly once.
func TestFaultKillMidCommit(t *testing.T) {
	bin := testkit.CrashTestBinary(t)
	dir := t.TempDir()
	topic := newTopic(t, 3)
	dbPath := filepath.Join(dir, "kill.duckdb")
	const chunk = 40000
	// A new group per run: a killed member keeps its partitions for the
	// session timeout, and the file decides where each partition starts.
	args := func(run int) []string {
		return []string{"ingest", "--log-format", "json", "--log-level", "warn", "--db", dbPath,
			"--brokers", brokerAddr(t), "--group", fmt.Sprintf("%s-%d", topic, run), "--topic", topic + "=app", "--exit-when-caught-up"}
	}
	env := append([]string{"FAULTLINE_TEST_COMMIT_DELAY=1500ms", "FAULTLINE_INGEST_BATCH_MAX_EVENTS=50000"}, ingestEnv...)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 18))
	var stored []int64
	for i := range 5 {
		runFaultline(t, "produce", "--brokers", brokerAddr(t), "--topic", topic, appEvents(t, dir, "kill", i*chunk, chunk))
		p := startProc(t, bin, env, args(i)...)
		time.Sleep(time.Duration(2000+rng.IntN(3000)) * time.Millisecond)
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.exit(t, time.Minute)
		db := openStore(t, dbPath)
		stored = append(stored, queryInt(t, db, `SELECT count(*) FROM events`))
		db.Close()
	}
	t.Logf("events stored after each kill: %v", stored)
	if stored[len(stored)-1] == stored[0] {
		t.Errorf("no run after the first stored anything: the kills did not land mid-stream")
	}
	start := time.Now()
	if err := startProc(t, bin, env, args(99)...).exit(t, 5*time.Minute); err != nil {
		t.Fatalf("the run after the kills: %v", err)
	}
	db := openStore(t, dbPath)
	checkExactlyOnce(t, db, topic, "kill", 5*chunk)
	n := queryInt(t, db, `SELECT count(*) FROM events`)
	faultReport(t, 5*chunk, n, n-queryInt(t, db, `SELECT count(DISTINCT trace_id) FROM events`), queryInt(t, db, `SELECT count(*) FROM dead_letters`), time.Since(start))
}
