package dashboards

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
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
		form       url.Values // POSTed when set
		code       int
	}{
		{"overview", "/", nil, 200},
		{"overview_filtered", "/?service=payments&range=2h", nil, 200},
		{"incident", "/incidents/" + f.incID, nil, 200},
		{"changes", "/changes", nil, 200},
		{"changes_filtered", "/changes?risk=critical", nil, 200},
		{"services", "/services", nil, 200},
		{"console", "/console", nil, 200},
		{"console_get_sql", "/console?sql=" + url.QueryEscape("SELECT 1"), nil, 200}, // filled in, not run
		{"console_result", "/console", url.Values{"sql": {"SELECT service, count(*) AS errors FROM errors GROUP BY service ORDER BY errors DESC"}}, 200},
		{"console_refused", "/console", url.Values{"sql": {"DELETE FROM events"}}, 400},
		{"incident_unknown", "/incidents/inc-nope", nil, 404},
		{"bad_range", "/?range=-5h", nil, 400},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			resp, body := f.get(t, p.path)
			if p.form != nil {
				resp, body = f.post(t, p.path, p.form)
			}
			if resp.StatusCode != p.code {
				t.Fatalf("GET %s: status %d, want %d", p.path, resp.StatusCode, p.code)
			}
			golden.Check(t, filepath.Join("testdata", "pages", p.name+".html"), []byte(normalise(body)))
		})
	}
}

// TestOverviewFilterNote: a service or region filter that matches nothing
// says so, with the closest name that has events; it used to draw an empty
// chart, as for a quiet service.
func TestOverviewFilterNote(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range []struct {
		path, want string // want "" = no note
	}{
		{"/?service=payments&range=2h", ""},
		{"/?service=paymnts&range=2h", "no service paymnts has events in this range (did you mean payments?): fix the filter or clear it"},
		{"/?region=us-est-1&range=2h", "no region us-est-1 has events in this range (did you mean us-east-1?)"},
		{"/?service=zzzzzzzz&range=2h", "no service zzzzzzzz has events in this range: fix the filter"},
	} {
		resp, body := f.get(t, c.path)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: status %d", c.path, resp.StatusCode)
		}
		has := strings.Contains(body, `id="filter-note"`)
		if c.want == "" && has || c.want != "" && !strings.Contains(body, c.want) {
			t.Errorf("GET %s: filter note present %v, want %q", c.path, has, c.want)
		}
	}
}
