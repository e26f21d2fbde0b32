package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/faultline/faultline/transform"
)

// Position is the next record to read from one source partition: for Kafka
// Source is "kafka:<topic>" and Part the partition; for files Source is
// "file:<absolute path>", Part 0, and Fingerprint identifies the file's
// content (see docs/ingest.md, load idempotency).
type Position struct {
	Source      string
	Part        int32
	Next        int64
	Fingerprint string
	// Generation is the Kafka consumer group generation that read the
	// records (for the relay outbox; 0 for files).
	Generation int32
}

// Batch is what one sink transaction commits: events, dead letters and the
// positions they advance. Whoever builds the batch owns Events and releases
// it after Commit returns; Commit never retains anything from the batch.
type Batch struct {
	Events       arrow.RecordBatch // may be nil or empty
	DeadLetters  []transform.DeadLetter
	Positions    []Position
	ReplaceFiles []string // delete these files' events and dead letters first (a changed file is reloaded)
	// Relay and Evict are for a process that applies relayed units
	// (ingest/relay): the rows of the units Evict are deleted first, the
	// units Relay (whose rows are Events) recorded in relay_units.
	Relay, Evict []Unit
}

// Sink commits batches to the DuckDB file, one transaction per batch, on
// one dedicated connection. It is not safe for concurrent use: run one
// committer goroutine per Sink (DuckDB Arrow connections are not safe for
// concurrent use either).
type Sink struct {
	// Outbox makes every commit also write the relay unit of each Kafka
	// partition of the batch into relay_outbox (relay.go).
	Outbox bool
	conn   *sql.Conn
	path   string // the database file, for errors
	views  int64  // names each batch's Arrow view uniquely
	// directEvents is directCommitEvents (tests lower it).
	directEvents int64
	// restore: set the database's checkpoint_threshold again before the
	// next batch (a big batch's commit failed to restore it).
	restore bool
	// hasRows: a batch with events was committed here, so the events
	// table holds rows (the sink is the file's only writer).
	hasRows bool
	db      *DB
}

// NewSink takes a dedicated connection from db. Close returns it.
func (db *DB) NewSink(ctx context.Context) (*Sink, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open sink connection: %w", err)
	}
	return &Sink{conn: conn, path: db.Path, directEvents: directCommitThreshold(), db: db}, nil
}

// Close releases the sink's connection.
func (s *Sink) Close() error { return s.conn.Close() }

// Commit writes b in one transaction: either all of its events, dead
// letters and positions are stored, or none is.
//
// An error is classified (Classify): a *DiskFullError when the disk is
// full, a *DamagedError when the file is damaged, ErrInvalidated in the
// chain when DuckDB must open the file again.
func (s *Sink) Commit(ctx context.Context, b *Batch) error {
	return Classify(s.commit(ctx, b), s.path)
}

func (s *Sink) commit(ctx context.Context, b *Batch) error {
	return s.conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("sink: unexpected driver connection %T", dc)
		}
		ex, ok := dc.(driver.ExecerContext)
		if !ok {
			return fmt.Errorf("sink: driver connection %T cannot execute", dc)
		}
		exec := func(q string, args ...driver.NamedValue) error {
			_, err := ex.ExecContext(ctx, q, args)
			return err
		}
		if s.restore {
			if err := exec("SET checkpoint_threshold = " + quoteString(s.db.threshold)); err != nil {
				return fmt.Errorf("restore checkpoint_threshold %s: %w", s.db.threshold, err)
			}
			s.restore = false
		}
		if err := exec("BEGIN TRANSACTION"); err != nil {
			return fmt.Errorf("begin batch transaction: %w", err)
		}
		// A big batch into a table without rows checkpoints at its commit.
		big := !s.hasRows && b.Events != nil && b.Events.NumRows() >= s.directEvents
		if big {
			empty, err := queryValue(ctx, dc, "SELECT NOT EXISTS (SELECT 1 FROM events)")
			if err != nil {
				_, rerr := ex.ExecContext(context.WithoutCancel(ctx), "ROLLBACK", nil)
				return errors.Join(fmt.Errorf("look for events: %w", err), rerr)
			}
			big = empty == true
		}
		if err := s.write(ctx, c, exec, b); err != nil {
			_, rerr := ex.ExecContext(context.WithoutCancel(ctx), "ROLLBACK", nil)
			return errors.Join(err, rerr)
		}
		direct := false
		if big {
			d, err := checkpointAtCommit(ctx, dc, exec)
			if err != nil {
				_, rerr := ex.ExecContext(context.WithoutCancel(ctx), "ROLLBACK", nil)
				return errors.Join(err, rerr)
			}
			direct = d
		}
		beforeCommit()
		err := exec("COMMIT")
		if direct {
			// The batch is committed or not whatever the setting does: a
			// failed restore is retried before the next batch instead of
			// failing (and so repeating) this one.
			if rerr := exec("SET checkpoint_threshold = " + quoteString(s.db.threshold)); rerr != nil {
				s.restore = true
			}
		}
		if err != nil {
			_, rerr := ex.ExecContext(context.WithoutCancel(ctx), "ROLLBACK", nil)
			return errors.Join(fmt.Errorf("commit batch transaction: %w", err), rerr)
		}
		if b.Events != nil && b.Events.NumRows() > 0 {
			s.hasRows = true
		}
		return nil
	})
}

// directCommitEvents: a batch of at least this many events into an events
// table without rows (a new file's first load or backlog) is written
// compressed into the file at its commit (a checkpoint) instead of to the
// WAL first. Below a whole row group (122,880 rows) DuckDB writes a
// transaction's rows to the WAL and again, compressed, at the next
// checkpoint: for a 100,000-record CloudTrail load a 234 MB WAL for a 34 MB
// file. Only into an empty table: on a file that holds rows, every such
// checkpoint let DuckDB's row-group vacuum merge and recompress the partly
// filled row groups before the batch, and repeated loads into one file took
// up to twice as long (docs/benchmarks.md, Issue 19 parts 13 and 16). A
// small batch goes to the WAL too: checkpointing at each one would compress
// its partly filled row group again every time.
const directCommitEvents = 40_000

// queryValue runs q on the sink's connection (inside its transaction) and
// returns the first column of its first row, nil when it selects none.
func queryValue(ctx context.Context, c any, q string, args ...driver.NamedValue) (driver.Value, error) {
	qc, ok := c.(driver.QueryerContext)
	if !ok {
		return nil, fmt.Errorf("sink: driver connection %T cannot query", c)
	}
	rows, err := qc.QueryContext(ctx, q, args)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	v := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(v); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return v[0], nil
}

// checkpointAtCommit makes the open transaction's COMMIT checkpoint (a
// threshold of 0 bytes) and says so, unless the database's configuration is
// locked (serve's analyst SQL sandbox): then the batch goes to the WAL like
// a small one. The setting is the database's; the sink is its only writer.
func checkpointAtCommit(ctx context.Context, dc any, exec func(string, ...driver.NamedValue) error) (bool, error) {
	locked, err := queryValue(ctx, dc, "SELECT current_setting('lock_configuration')::VARCHAR")
	if err != nil {
		return false, fmt.Errorf("read lock_configuration: %w", err)
	}
	if locked != "false" {
		return false, nil
	}
	if err := exec("SET checkpoint_threshold = '0B'"); err != nil {
		return false, fmt.Errorf("checkpoint at commit: %w", err)
	}
	return true, nil
}

func nv(args ...any) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, a := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return out
}

func (s *Sink) write(ctx context.Context, c driver.Conn, exec func(string, ...driver.NamedValue) error, b *Batch) error {
	for _, f := range b.ReplaceFiles {
		if err := exec("DELETE FROM events WHERE src_file = ?", nv(f)...); err != nil {
			return fmt.Errorf("delete events of changed file %s: %w", f, err)
		}
		for _, t := range rollupTables {
			if err := exec("DELETE FROM "+t+" WHERE src = ?", nv("file:"+f)...); err != nil {
				return fmt.Errorf("delete %s of changed file %s: %w", t, f, err)
			}
		}
		if err := exec("DELETE FROM dead_letters WHERE src_file = ?", nv(f)...); err != nil {
			return fmt.Errorf("delete dead letters of changed file %s: %w", f, err)
		}
	}
	if err := writeRelay(exec, b); err != nil {
		return err
	}
	if b.Events != nil && b.Events.NumRows() > 0 {
		s.views++
		name := fmt.Sprintf("faultline_batch_%d", s.views)
		if err := insertArrow(c, exec, b.Events, name); err != nil {
			return err
		}
		if s.Outbox {
			if err := withView(c, exec, b.Events, name+"_relay", func(view string) error {
				return s.writeOutbox(exec, view, b.Positions)
			}); err != nil {
				return err
			}
		}
		// The rollups of these events, before the positions move (a range
		// starts where the stored position was before this commit).
		ranges, err := commitRanges(ctx, c, b)
		if err != nil {
			return err
		}
		r := newRollup(b.Events)
		if err := r.append(c, ranges); err != nil {
			return err
		}
		if err := insertRecord(c, exec, r.edgeRecord(memory.DefaultAllocator, ranges), name+"_edges", "edge_minutes"); err != nil {
			return err
		}
		changes, err := changeRecord(memory.DefaultAllocator, b.Events, ranges, r)
		if err != nil {
			return err
		}
		if err := insertRecord(c, exec, changes, name+"_changes", "change_events"); err != nil {
			return err
		}
	}
	if len(b.DeadLetters) > 0 {
		if err := appendDeadLetters(c, b.DeadLetters); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	for _, p := range b.Positions {
		var fp any
		if p.Fingerprint != "" {
			fp = p.Fingerprint
		}
		err := exec(`INSERT INTO ingest_offsets (source, part, next_offset, updated_at, fingerprint) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (source, part) DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at, fingerprint = excluded.fingerprint`,
			nv(p.Source, int64(p.Part), p.Next, now, fp)...)
		if err != nil {
			return fmt.Errorf("store position %s[%d]=%d: %w", p.Source, p.Part, p.Next, err)
		}
	}
	return nil
}

// eventsSchema is transform.Schema with attributes marked as Arrow's
// canonical JSON extension (field metadata only: the column is still a
// Go string array), so DuckDB takes it as its JSON type instead of casting
// VARCHAR to JSON, which parsed every document again (3% of a load's CPU).
// The decoders' fuzz targets hold every attributes value to a JSON object.
var eventsSchema = func() *arrow.Schema {
	fs := transform.Schema.Fields()
	for i := range fs {
		if fs[i].Name == "attributes" {
			fs[i].Metadata = arrow.NewMetadata([]string{"ARROW:extension:name", "ARROW:extension:metadata"}, []string{"arrow.json", ""})
		}
	}
	return arrow.NewSchema(fs, nil)
}()

// insertArrow inserts rec into events.
func insertArrow(c driver.Conn, exec func(string, ...driver.NamedValue) error, rec arrow.RecordBatch, name string) error {
	if rec.Schema().Equal(transform.Schema) {
		rec = array.NewRecordBatch(eventsSchema, rec.Columns(), rec.NumRows())
		defer rec.Release()
	}
	return withView(c, exec, rec, name, func(view string) error {
		if err := exec("INSERT INTO events SELECT * FROM " + view); err != nil {
			return fmt.Errorf("insert %d events: %w", rec.NumRows(), err)
		}
		return nil
	})
}

// withView registers rec as the view name for fn. An Arrow view is a
// stream: it can be scanned once, so every statement needs its own.
func withView(c driver.Conn, exec func(string, ...driver.NamedValue) error, rec arrow.RecordBatch, name string, fn func(view string) error) error {
	ar, err := duckdb.NewArrowFromConn(c)
	if err != nil {
		return fmt.Errorf("arrow interface: %w", err)
	}
	rr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		return fmt.Errorf("arrow reader: %w", err)
	}
	defer rr.Release()
	release, err := ar.RegisterView(rr, name)
	if err != nil {
		return fmt.Errorf("register arrow batch: %w", err)
	}
	defer release()
	if err := fn(name); err != nil {
		return err
	}
	if err := exec("DROP VIEW IF EXISTS " + name); err != nil {
		return fmt.Errorf("drop arrow view: %w", err)
	}
	return nil
}

// insertRecord inserts the rows of rec (nil: none) into table through the
// Arrow view name, and releases rec.
func insertRecord(c driver.Conn, exec func(string, ...driver.NamedValue) error, rec arrow.RecordBatch, name, table string) error {
	if rec == nil {
		return nil
	}
	defer rec.Release()
	err := withView(c, exec, rec, name, func(view string) error {
		return exec("INSERT INTO " + table + " SELECT * FROM " + view)
	})
	if err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", rec.NumRows(), table, err)
	}
	return nil
}

// commitRanges is, per source partition b advances, the range of
// positions the commit covers: [the stored position before it (0 when there
// is none, or the file is reloaded), the position after it).
func commitRanges(ctx context.Context, c driver.Conn, b *Batch) (map[partKey]commitRange, error) {
	replaced := map[string]bool{}
	for _, f := range b.ReplaceFiles {
		replaced["file:"+f] = true
	}
	out := map[partKey]commitRange{}
	for _, p := range b.Positions {
		k := partKey{src: p.Source, part: p.Part}
		if rg, ok := out[k]; ok {
			rg.next = max(rg.next, p.Next)
			out[k] = rg
			continue
		}
		rg := commitRange{src: p.Source, part: p.Part, next: p.Next}
		if !replaced[p.Source] {
			v, err := queryValue(ctx, c, "SELECT next_offset FROM ingest_offsets WHERE source = ? AND part = ?", nv(p.Source, int64(p.Part))...)
			if err != nil {
				return nil, fmt.Errorf("read position %s[%d]: %w", p.Source, p.Part, err)
			}
			if n, ok := v.(int64); ok {
				rg.first = n
			}
		}
		out[k] = rg
	}
	return out, nil
}

func appendDeadLetters(c driver.Conn, dls []transform.DeadLetter) error {
	ap, err := duckdb.NewAppenderFromConn(c, "", "dead_letters")
	if err != nil {
		return fmt.Errorf("dead letter appender: %w", err)
	}
	now := time.Now().UTC()
	for i := range dls {
		d := &dls[i]
		var topic, part, file any
		if d.Topic != "" {
			topic, part = d.Topic, d.Partition
		}
		if d.File != "" {
			file = d.File
		}
		raw := d.Raw
		if raw == nil {
			raw = []byte{}
		}
		err := ap.AppendRow(now, d.Reason, strings.ToValidUTF8(d.Message, "\uFFFD"), string(d.Format), raw, int64(d.RawSize), topic, part, d.Offset, file, d.Index)
		if err != nil {
			ap.Close()
			return fmt.Errorf("append dead letter: %w", err)
		}
	}
	if err := ap.Close(); err != nil {
		return fmt.Errorf("flush %d dead letters: %w", len(dls), err)
	}
	return nil
}

// Offsets returns the stored next offset of every partition of source
// ("kafka:<topic>").
func (db *DB) Offsets(ctx context.Context, source string) (map[int32]int64, error) {
	rows, err := db.QueryContext(ctx, "SELECT part, next_offset FROM ingest_offsets WHERE source = ?", source)
	if err != nil {
		return nil, fmt.Errorf("read stored offsets of %s: %w", source, Classify(err, db.Path))
	}
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, fmt.Errorf("read stored offsets of %s: %w", source, err)
		}
		out[p] = o
	}
	return out, rows.Err()
}

// KafkaPartitions counts the Kafka partitions this file stores a position
// for: 0 for a file that never ingested from Kafka.
func (db *DB) KafkaPartitions(ctx context.Context) (int64, error) {
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM ingest_offsets WHERE starts_with(source, 'kafka:')").Scan(&n); err != nil {
		return 0, fmt.Errorf("read stored offsets: %w", Classify(err, db.Path))
	}
	return n, nil
}

// FilePosition returns the stored position of a file source, ok false if
// the file was never loaded.
func (db *DB) FilePosition(ctx context.Context, source string) (next int64, fingerprint string, ok bool, err error) {
	var fp sql.NullString
	err = db.QueryRowContext(ctx, "SELECT next_offset, fingerprint FROM ingest_offsets WHERE source = ? AND part = 0", source).Scan(&next, &fp)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, fmt.Errorf("read stored position of %s: %w", source, err)
	}
	return next, fp.String, true, nil
}

// FileEvents counts the events loaded from the file at path (what
// reloading a changed file would replace).
func (db *DB) FileEvents(ctx context.Context, path string) (int64, error) {
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE src_file = ?", path).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the events loaded from %s: %w", path, err)
	}
	return n, nil
}
