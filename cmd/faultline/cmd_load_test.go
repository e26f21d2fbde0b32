package main

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

func summaryInt(t *testing.T, out, pattern string) int {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("summary lacks %q:\n%s", pattern, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestLoadCommand loads the sample files twice: the second load adds nothing.
func TestLoadCommand(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "l.duckdb")
	samples := "../../transform/testdata/samples"
	out, _, err := runCmd(ctx, t, "load", "--db", db, "--log-level", "warn", samples)
	if err != nil {
		t.Fatal(err)
	}
	files := summaryInt(t, out, `files:\s+(\d+) \(`)
	if loaded := summaryInt(t, out, `\((\d+) loaded`); loaded != files || files == 0 {
		t.Errorf("first load: %d of %d files loaded\n%s", loaded, files, out)
	}
	if ev := summaryInt(t, out, `(?m)^events:\s+(\d+)`); ev < 200 {
		t.Errorf("first load: %d events, want the samples' 200+\n%s", ev, out)
	}
	out, _, err = runCmd(ctx, t, "load", "--db", db, "--log-level", "warn", samples)
	if err != nil {
		t.Fatal(err)
	}
	if ev := summaryInt(t, out, `(?m)^events:\s+(\d+)`); ev != 0 {
		t.Errorf("second load added %d events\n%s", ev, out)
	}
	if un := summaryInt(t, out, `(\d+) unchanged`); un != files {
		t.Errorf("second load: %d unchanged, want %d\n%s", un, files, out)
	}
}

func TestIngestCommandUsage(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"ingest", "--topic", "noformat"},
		{"ingest", "--topic", "t=xml"},
		{"load", "--format", "xml", "."},
	} {
		_, _, err := runCmd(ctx, t, append(args, "--db", filepath.Join(t.TempDir(), "x.duckdb"))...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}
