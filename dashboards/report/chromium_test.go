package report

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform/simulate"
)

// chromium returns the headless browser's path. Without one the test is
// skipped on a developer machine and fails in CI (CI set), where .ci/run
// installs it (apt-get install -y chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed but CI is set: the HTML report test needs it (apt-get install -y chromium)")
	}
	t.Skip("chromium not installed (apt-get install -y chromium); skipping the browser test outside CI")
	return ""
}

// runChromium runs headless chromium with args plus the page URL and
// returns stdout and stderr.
func runChromium(t *testing.T, bin string, page string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
	}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\nstderr:\n%s", args, err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// consoleRE matches what chromium logs for a page's console messages and
// uncaught errors.
var consoleRE = regexp.MustCompile(`(?m)^.*(:CONSOLE\(\d+\)\]|Uncaught ).*$`)

// testoutDir is <module root>/testout/report, where screenshots are kept.
func testoutDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	out := filepath.Join(dir, "testout", "report")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	r, _ := buildFixture(t)
	rd, err := Render(r, FormatHTML, "")
	if err != nil {
		t.Fatal(err)
	}
	out := testoutDir(t)
	page := filepath.Join(out, "fixture.html")
	if err := Write(page, rd); err != nil {
		t.Fatal(err)
	}

	// The console check must be able to fail: a page with a script error.
	bad := filepath.Join(t.TempDir(), "bad.html")
	if err := os.WriteFile(bad, []byte(`<!DOCTYPE html><html><body><script>console.error("broken chart"); undefinedFn();</script></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr := runChromium(t, bin, bad, "--dump-dom"); !consoleRE.MatchString(stderr) {
		t.Fatalf("console errors are not detected in chromium's log; stderr:\n%s", stderr)
	}

	dom, stderr := runChromium(t, bin, page, "--dump-dom")
	if msgs := consoleRE.FindAllString(stderr, -1); len(msgs) > 0 {
		t.Errorf("the report logged to the console:\n%s", strings.Join(msgs, "\n"))
	}
	want := 2 * len(r.Incidents) // an error chart and a cascade timeline each
	if got := strings.Count(dom, "<svg"); got != want || want == 0 {
		t.Errorf("rendered DOM has %d <svg> elements, want %d", got, want)
	}
	for _, s := range []string{`class="series"`, `class="bars"`, `class="markers"`, "Incident 1: orders, checkout, frontend", "Most likely cause"} {
		if !strings.Contains(dom, s) {
			t.Errorf("rendered DOM lacks %q", s)
		}
	}

	shot := filepath.Join(out, "fixture.png")
	os.Remove(shot)
	runChromium(t, bin, page, "--screenshot="+shot, "--window-size=1200,2600", "--hide-scrollbars")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	// The charts draw coloured lines and bars: the picture must hold a fair
	// number of clearly coloured (not grey) pixels.
	if n := colourful(img); n < 2000 {
		t.Errorf("screenshot has %d coloured pixels; the charts seem not to be drawn (see %s)", n, shot)
	}
	t.Logf("screenshot: %s", shot)
}

// colourful counts pixels whose channels differ a lot (not white, grey or black).
func colourful(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			hi, lo := max(r, g, bl), min(r, g, bl)
			if hi-lo > 0x4000 {
				n++
			}
		}
	}
	return n
}

// printPDF prints the HTML page at path to a PDF with headless Chromium
// (the report's own @page rule picks the paper) and returns the PDF's path.
func printPDF(t *testing.T, bin, path string) string {
	t.Helper()
	pdf := strings.TrimSuffix(path, filepath.Ext(path)) + ".pdf"
	os.Remove(pdf)
	runChromium(t, bin, path, "--no-pdf-header-footer", "--print-to-pdf="+pdf)
	if st, err := os.Stat(pdf); err != nil || st.Size() < 1000 {
		t.Fatalf("chromium printed no PDF to %s: %v", pdf, err)
	}
	return pdf
}

// poppler runs a poppler-utils command and returns its stdout.
func poppler(t *testing.T, name string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed but CI is set: apt-get install -y poppler-utils", name)
		}
		t.Skipf("%s not installed (apt-get install -y poppler-utils); skipping the PDF test outside CI", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

// rightMargin is the report's right page margin (its @page rule: 12 mm)
// in PDF points.
const rightMargin = 12 / 25.4 * 72

var (
	bboxPage = regexp.MustCompile(`<page width="([\d.]+)"`)
	bboxWord = regexp.MustCompile(`<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>`)
)

// clippedWords lists the words of pdf (pdftotext -bbox) that reach the
// right edge of the paper's content box: Chromium cuts what is wider than
// the page there (a table with an unbreakable cell, a fixed-width chart),
// so the cut word runs past the edge and the rest of the line is gone.
func clippedWords(t *testing.T, pdf string) (pages int, clipped []string) {
	t.Helper()
	bbox := poppler(t, "pdftotext", "-bbox", pdf, "-")
	for _, pg := range strings.Split(bbox, "<page ")[1:] {
		pages++
		m := bboxPage.FindStringSubmatch("<page " + pg)
		if m == nil {
			t.Fatalf("pdftotext -bbox: page %d has no width", pages)
		}
		width, _ := strconv.ParseFloat(m[1], 64)
		edge := width - rightMargin
		for _, w := range bboxWord.FindAllStringSubmatch(pg, -1) {
			if x, _ := strconv.ParseFloat(w[1], 64); x > edge+0.5 {
				clipped = append(clipped, fmt.Sprintf("page %d: %q ends at %.1f pt, the content edge is %.1f pt", pages, w[2], x, edge))
			}
		}
	}
	return pages, clipped
}

// TestReportPrintsOnA4: the HTML report of the simulated outage printed to
// PDF by Chromium is A4, nothing runs past the paper's content width (no
// clipped table or chart), the executive summary opens the first page, and
// the operators' appendix starts on a page of its own after the incidents.
func TestReportPrintsOnA4(t *testing.T) {
	bin := chromium(t)
	out := testoutDir(t)

	// The clipping check must be able to fail: a table wider than A4.
	wide := filepath.Join(out, "too-wide.html")
	if err := os.WriteFile(wide, []byte(`<!DOCTYPE html><html><head><style>@page { size: A4; margin: 14mm 12mm; } td { white-space: nowrap; border: 1px solid #000; }</style></head><body><table><tr><td>`+strings.Repeat("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/cart-tg/c8ef451987afb0f0 ", 4)+`</td></tr></table></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, clipped := clippedWords(t, printPDF(t, bin, wide)); len(clipped) == 0 {
		t.Fatal("a table wider than the paper is not detected as clipped")
	}

	db, sc := simulated(t, simulate.FamilyLBChange, 1)
	eng := queries.NewEngine(db.DB, queries.DefaultCorrelationConfig(), sc.Topology)
	w := queries.Window{Since: sc.Truth.Window.Since, Until: sc.Truth.Window.Until}
	r, err := Build(context.Background(), eng, Options{Title: "Impact report: simulated lb-change outage", Window: w, Now: w.Until})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Incidents) == 0 || len(r.Incidents[0].Suspects) < 3 {
		t.Fatalf("the simulated outage gave %d incidents; want one with several suspects", len(r.Incidents))
	}
	rd, err := Render(r, FormatHTML, "")
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(out, "simulated.html")
	if err := Write(page, rd); err != nil {
		t.Fatal(err)
	}
	pdf := printPDF(t, bin, page)
	t.Logf("PDF: %s", pdf)

	info := poppler(t, "pdfinfo", pdf)
	if !regexp.MustCompile(`Page size:\s+[\d.]+ x [\d.]+ pts \(A4\)`).MatchString(info) {
		t.Errorf("the report does not print on A4:\n%s", info)
	}
	pages, clipped := clippedWords(t, pdf)
	if len(clipped) > 0 {
		t.Errorf("%s is cut at the paper's right edge:\n%s", pdf, strings.Join(clipped, "\n"))
	}
	// The pages as pictures, for a person to look at.
	poppler(t, "pdftoppm", "-r", "60", "-png", pdf, strings.TrimSuffix(pdf, ".pdf")+"-page")
	if pages < 2 {
		t.Errorf("the report printed on %d page(s); want the appendix on a page of its own", pages)
	}
	text := func(p int) string {
		return strings.Join(strings.Fields(poppler(t, "pdftotext", "-f", fmt.Sprint(p), "-l", fmt.Sprint(p), "-layout", pdf, "-")), " ")
	}
	first := text(1)
	if !strings.Contains(first, strings.Join(strings.Fields(r.Headline), " ")[:60]) {
		t.Errorf("page 1 does not open with the executive summary %q:\n%.600s", r.Headline, first)
	}
	appendix := 0
	for p := 1; p <= pages; p++ {
		if strings.Contains(text(p), "Appendix for operators") {
			appendix = p
		}
	}
	if appendix < 2 || strings.Contains(text(appendix), "Most likely cause") {
		t.Errorf("the operators' appendix is on page %d of %d, not on its own page after the incidents", appendix, pages)
	}
	// Every listed suspect is printed with its short resource name, and no
	// suspect table cell lost its text.
	all := ""
	for p := 1; p <= pages; p++ {
		all += text(p) + " "
	}
	for _, s := range r.Incidents[0].Suspects {
		if n := ResourceName(s.Resource); n != "" && !strings.Contains(all, n) {
			t.Errorf("suspect #%d's resource %s is not in the PDF", s.Rank, n)
		}
	}
}
