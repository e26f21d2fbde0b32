//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestEmbeddedBrokerBinary: `bin/faultline broker` and `bin/faultline
// produce` as processes move the real sample files into topics that kafka-go
// reads; SIGTERM stops the broker cleanly. (It uses the embedded broker, not
// Apache Kafka: it checks the binary's signal handling and output.)
func TestEmbeddedBrokerBinary(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), faultlineBin(t), "broker", "--listen", "127.0.0.1:0", "--topic", "cloudtrail:3", "--topic", "events:2", "--log-format", "json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var addr string
	select {
	case l := <-lines:
		var ok bool
		if addr, ok = strings.CutPrefix(l, "listening on "); !ok {
			t.Fatalf("first line %q, want listening on ADDR", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no address printed within 30s; stderr: %s", stderr.String())
	}

	out := runFaultline(t, "produce", "--brokers", addr, "--topic", "cloudtrail", filepath.Join(samples, "cloudtrail"))
	want := expected(t, cloudtrailFiles(t)...)
	n := 0
	for _, c := range want {
		n += c
	}
	if !strings.Contains(out, fmt.Sprintf("produced %d messages", n)) {
		t.Errorf("produce summary %q, want %d messages", out, n)
	}
	got := readAllFrom(t, addr, "cloudtrail")
	if len(got) != n {
		t.Fatalf("read %d messages, want %d", len(got), n)
	}
	for _, m := range got {
		want[kv{string(m.Key), string(m.Value)}]--
		var rec struct{ EventVersion, RecipientAccountID, AWSRegion string }
		if err := json.Unmarshal(m.Value, &rec); err != nil || rec.EventVersion == "" {
			t.Errorf("message is not one CloudTrail record: %.80s", m.Value)
		}
	}
	for k, c := range want {
		if c != 0 {
			t.Errorf("record %.60s: %d more sent than read back", k.value, c)
		}
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("broker exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("broker still running 20s after SIGTERM")
	}
	if !strings.Contains(stderr.String(), `"msg":"broker stopped"`) {
		t.Errorf("no 'broker stopped' log line: %s", stderr.String())
	}
}

func cloudtrailFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"cloudtrail/stratus/*.json", "cloudtrail/s3/AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz"} {
		m, err := filepath.Glob(filepath.Join(samples, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d CloudTrail sample files", len(files))
	}
	return files
}

// readAllFrom reads every message of topic on the broker at addr.
func readAllFrom(t *testing.T, addr, topic string) []kafka.Message {
	t.Helper()
	t.Setenv("FAULTLINE_IT_BROKERS", addr) // readAll's helpers read the broker from here
	return readAll(t, topic)
}
