package store

import (
	"context"
	"database/sql/driver"
	_ "embed"
	"errors"
	"fmt"
	"strings"
)

//go:embed relay_outbox.sql
var relayOutboxSQL string

// Unit identifies a relay unit: what one commit stored of one Kafka
// partition, from the offset of its first event (First) to the
// partition's position after the commit (Next), read in consumer group
// generation Generation by Node.
type Unit struct {
	Src        string // "kafka:<topic>"
	Part       int32
	First      int64
	Next       int64
	Generation int32
	Node       string
}

// Key is "<src>/<part>/<first>": a unit published again (a crash before
// the outbox was cleared) has the same key and replaces itself.
func (u Unit) Key() string { return fmt.Sprintf("%s/%d/%d", u.Src, u.Part, u.First) }

// Tag is the src_file of a relayed unit's events in the file that applied
// it, by which they are removed when a later reading replaces the unit.
func (u Unit) Tag() string { return "relay:" + u.Key() }

// OutboxUnit is a unit waiting in relay_outbox to be published: Counts
// and Rows are JSON arrays (relay_outbox.sql says what they hold).
type OutboxUnit struct {
	Unit
	Counts []byte
	Rows   []byte
}

// writeOutbox writes the relay units of the batch whose events are in
// view (relay_outbox.sql); it runs inside the batch's transaction.
func (s *Sink) writeOutbox(exec func(string, ...driver.NamedValue) error, view string, ps []Position) error {
	var vals []string
	for _, p := range ps {
		topic, ok := strings.CutPrefix(p.Source, "kafka:")
		if !ok {
			continue
		}
		vals = append(vals, fmt.Sprintf("('%s', %d, %d, %d)", strings.ReplaceAll(topic, "'", "''"), p.Part, p.Next, p.Generation))
	}
	if len(vals) == 0 {
		return nil
	}
	if err := exec("CREATE OR REPLACE TEMP TABLE relay_batch AS SELECT * FROM " + view +
		" WHERE src_topic IS NOT NULL AND (kind IN ('error', 'change') OR source IN ('health', 'config', 'alarm')" +
		" OR (source = 'cloudtrail' AND actor LIKE '%:assumed-role/%'))"); err != nil {
		return fmt.Errorf("collect the batch's relay rows: %w", err)
	}
	if err := exec(strings.ReplaceAll(relayOutboxSQL, "{{positions}}", strings.Join(vals, ", "))); err != nil {
		return fmt.Errorf("write the batch's relay units: %w", err)
	}
	if err := exec("DROP TABLE relay_batch"); err != nil {
		return fmt.Errorf("drop the batch's relay rows: %w", err)
	}
	return nil
}

// Outbox returns up to limit units waiting to be published, oldest first
// per partition.
func (db *DB) Outbox(ctx context.Context, limit int) ([]OutboxUnit, error) {
	rows, err := db.QueryContext(ctx, `SELECT src, part, first_offset, next_offset, generation, CAST(counts AS VARCHAR), CAST(rows AS VARCHAR)
FROM relay_outbox ORDER BY src, part, first_offset LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read the relay outbox: %w", Classify(err, db.Path))
	}
	defer rows.Close()
	var out []OutboxUnit
	for rows.Next() {
		var u OutboxUnit
		var e, r string
		if err := rows.Scan(&u.Src, &u.Part, &u.First, &u.Next, &u.Generation, &e, &r); err != nil {
			return nil, fmt.Errorf("read the relay outbox: %w", err)
		}
		u.Counts, u.Rows = []byte(e), []byte(r)
		out = append(out, u)
	}
	return out, rows.Err()
}

// Published removes units from the outbox once the relay topic has them.
func (db *DB) Published(ctx context.Context, us []Unit) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("remove published relay units: %w", err)
	}
	for _, u := range us {
		if _, err := tx.ExecContext(ctx, "DELETE FROM relay_outbox WHERE src = ? AND part = ? AND first_offset = ? AND next_offset = ?",
			u.Src, u.Part, u.First, u.Next); err != nil {
			return errors.Join(fmt.Errorf("remove published relay units: %w", Classify(err, db.Path)), tx.Rollback())
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remove published relay units: %w", Classify(err, db.Path))
	}
	return nil
}

// RelayUnits returns the relayed units this file holds (relay_units).
func (db *DB) RelayUnits(ctx context.Context) ([]Unit, error) {
	rows, err := db.QueryContext(ctx, "SELECT src, part, first_offset, next_offset, generation, node FROM relay_units ORDER BY ALL")
	if err != nil {
		return nil, fmt.Errorf("read relay units: %w", Classify(err, db.Path))
	}
	defer rows.Close()
	var out []Unit
	for rows.Next() {
		var u Unit
		if err := rows.Scan(&u.Src, &u.Part, &u.First, &u.Next, &u.Generation, &u.Node); err != nil {
			return nil, fmt.Errorf("read relay units: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// writeRelay removes the rows of the units b.Evict (events whose src_file
// is the unit's Tag, and their rollups) and records the units b.Relay, whose
// rows are the batch's events: inside the batch's transaction.
func writeRelay(exec func(string, ...driver.NamedValue) error, b *Batch) error {
	for _, u := range b.Evict {
		if err := exec("DELETE FROM events WHERE src_file = ?", nv(u.Tag())...); err != nil {
			return fmt.Errorf("remove relayed unit %s[%d]@%d: %w", u.Src, u.Part, u.First, err)
		}
		// Their rollups too: the relayed events have no topic, so their
		// rollup rows' src is "file:" + the unit's tag (rollups.sql).
		for _, t := range rollupTables {
			if err := exec("DELETE FROM "+t+" WHERE src = ?", nv("file:"+u.Tag())...); err != nil {
				return fmt.Errorf("remove the %s of relayed unit %s[%d]@%d: %w", t, u.Src, u.Part, u.First, err)
			}
		}
		if err := exec("DELETE FROM relay_units WHERE src = ? AND part = ? AND first_offset = ?", nv(u.Src, int64(u.Part), u.First)...); err != nil {
			return fmt.Errorf("remove relayed unit %s[%d]@%d: %w", u.Src, u.Part, u.First, err)
		}
	}
	for _, u := range b.Relay {
		if err := exec(`INSERT INTO relay_units VALUES (?, ?, ?, ?, ?, ?)`,
			nv(u.Src, int64(u.Part), u.First, u.Next, int64(u.Generation), u.Node)...); err != nil {
			return fmt.Errorf("record relayed unit %s[%d]@%d: %w", u.Src, u.Part, u.First, err)
		}
	}
	return nil
}
