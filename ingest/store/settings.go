package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Settings are the DuckDB settings applied to a file faultline opens (config
// section duckdb). DuckDB settings belong to the database, not to a
// connection: they cover ingest's inserts, the correlation queries and
// analyst SQL of the process alike.
type Settings struct {
	// MemoryLimit bounds DuckDB's buffer memory, e.g. "2GB"; "" leaves
	// DuckDB's default (80% of RAM), which a long-running ingest fills with
	// cached blocks of the growing file.
	MemoryLimit string `mapstructure:"memory_limit"`
	// Threads is DuckDB's worker thread count; 0 leaves DuckDB's default
	// (one per core), except in a process that only writes the file
	// (ForWriter).
	Threads int `mapstructure:"threads"`
	// TempDirectory is where DuckDB spills what does not fit in
	// MemoryLimit (big queries, big inserts); "" leaves DuckDB's default,
	// <db file>.tmp beside the file, on the same volume.
	TempDirectory string `mapstructure:"temp_directory"`
	// CheckpointThreshold is the WAL size at which DuckDB writes it into
	// the file (a checkpoint), e.g. "256MB" (the default); a smaller WAL
	// replays faster after a crash, at the price of more checkpoints.
	CheckpointThreshold string `mapstructure:"checkpoint_threshold"`
}

// DefaultSettings bounds DuckDB at 2GB (docs/benchmarks.md, steady RSS).
func DefaultSettings() Settings {
	return Settings{MemoryLimit: "2GB", CheckpointThreshold: checkpointThreshold}
}

var memoryLimitRE = regexp.MustCompile(`(?i)^[0-9]+(\.[0-9]+)?\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)$`)

// minMemoryLimit is the smallest duckdb.memory_limit allowed: faultline's
// own queries (a migration, the correlation) need tens of MB.
const minMemoryLimit = 64_000_000 // "64MB", as DuckDB reads it

// sizeBytes is the bytes of a size memoryLimitRE accepts (KB = 1000, KiB =
// 1024, as DuckDB reads them).
func sizeBytes(s string) float64 {
	m := memoryLimitRE.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	num := strings.TrimSpace(strings.TrimSuffix(strings.ToLower(s), strings.ToLower(m[2])))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0
	}
	unit := strings.ToLower(m[2])
	pow := map[byte]float64{'b': 0, 'k': 1, 'm': 2, 'g': 3, 't': 4}[unit[0]]
	base := 1000.0
	if strings.HasSuffix(unit, "ib") {
		base = 1024
	}
	return v * math.Pow(base, pow)
}

// Validate names every invalid key, its value and what is allowed.
func (s Settings) Validate() error {
	var errs []error
	if s.MemoryLimit != "" && !memoryLimitRE.MatchString(s.MemoryLimit) {
		errs = append(errs, fmt.Errorf("duckdb.memory_limit: %q is not allowed: use a size such as 2GB or 512MB, or \"\" for DuckDB's default (80%% of RAM)", s.MemoryLimit))
	} else if s.MemoryLimit != "" && sizeBytes(s.MemoryLimit) < minMemoryLimit {
		// DuckDB takes 1KB, and then fails every query with advice to SET
		// settings the analyst sandbox refuses.
		errs = append(errs, fmt.Errorf("duckdb.memory_limit: %q is too small: use at least 64MB, such as 2GB (docs/operations.md, Memory)", s.MemoryLimit))
	}
	if s.CheckpointThreshold != "" && !memoryLimitRE.MatchString(s.CheckpointThreshold) {
		errs = append(errs, fmt.Errorf("duckdb.checkpoint_threshold: %q is not allowed: use a size such as 256MB", s.CheckpointThreshold))
	}
	if strings.ContainsAny(s.TempDirectory, "'\x00") {
		errs = append(errs, fmt.Errorf("duckdb.temp_directory: %q is not allowed: use a directory path without quotes", s.TempDirectory))
	}
	if s.Threads < 0 {
		errs = append(errs, fmt.Errorf("duckdb.threads: %d is not allowed: use 0 (one per core) or more", s.Threads))
	}
	return errors.Join(errs...)
}

// Apply sets s on the database. Call it before anything locks the
// configuration (queries.NewSandbox does).
func (db *DB) Apply(ctx context.Context, s Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if s.MemoryLimit != "" {
		if _, err := db.ExecContext(ctx, "SET memory_limit = '"+s.MemoryLimit+"'"); err != nil {
			return fmt.Errorf("duckdb.memory_limit %q: %w", s.MemoryLimit, err)
		}
	}
	if s.Threads > 0 {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("SET threads = %d", s.Threads)); err != nil {
			return fmt.Errorf("duckdb.threads %d: %w", s.Threads, err)
		}
	}
	if s.CheckpointThreshold != "" {
		if _, err := db.ExecContext(ctx, "SET checkpoint_threshold = '"+s.CheckpointThreshold+"'"); err != nil {
			return fmt.Errorf("duckdb.checkpoint_threshold %q: %w", s.CheckpointThreshold, err)
		}
		db.threshold = s.CheckpointThreshold
	}
	if s.TempDirectory != "" {
		if _, err := db.ExecContext(ctx, "SET temp_directory = '"+s.TempDirectory+"'"); err != nil {
			return fmt.Errorf("duckdb.temp_directory %q: %w", s.TempDirectory, err)
		}
	}
	return nil
}

// ForWriter returns s for a process that only writes the file (ingest,
// load): with Threads 0, DuckDB gets one thread. A batch's commit is one
// DuckDB pipeline (an Arrow stream into the table) that one thread runs
// whatever the count, and DuckDB's calling thread busy-waits while a
// worker runs it: with one thread per core that spin took a sixth of the
// process's CPU from the decoders beside it (docs/benchmarks.md, Issue 19
// part 15). A set Threads is kept.
func (s Settings) ForWriter() Settings {
	if s.Threads == 0 {
		s.Threads = 1
	}
	return s
}

// OpenWith opens the file like Open and applies s to it.
func OpenWith(ctx context.Context, path string, s Settings) (*DB, error) {
	db, err := Open(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := db.Apply(ctx, s); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}
