package relay

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/broker"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/testkit"
	"github.com/faultline/faultline/transform"
)

// TestDecide: whatever the order in which the units of a partition
// arrive, the kept ones are those of the latest reading of each offset.
func TestDecide(t *testing.T) {
	u := func(first, next int64, gen int32) store.Unit {
		return store.Unit{Src: "kafka:app", Part: 0, First: first, Next: next, Generation: gen}
	}
	for _, c := range []struct {
		name  string
		units []store.Unit
		want  []store.Unit
	}{
		{"one reader", []store.Unit{u(0, 10, 1), u(10, 20, 1), u(25, 30, 1)}, []store.Unit{u(0, 10, 1), u(10, 20, 1), u(25, 30, 1)}},
		{"the same unit twice", []store.Unit{u(0, 10, 1), u(0, 10, 1)}, []store.Unit{u(0, 10, 1)}},
		// a member killed after its commits [10,20) and [20,30) and before
		// the group offset passed 10: the next owner (generation 2) reads
		// from 10 again, in other batches
		{"takeover re-read", []store.Unit{u(0, 10, 1), u(10, 20, 1), u(20, 30, 1), u(10, 25, 2), u(25, 40, 2)},
			[]store.Unit{u(0, 10, 1), u(10, 25, 2), u(25, 40, 2)}},
		// and then a third owner from the second's group offset
		{"two takeovers", []store.Unit{u(0, 10, 1), u(10, 20, 1), u(10, 25, 2), u(25, 40, 2), u(25, 30, 3), u(30, 50, 3)},
			[]store.Unit{u(0, 10, 1), u(10, 25, 2), u(25, 30, 3), u(30, 50, 3)}},
		// a unit published again by its killed member after a restart
		{"same key, newer generation", []store.Unit{u(10, 20, 1), u(10, 18, 2)}, []store.Unit{u(10, 18, 2)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(testkit.RandomSeed(t), 0))
			for range 50 {
				order := slices.Clone(c.units)
				rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
				a := &Applier{units: map[unitKey]store.Unit{}}
				held := map[store.Unit]bool{} // what the file holds: kept, minus evicted
				for _, x := range order {
					keep, evict := a.decide(x)
					for _, e := range evict {
						if !held[e] {
							t.Fatalf("order %v: evicted %v, which is not held", order, e)
						}
						delete(held, e)
					}
					if keep {
						held[x] = true
					}
				}
				var got []store.Unit
				for x := range held {
					got = append(got, x)
				}
				slices.SortFunc(got, func(x, y store.Unit) int { return int(x.First - y.First) })
				if !slices.Equal(got, c.want) {
					t.Fatalf("order %v: held %v, want %v", order, got, c.want)
				}
			}
		})
	}
}

// TestRelayEndToEnd: two ingest processes of one group, with the relay on,
// publish what they commit; an applier consumes the topic into a third
// file, which then holds every change whole and the same errors per
// (service, region, minute) as the two files together. Publishing and
// applying again changes nothing.
func TestRelayEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := broker.Start(ctx, "127.0.0.1:0", map[string]int32{"app": 4})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Topic: "app", Balancer: &kafka.RoundRobin{}, BatchTimeout: time.Millisecond}
	base := time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)
	var msgs []kafka.Message
	for i := range 2000 {
		v := fmt.Sprintf(`{"time":%q,"service":"svc%d","level":"error","message":"upstream timeout","error.type":"Timeout","region":"us-east-1","trace_id":"t-%d"}`,
			base.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), i%5, i)
		if i%100 == 0 {
			v = fmt.Sprintf(`{"time":%q,"service":"svc%d","kind":"deploy","version":"v%d","actor":"ci"}`, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), i%5, i)
		}
		if i%3 == 0 && i%100 != 0 {
			v = fmt.Sprintf(`{"time":%q,"service":"svc%d","level":"info","message":"ok"}`, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), i%5)
		}
		msgs = append(msgs, kafka.Message{Value: []byte(v)})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Topic, cfg.Interval = "faultline-relay", 100*time.Millisecond
	var ingested []*store.DB
	kc := ingest.DefaultKafkaConfig()
	kc.Brokers, kc.Group, kc.FetchMaxWait, kc.SessionTimeout = []string{b.Addr()}, "g", 100*time.Millisecond, 6*time.Second
	kc.Topics = []ingest.TopicConfig{{Name: "app", Format: "app"}}
	var g errgroup.Group
	for _, name := range []string{"a", "b"} {
		db, err := store.Open(ctx, filepath.Join(dir, name+".duckdb"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ingested = append(ingested, db)
		ic := ingest.DefaultConfig()
		ic.ExitWhenCaughtUp, ic.BatchMaxWait, ic.BatchMaxEvents = true, 100*time.Millisecond, 97
		g.Go(func() error {
			return ingest.Run(ctx, ingest.Options{Kafka: kc, Config: ic, Transform: transform.DefaultConfig(), DB: db, Logger: log, Relay: true})
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"a", "b"} {
		db := ingested[i]
		p, err := NewPublisher(db, kc, cfg, name, log)
		if err != nil {
			t.Fatal(err)
		}
		pctx, stop := context.WithCancel(ctx)
		stop() // Run publishes everything at its stop
		if err := p.Run(pctx); err != nil {
			t.Fatal(err)
		}
		var waiting int64
		if err := db.QueryRow("SELECT count(*) FROM relay_outbox").Scan(&waiting); err != nil || waiting != 0 {
			t.Fatalf("outbox of %s after publishing: %d units, %v", name, waiting, err)
		}
	}

	all, err := store.Open(ctx, filepath.Join(dir, "all.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	applyUntil := func(want int64) {
		actx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- NewApplier(all, kc, cfg, log, mem).Run(actx) }()
		testkit.Await(t, time.Minute, "the applier to apply every relayed unit", func() bool {
			var n int64
			_ = all.QueryRow("SELECT coalesce(sum(next_offset), 0) FROM ingest_offsets WHERE source LIKE 'relay:%'").Scan(&n)
			return n >= want
		})
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	units := relayedUnits(t, ctx, b.Addr(), cfg)
	applyUntil(units)

	series := `SELECT k || '=' || n FROM (SELECT coalesce(service,'') || '/' || coalesce(region,'') || '/' || (epoch_ms(time) // 60000) AS k, count(*) AS n
FROM events WHERE kind = 'error' GROUP BY ALL) ORDER BY 1`
	changes := `SELECT event_id || ' ' || time || ' ' || service || ' ' || coalesce(attributes::VARCHAR, '') FROM events WHERE kind = 'change' ORDER BY 1`
	want := map[string][]string{}
	for _, q := range []string{series, changes} {
		for _, db := range ingested {
			want[q] = append(want[q], strs(t, db, q)...)
		}
	}
	// the two files hold disjoint partitions: sum their per-minute counts
	want[series] = sumSeries(want[series])
	slices.Sort(want[changes])
	check := func(when string) {
		for _, q := range []string{series, changes} {
			if got := strs(t, all, q); !slices.Equal(got, want[q]) {
				t.Errorf("%s: the applied file's\n%v\nwant\n%v", when, head(got), head(want[q]))
			}
		}
	}
	check("after applying")
	if len(want[changes]) != 20 {
		t.Errorf("%d changes, want the 20 deploys", len(want[changes]))
	}

	// Publishing the same units again (a crash before the outbox was
	// cleared) and applying from the start changes nothing.
	if _, err := all.Exec("DELETE FROM ingest_offsets WHERE source LIKE 'relay:%'"); err != nil {
		t.Fatal(err)
	}
	applyUntil(units)
	check("after applying everything again")
}

// relayedUnits counts the messages on the relay topic's partitions.
func relayedUnits(t *testing.T, ctx context.Context, addr string, cfg Config) int64 {
	t.Helper()
	var n int64
	for p := range cfg.Partitions {
		conn, err := kafka.DialLeader(ctx, "tcp", addr, cfg.Topic, p)
		if err != nil {
			t.Fatal(err)
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		n += last
	}
	if n == 0 {
		t.Fatal("nothing was relayed")
	}
	return n
}

func strs(t *testing.T, db *store.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func sumSeries(lines []string) []string {
	sum := map[string]int{}
	for _, l := range lines {
		var k string
		var n int
		for i := len(l) - 1; i >= 0; i-- {
			if l[i] == '=' {
				k = l[:i]
				if _, err := fmt.Sscan(l[i+1:], &n); err != nil {
					panic(err)
				}
				break
			}
		}
		sum[k] += n
	}
	var out []string
	for k, n := range sum {
		out = append(out, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(out)
	return out
}

func head(s []string) []string { return s[:min(len(s), 8)] }
