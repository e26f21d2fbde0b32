//go:build integration && faults

package integration

// Helpers of the fault suite (make test-faults): volumes that fill up
// (tmpfs), memory cgroups, faultline processes and their HTTP endpoints.

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/status"
)

// needRoot fails a test that mounts file systems or creates cgroups when
// the process is not root, saying what to do. It never skips: the fault
// suite must not pass without its faults (a subset without root:
// IT_RUN=TestFaultNetwork make test-faults).
func needRoot(t *testing.T, what string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	t.Fatalf("%s needs root (CAP_SYS_ADMIN): run make test-faults as root, or only the tests that need no privileges with IT_RUN='TestFault(Network|KillMidCommit|DamagedFile)'", what)
}

// volume is a small tmpfs mounted for one test: a disk that fills up.
type volume struct{ dir string }

// mountVolume mounts a tmpfs of sizeMB MiB on a new directory.
func mountVolume(t *testing.T, sizeMB int) *volume {
	t.Helper()
	needRoot(t, "mounting a small tmpfs (a volume that fills up)")
	dir := t.TempDir()
	out, err := exec.CommandContext(t.Context(), "mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", sizeMB), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("mount -t tmpfs on %s: %v: %s (root without CAP_SYS_ADMIN, e.g. an unprivileged container: run the fault suite where mounting is allowed, e.g. docker run --privileged)", dir, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.CommandContext(context.Background(), "umount", "-l", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v: %s", dir, err, out)
		}
	})
	return &volume{dir: dir}
}

func (v *volume) path(name string) string { return filepath.Join(v.dir, name) }

// resize grows or shrinks the tmpfs (mount -o remount,size=...).
func (v *volume) resize(t *testing.T, sizeMB int) {
	t.Helper()
	if out, err := exec.CommandContext(t.Context(), "mount", "-o", fmt.Sprintf("remount,size=%dm", sizeMB), v.dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s: %v: %s", v.dir, err, out)
	}
}

// fill writes a filler file until the volume is full, as another process
// filling the disk would; free removes it.
func (v *volume) fill(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(v.path("filler"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, size := range []int{1 << 20, 4096, 1} {
		buf := make([]byte, size)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("fill %s: %v", v.dir, err)
				}
				break
			}
		}
	}
	t.Logf("volume %s full: %d bytes free", v.dir, v.free())
}

func (v *volume) free() uint64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(v.dir, &st); err != nil {
		return 0
	}
	return st.Bavail * uint64(st.Bsize)
}

func (v *volume) unfill(t *testing.T) {
	t.Helper()
	if err := os.Remove(v.path("filler")); err != nil {
		t.Fatal(err)
	}
}

// proc is a running faultline process.
type proc struct {
	cmd    *exec.Cmd
	done   chan error
	stderr *syncBuffer
	stdout *syncBuffer
}

// startProc starts bin with args; env is added to the environment.
func startProc(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, done: make(chan error, 1), stderr: &syncBuffer{}, stdout: &syncBuffer{}}
	cmd.Stderr, cmd.Stdout = p.stderr, p.stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			if err := <-p.done; err != nil {
				t.Logf("%s killed at cleanup: %v", bin, err)
			}
		}
	})
	return p
}

// exit waits up to d for the process to end and returns its error (nil
// for status 0); the test fails if it does not end.
func (p *proc) exit(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		t.Fatalf("%s did not finish within %s\n%s", p.cmd.Args[1], d, p.stderr)
		return nil
	}
}

// alive reports whether the process is still running.
func (p *proc) alive() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
		return true
	}
}

// cpuSeconds is the CPU time the process used so far (user + system).
func (p *proc) cpuSeconds(t *testing.T) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("read the process's CPU time: %v", err)
	}
	// Fields after the command name (which is in parentheses).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// peakRSS is the process's peak resident set (VmHWM) in bytes.
func (p *proc) peakRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// syncBuffer is a strings.Builder safe for a writing process and a
// reading test.
type syncBuffer struct {
	mu chan struct{}
	b  strings.Builder
}

func (s *syncBuffer) lock() {
	if s.mu == nil {
		s.mu = make(chan struct{}, 1)
	}
	s.mu <- struct{}{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.lock()
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.lock()
	defer func() { <-s.mu }()
	return s.b.String()
}

// freeAddr returns a free 127.0.0.1 address.
func freeAddr(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// httpGet returns the status and body of GET url (0 when it cannot connect).
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// readyz is /readyz's answer.
type readyz struct {
	Ready    bool          `json:"ready"`
	Problems []string      `json:"problems"`
	Ingest   status.Status `json:"ingest"`
}

func getReadyz(t *testing.T, base string) (readyz, bool) {
	t.Helper()
	code, body := httpGet(t, base+"/readyz")
	var r readyz
	if code == 0 || json.Unmarshal([]byte(body), &r) != nil {
		return r, false
	}
	return r, true
}

// metric returns the value of a metric without labels from /metrics (-1
// if absent).
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	_, body := httpGet(t, base+"/metrics")
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return -1
}

// await polls cond every 200ms until it holds or d passes (then the test
// fails with what).
func await(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start)
}

// storedCounts checks, on the database file opened read-only (it must open
// as it is, without space to write), that every committed batch is intact
// and consistent with the stored offsets: for topic (app events, one event
// per record) each partition holds exactly the records below its stored
// offset, once. It returns the events stored.
func storedCounts(t *testing.T, path, topic string) int64 {
	t.Helper()
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatalf("open %s read-only: %v", path, err)
	}
	defer db.Close()
	var events int64
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM events WHERE src_topic = ?`, topic).Scan(&events); err != nil {
		t.Fatalf("the file does not open after the fault: %v", err)
	}
	rows, err := db.QueryContext(t.Context(), `SELECT o.part, o.next_offset, count(e.src_offset), count(DISTINCT e.src_offset), coalesce(max(e.src_offset), -1)
		FROM ingest_offsets o LEFT JOIN events e ON e.src_topic = ? AND e.src_partition = o.part
		WHERE o.source = ? GROUP BY ALL ORDER BY 1`, topic, "kafka:"+topic)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sum int64
	for rows.Next() {
		var part, next, n, distinct, maxOff int64
		if err := rows.Scan(&part, &next, &n, &distinct, &maxOff); err != nil {
			t.Fatal(err)
		}
		sum += next
		if n != next || distinct != next || maxOff != next-1 {
			t.Errorf("partition %d: stored offset %d but %d events (%d distinct offsets, highest %d): events and offsets disagree", part, next, n, distinct, maxOff)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if sum != events {
		t.Errorf("stored offsets sum to %d, events %d", sum, events)
	}
	return events
}

// faultReport logs one fault's line for docs/operations.md and the report.
func faultReport(t *testing.T, produced, stored, dups, deadLetters int64, recover time.Duration) {
	t.Helper()
	t.Logf("FAULT %s: produced %d, stored %d, duplicates %d, dead letters %d, time to recover %s",
		t.Name(), produced, stored, dups, deadLetters, recover.Round(100*time.Millisecond))
}
