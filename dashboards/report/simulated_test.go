package report

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform"
	"github.com/faultline/faultline/transform/simulate"
)

// simulated generates the seeded lb-change scenario, writes it in the real
// input formats and loads it with the file loader into an in-memory store:
// the same path as `faultline simulate` + `faultline load`.
func simulated(t *testing.T, family string, seed int64) (*store.DB, *simulate.Scenario) {
	t.Helper()
	ctx := context.Background()
	sc, err := simulate.Generate(family, seed, simulate.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := sc.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sum, err := ingest.LoadPaths(ctx, db, []string{filepath.Join(dir, "data")}, ingest.LoadOptions{
		Config: ingest.DefaultConfig(), Transform: transform.DefaultConfig(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events == 0 {
		t.Fatal("the loader loaded no events")
	}
	// File positions name the temporary directory and the load time; pin
	// them so the golden reports are stable.
	if _, err := db.ExecContext(t.Context(), `UPDATE ingest_offsets SET source = replace(source, $1, '<scenario>'), updated_at = $2`,
		dir, sc.Truth.Window.Until.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `UPDATE dead_letters SET time = $1`, sc.Truth.Window.Until.Add(-time.Minute).Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	return db, sc
}

// TestGoldenSimulatedReport: the report of a fixed simulated outage, in
// every format, with the planted root cause as the most likely cause.
func TestGoldenSimulatedReport(t *testing.T) {
	db, sc := simulated(t, simulate.FamilyLBChange, 1)
	eng := queries.NewEngine(db.DB, queries.DefaultCorrelationConfig(), sc.Topology)
	w := queries.Window{Since: sc.Truth.Window.Since, Until: sc.Truth.Window.Until}
	r, err := Build(context.Background(), eng, Options{
		Title: "Impact report: simulated lb-change outage (seed 1)", Window: w, Now: w.Until,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Incidents) == 0 || len(r.Incidents[0].Suspects) == 0 {
		t.Fatalf("the simulated outage gave %d incidents and no suspects", len(r.Incidents))
	}
	top := r.Incidents[0].Suspects[0]
	if top.EventID != sc.Truth.RootCauseEventID {
		t.Errorf("most likely cause %s (%s), want the planted %s (%s)", top.EventID, top.Operation, sc.Truth.RootCauseEventID, sc.Truth.RootCauseOperation)
	}
	var affected []string
	for _, a := range sc.Truth.Affected {
		affected = append(affected, a.Service)
	}
	if got := strings.Join(r.Incidents[0].Services, ","); got != strings.Join(affected, ",") {
		t.Errorf("incident services %s, want the affected %s in onset order", got, strings.Join(affected, ","))
	}
	if r.Summary.DeadLetters != 0 {
		t.Errorf("the simulator's inputs gave %d dead letters, want 0", r.Summary.DeadLetters)
	}
	for _, format := range Formats {
		assets := ""
		if format == FormatMarkdown {
			assets = "simulated.files"
		}
		rd, err := Render(r, format, assets)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "simulated"+Ext(format), rd.Body)
		for _, f := range rd.Files {
			golden(t, f.Name, f.Data)
		}
	}

	// docs/example-report.md is this report, kept current by the same test.
	rd, err := Render(r, FormatMarkdown, "example-report.files")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "../../../docs/example-report.md", rd.Body)
	for _, f := range rd.Files {
		golden(t, "../../../docs/"+f.Name, f.Data)
	}
}
