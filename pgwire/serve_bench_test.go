package pgwire

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faultline/faultline/cmd/faultline/bench"
	"github.com/faultline/faultline/ingest/store"
)

// BenchmarkServeSelect1M: the same 1M-row SELECT through a real faultline
// serve process (bin/faultline, make build), once over the PostgreSQL wire
// protocol (pgx, rows read as raw values) and once through POST /api/query
// (the JSON body read to the end). Each sub-benchmark starts its own serve,
// so peak_rss_MB is that process's own peak (VmHWM), result materialized
// by DuckDB included. make bench runs it; docs/benchmarks.md has results.
func BenchmarkServeSelect1M(b *testing.B) {
	bin, _ := filepath.Abs(filepath.Join("..", "bin", "faultline"))
	if _, err := os.Stat(bin); err != nil {
		b.Skip("bin/faultline is missing: run make build (make bench does)")
	}
	const n = 1_000_000
	dir := b.TempDir()
	path := filepath.Join(dir, "bench.duckdb")
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	if err := bench.GenerateEvents(ctx, db.DB, n); err != nil {
		b.Fatal(err)
	}
	db.Close()
	const query = "SELECT time, service, kind, region, severity_number, operation FROM events"
	cfg := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`db: %s
query:
  max_rows: %d
  max_bytes: 4294967296
  timeout: 10m
`, path, n)), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, via := range []string{"wire", "json"} {
		b.Run(via, func(b *testing.B) {
			httpAddr, pgAddr := freePort(b), freePort(b)
			cmd := exec.CommandContext(context.Background(), bin, "--config", cfg, "--log-level", "warn", "serve", "--listen", httpAddr, "--postgres-listen", pgAddr)
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() {
				_ = cmd.Process.Signal(os.Interrupt)
				_ = cmd.Wait()
			}()
			waitListening(b, pgAddr)
			waitListening(b, httpAddr)
			run := wireSelect
			if via == "json" {
				run = jsonSelect
			}
			b.ResetTimer()
			rows := 0
			for b.Loop() {
				if rows, err = run(httpAddr, pgAddr, query); err != nil {
					b.Fatal(err)
				}
				if rows != n {
					b.Fatalf("%d rows, want %d", rows, n)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peakRSS(b, cmd.Process.Pid))/(1<<20), "peak_rss_MB")
		})
	}
}

func wireSelect(_, pgAddr, query string) (int, error) {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, "postgres://faultline@"+pgAddr+"/faultline?sslmode=disable")
	if err != nil {
		return 0, err
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, query)
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		_ = rows.RawValues()
		n++
	}
	return n, rows.Err()
}

func jsonSelect(httpAddr, _, query string) (int, error) {
	body := strings.NewReader(fmt.Sprintf(`{"sql": %q}`, query))
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://"+httpAddr+"/api/query", body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	// One row per line ("\n  [...]"), read to the end.
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "  [") {
			n++
		}
	}
	return n, sc.Err()
}

func freePort(b *testing.B) string {
	var lc net.ListenConfig
	ln, err := lc.Listen(b.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(b *testing.B, addr string) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		var d net.Dialer
		c, err := d.DialContext(b.Context(), "tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("serve did not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// peakRSS is a process's peak resident set (VmHWM) in bytes.
func peakRSS(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Logf("no /proc: %v", err)
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
