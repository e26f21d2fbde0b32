package dashboards

import (
	"net/url"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/faultline/faultline/internal/testkit/golden"
)

// volatile are the parts of a page that change from run to run with the
// same data: how long a console query took.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`rows in \d+ ms`), "rows in <ms> ms"},
}

func normalise(page string) string {
	for _, v := range volatile {
		page = v.re.ReplaceAllString(page, v.with)
	}
	return page
}

// TestPageGoldens renders every page over the fixture (a fixed clock, so
// ages and default windows are stable) and compares the HTML with
// testdata/pages/*.html; go test -update rewrites them.
func TestPageGoldens(t *testing.T) {
	f := newFixture(t, nil)
	pages := []struct {
		name, path string
		code       int
	}{
		{"overview", "/", 200},
		{"overview_filtered", "/?service=payments&range=2h", 200},
		{"incident", "/incidents/" + f.incID, 200},
		{"changes", "/changes", 200},
		{"changes_filtered", "/changes?risk=critical", 200},
		{"services", "/services", 200},
		{"console", "/console", 200},
		{"console_result", "/console?sql=" + url.QueryEscape("SELECT service, count(*) AS errors FROM errors GROUP BY service ORDER BY errors DESC"), 200},
		{"console_refused", "/console?sql=" + url.QueryEscape("DELETE FROM events"), 400},
		{"incident_unknown", "/incidents/inc-nope", 404},
		{"bad_range", "/?range=-5h", 400},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			resp, body := f.get(t, p.path)
			if resp.StatusCode != p.code {
				t.Fatalf("GET %s: status %d, want %d", p.path, resp.StatusCode, p.code)
			}
			golden.Check(t, filepath.Join("testdata", "pages", p.name+".html"), []byte(normalise(body)))
		})
	}
}
