//go:build integration

package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/faultline/faultline/ingest/store"
)

const samples = "../../transform/testdata/samples"

// ingestProc is a running `faultline ingest`.
type ingestProc struct {
	cmd    *exec.Cmd
	done   chan error
	stderr *strings.Builder
}

// startIngest starts `faultline ingest` with args and env (KEY=VALUE).
func startIngest(t *testing.T, env []string, args ...string) *ingestProc {
	t.Helper()
	return startIngestBin(t, faultlineBin(t), env, args...)
}

// startIngestBin is startIngest with another binary (testkit.CrashTestBinary).
func startIngestBin(t *testing.T, bin string, env []string, args ...string) *ingestProc {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, append([]string{"ingest", "--log-format", "json", "--log-level", "warn"}, args...)...)
	cmd.Env = append(append(os.Environ(),
		"FAULTLINE_INGEST_BATCH_MAX_WAIT=100ms",
		"FAULTLINE_KAFKA_FETCH_MAX_WAIT=100ms",
		"FAULTLINE_INGEST_RETRY_MAX_BACKOFF=2s",
	), env...)
	p := &ingestProc{cmd: cmd, done: make(chan error, 1), stderr: &strings.Builder{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			if err := <-p.done; err != nil {
				t.Logf("ingest killed at cleanup: %v", err)
			}
		}
	})
	return p
}

// startReadyIngest is startIngest with --metrics-listen on a free address,
// returning once the process answers /healthz: from then on it handles
// SIGTERM. A signal sent sooner can reach it before main installs its
// handler, and kill it, which a test that stops it at once took for a
// failed clean stop (TestScaleOutRelay, when the other processes had
// caught up alone before a restarted one was up).
func startReadyIngest(t *testing.T, env []string, args ...string) *ingestProc {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := startIngest(t, env, append(args, "--metrics-listen", addr)...)
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return p
		}
		if p.exited() {
			t.Fatalf("faultline ingest exited before it served /healthz:\n%s", p.describe())
		}
		if time.Now().After(deadline) {
			t.Fatalf("faultline ingest did not serve /healthz on %s within a minute:\n%s", addr, p.describe())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exited reports whether the process has exited.
func (p *ingestProc) exited() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return true
	default:
		return false
	}
}

// describe says whether the process is still running or how it exited,
// and what it wrote to stderr: what a failing wait for it should show.
func (p *ingestProc) describe() string {
	state := "running"
	select {
	case err := <-p.done:
		p.done <- err
		state = "exited: " + p.cmd.ProcessState.String()
		if err != nil && !strings.Contains(state, err.Error()) {
			state += " (" + err.Error() + ")"
		}
	default:
	}
	out := strings.TrimSpace(p.stderr.String())
	if out == "" {
		out = "(nothing on stderr)"
	}
	return fmt.Sprintf("faultline ingest %s (pid %d), %s; stderr:\n%s", strings.Join(p.cmd.Args[2:], " "), p.cmd.Process.Pid, state, out)
}

// wait waits for the process to exit by itself and fails on a non-zero exit.
func (p *ingestProc) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("faultline ingest: %v\n%s", err, p.stderr)
		}
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		t.Fatalf("faultline ingest did not finish within %s\n%s", d, p.stderr)
	}
}

// signal sends sig and waits for the exit; after SIGTERM the exit must be
// clean.
func (p *ingestProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		p.done <- err
		if sig == syscall.SIGTERM && err != nil {
			t.Fatalf("faultline ingest after SIGTERM: %v\n%s", err, p.stderr)
		}
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatalf("faultline ingest ignored %s for 60s\n%s", sig, p.stderr)
	}
}

// runIngest runs `faultline ingest --exit-when-caught-up` to completion.
func runIngest(t *testing.T, env []string, args ...string) {
	t.Helper()
	startIngest(t, env, append(args, "--exit-when-caught-up")...).wait(t, 3*time.Minute)
}

func openStore(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func queryInt(t *testing.T, db *store.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// groupCommitted returns the group's committed offsets on topic (ingest
// copies its DuckDB offsets there every second, for lag tooling).
func groupCommitted(t *testing.T, group, topic string, partitions int) map[int]int64 {
	t.Helper()
	parts := make([]int, partitions)
	for i := range parts {
		parts[i] = i
	}
	client := &kafka.Client{Addr: kafka.TCP(brokerAddr(t)), Timeout: 10 * time.Second}
	resp, err := client.OffsetFetch(t.Context(), &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	out := map[int]int64{}
	if err != nil {
		return out // broker restarting: nothing known
	}
	for _, p := range resp.Topics[topic] {
		if p.Error == nil {
			out[p.Partition] = p.CommittedOffset
		}
	}
	return out
}

// waitGroupCaughtUp waits until the group has committed every partition of
// topic to its end offset.
func waitGroupCaughtUp(t *testing.T, group, topic string, partitions int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	ends := partitionEnds(t, topic)
	for {
		c := groupCommitted(t, group, topic, partitions)
		behind := 0
		for p, e := range ends {
			if c[p] < e[1] {
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

// appEvents writes n application error events (NDJSON) to a file in dir and
// returns its path; ids are prefix-0..n-1 (the trace_id).
func appEvents(t *testing.T, dir, prefix string, from, n int) string {
	t.Helper()
	var b strings.Builder
	base := time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, `{"time":"%s","service":"svc%d","level":"error","message":"upstream timeout %d","error.type":"Timeout","region":"us-east-1","trace_id":"%s-%d"}`+"\n",
			base.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), i%7, i, prefix, i)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.ndjson", prefix, from))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkExactlyOnce checks that db holds each of the n trace ids prefix-0..
// n-1 exactly once, and each Kafka position of topic at most once.
func checkExactlyOnce(t *testing.T, db *store.DB, topic, prefix string, n int) {
	t.Helper()
	q := `SELECT count(*), count(DISTINCT trace_id) FROM events WHERE src_topic = ? AND starts_with(trace_id, ?)`
	var total, distinct int64
	if err := db.QueryRowContext(t.Context(), q, topic, prefix+"-").Scan(&total, &distinct); err != nil {
		t.Fatal(err)
	}
	if total != int64(n) || distinct != int64(n) {
		t.Errorf("%s: %d events, %d distinct ids; want exactly %d (no loss, no duplicate)", topic, total, distinct, n)
	}
	if dup := queryInt(t, db, `SELECT count(*) FROM (SELECT src_partition, src_offset, src_index FROM events WHERE src_topic = ? GROUP BY ALL HAVING count(*) > 1)`, topic); dup != 0 {
		t.Errorf("%s: %d Kafka positions stored more than once", topic, dup)
	}
}

// waitGroupMembers waits until group is stable with n members that each
// have partitions assigned.
func waitGroupMembers(t *testing.T, group string, n int, d time.Duration, procs ...*ingestProc) {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(brokerAddr(t)), Timeout: 10 * time.Second}
	deadline := time.Now().Add(d)
	last := ""
	for time.Now().Before(deadline) {
		resp, err := client.DescribeGroups(t.Context(), &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
		if err == nil && len(resp.Groups) == 1 && resp.Groups[0].Error == nil {
			g := resp.Groups[0]
			withParts := 0
			for _, m := range g.Members {
				for _, tp := range m.MemberAssignments.Topics {
					if len(tp.Partitions) > 0 {
						withParts++
						break
					}
				}
			}
			last = fmt.Sprintf("state %s, %d members, %d with partitions", g.GroupState, len(g.Members), withParts)
			if g.GroupState == "Stable" && len(g.Members) == n && withParts == n {
				return
			}
		}
		for _, p := range procs {
			if p.exited() {
				t.Fatalf("group %s: waiting for %d members (last: %s), a process exited:\n%s", group, n, last, p.describe())
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	var why strings.Builder
	for _, p := range procs {
		why.WriteString("\n" + p.describe())
	}
	t.Fatalf("group %s did not become stable with %d members within %s (last: %s)%s", group, n, d, last, why.String())
}
