package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/segmentio/kafka-go"

	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/transform"
)

// Applier consumes the relay topic into a file: the units of every
// process, so that the file's correlation covers the whole account.
//
// Units of one source partition can overlap when a partition was read
// twice: a member killed after its DuckDB commit and before its offset
// commit (the next owner re-reads from the group offset), or a partition
// back at a member whose file is behind (ingest then starts at the group
// offset when the relay is on, so only the first case remains). The later
// reading is the one kept: a unit read in consumer group generation G
// replaces every unit of an older generation of its partition that starts
// at or after the first unit of generation G, and a unit of an older
// generation that starts there is ignored, in whatever order they arrive.
// A unit published again (same key) replaces itself. Each message is
// applied with the relay topic's offset in one transaction, so a crash
// neither loses nor doubles one.
type Applier struct {
	db    *store.DB
	kc    ingest.KafkaConfig
	cfg   Config
	log   *slog.Logger
	mem   memory.Allocator
	units map[unitKey]store.Unit
}

type unitKey struct {
	src   string
	part  int32
	first int64
}

// NewApplier returns an applier of cfg.Topic into db.
func NewApplier(db *store.DB, kc ingest.KafkaConfig, cfg Config, log *slog.Logger, mem memory.Allocator) *Applier {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &Applier{db: db, kc: kc, cfg: cfg, log: log, mem: mem}
}

// Run applies the relay topic until ctx ends.
func (a *Applier) Run(ctx context.Context) error {
	us, err := a.db.RelayUnits(ctx)
	if err != nil {
		return err
	}
	a.units = map[unitKey]store.Unit{}
	for _, u := range us {
		a.units[unitKey{u.Src, u.Part, u.First}] = u
	}
	dialer, err := ingest.NewDialer(a.kc)
	if err != nil {
		return err
	}
	tr, err := ingest.NewTransport(a.kc)
	if err != nil {
		return err
	}
	client := &kafka.Client{Addr: kafka.TCP(a.kc.Brokers...), Transport: tr, Timeout: 10 * time.Second}
	var parts []int
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		if err = ensureTopic(ctx, client, a.cfg); err == nil {
			var md *kafka.MetadataResponse
			md, err = client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{a.cfg.Topic}})
			// a topic just created may have no partitions with leaders yet
			if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) > 0 {
				parts = parts[:0]
				for _, p := range md.Topics[0].Partitions {
					if p.Error == nil && p.Leader.Host != "" {
						parts = append(parts, p.ID)
					}
				}
				if len(parts) == len(md.Topics[0].Partitions) {
					break
				}
			}
			if err == nil {
				err = fmt.Errorf("the topic %s has no partitions with leaders yet", a.cfg.Topic)
			}
		}
		a.log.Warn("relay topic unavailable; retrying", "topic", a.cfg.Topic, "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	stored, err := a.db.Offsets(ctx, "relay:"+a.cfg.Topic)
	if err != nil {
		return err
	}
	sink, err := a.db.NewSink(ctx)
	if err != nil {
		return err
	}
	defer sink.Close()
	msgs := make(chan kafka.Message, 256)
	var wg sync.WaitGroup
	rctx, stop := context.WithCancel(ctx)
	defer func() { stop(); wg.Wait() }()
	for _, p := range parts {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: a.kc.Brokers, Topic: a.cfg.Topic, Partition: p, Dialer: dialer,
			MinBytes: 1, MaxBytes: maxMessageBytes + 1<<20, MaxWait: 500 * time.Millisecond,
		})
		off, ok := stored[int32(p)]
		if !ok {
			off = kafka.FirstOffset
		}
		if err := r.SetOffset(off); err != nil {
			r.Close()
			return fmt.Errorf("relay topic %s[%d]: %w", a.cfg.Topic, p, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				m, err := r.FetchMessage(rctx)
				if err != nil {
					if rctx.Err() != nil {
						return
					}
					a.log.Warn("relay fetch failed, retrying", "topic", a.cfg.Topic, "partition", p, "err", err)
					time.Sleep(time.Second)
					continue
				}
				select {
				case msgs <- m:
				case <-rctx.Done():
					return
				}
			}
		}()
	}
	a.log.Info("applying the relay topic", "topic", a.cfg.Topic, "partitions", len(parts), "units", len(a.units))
	for {
		var batch []kafka.Message
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			batch = append(batch, m)
		}
	drain:
		for len(batch) < 500 {
			select {
			case m := <-msgs:
				batch = append(batch, m)
			case <-time.After(50 * time.Millisecond):
				break drain
			}
		}
		for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
			err := a.apply(ctx, sink, batch)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, store.ErrInvalidated) {
				return err
			}
			a.log.Error("applying relay units failed; retrying", "topic", a.cfg.Topic, "retry_in", wait, "err", err)
			a.reload(ctx)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
	}
}

// reload re-reads the applied units after a failed commit.
func (a *Applier) reload(ctx context.Context) {
	us, err := a.db.RelayUnits(ctx)
	if err != nil {
		return
	}
	a.units = map[unitKey]store.Unit{}
	for _, u := range us {
		a.units[unitKey{u.Src, u.Part, u.First}] = u
	}
}

// apply commits msgs in one transaction: the kept units' events, the
// units they replace removed, and the relay topic's positions.
func (a *Applier) apply(ctx context.Context, sink *store.Sink, msgs []kafka.Message) error {
	b := transform.NewBuilder(a.mem)
	defer b.Release()
	batch := &store.Batch{}
	pos := map[int]int64{}
	inBatch := map[unitKey]bool{}
	commit := func() error {
		for p, next := range pos {
			batch.Positions = append(batch.Positions, store.Position{Source: "relay:" + a.cfg.Topic, Part: int32(p), Next: next})
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		batch.Events = rec
		if err := sink.Commit(ctx, batch); err != nil {
			return err
		}
		batch, pos, inBatch = &store.Batch{}, map[int]int64{}, map[unitKey]bool{}
		return nil
	}
	for _, km := range msgs {
		var m message
		var evs []transform.Event
		err := json.Unmarshal(km.Value, &m)
		if err == nil && m.V != 1 {
			err = fmt.Errorf("version %d, this faultline reads version 1", m.V)
		}
		if err == nil {
			err = m.events(func(e *transform.Event) { evs = append(evs, *e) })
		}
		if err != nil {
			a.log.Warn("relay message dead-lettered: not a faultline relay unit", "topic", a.cfg.Topic,
				"partition", km.Partition, "offset", km.Offset, "err", err)
			raw := km.Value[:min(len(km.Value), 64<<10)]
			batch.DeadLetters = append(batch.DeadLetters, transform.DeadLetter{
				Reason: "invalid_relay_unit", RawSize: len(km.Value), Raw: raw,
				Message: fmt.Sprintf("relay topic message is not a faultline relay unit (%v): only faultline ingest/serve processes may publish to relay.topic", err),
				Lineage: transform.Lineage{Topic: a.cfg.Topic, Partition: int32(km.Partition), Offset: km.Offset},
			})
			pos[km.Partition] = km.Offset + 1
			continue
		}
		u := store.Unit{Src: m.Src, Part: m.Part, First: m.First, Next: m.Next, Generation: m.Gen, Node: m.Node}
		keep, evict := a.decide(u)
		for _, e := range evict {
			if inBatch[unitKey{e.Src, e.Part, e.First}] {
				// replaces a unit of this very batch: commit that one first
				if err := commit(); err != nil {
					return err
				}
				break
			}
		}
		pos[km.Partition] = km.Offset + 1
		if !keep {
			continue
		}
		for i := range evs {
			b.Append(&evs[i])
		}
		batch.Evict = append(batch.Evict, evict...)
		batch.Relay = append(batch.Relay, u)
		inBatch[unitKey{u.Src, u.Part, u.First}] = true
	}
	return commit()
}

// decide says whether u is kept and which applied units it replaces, and
// updates the applied units (a.units) accordingly.
func (a *Applier) decide(u store.Unit) (keep bool, evict []store.Unit) {
	k := unitKey{u.Src, u.Part, u.First}
	if old, ok := a.units[k]; ok {
		if old.Generation > u.Generation || old == u {
			return false, nil // older than what is applied, or the same unit again
		}
	}
	// where each generation's reading of the partition starts
	starts := map[int32]int64{u.Generation: u.First}
	for _, v := range a.units {
		if v.Src != u.Src || v.Part != u.Part {
			continue
		}
		if s, ok := starts[v.Generation]; !ok || v.First < s {
			starts[v.Generation] = v.First
		}
	}
	for g, s := range starts {
		if g > u.Generation && s <= u.First {
			return false, nil // a later reading of the partition covers it
		}
	}
	from := starts[u.Generation]
	for key, v := range a.units {
		if v.Src == u.Src && v.Part == u.Part && (key == k || v.Generation < u.Generation && v.First >= from) {
			evict = append(evict, v)
			delete(a.units, key)
		}
	}
	a.units[k] = u
	return true, evict
}
