package bench

import (
	"context"
	"database/sql"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/broker"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform"
)

func noMeasure() func(*Sample) { return func(*Sample) {} }

// The generated corpus decodes without dead letters into the number of
// events it claims, with CloudTrail records of 1-3 KB.
func TestCorpusDecodes(t *testing.T) {
	c := Generate(5000, 7)
	if c.Events < 5000 || c.Events >= 5000+cwBatch {
		t.Fatalf("corpus has %d events, want 5000 rounded up to a payload", c.Events)
	}
	again := Generate(5000, 7)
	if len(again.Msgs) != len(c.Msgs) || string(again.Msgs[10].Value) != string(c.Msgs[10].Value) {
		t.Fatal("the same seed generated a different corpus")
	}
	dec, err := transform.NewDecoder(transform.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var res transform.Result
	byTopic := map[int]int{}
	for i, m := range c.Msgs {
		dec.Decode(input(c, i), time.Now(), &res)
		byTopic[m.Topic]++
		if m.Topic == 0 && (len(m.Value) < 1000 || len(m.Value) > 3200) {
			t.Errorf("CloudTrail record of %d bytes, want 1-3 KB", len(m.Value))
		}
	}
	for _, d := range res.DeadLetters {
		t.Errorf("dead letter %s: %s (%.200s)", d.Reason, d.Message, d.Raw)
	}
	if len(res.Events) != c.Events {
		t.Errorf("decoded %d events, corpus says %d", len(res.Events), c.Events)
	}
	kinds := map[string]int{}
	for _, e := range res.Events {
		kinds[e.Kind]++
	}
	if kinds[transform.KindError] == 0 || kinds[transform.KindChange] == 0 || kinds[transform.KindInfo] == 0 {
		t.Errorf("kinds %v: want errors, changes and info events", kinds)
	}
	if share := float64(byTopic[0]) / float64(len(c.Msgs)); share < 0.6 {
		t.Errorf("CloudTrail is %.0f%% of the messages, want most", 100*share)
	}
}

// The corpus file round-trips.
func TestCorpusFile(t *testing.T) {
	c := Generate(2000, 1)
	p := filepath.Join(t.TempDir(), "c.bin")
	if err := c.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	r, err := ReadCorpus(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Msgs) != len(c.Msgs) || r.Bytes != c.Bytes {
		t.Fatalf("read %d messages %d bytes, wrote %d, %d", len(r.Msgs), r.Bytes, len(c.Msgs), c.Bytes)
	}
	for i := range c.Msgs {
		if r.Msgs[i].Topic != c.Msgs[i].Topic || string(r.Msgs[i].Value) != string(c.Msgs[i].Value) {
			t.Fatalf("message %d differs", i)
		}
	}
}

// Every stage loads or reads the whole corpus: read_json and the sink the
// same number of events per source as faultline's decoder, Kafka every
// byte, e2e every event.
func TestStages(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := Generate(3000, 3)
	a := StageArgs{Corpus: filepath.Join(dir, "c.bin"), NDJSON: filepath.Join(dir, "c.ndjson"), Events: int64(c.Events), Bytes: c.Bytes, Dir: dir, Rep: 1}
	if err := c.WriteFile(a.Corpus); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteNDJSON(a.NDJSON); err != nil {
		t.Fatal(err)
	}
	topics := map[string]int32{}
	for _, tp := range Topics {
		topics[tp.Name] = Partitions
	}
	br, err := broker.Start(ctx, "127.0.0.1:0", topics)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	if err := fill(ctx, br.Addr(), c); err != nil {
		t.Fatal(err)
	}
	a.Brokers = br.Addrs()

	s, err := stageKafka(ctx, a, noMeasure)
	if err != nil || s.Bytes != c.Bytes {
		t.Errorf("kafka stage: %v, read %d bytes, want %d", err, s.Bytes, c.Bytes)
	}
	s, err = stageDecode(ctx, a, noMeasure)
	if err != nil || s.Events != int64(c.Events) {
		t.Errorf("decode stage: %v, %d events, want %d", err, s.Events, c.Events)
	}
	s, err = stageDuckDB(ctx, a, noMeasure)
	if err != nil || s.Events != int64(c.Events) || s.ArrowBytes <= 0 || s.Batches < 1 {
		t.Errorf("duckdb stage: %v, %d events in %d batches (%d Arrow bytes), want %d", err, s.Events, s.Batches, s.ArrowBytes, c.Events)
	}
	want := sourceCounts(t, filepath.Join(dir, "c-1.duckdb"))
	s, err = stageReadJSON(ctx, a, noMeasure)
	if err != nil || s.Events != int64(c.Events) {
		t.Errorf("read_json stage: %v, %d events, want %d", err, s.Events, c.Events)
	}
	got := sourceCounts(t, filepath.Join(dir, "d-1.duckdb"))
	for k, n := range want {
		if got[k] != n {
			t.Errorf("read_json loaded %d %s events, faultline %d", got[k], k, n)
		}
	}
	s, err = stageE2E(ctx, a, noMeasure)
	if err != nil || s.Events != int64(c.Events) {
		t.Errorf("e2e stage: %v, %d events, want %d", err, s.Events, c.Events)
	}
	// f and i: a load into a new file and one into a file that already
	// holds two loads of the same records, which are not skipped as loaded.
	a.CloudTrail = filepath.Join(dir, "ct.ndjson")
	if _, err := GenerateTopic(0, 500, 3).WriteNDJSON(a.CloudTrail); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		prior int
	}{{"f", 0}, {"i", 2}} {
		s, err = loadStage(ctx, a, noMeasure, tc.name, tc.prior, 500)
		if err != nil || s.Events != 500 {
			t.Errorf("load stage %s: %v, %d events, want 500", tc.name, err, s.Events)
		}
		if got := sourceCounts(t, filepath.Join(dir, tc.name+"-1.duckdb"), "cloudtrail"); got["cloudtrail"] != 500*(tc.prior+1) {
			t.Errorf("load stage %s: %d events in the file, want %d", tc.name, got["cloudtrail"], 500*(tc.prior+1))
		}
	}
	if _, err := loadStage(ctx, a, noMeasure, "x", 0, 501); err == nil {
		t.Error("load stage: 500 events where 501 are wanted was not an error")
	}
	a.Duration = 2 * time.Second
	s, err = stageSteady(ctx, a, noMeasure)
	if err != nil || s.Events < int64(c.Events) || s.Loops < 1 {
		t.Errorf("steady stage: %v, %d events in %d loops, want at least %d", err, s.Events, s.Loops, c.Events)
	}
}

func sourceCounts(t *testing.T, path string, sources ...string) map[string]int {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), "SELECT source, count(*) FROM events GROUP BY source")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	if len(sources) == 0 {
		sources = []string{"cloudtrail", "cloudwatch", "app"}
	}
	for _, src := range sources {
		if out[src] == 0 {
			t.Errorf("%s: sources %v, want %v", path, out, sources)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The query benchmark generates events with incidents, and the engine and
// the replayed statements both run.
func TestQueries(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 50000
	if err := GenerateEvents(ctx, db.DB, n); err != nil {
		t.Fatal(err)
	}
	var got int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM events").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Errorf("generated %d events, want %d", got, n)
	}
	res, err := timeQueries(ctx, db, n, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(NamedQueries) {
		t.Fatalf("%d results, want %d", len(res), len(NamedQueries))
	}
	for _, r := range res {
		if r.Statements == 0 || len(r.Seconds) != 2 || len(r.DirectSeconds) != 2 || r.P50Seconds <= 0 || r.DirectP50Seconds <= 0 {
			t.Errorf("%s: %+v", r.Name, r)
		}
		if len(r.Slowest) == 0 || r.Slowest[0].Statement == "" {
			t.Errorf("%s: no statement timings", r.Name)
		}
	}
}

// summarize takes medians per stage and combines a, b and c serially.
func TestSummarize(t *testing.T) {
	r := Report{Corpus: CorpusInfo{Events: EOverDEvents}}
	for rep, f := range []float64{1, 2, 3} { // median factor 2
		for st, sec := range map[string]float64{StageKafka: 1, StageDecode: 2, StageDuckDB: 4, StageReadJSON: 2, StageE2E: 8, StageLoad: 4, StageLoadRJ: 2, StageLoadMore: 5} {
			r.Samples = append(r.Samples, Sample{Stage: st, Rep: rep, Events: 1_000_000, Bytes: 1e9, Seconds: sec * f, CPUSeconds: 2, GoCPUSeconds: 2, GCCPUSeconds: 0.2, MaxRSSBytes: 1e8})
		}
	}
	r.summarize()
	eps := map[string]float64{}
	for _, s := range r.Ingest {
		eps[s.Stage] = s.EventsPerSec
		if s.GCShare != 0.1 || s.CPUSecPerMEvents != 2 {
			t.Errorf("%s: gc share %v, cpu/M %v", s.Stage, s.GCShare, s.CPUSecPerMEvents)
		}
	}
	if eps[StageKafka] != 500_000 {
		t.Errorf("a: %v events/s, want the median 500000", eps[StageKafka])
	}
	serial := 1 / (1/eps[StageKafka] + 1/eps[StageDecode] + 1/eps[StageDuckDB])
	if math.Abs(r.Ratios.SerialEventsPerSec-serial) > 1e-6 || math.Abs(r.Ratios.EOverSerial-eps[StageE2E]/serial) > 1e-9 {
		t.Errorf("serial %v ratio %v", r.Ratios.SerialEventsPerSec, r.Ratios.EOverSerial)
	}
	if r.Ratios.EOverD != 0.25 {
		t.Errorf("e/d %v, want 0.25", r.Ratios.EOverD)
	}
	if r.Ratios.FOverG != 0.5 || r.Ratios.IOverF != 0.8 {
		t.Errorf("f/g %v, want 0.5; i/f %v, want 0.8", r.Ratios.FOverG, r.Ratios.IOverF)
	}
	if len(r.Targets) != 4 || r.Targets[0].Name != "ingest e/d" || r.Targets[0].OK || r.Targets[2].OK || r.Targets[3].OK != true {
		t.Errorf("targets %+v", r.Targets)
	}
	if len(r.Notes) != 0 {
		t.Errorf("notes %q, want none at 2M events", r.Notes)
	}

	// Below 2M events the quick bench shows e/d but does not judge it.
	small := Report{Corpus: CorpusInfo{Events: 200_000}, Samples: r.Samples}
	small.summarize()
	if len(small.Targets) != 3 || small.Targets[0].Name == "ingest e/d" || small.Ratios.EOverD != 0.25 {
		t.Errorf("200k events: targets %+v, e/d %v: want e/d shown and left out of the targets", small.Targets, small.Ratios.EOverD)
	}
	if len(small.Notes) != 1 || !strings.Contains(small.Notes[0], "e/d 0.25 is not judged") || !strings.Contains(small.Notes[0], "has 200000") {
		t.Errorf("200k events: notes %q", small.Notes)
	}
}

// TestSeriesThroughRecorder: the engine's Arrow reads (series, and the
// spike_minutes stage) reach DuckDB through a database/sql connection
// wrapper such as the bench's recorder, with the same answer as without it.
func TestSeriesThroughRecorder(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := GenerateEvents(ctx, db.DB, 20000); err != nil {
		t.Fatal(err)
	}
	rdb := sql.OpenDB(recordingConnector{c: db.Connector, rec: &recorder{}})
	defer rdb.Close()
	cfg := queries.DefaultCorrelationConfig()
	want, err := queries.NewEngine(db.DB, cfg, queryTopology).Series(ctx, queries.Window{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := queries.NewEngine(rdb, cfg, queryTopology).Series(ctx, queries.Window{})
	if err != nil {
		t.Fatalf("series through the recorder: %v", err)
	}
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("series through the recorder: %d points, want the %d of the plain engine", len(got), len(want))
	}
}
