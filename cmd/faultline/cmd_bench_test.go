package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/faultline/faultline/cmd/faultline/bench"
)

// A stage process (what `faultline bench` starts per stage) measures its
// stage and prints the sample as JSON.
func TestBenchStageProcess(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	c := bench.Generate(2000, 5)
	corpus, nd := filepath.Join(dir, "c.bin"), filepath.Join(dir, "c.ndjson")
	if err := c.WriteFile(corpus); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteNDJSON(nd); err != nil {
		t.Fatal(err)
	}
	for _, stage := range []string{bench.StageDecode, bench.StageReadJSON} {
		out, err := runCLI(t, "bench", "--stage", stage, "--corpus", corpus, "--ndjson", nd, "--dir", dir,
			"--events-in-corpus", strconv.Itoa(c.Events), "--bytes", strconv.FormatInt(c.Bytes, 10), "--rep", "2")
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		var s bench.Sample
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("%s: %v in %q", stage, err, out)
		}
		if s.Stage != stage || s.Rep != 2 || s.Events != int64(c.Events) || s.Seconds <= 0 || s.MaxRSSBytes <= 0 {
			t.Errorf("%s: sample %+v, want %d events, rep 2, a time and a peak RSS", stage, s, c.Events)
		}
	}
}

func TestBenchUsage(t *testing.T) {
	_, err := runCLI(t, "bench", "--only", "everything")
	var ue usageError
	if !errors.As(err, &ue) {
		t.Errorf("bench --only everything: %v, want a usage error", err)
	}
	if _, err := runCLI(t, "bench", "--stage", "z-nothing"); err == nil {
		t.Error("an unknown stage ran")
	}
}

// TestBenchHelpSizes: bench --help names every events table the named
// queries run over in full mode (it said "1M (and, in full mode, 10M)"
// after bench-full gained its 100M point).
func TestBenchHelpSizes(t *testing.T) {
	long := newBenchCmd(&app{}).Long
	for _, n := range bench.FullOptions().QueryEvents {
		size := strconv.Itoa(n/1_000_000) + "M"
		if !regexp.MustCompile(`\b` + size + `\b`).MatchString(long) {
			t.Errorf("bench --help does not name the %s-event table of full mode:\n%s", size, long)
		}
	}
}
