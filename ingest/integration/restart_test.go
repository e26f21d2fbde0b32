//go:build integration

package integration

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestBrokerRestartMidStream: a producer and a consumer group keep running
// while the broker is stopped (SIGTERM) and later killed (SIGKILL) and
// restarted. Every acknowledged message is consumed: nothing is lost.
// Duplicates can only come from retried writes and redelivered, not yet
// committed, messages; they are counted and logged.
func TestBrokerRestartMidStream(t *testing.T) {
	const total = 6000
	topic := newTopic(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()

	var mu sync.Mutex
	seen := map[int]int{}
	consumed := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{brokerAddr(t)}, Topic: topic, GroupID: topic + "-group",
		StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond,
		HeartbeatInterval: 500 * time.Millisecond, SessionTimeout: 10 * time.Second,
		RebalanceTimeout: 5 * time.Second, MaxAttempts: 1000, ReadBackoffMax: time.Second,
	})
	defer r.Close()
	var consumerErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				if ctx.Err() == nil {
					consumerErr = err
				}
				return
			}
			n, err := strconv.Atoi(string(m.Value))
			if err != nil {
				consumerErr = fmt.Errorf("unexpected value %q", m.Value)
				return
			}
			mu.Lock()
			seen[n]++
			mu.Unlock()
			for ctx.Err() == nil {
				if err := r.CommitMessages(ctx, m); err == nil {
					break
				}
				time.Sleep(200 * time.Millisecond) // broker down: retry the commit
			}
		}
	}()

	// The producer keeps writing, paced, while the broker goes down and
	// comes back; a failed batch is retried until the broker takes it.
	w := &kafka.Writer{Addr: kafka.TCP(brokerAddr(t)), Topic: topic, Balancer: &kafka.Hash{}, BatchSize: 100, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll, MaxAttempts: 3, WriteTimeout: 10 * time.Second}
	defer w.Close()
	var produced, retries atomic.Int64
	var producerErr error
	produceDone := make(chan struct{})
	go func() {
		defer close(produceDone)
		const batch = 50
		for i := 0; i < total; i += batch {
			msgs := make([]kafka.Message, batch)
			for j := range msgs {
				msgs[j] = kafka.Message{Key: fmt.Appendf(nil, "k%d", (i+j)%17), Value: []byte(strconv.Itoa(i + j))}
			}
			failed, err := retryWrite(ctx, w, msgs)
			retries.Add(int64(failed))
			if err != nil {
				producerErr = fmt.Errorf("write batch at %d: %w", i, err)
				return
			}
			produced.Store(int64(i + batch))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	waitProduced := func(n int64) {
		for produced.Load() < n {
			select {
			case <-produceDone:
				t.Fatalf("producer stopped at %d: %v", produced.Load(), producerErr)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	waitProduced(total / 3)
	kafkactl(t, "stop") // SIGTERM: a clean shutdown
	time.Sleep(2 * time.Second)
	kafkactl(t, "start")
	waitProduced(2 * total / 3)
	kafkactl(t, "kill") // SIGKILL: a crash
	time.Sleep(2 * time.Second)
	kafkactl(t, "start")
	<-produceDone
	if producerErr != nil {
		t.Fatal(producerErr)
	}
	catchUp := time.Now()
	for consumed() < total && ctx.Err() == nil {
		select {
		case <-done:
			t.Fatalf("consumer stopped after %d of %d: %v", consumed(), total, consumerErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
	consumerCaughtUp := time.Since(catchUp)
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	var missing []int
	dups := 0
	for n := range total {
		if seen[n] == 0 {
			missing = append(missing, n)
		}
		if seen[n] > 1 {
			dups += seen[n] - 1
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d acknowledged messages never consumed, e.g. %v", len(missing), missing[:min(10, len(missing))])
	}
	// Messages in Kafka: each was sent at least once.
	var stored int64
	for _, e := range partitionEnds(t, topic) {
		stored += e[1] - e[0]
	}
	if stored < total {
		t.Errorf("the topic holds %d messages, fewer than the %d acknowledged", stored, total)
	}
	t.Logf("%d messages, %d failed write attempts while the broker was down, %d stored (%d duplicates from retries), %d redelivered to the consumer, consumer caught up %s after the last write", total, retries.Load(), stored, stored-total, dups, consumerCaughtUp.Round(100*time.Millisecond))
	if retries.Load() == 0 {
		t.Error("no write failed: the broker was never down while the producer wrote, the test proves nothing")
	}
}
