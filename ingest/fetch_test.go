package ingest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/faultline/faultline/internal/testkit"
)

// lockedBuffer is an io.Writer safe for concurrent log handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestIdleFetchAtEndIsNotAnError: a partition read to its end keeps a fetch
// waiting at the broker for kafka.fetch_max_wait. A broker that answers that
// idle fetch a little late (here every fetch is held 300ms before the broker
// handles it, as a busy broker would) must not make the reader time out and
// report a failed fetch: kafka-go used to leave the response only
// fetch_max_wait/4 (125ms) after the broker's wait, and logged
// "kafka fetch failed ... i/o timeout" at the end of every partition.
func TestIdleFetchAtEndIsNotAnError(t *testing.T) {
	c := newCluster(t, 1, "trail")
	var recs []rec
	for i := range 20 {
		recs = append(recs, rec{"trail", 0, ctRecord(fmt.Sprintf("ev-%d", i), i)})
	}
	produce(t, c.ListenAddrs(), recs)
	var fetches atomic.Int64
	c.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		fetches.Add(1)
		c.SleepControl(func() { time.Sleep(300 * time.Millisecond) })
		return nil, nil, false // then handled as usual
	})
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	o.Kafka.FetchMaxWait = 500 * time.Millisecond // the default
	o.Config.ExitWhenCaughtUp = false
	var logs lockedBuffer
	o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Run until the partition was read to its end and several idle fetches
	// were answered (each takes 300ms + fetch_max_wait).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	testkit.Await(t, 60*time.Second, "the 20 events to be committed", func() bool {
		return queryInt(t, db, "SELECT count(*) FROM events") >= 20
	})
	atEnd := fetches.Load()
	testkit.Await(t, 30*time.Second, "three idle fetches at the end of the partition", func() bool {
		return fetches.Load() >= atEnd+3
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events"); n != 20 {
		t.Errorf("%d events, want 20", n)
	}
	if strings.Contains(logs.String(), "fetch failed") {
		t.Errorf("idle fetches at the end of the partition were reported as failures:\n%s", logs.String())
	}
}
