package dashboards

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform"
	"github.com/faultline/faultline/transform/simulate"
)

// Browser tests: the pages in real headless Chromium against a server fed
// by a simulated outage (simulate -> files -> ingest.LoadPaths -> DuckDB).
// Screenshots go to testout/dashboards/ at the repository root.

const chromiumInstall = "apt-get install -y chromium"

// chromium returns the browser binary. Outside CI a missing browser skips
// the test; with CI=true it fails, saying how to install one.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("FAULTLINE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "headless Chromium not found (looked for chromium, chromium-browser, google-chrome on PATH, and $FAULTLINE_CHROMIUM): install it with `" + chromiumInstall + "`"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// chrome runs headless Chromium with args and returns its stdout.
func chrome(t *testing.T, bin string, args ...string) string {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir(), "--window-size=1400,1800"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

func testout(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "testout", "dashboards")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// page dumps the DOM of path after its scripts ran and saves a screenshot.
func page(t *testing.T, bin, base, path, shot string) string {
	t.Helper()
	dom := chrome(t, bin, "--dump-dom", base+path)
	png := filepath.Join(testout(t), shot+".png")
	_ = os.Remove(png)
	chrome(t, bin, "--screenshot="+png, base+path)
	b, err := os.ReadFile(png)
	if err != nil || len(b) < 10_000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("screenshot %s: %d bytes, err %v", png, len(b), err)
	}
	return dom
}

type simulated struct {
	sc  *simulate.Scenario
	db  *store.DB
	opt Options
}

// simulateServer loads a simulated load-balancer outage into a fresh
// DuckDB and returns the options of a server over it.
func simulateServer(t testing.TB) simulated {
	t.Helper()
	sc, err := simulate.Generate(simulate.FamilyLBChange, 1, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	man, err := sc.WriteDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "sim.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := ingest.LoadPaths(ctx, db, []string{man.DataDir}, ingest.LoadOptions{Config: ingest.DefaultConfig(), Transform: transform.DefaultConfig()}); err != nil {
		t.Fatal(err)
	}
	sb, err := queries.NewSandbox(ctx, db.DB, queries.Config{Timeout: 10 * time.Second, MaxRows: 1000, MaxBytes: 32 << 20, MaxConcurrent: 4, ExportMaxRows: 100000, ExportMaxBytes: 1 << 30, MemoryLimit: "1GB"})
	if err != nil {
		t.Fatal(err)
	}
	return simulated{sc: sc, db: db, opt: Options{
		Config:  DefaultConfig(),
		Engine:  queries.NewEngine(db.DB, queries.DefaultCorrelationConfig(), sc.Truth.Topology),
		Sandbox: sb,
	}}
}

func startServer(t testing.TB, o Options, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

var (
	reSuspectRow = regexp.MustCompile(`<tr data-rank="(\d+)" data-event-id="([^"]+)">`)
	reCascade    = regexp.MustCompile(`<li data-service="([^"]+)">`)
	reIncident   = regexp.MustCompile(`<tr data-incident="([^"]+)">`)
	reChangeRow  = regexp.MustCompile(`<tr data-event-id="[^"]+"><td>[^<]*</td><td>[^<]*</td>\s*<td><a [^>]*>([^<]*)</a></td>`)
)

func TestBrowserPages(t *testing.T) {
	bin := chromium(t)
	sim := simulateServer(t)
	truth := sim.sc.Truth
	base := startServer(t, sim.opt, func(h http.Handler) http.Handler { return submitPage("", h) })

	// Overview: the incident, its top suspect, the chart with the change marker.
	dom := page(t, bin, base, "/", "overview")
	incs := reIncident.FindAllStringSubmatch(dom, -1)
	if len(incs) != 1 {
		t.Fatalf("overview lists %d incidents, want 1 (truth: %s at %s)", len(incs), truth.Scenario, truth.Onset)
	}
	incID := incs[0][1]
	row := dom[strings.Index(dom, incs[0][0]):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, truth.RootCauseOperation) {
		t.Errorf("overview: the top suspect of %s is not the root cause %s: %s", incID, truth.RootCauseOperation, row)
	}
	for _, w := range []string{`<svg`, `<g class="series">`, `<g class="markers">`, "Errors per minute per service", "<h2>Ingest</h2>", "<h2>Dead letters</h2>"} {
		if !strings.Contains(dom, w) {
			t.Errorf("overview lacks %q", w)
		}
	}
	for _, a := range truth.Affected {
		if !strings.Contains(dom, "<title>"+a.Service+"</title>") {
			t.Errorf("overview chart has no line for affected service %s", a.Service)
		}
	}

	// Incident: suspects ranked with the root cause first, cascade, regions.
	dom = page(t, bin, base, "/incidents/"+incID, "incident")
	rows := reSuspectRow.FindAllStringSubmatch(dom, -1)
	if len(rows) < 2 {
		t.Fatalf("incident page: %d suspect rows, want several", len(rows))
	}
	if rows[0][1] != "1" || rows[0][2] != truth.RootCauseEventID {
		t.Errorf("incident page: first suspect row is rank %s %s, want rank 1 %s (the root cause)", rows[0][1], rows[0][2], truth.RootCauseEventID)
	}
	for i, r := range rows {
		if r[1] != fmt.Sprint(i+1) {
			t.Errorf("suspect row %d has rank %s: not in rank order", i, r[1])
		}
		for _, d := range truth.Decoys {
			if r[2] == d.EventID && i == 0 {
				t.Errorf("a decoy ranks first")
			}
		}
	}
	casc := reCascade.FindAllStringSubmatch(dom, -1)
	if len(casc) == 0 || casc[0][1] != truth.Affected[0].Service {
		t.Errorf("cascade %v does not start with %s, the first affected service", casc, truth.Affected[0].Service)
	}
	for _, w := range []string{"Cascade: the order services broke", "suspect #1: " + truth.RootCauseOperation, `id="regions"`, truth.Region, `stroke="#c0392b" stroke-width="2"`} {
		if !strings.Contains(dom, w) {
			t.Errorf("incident page lacks %q", w)
		}
	}

	// Changes, filtered by the root cause's service.
	dom = page(t, bin, base, "/changes?service="+url.QueryEscape(truth.RootCauseService), "changes")
	if !strings.Contains(dom, `data-event-id="`+truth.RootCauseEventID+`"`) {
		t.Errorf("changes page lacks the root cause %s", truth.RootCauseEventID)
	}
	svcs := reChangeRow.FindAllStringSubmatch(dom, -1)
	if len(svcs) == 0 {
		t.Errorf("changes page: no rows")
	}
	for _, s := range svcs {
		if s[1] != truth.RootCauseService {
			t.Errorf("changes filtered by service=%s show %s", truth.RootCauseService, s[1])
		}
	}

	// Services, at a moment inside the incident: the first affected service spikes.
	during := truth.Affected[0].Onset.Add(5 * time.Minute).Format(time.RFC3339)
	dom = page(t, bin, base, "/services?until="+during, "services")
	if !strings.Contains(dom, `data-service="`+truth.Affected[0].Service+`" data-state="spiking"`) {
		t.Errorf("services page at %s: %s is not spiking", during, truth.Affected[0].Service)
	}
	if !strings.Contains(dom, `class="chart topology-chart"`) || !strings.Contains(dom, `data-state="healthy"`) {
		t.Errorf("services page lacks the topology chart or a healthy service")
	}

	// Console: a query through the sandbox, and a refused one.
	var n int64
	if err := sim.db.QueryRow("SELECT count(*) FROM events WHERE kind = 'change'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	// A link with ?sql= only fills the form; pressing run posts it.
	sql := "SELECT count(*) AS changes FROM events WHERE kind = 'change'"
	dom = page(t, bin, base, "/console?sql="+url.QueryEscape(sql), "console-link")
	if !strings.Contains(dom, `id="pending"`) || strings.Contains(dom, `<table id="result">`) {
		t.Errorf("a console link ran its SQL on GET")
	}
	dom = chrome(t, bin, "--virtual-time-budget=5000", "--dump-dom", base+"/_submit?sql="+url.QueryEscape(sql))
	if !strings.Contains(dom, `<table id="result">`) || !strings.Contains(dom, "<th>changes</th>") || !strings.Contains(dom, fmt.Sprintf("<td>%d</td>", n)) {
		t.Errorf("console result lacks %d changes", n)
	}
	dom = chrome(t, bin, "--virtual-time-budget=5000", "--dump-dom", base+"/_submit?sql="+url.QueryEscape("COPY events TO '/tmp/x.csv'"))
	if !strings.Contains(dom, `id="error"`) || !strings.Contains(dom, "refused by the analyst SQL sandbox") {
		t.Errorf("console does not show the sandbox refusal")
	}
	if _, err := os.Stat("/tmp/x.csv"); err == nil {
		t.Errorf("the console wrote a file")
	}
	// The same form on another site (localhost is another site than
	// 127.0.0.1): the browser posts it, serve refuses it.
	evil := httptest.NewServer(submitPage(base))
	t.Cleanup(evil.Close)
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	dom = chrome(t, bin, "--virtual-time-budget=5000", "--dump-dom", evilURL+"/_submit?sql="+url.QueryEscape(sql))
	if strings.Contains(dom, `<table id="result">`) || !strings.Contains(dom, "cross-origin request refused") {
		t.Errorf("a cross-site form post to the console was not refused: %.300s", dom)
	}
}

// submitPage serves /_submit: a page outside the dashboards (no CSP) whose
// script posts ?sql= to target's console, as the console's form does, or as
// a page on another site could; other paths go to next.
func submitPage(target string, next ...http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/_submit" {
			if len(next) > 0 {
				next[0].ServeHTTP(w, r)
				return
			}
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/console"><textarea name="sql">%s</textarea></form><script>document.forms[0].submit()</script>`,
			target, html.EscapeString(r.URL.Query().Get("sql")))
	})
}

// While ingest runs, pages refresh themselves: the browser fetches the page
// again (virtual time lets the interval fire) and keeps a working page.
func TestBrowserLiveRefresh(t *testing.T) {
	bin := chromium(t)
	sim := simulateServer(t)
	o := sim.opt
	o.Ingest = func() status.Status { return status.Status{Running: true, Connected: true} }
	o.Config.Refresh = time.Second
	var overview atomic.Int64
	base := startServer(t, o, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/" {
				overview.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	dom := chrome(t, bin, "--virtual-time-budget=5000", "--dump-dom", base+"/")
	if got := overview.Load(); got < 2 {
		t.Errorf("the overview was fetched %d times, want the initial load plus live refreshes", got)
	}
	if !strings.Contains(dom, `id="live-toggle"`) || !strings.Contains(dom, `<tr data-incident=`) {
		t.Errorf("after live refresh the page lacks the toggle or the incidents")
	}
}
