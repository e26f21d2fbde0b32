package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

func trailRecords(topic string, parts int32, n int) []rec {
	var out []rec
	for i := range n {
		out = append(out, rec{topic, int32(i) % parts, ctRecord(fmt.Sprintf("ev-%d", i), i)})
	}
	return out
}

// TestRunCaughtUpStaleHighWatermark: the brokers' first answer for a
// partition's high watermark says it is empty (as a topic created and
// produced to moments before can answer), the later ones hold its records.
// A batch run must not log "caught up" and exit 0 having stored nothing: it
// checks its targets again before exiting and reads the records.
func TestRunCaughtUpStaleHighWatermark(t *testing.T) {
	c := newCluster(t, 2, "trail")
	produce(t, c.ListenAddrs(), trailRecords("trail", 2, 60))
	var stale atomic.Int32
	c.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		lreq := req.(*kmsg.ListOffsetsRequest)
		if len(lreq.Topics) != 1 || len(lreq.Topics[0].Partitions) != 1 || lreq.Topics[0].Partitions[0].Timestamp != -1 {
			return nil, nil, false
		}
		if stale.Add(1) > 2 { // the first answer for each partition only
			c.DropControl()
			return nil, nil, false
		}
		resp := lreq.ResponseKind().(*kmsg.ListOffsetsResponse)
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = lreq.Topics[0].Topic
		rp := kmsg.NewListOffsetsResponseTopicPartition()
		rp.Partition = lreq.Topics[0].Partitions[0].Partition
		rp.Timestamp, rp.Offset, rp.LeaderEpoch = -1, 0, -1
		rt.Partitions = append(rt.Partitions, rp)
		resp.Topics = append(resp.Topics, rt)
		return resp, nil, true
	})
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	if err := Run(runCtx(t, 60*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if stale.Load() < 2 {
		t.Fatalf("the broker answered %d high watermarks as stale, want 2: the test did not exercise a stale start", stale.Load())
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events"); n != 60 {
		t.Errorf("the batch run exited with %d events stored, want all 60 produced before it started", n)
	}
}

// TestRunCaughtUpGroupOffsetBeyondEnd: the consumer group's committed
// offset of a partition is beyond the partition's end (the topic was
// deleted and recreated; the group kept its offsets). A batch run with a
// new file starts there, reads nothing, and must fail saying so rather
// than exit 0 as caught up with nothing stored.
func TestRunCaughtUpGroupOffsetBeyondEnd(t *testing.T) {
	c := newCluster(t, 1, "trail")
	produce(t, c.ListenAddrs(), trailRecords("trail", 1, 40))
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
	commitGroupOffset(t, c.ListenAddrs(), o.Kafka.Group, "trail", 0, 500)
	err := Run(runCtx(t, 60*time.Second), o)
	var so *staleOffsetError
	if !errors.As(err, &so) {
		t.Fatalf("Run = %v, want a staleOffsetError (%d events stored)", err, queryInt(t, db, "SELECT count(*) FROM events"))
	}
	for _, want := range []string{o.Kafka.Group, `"trail" partition 0`, "500", "end 40", "--group"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is not one line", err)
	}
}

// commitGroupOffset commits offset for topic[part] in group, as an admin
// tool does for a group without members.
func commitGroupOffset(t *testing.T, addrs []string, group, topic string, part int32, offset int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.MaxVersions(kversion.V3_0_0())) // topics by name
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation = group, -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = part, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range resp.Topics {
		for _, p := range tt.Partitions {
			if p.ErrorCode != 0 {
				t.Fatalf("commit %s[%d]=%d for group %s: error code %d", topic, p.Partition, offset, group, p.ErrorCode)
			}
		}
	}
}

// TestRunCaughtUpOneBatch: a batch run over a backlog spread across
// topics and partitions stores it in one batch when it fits, and ends
// without waiting batch_max_wait. Closing the batch at each partition's
// end instead cut a backlog into a small batch per partition (each written
// to the WAL and again at the checkpoint): six here.
func TestRunCaughtUpOneBatch(t *testing.T) {
	c := newCluster(t, 3, "trail", "trail2")
	produce(t, c.ListenAddrs(), append(trailRecords("trail", 3, 300), trailRecords("trail2", 3, 300)...))
	db := openDB(t, "")
	o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"}, TopicConfig{Name: "trail2", Format: "cloudtrail"})
	o.Config.BatchMaxWait = 10 * time.Minute // only the last partition's end may close the batch
	o.Metrics = NewMetrics(nil)
	if err := Run(runCtx(t, 60*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM events"); n != 600 {
		t.Errorf("%d events stored, want 600", n)
	}
	if n := testutil.ToFloat64(o.Metrics.Batches); n != 1 {
		t.Errorf("%v batches committed, want 1: the 600 records of six partitions fit in one", n)
	}
}
