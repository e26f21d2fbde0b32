package report

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/faultline/faultline/queries"
)

// namedRows runs a named query and returns its rows as JSON objects (the
// same representation the report's JSON has).
func namedRows(t *testing.T, eng *queries.Engine, name string, w queries.Window) []map[string]any {
	t.Helper()
	tab, err := eng.Named(context.Background(), name, w)
	if err != nil {
		t.Fatalf("named query %s: %v", name, err)
	}
	var out []map[string]any
	for _, row := range tab.Rows {
		m := map[string]any{}
		for i, c := range tab.Columns {
			m[c] = row[i]
		}
		out = append(out, roundTrip(t, m))
	}
	return out
}

func roundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func list(v any) []map[string]any {
	var out []map[string]any
	for _, x := range v.([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// find returns the object in objs whose keys equal those of want.
func find(objs []map[string]any, want map[string]any, keys ...string) map[string]any {
	for _, o := range objs {
		match := true
		for _, k := range keys {
			if !reflect.DeepEqual(o[k], want[k]) {
				match = false
				break
			}
		}
		if match {
			return o
		}
	}
	return nil
}

// sameFields checks that every column of the named row has the same value
// in the report object.
func sameFields(t *testing.T, what string, row, got map[string]any) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: named row %v is missing from the report", what, row)
		return
	}
	for k, v := range row {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s %s: report has %v, named query has %v", what, k, got[k], v)
		}
	}
}

// TestReportNumbersEqualNamedQueries renders the fixture report as JSON and
// checks every number against the named queries `faultline query` runs.
func TestReportNumbersEqualNamedQueries(t *testing.T) {
	f := newFixtureDB(t)
	eng := newSource(t, f)
	opts := fixtureOptions()
	r, err := Build(context.Background(), eng, opts)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := Render(r, FormatJSON, "")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(rd.Body, &doc); err != nil {
		t.Fatal(err)
	}
	w := opts.Window
	incidents := list(doc["incidents"])

	named := namedRows(t, eng, "incidents", w)
	if len(named) == 0 {
		t.Fatal("the fixture must have an incident")
	}
	if len(incidents) != len(named) || doc["summary"].(map[string]any)["incidents"] != float64(len(named)) {
		t.Errorf("report has %d incidents, named query %d", len(incidents), len(named))
	}
	for _, row := range named {
		sameFields(t, "incident", row, find(incidents, row, "incident_id"))
	}

	byIncident := func(key string) []map[string]any {
		var all []map[string]any
		for _, in := range incidents {
			all = append(all, list(in[key])...)
		}
		return all
	}
	suspects := byIncident("suspects")
	n := 0
	for _, row := range namedRows(t, eng, "suspects", w) {
		if row["rank"].(float64) > float64(opts.withDefaults().MaxSuspects) {
			continue
		}
		n++
		sameFields(t, "suspect", row, find(suspects, row, "incident_id", "rank"))
	}
	if n == 0 || n != len(suspects) {
		t.Errorf("report lists %d suspects, named query has %d in the top %d", len(suspects), n, opts.withDefaults().MaxSuspects)
	}

	cascade := byIncident("cascade")
	namedCascade := namedRows(t, eng, "cascade", w)
	if len(cascade) != len(namedCascade) || len(cascade) == 0 {
		t.Errorf("report cascade has %d steps, named query %d", len(cascade), len(namedCascade))
	}
	for _, row := range namedCascade {
		sameFields(t, "cascade step", row, find(cascade, row, "incident_id", "order"))
	}

	regions := append(byIncident("region_shares"), list(doc["regions"])...)
	namedRegions := namedRows(t, eng, "regions", w)
	if len(regions) != len(namedRegions) {
		t.Errorf("report has %d region rows, named query %d", len(regions), len(namedRegions))
	}
	for _, row := range namedRegions {
		sameFields(t, "region", row, find(regions, row, "incident_id", "region"))
	}

	cf := doc["change_failure"].(map[string]any)
	var failures []map[string]any
	for _, k := range []string{"by_change_type", "by_service", "by_actor", "by_operation"} {
		failures = append(failures, list(cf[k])...)
	}
	namedCFR := namedRows(t, eng, "change-failure-rate", w)
	if len(failures) != len(namedCFR) || len(failures) == 0 {
		t.Errorf("report has %d change failure rows, named query %d", len(failures), len(namedCFR))
	}
	for _, row := range namedCFR {
		sameFields(t, "change failure", row, find(failures, row, "dimension", "value"))
	}

	// The markdown prints the same numbers.
	md, err := Render(r, FormatMarkdown, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range named {
		want := fmt.Sprintf("**Peak:** %v errors/min", row["peak_errors_per_min"])
		if !strings.Contains(string(md.Body), want) || !strings.Contains(string(md.Body), fmt.Sprintf("**total errors:** %v", row["total_errors"])) {
			t.Errorf("markdown lacks %q or the incident's total errors", want)
		}
	}
}
