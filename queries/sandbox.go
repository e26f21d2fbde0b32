package queries

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// ErrRefused marks analyst SQL the sandbox does not run.
var ErrRefused = errors.New("refused by the analyst SQL sandbox")

// Sandbox runs analyst SQL: one read-only statement at a time, with no file,
// network or extension access, locked settings, a timeout, a row cap and a
// memory limit.
//
// Guards, outermost first:
//  1. exactly one statement, and its prepared type must be SELECT or EXPLAIN
//     (WITH ... SELECT, DESCRIBE, SHOW and SUMMARIZE are SELECTs);
//  2. it runs inside a READ ONLY transaction on its own connection;
//  3. database-wide settings applied once by NewSandbox:
//     enable_external_access=false (no read_csv/read_text/glob/COPY/ATTACH/
//     httpfs: the database file, its WAL and temp files stay usable, and so do
//     Arrow scans and appenders, so ingest in the same process keeps working),
//     autoinstall/autoload_known_extensions=false,
//     allow_community_extensions=false, memory_limit=query.memory_limit when
//     set (else the limit the process set, duckdb.memory_limit), and
//     finally lock_configuration=true so no statement can undo them;
//  4. query.timeout cancels the statement (DuckDB interrupt) and
//     query.max_rows cuts the result (Table.Truncated).
//
// Because DuckDB settings are per database, not per connection, the memory
// limit and the lock apply to the whole process's database: create the
// sandbox after the process has applied any settings of its own.
type Sandbox struct {
	db    *sql.DB
	cfg   Config
	limit string // DuckDB's memory_limit in effect, for messages
}

// lockdown is applied in this order; lock_configuration must come last.
var lockdown = []string{
	"SET enable_external_access = false",
	"SET autoinstall_known_extensions = false",
	"SET autoload_known_extensions = false",
	"SET allow_community_extensions = false",
}

// NewSandbox locks down db (see Sandbox) and returns a sandbox over it. It is
// safe to call more than once on the same database.
func NewSandbox(ctx context.Context, db *sql.DB, cfg Config) (*Sandbox, error) {
	var locked string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('lock_configuration')::VARCHAR").Scan(&locked); err != nil {
		return nil, fmt.Errorf("sandbox: read settings: %w", err)
	}
	if locked != "true" {
		stmts := append([]string(nil), lockdown...)
		if cfg.MemoryLimit != "" {
			stmts = append(stmts, "SET memory_limit = '"+strings.ReplaceAll(cfg.MemoryLimit, "'", "")+"'")
		}
		stmts = append(stmts, "SET lock_configuration = true")
		for _, s := range stmts {
			if _, err := db.ExecContext(ctx, s); err != nil {
				return nil, fmt.Errorf("sandbox: %s: %w (check query.memory_limit, e.g. 2GB)", s, err)
			}
		}
	}
	var ext string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('enable_external_access')::VARCHAR").Scan(&ext); err != nil {
		return nil, fmt.Errorf("sandbox: read settings: %w", err)
	}
	if ext != "false" {
		return nil, errors.New("sandbox: the database configuration is locked with external access enabled; analyst SQL cannot be sandboxed on it")
	}
	var limit string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('memory_limit')::VARCHAR").Scan(&limit); err != nil {
		return nil, fmt.Errorf("sandbox: read settings: %w", err)
	}
	return &Sandbox{db: db, cfg: cfg, limit: limit}, nil
}

var allowedTypes = map[duckdb.StmtType]bool{
	duckdb.STATEMENT_TYPE_SELECT:  true,
	duckdb.STATEMENT_TYPE_EXPLAIN: true,
}

var typeNames = map[duckdb.StmtType]string{
	duckdb.STATEMENT_TYPE_INSERT: "INSERT", duckdb.STATEMENT_TYPE_UPDATE: "UPDATE",
	duckdb.STATEMENT_TYPE_DELETE: "DELETE", duckdb.STATEMENT_TYPE_PREPARE: "PREPARE",
	duckdb.STATEMENT_TYPE_CREATE: "CREATE", duckdb.STATEMENT_TYPE_EXECUTE: "EXECUTE",
	duckdb.STATEMENT_TYPE_ALTER: "ALTER", duckdb.STATEMENT_TYPE_TRANSACTION: "transaction control",
	duckdb.STATEMENT_TYPE_COPY: "COPY", duckdb.STATEMENT_TYPE_ANALYZE: "ANALYZE",
	duckdb.STATEMENT_TYPE_VARIABLE_SET: "SET VARIABLE", duckdb.STATEMENT_TYPE_CREATE_FUNC: "CREATE FUNCTION/MACRO",
	duckdb.STATEMENT_TYPE_DROP: "DROP", duckdb.STATEMENT_TYPE_EXPORT: "EXPORT",
	duckdb.STATEMENT_TYPE_PRAGMA: "PRAGMA", duckdb.STATEMENT_TYPE_VACUUM: "VACUUM",
	duckdb.STATEMENT_TYPE_CALL: "CALL", duckdb.STATEMENT_TYPE_SET: "SET/RESET",
	duckdb.STATEMENT_TYPE_LOAD: "INSTALL/LOAD", duckdb.STATEMENT_TYPE_EXTENSION: "extension",
	duckdb.STATEMENT_TYPE_ATTACH: "ATTACH", duckdb.STATEMENT_TYPE_DETACH: "DETACH",
	duckdb.STATEMENT_TYPE_MULTI: "multi-part",
}

// SQL runs one analyst statement and returns at most query.max_rows rows.
func (s *Sandbox) SQL(ctx context.Context, query string) (Table, error) {
	if strings.TrimSpace(strings.TrimRight(strings.TrimSpace(query), ";")) == "" {
		return Table{}, fmt.Errorf("%w: the query is empty", ErrRefused)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return Table{}, fmt.Errorf("sandbox: get a connection: %w", err)
	}
	defer conn.Close()
	var t Table
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("sandbox: not a DuckDB connection (%T)", dc)
		}
		var err error
		t, err = s.run(ctx, c, query)
		return err
	})
	if err != nil {
		return Table{}, s.explain(ctx, err)
	}
	return t, nil
}

// explain turns driver errors into messages that say what to do.
func (s *Sandbox) explain(ctx context.Context, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, ErrRefused):
		return err
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || strings.Contains(msg, "INTERRUPT"):
		return fmt.Errorf("%w: the query ran longer than query.timeout (%s) and was stopped; narrow it (e.g. WHERE time >= now() - INTERVAL 1 HOUR) or raise query.timeout", ErrRefused, s.cfg.Timeout)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("query cancelled: %w", ctx.Err())
	case strings.Contains(msg, "Permission Error") || strings.Contains(msg, "disabled by configuration"):
		return fmt.Errorf("%w: analyst SQL may not read or write files, use the network or load extensions (%s)", ErrRefused, firstLine(msg))
	case strings.Contains(msg, "read-only mode") || strings.Contains(msg, "read-only transaction"):
		return fmt.Errorf("%w: analyst SQL is read-only (%s)", ErrRefused, firstLine(msg))
	case strings.Contains(msg, "Out of Memory"):
		return fmt.Errorf("%w: the query needed more memory than DuckDB's memory_limit (%s: duckdb.memory_limit, or query.memory_limit when set); aggregate more or narrow the time range (%s)", ErrRefused, s.limit, firstLine(msg))
	}
	return fmt.Errorf("query: %s", strings.TrimSpace(msg))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func (s *Sandbox) run(ctx context.Context, c *duckdb.Conn, query string) (Table, error) {
	ds, err := c.Prepare(query)
	if err != nil {
		if strings.Contains(err.Error(), "multi-statement") {
			return Table{}, fmt.Errorf("%w: send exactly one statement (found several separated by ';')", ErrRefused)
		}
		return Table{}, err
	}
	st := ds.(*duckdb.Stmt)
	defer st.Close()
	typ, err := st.StatementType()
	if err != nil {
		return Table{}, err
	}
	if !allowedTypes[typ] {
		name := typeNames[typ]
		if name == "" {
			name = fmt.Sprintf("type %d", typ)
		}
		return Table{}, fmt.Errorf("%w: %s statements are not allowed; analyst SQL is read-only: use SELECT, WITH ... SELECT, DESCRIBE, SUMMARIZE or EXPLAIN", ErrRefused, name)
	}
	if _, err := c.ExecContext(ctx, "BEGIN TRANSACTION READ ONLY", nil); err != nil {
		return Table{}, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = c.ExecContext(rctx, "ROLLBACK", nil)
	}()
	rows, err := st.QueryContext(ctx, nil)
	if err != nil {
		return Table{}, err
	}
	defer rows.Close()
	t := Table{Columns: rows.Columns(), Rows: [][]any{}}
	dest := make([]driver.Value, len(t.Columns))
	for {
		if err := rows.Next(dest); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return Table{}, err
		}
		if len(t.Rows) == s.cfg.MaxRows {
			t.Truncated = true
			break
		}
		row := make([]any, len(dest))
		for i, v := range dest {
			row[i] = plain(v)
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// plain converts driver values to types every output format understands.
func plain(v any) any {
	switch x := v.(type) {
	case duckdb.UUID:
		return x.String()
	case *duckdb.UUID:
		return x.String()
	case duckdb.Decimal:
		return x.Float64() // divided at big.Float precision, then rounded to float64 (not once per digit of scale)
	case duckdb.Interval:
		return intervalString(x)
	case *big.Int:
		return x.String()
	case []byte:
		return x
	}
	return v
}

// intervalString prints an INTERVAL: months (which have no fixed length)
// first, then days and time as a Go duration: "1 month 26h0m0s", "2h0m0s".
func intervalString(x duckdb.Interval) string {
	d := (time.Duration(x.Micros)*time.Microsecond + time.Duration(x.Days)*24*time.Hour).String()
	switch x.Months {
	case 0:
		return d
	case 1, -1:
		if d == "0s" {
			return fmt.Sprintf("%d month", x.Months)
		}
		return fmt.Sprintf("%d month %s", x.Months, d)
	default:
		if d == "0s" {
			return fmt.Sprintf("%d months", x.Months)
		}
		return fmt.Sprintf("%d months %s", x.Months, d)
	}
}
