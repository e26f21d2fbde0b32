package ingest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRunPoisonMessages interleaves every kind of bad message with good
// ones: every bad one is a dead letter with its reason, every good one is
// loaded, and the consumer reaches the end.
func TestRunPoisonMessages(t *testing.T) {
	good := func(i int) []byte { return ctRecord(fmt.Sprintf("good-%04d", i), i) }
	big := ctRecord("big", 0)
	big = append(big[:len(big)-1], []byte(`,"padding":"`+strings.Repeat("x", 100<<10)+`"}`)...)
	badUTF8 := bytes.Replace(ctRecord("utf8", 0), []byte("ModifyInstanceAttribute"), []byte("Modify\xff\xfeAttribute"), 1)
	deep := []byte(`{"eventVersion":"1.10","x":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`)
	poison := []struct {
		reason string
		value  []byte
	}{
		{"invalid_json", []byte(`{"eventVersion":"1.10","eventID":`)},
		{"decompress_failed", gzipBytes(t, good(0))[:25]},
		{"decompressed_too_large", gzipBytes(t, make([]byte, 20<<20))},
		{"too_deep", deep},
		{"invalid_utf8", badUTF8},
		{"too_large", big},
		{"empty", nil},
		{"missing_field", []byte(`{"time":"2025-10-20T07:12:03Z","service":"checkout","level":"error","message":"wrong topic"}`)},
	}
	const rounds = 5
	var recs []rec
	n := 0
	for r := 0; r < rounds; r++ {
		for _, p := range poison {
			recs = append(recs, rec{"trail", int32(n % 2), good(n)})
			n++
			recs = append(recs, rec{"trail", int32(n % 2), p.value})
			recs = append(recs, rec{"trail", int32(n % 2), good(n)})
			n++
		}
	}
	c := newCluster(t, 2, "trail")
	produce(t, c.ListenAddrs(), recs)
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	o.Transform.MaxMessageBytes = 64 << 10
	o.Transform.InvalidUTF8 = "reject"
	o.Transform.MaxJSONDepth = 64
	if err := Run(runCtx(t, 60*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, db, "SELECT count(DISTINCT event_id) FROM events WHERE event_id LIKE 'good-%'"); got != int64(n) {
		t.Errorf("good events = %d, want %d", got, n)
	}
	if got := queryInt(t, db, "SELECT count(*) FROM events"); got != int64(n) {
		t.Errorf("events = %d, want %d (no bad message may become an event)", got, n)
	}
	for _, p := range poison {
		got := queryInt(t, db, "SELECT count(*) FROM dead_letters WHERE reason = ? AND src_topic = 'trail' AND message <> ''", p.reason)
		if got != rounds {
			t.Errorf("dead letters with reason %s = %d, want %d", p.reason, got, rounds)
		}
	}
	if got := queryInt(t, db, "SELECT count(*) FROM dead_letters"); got != int64(rounds*len(poison)) {
		t.Errorf("dead letters = %d, want %d", got, rounds*len(poison))
	}
	if got := queryInt(t, db, "SELECT sum(next_offset) FROM ingest_offsets"); got != int64(len(recs)) {
		t.Errorf("stored offsets sum = %d, want %d", got, len(recs))
	}
}
