package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// What DuckDB's errors say when the disk is full or the file is damaged,
// turned into errors that name the file and say what to do
// (docs/operations.md, "Faults").

// ErrInvalidated is in the chain of an error after which DuckDB refuses
// every further statement on this open database ("database has been
// invalidated because of a previous fatal error", e.g. a checkpoint that
// could not write): the file is consistent, but it must be closed and
// opened again.
var ErrInvalidated = errors.New("DuckDB invalidated the open database after a fatal error: it must be opened again")

// DiskFullError is a write to the DuckDB file, its WAL or DuckDB's
// temporary directory that failed for lack of space. Nothing of the failed
// transaction is in the file.
type DiskFullError struct {
	// File is the file DuckDB could not write (the database file when
	// DuckDB did not say).
	File string
	// Volume is the mount point of the file system holding File.
	Volume string
	// Free and Size are that file system's free and total bytes when the
	// error was seen (0 if unknown).
	Free, Size uint64
	// Invalidated: DuckDB also invalidated the open database (the write
	// was a checkpoint); see ErrInvalidated.
	Invalidated bool
	Err         error
}

func (e *DiskFullError) Error() string {
	space := ""
	if e.Size > 0 {
		space = fmt.Sprintf("; %s free of %s", bytesText(e.Free), bytesText(e.Size))
	}
	return fmt.Sprintf("no space left on %s (writing %s%s)", e.Volume, e.File, space)
}

func (e *DiskFullError) Unwrap() []error {
	if e.Invalidated {
		return []error{ErrInvalidated, e.Err}
	}
	return []error{e.Err}
}

// DamagedError is a DuckDB file (or its WAL) that fails its checksums, is
// shorter than its own metadata says, or is not a DuckDB file at all.
type DamagedError struct {
	// Path is the database file.
	Path string
	// WAL: the damage is in the write-ahead log Path + ".wal"; the file
	// itself opens without it (at its last checkpoint).
	WAL bool
	// NotDuckDB: the file is not a DuckDB file at all (CheckHeader): a
	// wrong --db, or a file damaged from its first byte.
	NotDuckDB bool
	Detail    string // DuckDB's words
	Err       error
}

func (e *DamagedError) Error() string {
	if e.NotDuckDB {
		return fmt.Sprintf("open duckdb %q: %s", e.Path, e.Detail)
	}
	if e.WAL {
		return fmt.Sprintf("the write-ahead log %s.wal of the DuckDB file %s is damaged (%s): move it aside (mv %s.wal %s.wal.damaged) and start again: the file opens at its last checkpoint and ingest re-reads the newer records from Kafka (a load, its files); see docs/operations.md, Damaged database file",
			e.Path, e.Path, e.Detail, e.Path, e.Path)
	}
	return fmt.Sprintf("the DuckDB file %s is damaged (%s): restore it from a backup, or move it aside and rebuild it from Kafka (mv %s %s.damaged, then ingest with ingest.start_without_offset: earliest); see docs/operations.md, Damaged database file",
		e.Path, e.Detail, e.Path, e.Path)
}

func (e *DamagedError) Unwrap() error { return e.Err }

var (
	noSpaceRE = regexp.MustCompile(`(?i)(?:write|writing)[^"]*"([^"]+)"[^\n]*no space left on device`)
	damagedRE = regexp.MustCompile(`Corrupt database file[^\n"]*|Could not read enough bytes from file[^\n]*|exists, but it is not a valid DuckDB database file|Corrupt WAL file[^\n"]*|Failure while replaying WAL[^\n]*`)
)

// Classify turns a DuckDB error on the database at path into a
// *DiskFullError or a *DamagedError when it is one (wrapping err), adds
// ErrInvalidated to the chain when DuckDB invalidated the database, and
// returns any other error unchanged.
func Classify(err error, path string) error {
	if err == nil {
		return nil
	}
	var df *DiskFullError
	var dm *DamagedError
	if errors.As(err, &df) || errors.As(err, &dm) || errors.Is(err, ErrInvalidated) {
		return err
	}
	msg := err.Error()
	invalidated := strings.Contains(msg, "database has been invalidated") ||
		strings.HasPrefix(msg, "FATAL Error") || strings.Contains(msg, "\nFATAL Error")
	if strings.Contains(strings.ToLower(msg), "no space left on device") || errors.Is(err, syscall.ENOSPC) {
		file := path
		if m := noSpaceRE.FindStringSubmatch(msg); m != nil {
			file = m[1]
		}
		return NewDiskFull(file, invalidated, err)
	}
	if m := damagedRE.FindString(msg); m != "" {
		wal := strings.Contains(m, "WAL")
		detail := strings.TrimSpace(firstLine(m))
		if strings.Contains(m, "not a valid DuckDB database file") {
			detail = "not a DuckDB database file: check --db, or its first block is damaged"
		}
		if i := strings.Index(msg, "Corrupt WAL file"); wal && i >= 0 {
			detail = strings.TrimSpace(firstLine(msg[i:]))
		}
		e := &DamagedError{Path: path, WAL: wal, Detail: detail, Err: err}
		if invalidated {
			return errors.Join(e, ErrInvalidated)
		}
		return e
	}
	if invalidated {
		return fmt.Errorf("%w: %w", ErrInvalidated, err)
	}
	return err
}

// NewDiskFull describes a full file system: file is what could not be
// written; the volume and its space are looked up now.
func NewDiskFull(file string, invalidated bool, err error) *DiskFullError {
	e := &DiskFullError{File: file, Volume: mountPoint(file), Invalidated: invalidated, Err: err}
	var st syscall.Statfs_t
	if syscall.Statfs(e.Volume, &st) == nil {
		e.Free, e.Size = st.Bavail*uint64(st.Bsize), st.Blocks*uint64(st.Bsize)
	}
	return e
}

// mountPoint returns the mount point of the file system holding path (or
// of its nearest existing parent): the directory an operator has to free
// space on.
func mountPoint(path string) string {
	p, err := filepath.Abs(path)
	if err != nil {
		return filepath.Dir(path)
	}
	var st syscall.Stat_t
	for syscall.Stat(p, &st) != nil {
		parent := filepath.Dir(p)
		if parent == p {
			return p
		}
		p = parent
	}
	dev := st.Dev
	for {
		parent := filepath.Dir(p)
		if parent == p || syscall.Stat(parent, &st) != nil || st.Dev != dev {
			return p
		}
		p = parent
	}
}

func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
