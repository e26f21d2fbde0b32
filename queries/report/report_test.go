package report

import (
	"context"
	"testing"

	"github.com/faultline/faultline/queries"
)

// fixtureOptions are the fixed options of the golden reports.
func fixtureOptions() Options {
	return Options{
		Title:  "Impact report: fixture outage",
		Window: queries.Window{Since: clock("06:00"), Until: clock("08:00")},
		Now:    clock("08:00:05"),
	}
}

func buildFixture(t *testing.T) (*Report, *fixtureDB) {
	t.Helper()
	f := newFixtureDB(t)
	r, err := Build(context.Background(), newSource(t, f), DBStats{DB: f.sqlDB()}, fixtureOptions())
	if err != nil {
		t.Fatal(err)
	}
	return r, f
}

func TestGoldenReports(t *testing.T) {
	r, _ := buildFixture(t)
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			assets := ""
			if format == FormatMarkdown {
				assets = "fixture.files"
			}
			rd, err := Render(r, format, assets)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "fixture"+Ext(format), rd.Body)
			for _, f := range rd.Files {
				golden(t, f.Name, f.Data)
			}
		})
	}
}
