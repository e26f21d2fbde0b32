package report

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
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
