package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MergeSummary counts what Merge added from one source file.
type MergeSummary struct {
	Source          string
	Events          int64 // events added
	EventsPresent   int64 // events the target already held (same lineage)
	DeadLetters     int64 // dead letters added
	Positions       int64 // ingest_offsets rows added or advanced
	SourceEvents    int64
	SourceDeadLttrs int64
}

// Events and dead letters are the same record when their lineage is: the
// Kafka position (topic, partition, offset, index within the message) or the
// file position (path, record offset, index).
const sameLineage = `x.src_topic IS NOT DISTINCT FROM s.src_topic AND x.src_partition IS NOT DISTINCT FROM s.src_partition
	AND x.src_offset IS NOT DISTINCT FROM s.src_offset AND x.src_file IS NOT DISTINCT FROM s.src_file`

// Merge adds to db the events, dead letters and positions of the faultline
// DuckDB file at path that db does not hold yet, in one transaction, so the
// files that scaled-out ingest processes wrote (one per process) can be
// analysed together. Records are matched by lineage, so merging the same
// file twice, or files that both hold a record (a partition that moved
// between processes), adds each record once. A position keeps the larger
// next offset of the two files. The rollups of the added events
// (error_minutes, activity_minutes, change_events) are added with them,
// one unit per source partition covering the added events' offsets.
//
// The source must not be open in another process (DuckDB allows one process
// per file): stop the process that owns it, or merge a copy.
func (db *DB) Merge(ctx context.Context, path string) (MergeSummary, error) {
	sum := MergeSummary{Source: path}
	abs, err := filepath.Abs(path)
	if err != nil {
		return sum, err
	}
	src, err := os.Stat(abs)
	if err != nil {
		return sum, fmt.Errorf("merge %s: %w (name an existing faultline DuckDB file)", path, err)
	}
	// The target itself, by its name or through a symbolic or hard link:
	// attaching it would read the file being written, and detaching it
	// would drop this process's lock on it (POSIX locks belong to the
	// process).
	if db.Path != "" {
		if self, err := os.Stat(db.Path); err == nil && os.SameFile(self, src) {
			return sum, fmt.Errorf("merge %s: it is the target file itself (--db %s)", path, db.Path)
		}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return sum, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "ATTACH '"+strings.ReplaceAll(abs, "'", "''")+"' AS merge_src (READ_ONLY)"); err != nil {
		return sum, fmt.Errorf("merge %s: %w (is it a faultline DuckDB file, not open in a running faultline process? stop that process or merge a copy)", path, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DETACH merge_src") //nolint:errcheck // best effort

	var version int
	if err := conn.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM merge_src.schema_version").Scan(&version); err != nil {
		return sum, fmt.Errorf("merge %s: not a faultline DuckDB file (no schema_version table): %w", path, err)
	}
	switch {
	case version < SchemaVersion:
		return sum, fmt.Errorf("merge %s: schema version %d is older than this faultline's %d: migrate it first by opening it once with this faultline (faultline query --db %s \"SELECT 1\"), then merge", path, version, SchemaVersion, path)
	case version > SchemaVersion:
		return sum, fmt.Errorf("merge %s: schema version %d is newer than this faultline's %d: merge with the faultline release that wrote it", path, version, SchemaVersion)
	}
	if err := conn.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM merge_src.events), (SELECT count(*) FROM merge_src.dead_letters)").
		Scan(&sum.SourceEvents, &sum.SourceDeadLttrs); err != nil {
		return sum, fmt.Errorf("merge %s: %w", path, err)
	}

	// A file loaded into both databases with different contents (it changed
	// between the loads) would mix old and new records under one lineage.
	var conflict string
	err = conn.QueryRowContext(ctx, `SELECT coalesce(string_agg(substr(s.source, 6), ', '), '') FROM merge_src.ingest_offsets s
		JOIN ingest_offsets x ON x.source = s.source AND x.part = s.part
		WHERE s.source LIKE 'file:%' AND s.fingerprint IS DISTINCT FROM x.fingerprint`).Scan(&conflict)
	if err != nil {
		return sum, fmt.Errorf("merge %s: compare file fingerprints: %w", path, err)
	}
	if conflict != "" {
		return sum, fmt.Errorf("merge %s: these files were loaded with different contents into it and into the target: %s; load the current version into both (faultline load replaces a changed file), then merge", path, conflict)
	}

	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return sum, err
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	exec := func(what, q string) (int64, error) {
		res, err := conn.ExecContext(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("merge %s: %s: %w", path, what, err)
		}
		return res.RowsAffected()
	}
	// The events the target lacks, kept aside so that the rollups of
	// exactly these events are added (rollups.sql).
	if _, err = exec("events", `CREATE TEMP TABLE merge_new AS SELECT * FROM merge_src.events s WHERE NOT EXISTS (
		SELECT 1 FROM events x WHERE `+sameLineage+` AND x.src_index IS NOT DISTINCT FROM s.src_index)`); err != nil {
		return sum, err
	}
	if sum.Events, err = exec("events", `INSERT INTO events SELECT * FROM merge_new`); err != nil {
		return sum, err
	}
	if _, err = exec("rollups", rollupSQL("temp.merge_new", noRanges)); err != nil {
		return sum, err
	}
	if _, err = exec("rollups", "DROP TABLE temp.merge_new"); err != nil {
		return sum, err
	}
	sum.EventsPresent = sum.SourceEvents - sum.Events
	if sum.DeadLetters, err = exec("dead letters", `INSERT INTO dead_letters SELECT * FROM merge_src.dead_letters s WHERE NOT EXISTS (
		SELECT 1 FROM dead_letters x WHERE `+sameLineage+` AND x.src_index IS NOT DISTINCT FROM s.src_index
		AND x.reason = s.reason)`); err != nil {
		return sum, err
	}
	if sum.Positions, err = exec("positions", `INSERT INTO ingest_offsets (source, part, next_offset, updated_at, fingerprint)
		SELECT s.source, s.part, s.next_offset, s.updated_at, s.fingerprint FROM merge_src.ingest_offsets s
		LEFT JOIN ingest_offsets x ON x.source = s.source AND x.part = s.part
		WHERE x.source IS NULL OR s.next_offset > x.next_offset
		ON CONFLICT (source, part) DO UPDATE SET next_offset = excluded.next_offset,
			updated_at = excluded.updated_at, fingerprint = excluded.fingerprint`); err != nil {
		return sum, err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return sum, fmt.Errorf("merge %s: commit: %w", path, err)
	}
	committed = true
	return sum, nil
}
