package report

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/queries"
)

// TestMarkdownEscaping: values from events (resources, actors, evidence)
// cannot break the markdown's tables, code spans or blockquote.
func TestMarkdownEscaping(t *testing.T) {
	on := time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)
	s := func(rank int) queries.Suspect {
		return queries.Suspect{IncidentID: "i", Rank: rank, Time: on.Add(-time.Minute), Operation: "Put|Policy", Resource: "arn:`x`",
			Actor: "a\nb", Evidence: "line one\nline two | pipe", Components: map[string]float64{"lead": 1}}
	}
	r := &Report{
		Window: queries.Window{Since: on.Add(-time.Hour), Until: on.Add(time.Hour)},
		Incidents: []Incident{{
			Incident: queries.Incident{ID: "i", Onset: on, Services: []string{"svc"}},
			Number:   1, Suspects: []queries.Suspect{s(1), s(2)},
		}},
	}
	rd, err := Render(r, FormatMarkdown, "")
	if err != nil {
		t.Fatal(err)
	}
	md := string(rd.Body)
	for _, want := range []string{
		"> line one line two | pipe\n",       // blockquote stays one line
		"on `'x'` by `a b`",                  // code spans stay closed
		"resource `arn:'x'`",                 // the full identifier too
		"| Put\\|Policy on \\`x\\` by a b (", // table cells escaped
		"| line one line two \\| pipe |",     // evidence cell
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// HTML in the data (a service, an operation, an actor, evidence, a region
// warning) comes out of the markdown report and the webhook summary as
// text: markdown viewers render raw HTML, the HTML report already escapes.
func TestMarkdownEscapesHTML(t *testing.T) {
	on := time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)
	x := `<script>alert(1)</script>`
	img := `<img src=x onerror=alert(2)>`
	sus := func(rank int) queries.Suspect {
		return queries.Suspect{IncidentID: "i", Rank: rank, Time: on.Add(-time.Minute), Operation: "Put" + img, Resource: "arn:" + x,
			Actor: "bob" + x, Service: "svc" + x, Region: "us-east-1" + img, ChangeType: "dns" + x, RiskClass: "high",
			Evidence: "3 min before onset " + x + " [click](javascript:alert(3))", Components: map[string]float64{"lead": 1}}
	}
	r := &Report{
		Title:  "Weekly " + x,
		Window: queries.Window{Since: on.Add(-time.Hour), Until: on.Add(time.Hour)},
		Incidents: []Incident{{
			Incident: queries.Incident{ID: "inc-" + x, Onset: on, Services: []string{"checkout" + x, "api"}, Regions: []string{"us-east-1" + img}},
			Number:   1, Suspects: []queries.Suspect{sus(1), sus(2)}, Warning: "confined to " + img,
			Cascade: []queries.CascadeStep{{Order: 1, Service: "checkout" + x, Region: "us-east-1", Via: []string{img}}},
		}},
		TopErrors: []queries.ErrorSource{{Service: "api" + x, ErrorCode: img, Errors: 3}},
	}
	rd, err := Render(r, FormatMarkdown, "assets")
	if err != nil {
		t.Fatal(err)
	}
	brief, err := NewBrief(r, "weekly", "reports/"+x+".md", FormatMarkdown).Markdown()
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"report": string(rd.Body), "webhook summary": string(brief)} {
		// HTML is raw only outside code spans: drop the code spans first.
		text := regexp.MustCompile("`[^`\n]*`").ReplaceAllString(out, "")
		for _, bad := range []string{"<script", "<img"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s holds raw %q:\n%s", name, bad, out)
			}
		}
		if regexp.MustCompile(`[^\\]\]\(javascript:`).MatchString(text) {
			t.Errorf("%s holds a link from the data:\n%s", name, out)
		}
		if !strings.Contains(out, "&lt;script>") {
			t.Errorf("%s lacks the escaped text &lt;script&gt;:\n%s", name, out)
		}
	}
}
