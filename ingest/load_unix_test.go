//go:build unix

package ingest

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/transform"
)

// TestLoadOverTheFileLimit: a file over LoadOptions.MaxFileBytes is one
// too_large dead letter and the other files load, whether stat knows its
// size (a regular file) or not (a named pipe, /dev/zero: stat says 0
// bytes). The limit used to be checked against stat's size only, so a
// pipe was read whole, and /dev/zero until the process ran out of memory.
func TestLoadOverTheFileLimit(t *testing.T) {
	const limit = 4 << 10
	dir := t.TempDir()
	big := filepath.Join(dir, "big.ndjson")
	writeFile(t, big, bytes.Repeat(append(records(0, 1)[0], '\n'), 20)) // about 20 KiB of good records
	// 16 MiB unless the reader stops early: a pipe that never ends,
	// without costing one if the limit is missed.
	line := append(records(100, 1)[0], '\n')
	pipe, writerDone := testkit.FeedPipe(t, "pipe.ndjson", 16<<20/len(line), func(int) []byte { return line })
	other := filepath.Join(dir, "other.ndjson")
	writeFile(t, other, joinBytes(records(10, 3), "\n"))

	db := openDB(t, "")
	o := loadOpts(t, nil)
	o.MaxFileBytes = limit
	sum, err := LoadPaths(t.Context(), db, []string{big, pipe, other}, o)
	if err != nil {
		t.Fatalf("load: %v (the files over the limit must be dead letters, not stop the load)", err)
	}
	if werr := <-writerDone; werr != nil {
		t.Fatal(werr)
	}
	if sum.Events != 3 || sum.DeadLetters[transform.ReasonTooLarge] != 2 || sum.DeadLetterTotal() != 2 {
		t.Errorf("summary %+v: want the 3 events of %s and 2 too_large dead letters", sum, other)
	}
	want := map[string][]string{
		big:  {big + " is ", " bytes, over the 4096 byte file limit; split it"},
		pipe: {pipe + " gave more than the 4096 byte file limit", "save what it gives in files under the limit"},
	}
	for file, parts := range want {
		var msg string
		var rawSize int64
		if err := db.QueryRow("SELECT message, raw_size FROM dead_letters WHERE reason = 'too_large' AND src_file = ?", file).Scan(&msg, &rawSize); err != nil {
			t.Errorf("dead letter of %s: %v", file, err)
			continue
		}
		for _, p := range parts {
			if !strings.Contains(msg, p) {
				t.Errorf("dead letter of %s says %q, want %q", file, msg, p)
			}
		}
		if rawSize != limit {
			t.Errorf("dead letter of %s: raw_size %d, want the %d bytes read", file, rawSize, limit)
		}
	}
}
