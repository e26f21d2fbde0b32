package report

import (
	"context"
	"strings"
	"testing"
	"time"

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
	r, err := Build(context.Background(), newSource(t, f), fixtureOptions())
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

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {45 * time.Second, "45s"}, {26 * time.Minute, "26m"}, {90 * time.Second, "1m30s"},
		{65 * time.Minute, "1h05m"}, {49*time.Hour + 10*time.Minute, "2d01h"}, {-2 * time.Minute, "-2m"},
		{1499 * time.Millisecond, "1s"},
	}
	for _, tt := range tests {
		if got := Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestOngoingIncident: a window that ends inside the outage reports the
// incident as ongoing, without a time to recover, and draws open bars.
func TestOngoingIncident(t *testing.T) {
	f := newFixtureDB(t)
	opts := fixtureOptions()
	opts.Window.Until = clock("07:20")
	r, err := Build(context.Background(), newSource(t, f), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Incidents) != 1 {
		t.Fatalf("%d incidents, want 1", len(r.Incidents))
	}
	in := r.Incidents[0]
	if !in.Ongoing || in.TimeToRecover != "ongoing" || in.TimeToRecoverSeconds != nil || r.Summary.Ongoing != 1 {
		t.Errorf("incident ongoing=%v ttr=%q ttr_seconds=%v summary.ongoing=%d; want an ongoing incident",
			in.Ongoing, in.TimeToRecover, in.TimeToRecoverSeconds, r.Summary.Ongoing)
	}
	if !strings.Contains(string(in.CascadeChart.SVG), "(ongoing)") {
		t.Error("the cascade chart does not mark the bars as ongoing")
	}
	md, err := Render(r, FormatMarkdown, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md.Body), "to now (**ongoing**)") || !strings.Contains(string(md.Body), "**Time to recover:** ongoing") {
		t.Errorf("markdown does not say the incident is ongoing:\n%s", md.Body)
	}
	if strings.Contains(string(md.Body), "![") {
		t.Error("markdown without an assets directory must not link charts")
	}
}

func TestEmptyWindow(t *testing.T) {
	f := newFixtureDB(t)
	opts := fixtureOptions()
	opts.Window.Since, opts.Window.Until = clock("06:00"), clock("06:30")
	r, err := Build(context.Background(), newSource(t, f), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range Formats {
		rd, err := Render(r, format, "x.files")
		if err != nil {
			t.Fatal(err)
		}
		if len(rd.Files) != 0 {
			t.Errorf("%s: %d chart files for a window without incidents", format, len(rd.Files))
		}
		if format == FormatJSON {
			if !strings.Contains(string(rd.Body), `"incidents": []`) {
				t.Errorf("json lists incidents as null or non-empty:\n%s", rd.Body)
			}
			continue
		}
		if !strings.Contains(string(rd.Body), "No incidents in this window.") {
			t.Errorf("%s does not say there were no incidents", format)
		}
	}
	if _, err := Build(context.Background(), newSource(t, f), Options{}); err == nil {
		t.Error("Build without a window must fail")
	}
}
