//go:build unix

package produce

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/testkit"
)

// TestRunPipes: a named pipe (or /dev/stdin, a device: stat says 0 bytes)
// is read up to Options.MaxFileBytes, not to its end: one that gives more
// stops the run with an error naming it and the limit instead of growing
// memory until the process dies (/dev/zero did), and one within the limit
// is sent like a file. The pipe is no longer opened and closed by the
// check before sending, which cut its writer off and then waited forever.
func TestRunPipes(t *testing.T) {
	addr := startBroker(t, map[string]int32{"within": 1, "over": 1})
	const limit = 4 << 10
	tests := []struct {
		topic   string
		lines   int    // written to the pipe unless the reader stops first
		want    int    // messages
		wantErr string // "" for none
	}{
		{"within", 20, 20, ""},
		{"over", 16 << 20 / 30, 0, " byte file limit, read no further (not a regular file, or one still growing"},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			pipe, writerDone := testkit.FeedPipe(t, "pipe.ndjson", tt.lines, func(i int) []byte {
				return fmt.Appendf(nil, `{"service":"s","n":"%017d"}`+"\n", i)
			})
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			sum, err := Run(ctx, testConfig(tt.topic), []string{pipe}, Options{Brokers: []string{addr}, MaxFileBytes: limit})
			if werr := <-writerDone; werr != nil {
				t.Fatal(werr)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("produce of a pipe within the limit: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), pipe+" gave more than the 4096"+tt.wantErr)):
				t.Fatalf("produce of a pipe over the limit: %v, want %q", err, pipe+" gave more than the 4096"+tt.wantErr)
			}
			if sum.Messages != tt.want {
				t.Errorf("%d messages sent, want %d", sum.Messages, tt.want)
			}
			if got := readAll(t, addr, tt.topic); len(got) != tt.want {
				t.Errorf("%d messages reached the topic, want %d", len(got), tt.want)
			}
		})
	}
}
