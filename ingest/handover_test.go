package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestStartWithoutOffset: a DuckDB file with no offset for a partition
// starts at the consumer group's committed offset (written by the member
// that consumed it before, into another file), or at the earliest offset
// with ingest.start_without_offset: earliest. The file's own offset wins
// once it has one.
func TestStartWithoutOffset(t *testing.T) {
	batch := func(from, n int) []rec {
		var out []rec
		for i := from; i < from+n; i++ {
			out = append(out, rec{"trail", 0, ctRecord(fmt.Sprintf("ev-%d", i), i)})
		}
		return out
	}
	for _, tc := range []struct {
		mode      string
		wantFirst int64 // events in the second file after its first run
	}{
		{StartGroup, 0},      // the group already consumed 0-99 into file A
		{StartEarliest, 100}, // re-read from offset 0
	} {
		t.Run(tc.mode, func(t *testing.T) {
			c := newCluster(t, 1, "trail")
			produce(t, c.ListenAddrs(), batch(0, 100))
			a := openDB(t, "")
			oa := testOptions(t, c.ListenAddrs(), a, TopicConfig{Name: "trail", Format: "cloudtrail"})
			if err := Run(runCtx(t, 60*time.Second), oa); err != nil {
				t.Fatal(err)
			}
			if n := queryInt(t, a, "SELECT count(*) FROM events"); n != 100 {
				t.Fatalf("file A holds %d events, want 100", n)
			}
			b := openDB(t, "")
			ob := oa
			ob.DB = b
			ob.Config.StartWithoutOffset = tc.mode
			var logs strings.Builder
			ob.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			if err := Run(runCtx(t, 60*time.Second), ob); err != nil {
				t.Fatal(err)
			}
			if n := queryInt(t, b, "SELECT count(*) FROM events"); n != tc.wantFirst {
				t.Errorf("file B holds %d events after its first run, want %d", n, tc.wantFirst)
			}
			// A new file that starts after what the group read says so
			// (a deleted and recreated file would otherwise stay empty
			// without a word).
			const warn = "this DuckDB file is new, and consumer group"
			if got := strings.Contains(logs.String(), warn) && strings.Contains(logs.String(), "records_not_read=100"); got != (tc.wantFirst == 0) {
				t.Errorf("warning about the 100 records not read: %v, want %v; log:\n%s", got, tc.wantFirst == 0, logs.String())
			}
			// B's own stored offset is now the truth: new records only.
			produce(t, c.ListenAddrs(), batch(100, 50))
			logs.Reset()
			if err := Run(runCtx(t, 60*time.Second), ob); err != nil {
				t.Fatal(err)
			}
			// Still without a position of its own (it read nothing), B is
			// still new and still starts after those 100: it says so again.
			if got := strings.Contains(logs.String(), warn); got != (tc.wantFirst == 0) {
				t.Errorf("the second run of file B warns that the file is new: %v, want %v:\n%s", got, tc.wantFirst == 0, logs.String())
			}
			if n := queryInt(t, b, "SELECT count(*) FROM events"); n != tc.wantFirst+50 {
				t.Errorf("file B holds %d events after its second run, want %d", n, tc.wantFirst+50)
			}
			if n := queryInt(t, b, "SELECT count(*) - count(DISTINCT src_offset) FROM events"); n != 0 {
				t.Errorf("file B holds %d offsets twice", n)
			}
		})
	}
}

// TestStartWithoutOffsetDataLoss: the group's committed offset is below the
// log start (retention deleted records nobody stored): a file without an
// offset for the partition stops with a DataLossError, as for its own offset.
func TestStartWithoutOffsetDataLoss(t *testing.T) {
	c := newCluster(t, 1, "trail")
	var recs []rec
	for i := range 200 {
		recs = append(recs, rec{"trail", 0, ctRecord(fmt.Sprintf("ev-%d", i), i)})
	}
	produce(t, c.ListenAddrs(), recs[:100])
	a := openDB(t, "")
	oa := testOptions(t, c.ListenAddrs(), a, TopicConfig{Name: "trail", Format: "cloudtrail"})
	if err := Run(runCtx(t, 60*time.Second), oa); err != nil {
		t.Fatal(err)
	}
	produce(t, c.ListenAddrs(), recs[100:])
	deleteRecords(t, c.ListenAddrs(), "trail", 150)

	ob := oa
	ob.DB = openDB(t, "")
	err := Run(runCtx(t, 60*time.Second), ob)
	var dl *DataLossError
	if !errors.As(err, &dl) {
		t.Fatalf("err = %v, want a DataLossError", err)
	}
	if dl.Stored != 100 || dl.LogStart != 150 || !dl.FromGroup {
		t.Errorf("data loss error = %+v, want the group offset 100 below log start 150", dl)
	}
	if !strings.Contains(err.Error(), "consumer group's committed offset") {
		t.Errorf("error %q does not say the offset came from the consumer group", err)
	}
	ob.Config.AllowDataLoss = true
	if err := Run(runCtx(t, 60*time.Second), ob); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, ob.DB, "SELECT count(*) FROM events"); n != 50 {
		t.Errorf("file B holds %d events, want 50 (150-199)", n)
	}
}
