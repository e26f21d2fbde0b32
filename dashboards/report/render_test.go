package report

import (
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
		"> line one line two | pipe\n",     // blockquote stays one line
		"on `arn:'x'` by `a b`",            // code spans stay closed
		"| Put\\|Policy | arn:`x` | a b |", // table cells escaped
		"| line one line two \\| pipe |",   // evidence cell
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
