package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/faultline/faultline/dashboards/chart"
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
	out, _ := chromeLog(t, bin, args...)
	return out
}

// consoleRE matches what Chromium logs (--enable-logging=stderr) for a
// page's console messages, uncaught errors and refused resources (a
// Content-Security-Policy violation is logged to the console).
var consoleRE = regexp.MustCompile(`(?m)^.*(:CONSOLE\(\d+\)\]|Uncaught |Refused to ).*$`)

// chromeLog runs headless Chromium with args (a --window-size among them
// replaces the default 1400x1800) and returns its stdout and the page's
// console messages.
func chromeLog(t *testing.T, bin string, args ...string) (string, []string) {
	t.Helper()
	size := "--window-size=1400,1800"
	for _, a := range args {
		if strings.HasPrefix(a, "--window-size=") {
			size = ""
		}
	}
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	if size != "" {
		base = append(base, size)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String(), consoleRE.FindAllString(stderr.String(), -1)
}

func testout(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "testout", "dashboards")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// page dumps the DOM of path after its scripts ran and saves a
// screenshot; the page must log nothing to the console.
func page(t *testing.T, bin, base, path, shot string) string {
	t.Helper()
	dom, console := chromeLog(t, bin, "--virtual-time-budget=3000", "--dump-dom", base+path)
	if len(console) > 0 {
		t.Errorf("%s logged to the console:\n%s", path, strings.Join(console, "\n"))
	}
	png := filepath.Join(testout(t), shot+".png")
	_ = os.Remove(png)
	chrome(t, bin, "--virtual-time-budget=3000", "--window-size=1400,2600", "--screenshot="+png, base+path)
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
	reSuspect   = regexp.MustCompile(`<details class="suspect[^"]*" data-rank="(\d+)" data-event-id="([^"]+)"( open="")?>`)
	reCascade   = regexp.MustCompile(`<li data-service="([^"]+)">`)
	reIncident  = regexp.MustCompile(`<tr data-incident="([^"]+)">`)
	reChangeRow = regexp.MustCompile(`<tr data-event-id="[^"]+"[^>]*><td class="t"><a [^>]*>[^<]*</a></td><td>[^<]*</td>\s*<td><a [^>]*>([^<]*)</a></td>`)
	reProbe     = regexp.MustCompile(`<pre id="probe-result">([^<]*)</pre>`)
)

// withProbe serves the product's pages; a page asked with ?_probe=1 gets
// testdata/browser/probe.js added (served from this server, so the page's
// Content-Security-Policy lets it run), which drives the interactive chart
// and reports what it saw.
func withProbe(t testing.TB, next http.Handler) http.Handler {
	probe, err := os.ReadFile(filepath.Join("testdata", "browser", "probe.js"))
	if err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_test/probe.js" {
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(probe)
			return
		}
		q := r.URL.Query()
		if q.Get("_probe") != "1" {
			next.ServeHTTP(w, r)
			return
		}
		q.Del("_probe")
		r.URL.RawQuery = q.Encode()
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		body := strings.Replace(rec.Body.String(), "</body>", `<script src="/_test/probe.js" defer></script></body>`, 1)
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write([]byte(body))
	})
}

// probeResult is what probe.js reports.
type probeResult struct {
	Charts, Canvases int
	FallbackHidden   bool
	Width            float64
	FigureWidth      float64
	Colors           map[string]string
	Crosshair        map[string]string
	Zoom             struct {
		Zoomed, Since, Until, Link string
		LinkHidden                 bool
	}
	Errors []string
}

// probe loads path with probe.js at the given window width and returns
// its report; the page must log nothing to the console.
func probe(t *testing.T, bin, base, path string, width int) probeResult {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	dom, console := chromeLog(t, bin, "--virtual-time-budget=8000", fmt.Sprintf("--window-size=%d,1600", width), "--dump-dom", base+path+sep+"_probe=1")
	if len(console) > 0 {
		t.Errorf("%s logged to the console:\n%s", path, strings.Join(console, "\n"))
	}
	m := reProbe.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("%s: the probe reported nothing", path)
	}
	var r probeResult
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &r); err != nil {
		t.Fatalf("%s: probe result %q: %v", path, m[1], err)
	}
	if len(r.Errors) > 0 {
		t.Fatalf("%s: %v", path, r.Errors)
	}
	t.Logf("%s at %d px: %+v", path, width, r)
	return r
}

// checkChart asserts what an interactive chart must do: drawn on a canvas
// in place of the SVG, as wide as its figure, a crosshair whose legend
// shows the time and each service's rate, and a drag that zooms in and
// offers the zoomed range as a link.
func checkChart(t *testing.T, name string, r probeResult, w queries.Window) {
	t.Helper()
	if r.Charts < 1 || r.Canvases < 1 || !r.FallbackHidden {
		t.Errorf("%s: %d interactive charts, %d canvases, SVG hidden %v", name, r.Charts, r.Canvases, r.FallbackHidden)
	}
	if r.Width < r.FigureWidth-40 || r.Width > r.FigureWidth+1 {
		t.Errorf("%s: the chart is %.0f px wide in a %.0f px figure: not the page's width", name, r.Width, r.FigureWidth)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\dZ$`).MatchString(r.Crosshair["time (UTC)"]) {
		t.Errorf("%s: the crosshair's time reads %q", name, r.Crosshair["time (UTC)"])
	}
	rates := 0
	for k, v := range r.Crosshair {
		if k != "time (UTC)" && strings.HasSuffix(v, "/min") {
			rates++
		}
	}
	if rates == 0 {
		t.Errorf("%s: the crosshair shows no service's rate: %v", name, r.Crosshair)
	}
	since, err1 := time.Parse(time.RFC3339, r.Zoom.Since)
	until, err2 := time.Parse(time.RFC3339, r.Zoom.Until)
	if r.Zoom.Zoomed != "1" || err1 != nil || err2 != nil || !until.After(since) || since.Before(w.Since) || until.After(w.Until) || until.Sub(since) > w.Until.Sub(w.Since)/3 {
		t.Errorf("%s: the brush did not zoom into a part of %s..%s: %+v", name, w.Since, w.Until, r.Zoom)
	}
	if r.Zoom.LinkHidden || !strings.Contains(r.Zoom.Link, "since="+url.QueryEscape(r.Zoom.Since)) {
		t.Errorf("%s: no link to the zoomed range: %+v", name, r.Zoom)
	}
}

func TestBrowserPages(t *testing.T) {
	bin := chromium(t)
	sim := simulateServer(t)
	truth := sim.sc.Truth
	base := startServer(t, sim.opt, func(h http.Handler) http.Handler { return withProbe(t, submitPage("", h)) })

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
	for _, w := range []string{`class="ts-data"`, `class="uplot`, "<canvas", "Errors per minute per service", "around the latest incident", "<h2>Ingest</h2>", "<h2>Dead letters</h2>"} {
		if !strings.Contains(dom, w) {
			t.Errorf("overview lacks %q", w)
		}
	}
	// The default range is around the incident: its onset lies in the
	// chart's first half or so, not in the last third of six hours.
	var ov struct {
		Since, Until int64
		Series       []struct{ Name, Color string }
		Markers      []struct {
			Rank  int
			Label string
			Color string
		}
	}
	if m := regexp.MustCompile(`(?s)<script type="application/json" class="ts-data">(.*?)</script>`).FindStringSubmatch(dom); m == nil {
		t.Fatal("overview: no chart data")
	} else if err := json.Unmarshal([]byte(m[1]), &ov); err != nil {
		t.Fatal(err)
	}
	span := time.Unix(ov.Until, 0).Sub(time.Unix(ov.Since, 0))
	if at := truth.Onset.Sub(time.Unix(ov.Since, 0)); span > 3*time.Hour || at < 0 || at > span*2/3 {
		t.Errorf("overview range %s..%s (%s) is not around the incident at %s", time.Unix(ov.Since, 0).UTC(), time.Unix(ov.Until, 0).UTC(), span, truth.Onset)
	}
	labelled := false
	for _, m := range ov.Markers {
		if m.Rank == 1 && strings.Contains(m.Label, truth.RootCauseOperation) {
			labelled = true
		}
	}
	if !labelled {
		t.Errorf("overview: the top suspect %s is not labelled on the chart", truth.RootCauseOperation)
	}
	overview := probe(t, bin, base, "/", 1400)
	checkChart(t, "overview", overview, queries.Window{Since: time.Unix(ov.Since, 0), Until: time.Unix(ov.Until, 0)})
	if overview.Width < 1000 {
		t.Errorf("overview chart is %.0f px wide in a 1400 px window: not responsive", overview.Width)
	}
	if narrow := probe(t, bin, base, "/", 800); narrow.Width > 800 || narrow.Width < 600 {
		t.Errorf("overview chart is %.0f px wide in an 800 px window", narrow.Width)
	}
	for _, s := range ov.Series {
		if s.Color != chart.ServiceColor(s.Name) {
			t.Errorf("overview: %s is drawn %s, not its colour %s", s.Name, s.Color, chart.ServiceColor(s.Name))
		}
	}

	// Incident: one summary line, the top three suspects open (the root
	// cause first), the rest folded, each with what it changed, the errors it
	// explains and its links; the chart interactive, each service in the
	// colour it has on the overview.
	dom = page(t, bin, base, "/incidents/"+incID, "incident")
	sum := regexp.MustCompile(`(?s)<p class="summary-line" id="summary">(.*?)</p>`).FindStringSubmatch(dom)
	if sum == nil {
		t.Fatal("incident page: no summary line")
	}
	for _, w := range []string{truth.Affected[0].Service, "errors", "most likely cause", truth.RootCauseOperation, "confidence", truth.Onset.UTC().Format("2006-01-02")} {
		if !strings.Contains(sum[1], w) {
			t.Errorf("summary line lacks %q: %s", w, sum[1])
		}
	}
	rows := reSuspect.FindAllStringSubmatch(dom, -1)
	if len(rows) < 4 {
		t.Fatalf("incident page: %d suspects, want more than three (to see the folded ones)", len(rows))
	}
	if rows[0][1] != "1" || rows[0][2] != truth.RootCauseEventID {
		t.Errorf("incident page: first suspect is rank %s %s, want rank 1 %s (the root cause)", rows[0][1], rows[0][2], truth.RootCauseEventID)
	}
	for i, r := range rows {
		if r[1] != fmt.Sprint(i+1) {
			t.Errorf("suspect %d has rank %s: not in rank order", i, r[1])
		}
		if open := r[3] != ""; open != (i < 3) {
			t.Errorf("suspect #%s open=%v, want the top three open and the rest folded", r[1], open)
		}
	}
	top := dom[strings.Index(dom, rows[0][0]):strings.Index(dom, rows[1][0])]
	for _, w := range []string{"What it changed", `<table class="changed-fields">`, "Errors it explains", `class="raw-event" href="/events/`, `class="console-sql" href="/console?sql=`, `class="console-errors"`, "<q>"} {
		if !strings.Contains(top, w) {
			t.Errorf("the top suspect lacks %q", w)
		}
	}
	casc := reCascade.FindAllStringSubmatch(dom, -1)
	if len(casc) == 0 || casc[0][1] != truth.Affected[0].Service {
		t.Errorf("cascade %v does not start with %s, the first affected service", casc, truth.Affected[0].Service)
	}
	for _, w := range []string{"Cascade: the order services broke", "suspect #1: " + truth.RootCauseOperation, `id="regions"`, truth.Region} {
		if !strings.Contains(dom, w) {
			t.Errorf("incident page lacks %q", w)
		}
	}
	incident := probe(t, bin, base, "/incidents/"+incID, 1400)
	checkChart(t, "incident", incident, queries.Window{Since: truth.Onset.Add(-3 * time.Hour), Until: truth.Onset.Add(3 * time.Hour)})
	same := 0
	for svc, c := range incident.Colors {
		if oc, ok := overview.Colors[svc]; ok {
			same++
			if oc != c {
				t.Errorf("%s is %s on the overview and %s on the incident page", svc, oc, c)
			}
		}
	}
	if same == 0 {
		t.Errorf("no service on both charts to compare colours: overview %v, incident %v", overview.Colors, incident.Colors)
	}
	// The raw event behind the top suspect, and its SQL only filling the console's form.
	raw := regexp.MustCompile(`class="raw-event" href="([^"]+)"`).FindStringSubmatch(top)
	dom = page(t, bin, base, html.UnescapeString(raw[1]), "event")
	if !strings.Contains(dom, `data-event-id="`+truth.RootCauseEventID+`"`) || !strings.Contains(dom, "requestParameters") {
		t.Errorf("the raw event page of the root cause lacks it or its request")
	}
	con := regexp.MustCompile(`class="console-sql" href="([^"]+)"`).FindStringSubmatch(top)
	dom = page(t, bin, base, html.UnescapeString(con[1]), "console-suspect")
	if !strings.Contains(dom, `id="pending"`) || strings.Contains(dom, `<table id="result">`) || !strings.Contains(dom, truth.RootCauseEventID) {
		t.Errorf("the suspect's console link does not only fill the form with its SQL")
	}

	// Incidents list.
	dom = page(t, bin, base, "/incidents?range=all", "incidents")
	if !strings.Contains(dom, `<tr data-incident="`+incID+`">`) || !strings.Contains(dom, truth.RootCauseOperation) {
		t.Errorf("the incidents page lacks %s or its cause", incID)
	}

	// Changes, filtered by the root cause's service: the root cause marked.
	dom = page(t, bin, base, "/changes?service="+url.QueryEscape(truth.RootCauseService), "changes")
	if !strings.Contains(dom, `data-event-id="`+truth.RootCauseEventID+`" class="is-suspect" data-suspect-rank="1"`) {
		t.Errorf("changes page does not mark the root cause %s as suspect #1", truth.RootCauseEventID)
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
