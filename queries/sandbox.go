package queries

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// ErrRefused marks analyst SQL the sandbox does not run.
var ErrRefused = errors.New("refused by the analyst SQL sandbox")

// ErrBusy marks analyst SQL that found every slot (query.max_concurrent)
// taken until its timeout.
var ErrBusy = errors.New("analyst SQL is busy")

// Sandbox runs analyst SQL: one read-only statement at a time per caller,
// with no file, network or extension access, locked settings, a timeout,
// row and byte caps, a bound on concurrent statements and a memory limit.
// Every way analyst SQL reaches DuckDB (faultline query, the HTTP API, the
// console, a PostgreSQL wire endpoint, exports) goes through Stream.
//
// Guards, outermost first:
//  1. the wall (wall.go): DuckDB's parser turns the statement into a syntax
//     tree, which must be exactly one SELECT (or EXPLAIN of one) over the
//     database's tables and views and an allow-list of table functions,
//     with no file-reading, globbing or SQL-from-a-string function anywhere
//     and no string or path used as a table. Nothing else is bound, so
//     DuckDB never opens a file for analyst SQL, the database's own files
//     included (opening those inside the serving process would drop its
//     POSIX locks);
//  2. its prepared type must be SELECT (or EXPLAIN);
//  3. at most query.max_concurrent statements run at once; a statement
//     waits for a slot within its query.timeout;
//  4. it runs inside a READ ONLY transaction on its own connection, wrapped
//     (see wrap) so that DuckDB itself stops after query.max_rows rows and
//     keeps no value past query.max_bytes: the result DuckDB materializes is
//     bounded, not only what Go reads of it;
//  5. database-wide settings applied once by NewSandbox, a second wall:
//     enable_external_access=false, autoinstall/autoload_known_extensions=
//     false, allow_community_extensions=false, memory_limit=
//     query.memory_limit when set (else the limit the process set,
//     duckdb.memory_limit), and finally lock_configuration=true so no
//     statement can undo them;
//  6. query.timeout cancels the statement (DuckDB interrupt).
//
// Because DuckDB settings are per database, not per connection, the memory
// limit and the lock apply to the whole process's database: create the
// sandbox after the process has applied any settings of its own.
type Sandbox struct {
	db    *sql.DB
	cfg   Config
	limit string        // DuckDB's memory_limit in effect, for messages
	temp  string        // DuckDB's temp_directory (where queries spill), for messages
	slots chan struct{} // query.max_concurrent
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
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
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
	var limit, temp string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('memory_limit')::VARCHAR, coalesce(current_setting('temp_directory')::VARCHAR, '')").Scan(&limit, &temp); err != nil {
		return nil, fmt.Errorf("sandbox: read settings: %w", err)
	}
	return &Sandbox{db: db, cfg: cfg, limit: limit, temp: temp, slots: make(chan struct{}, cfg.MaxConcurrent)}, nil
}

// SQL runs one analyst statement and returns its result as a Table, cut at
// query.max_rows rows or query.max_bytes bytes (Table.Truncated).
func (s *Sandbox) SQL(ctx context.Context, query string) (Table, error) {
	var c Collect
	sum, err := s.Stream(ctx, query, &c)
	if err != nil {
		return Table{}, err
	}
	return c.Done(sum), nil
}

// Stream runs one analyst statement and sends its result to w as DuckDB
// produces it, stopping at query.max_rows rows or before the row that
// would pass query.max_bytes (Summary.Truncated). Nothing reaches w when
// the statement is refused or fails before its first row; an error after
// that is returned with the Summary of what w received.
func (s *Sandbox) Stream(ctx context.Context, query string, w RowWriter) (Summary, error) {
	return s.StreamArgs(ctx, query, nil, w)
}

// StreamArgs is Stream with the values of the statement's parameters ($1,
// $2... or ?), bound by DuckDB itself: they never become SQL text, so the
// wall checks the statement exactly as it runs. Parameters are values only
// (DuckDB allows no parameter as a table or function name).
func (s *Sandbox) StreamArgs(ctx context.Context, query string, args []any, w RowWriter) (Summary, error) {
	return s.stream(ctx, query, args, limits{s.cfg.MaxRows, s.cfg.MaxBytes, CapRows, CapBytes}, w)
}

// Export is Stream for a download (a Parquet or CSV file of a result): the
// same wall, timeout and concurrency bound, with the export caps
// query.export_max_rows and query.export_max_bytes instead of the on-screen
// ones.
func (s *Sandbox) Export(ctx context.Context, query string, w RowWriter) (Summary, error) {
	return s.stream(ctx, query, nil, limits{s.cfg.ExportMaxRows, s.cfg.ExportMaxBytes, CapExportRows, CapExportBytes}, w)
}

// limits are the caps one statement runs under, and their names.
type limits struct {
	rows             int
	bytes            int64
	rowName, byteCap string
}

// Description is what a statement would return, learned without running
// it: its columns and the DuckDB types of its parameters ("" when DuckDB
// cannot tell from the statement, e.g. SELECT $1).
type Description struct {
	Columns []Column
	Params  []string
}

// Describe checks query as Stream would and returns its columns and
// parameter types without running it (a PostgreSQL client's Parse and
// Describe). A refused statement returns the refusal Stream would.
func (s *Sandbox) Describe(ctx context.Context, query string) (Description, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var d Description
	err := s.withConn(ctx, func(c *duckdb.Conn) error {
		st, err := check(ctx, c, query)
		if err != nil {
			return err
		}
		text, want := st.body, duckdb.STATEMENT_TYPE_SELECT
		if st.explain {
			text, want = st.full, duckdb.STATEMENT_TYPE_EXPLAIN
		}
		ps, err := c.Prepare(text)
		if err != nil {
			return err
		}
		stmt := ps.(*duckdb.Stmt)
		defer stmt.Close()
		if typ, err := stmt.StatementType(); err != nil {
			return err
		} else if typ != want {
			return refuse("%s statements are not allowed; analyst SQL is read-only: use SELECT, WITH ... SELECT, DESCRIBE, SHOW, SUMMARIZE or EXPLAIN", statementName(text))
		}
		n, err := stmt.ColumnCount()
		if err != nil {
			return err
		}
		d.Columns = make([]Column, n)
		for i := range d.Columns {
			if d.Columns[i].Name, err = stmt.ColumnName(i); err != nil {
				return err
			}
			info, err := stmt.ColumnTypeInfo(i)
			if err != nil {
				return err
			}
			d.Columns[i].Type = TypeName(info)
		}
		d.Params = make([]string, stmt.NumInput())
		for i := range d.Params {
			if t, err := stmt.ParamType(i + 1); err == nil && t != duckdb.TYPE_INVALID && t != duckdb.TYPE_ANY {
				d.Params[i] = typeOnlyName(t)
			}
		}
		return nil
	})
	if err != nil {
		return Description{}, s.explain(ctx, err)
	}
	return d, nil
}

func (s *Sandbox) stream(ctx context.Context, query string, args []any, lim limits, w RowWriter) (Summary, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var sum Summary
	err := s.withConn(ctx, func(c *duckdb.Conn) error {
		var err error
		sum, err = s.run(ctx, c, query, args, lim, w)
		return err
	})
	if err != nil {
		return sum, s.explain(ctx, err)
	}
	return sum, nil
}

// withConn runs f on a DuckDB connection of its own once one of the
// query.max_concurrent slots is free (ctx carries query.timeout).
func (s *Sandbox) withConn(ctx context.Context, f func(c *duckdb.Conn) error) error {
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w: %d analyst statements (query.max_concurrent) were running for all of query.timeout (%s); try again, or raise query.max_concurrent", ErrBusy, s.cfg.MaxConcurrent, s.cfg.Timeout)
		}
		return fmt.Errorf("query cancelled: %w", ctx.Err())
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sandbox: get a connection: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("sandbox: not a DuckDB connection (%T)", dc)
		}
		return f(c)
	})
}

// explain turns driver errors into messages that say what to do.
func (s *Sandbox) explain(ctx context.Context, err error) error {
	msg := err.Error()
	var we writerError
	switch {
	case errors.As(err, &we):
		return we.err
	case errors.Is(err, ErrRefused), errors.Is(err, ErrBusy):
		return err
	case errors.Is(ctx.Err(), context.Canceled):
		// Before the timeout: DuckDB says INTERRUPT for both, and a
		// cancelled query (Ctrl-C in psql, a closed tab) did not time out.
		return fmt.Errorf("query cancelled: %w", ctx.Err())
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || strings.Contains(msg, "INTERRUPT"):
		return fmt.Errorf("%w: the query ran longer than query.timeout (%s) and was stopped; narrow it (e.g. WHERE time >= now() - INTERVAL 1 HOUR) or raise query.timeout", ErrRefused, s.cfg.Timeout)
	case strings.Contains(msg, "Permission Error") || strings.Contains(msg, "disabled by configuration"):
		return fmt.Errorf("%w: analyst SQL may not read or write files, use the network or load extensions (%s)", ErrRefused, firstLine(msg))
	case strings.Contains(msg, "read-only mode") || strings.Contains(msg, "read-only transaction"):
		return fmt.Errorf("%w: analyst SQL is read-only (%s)", ErrRefused, firstLine(msg))
	case strings.Contains(msg, "failed to offload") || strings.Contains(strings.ToLower(msg), "no space left on device"):
		// Past memory_limit DuckDB spills to its temporary directory; that
		// volume is full (or at DuckDB's cap of 90% of its free space).
		return fmt.Errorf("%w: no space left on %s (DuckDB's temporary directory: duckdb.temp_directory) for the part of the query beyond DuckDB's memory_limit (%s); narrow the query, free space there or point duckdb.temp_directory at a larger volume (%s)", ErrRefused, s.temp, s.limit, firstLine(msg))
	case strings.Contains(msg, "Corrupt database file") || strings.Contains(msg, "Could not read enough bytes from file"):
		return fmt.Errorf("the database file is damaged (%s): its other parts may still answer; restore it from a backup or rebuild it from Kafka (docs/operations.md, Damaged database file)", firstLine(msg))
	case strings.Contains(msg, "Out of Memory"):
		return fmt.Errorf("%w: the query needed more memory than DuckDB's memory_limit (%s: duckdb.memory_limit, or query.memory_limit when set); aggregate more or narrow the time range (%s)", ErrRefused, s.limit, firstLine(msg))
	}
	if strings.HasPrefix(msg, "query: ") {
		return err
	}
	return fmt.Errorf("query: %s", strings.TrimSpace(msg))
}

// writerError carries an error returned by the RowWriter unchanged.
type writerError struct{ err error }

func (e writerError) Error() string { return e.err.Error() }
func (e writerError) Unwrap() error { return e.err }

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func (s *Sandbox) run(ctx context.Context, c *duckdb.Conn, query string, args []any, lim limits, w RowWriter) (Summary, error) {
	st, err := check(ctx, c, query)
	if err != nil {
		return Summary{}, err
	}
	// The statement passed the wall: binding it opens nothing. Its prepared
	// type and columns decide how it runs.
	text, want := st.body, duckdb.STATEMENT_TYPE_SELECT
	if st.explain {
		text, want = st.full, duckdb.STATEMENT_TYPE_EXPLAIN
	}
	ps, err := c.Prepare(text)
	if err != nil {
		return Summary{}, err
	}
	stmt := ps.(*duckdb.Stmt)
	typ, err := stmt.StatementType()
	var names []string
	if err == nil {
		names, err = columnNames(stmt)
	}
	wrapped := !st.explain
	if err != nil || typ != want || wrapped {
		stmt.Close()
	} else {
		defer stmt.Close()
	}
	if err != nil {
		return Summary{}, err
	}
	if typ != want {
		return Summary{}, refuse("%s statements are not allowed; analyst SQL is read-only: use SELECT, WITH ... SELECT, DESCRIBE, SHOW, SUMMARIZE or EXPLAIN", statementName(text))
	}
	if wrapped {
		text = wrap(st.body, names, lim.bytes, lim.rows)
		tree, err := parse(ctx, c, text)
		if err != nil {
			return Summary{}, err
		}
		if !sameTree(tree, st.node) {
			return Summary{}, refuse("the statement could not be isolated for the caps (unusual quoting or comments at its end?); remove what follows the statement")
		}
		if ps, err = c.Prepare(text); err != nil {
			return Summary{}, bodyLines(err)
		}
		stmt = ps.(*duckdb.Stmt)
		defer stmt.Close()
	}
	if _, err := c.ExecContext(ctx, "BEGIN TRANSACTION READ ONLY", nil); err != nil {
		return Summary{}, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = c.ExecContext(rctx, "ROLLBACK", nil)
	}()
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	renumber := func(err error) error { return err }
	if wrapped {
		renumber = bodyLines
	}
	rows, err := stmt.QueryContext(ctx, nv)
	if err != nil {
		return Summary{}, renumber(err)
	}
	defer rows.Close()
	all := rows.Columns()
	n := len(all)
	if wrapped {
		n-- // the running byte total, last
	}
	cols := make([]Column, n)
	typed, _ := rows.(driver.RowsColumnTypeDatabaseTypeName)
	for i := range cols {
		cols[i].Name = all[i]
		if typed != nil {
			cols[i].Type = typed.ColumnTypeDatabaseTypeName(i)
		}
	}
	if err := w.Begin(cols); err != nil {
		return Summary{}, writerError{err}
	}
	var sum Summary
	dest := make([]driver.Value, len(all))
	vals := make([]any, n)
	for {
		if err := rows.Next(dest); err != nil {
			if errors.Is(err, io.EOF) {
				return sum, nil
			}
			return sum, renumber(err)
		}
		if sum.Rows == lim.rows {
			sum.Truncated, sum.TruncatedBy = true, lim.rowName
			return sum, nil
		}
		for i := range vals {
			vals[i] = plain(dest[i])
		}
		total := sum.Bytes + rowBytes(vals)
		if wrapped {
			var ok bool
			if total, ok = dest[n].(int64); !ok {
				return sum, fmt.Errorf("sandbox: the running byte total is a %T, not a BIGINT", dest[n])
			}
		}
		if total > lim.bytes {
			sum.Truncated, sum.TruncatedBy = true, lim.byteCap
			return sum, nil
		}
		if err := w.Row(vals); err != nil {
			return sum, writerError{err}
		}
		sum.Rows++
		sum.Bytes = total
	}
}

func columnNames(st *duckdb.Stmt) ([]string, error) {
	n, err := st.ColumnCount()
	if err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		if out[i], err = st.ColumnName(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// wrap returns the statement that runs analyst SQL body with the caps
// inside DuckDB. DuckDB materializes a statement's whole result before the
// first row reaches Go; wrapped, that result holds at most maxRows+1 rows
// and no value past the first row that takes the running size over
// maxBytes (later rows are NULLs, and the LIMIT ends the statement).
//
//	SELECT CASE WHEN total <= maxBytes THEN #1 END AS "<column 1>", ..., total
//	FROM (SELECT *, sum(size) OVER (ROWS UNBOUNDED PRECEDING)::BIGINT AS total -- streaming window
//	      FROM (SELECT *, strlen(#1::VARCHAR) + ... AS size FROM (<body>)))
//	LIMIT maxRows+1
//
// Columns are referenced by position and renamed to the body's own names,
// so duplicate or odd names come out unchanged. The size of a value is the
// length of its text (NULL: 0). The body goes in on lines of its own so a
// trailing -- comment ends there; the caller checks that the wrapper's
// innermost subquery parses to exactly the body that passed the wall.
func wrap(body string, names []string, maxBytes int64, maxRows int) string {
	n := len(names)
	var sel, size strings.Builder
	for i, name := range names {
		if i > 0 {
			sel.WriteString(", ")
			size.WriteString(" + ")
		}
		fmt.Fprintf(&sel, "CASE WHEN #%d <= %d THEN #%d END AS %s", n+2, maxBytes, i+1, quoteIdent(name))
		fmt.Fprintf(&size, "coalesce(strlen(CAST(#%d AS VARCHAR)), 0)", i+1)
	}
	return fmt.Sprintf("SELECT %s, #%d AS __faultline_bytes FROM (\n"+
		"SELECT *, CAST(sum(#%d) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) FROM (\n"+
		"SELECT *, %s FROM (\n%s\n) AS __fl_q\n) AS __fl_s\n) AS __fl_t\nLIMIT %d",
		sel.String(), n+2, n+1, size.String(), body, maxRows+1)
}

// wrapperLines is the number of lines wrap writes before the body.
var wrapperLines = func() int {
	w := wrap("\x00", []string{"c"}, 1, 1)
	return strings.Count(w[:strings.Index(w, "\x00")], "\n")
}()

var errLineRE = regexp.MustCompile(`LINE (\d+):`)

// bodyLines renumbers the "LINE n:" of DuckDB's error about a wrapped
// statement to the analyst's own lines (a conversion error in line 1 said
// LINE 4), padded so the caret line below still points at the column.
func bodyLines(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	fixed := errLineRE.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(m[len("LINE ") : len(m)-1])
		if n <= wrapperLines {
			return m
		}
		s := fmt.Sprintf("LINE %d:", n-wrapperLines)
		return s + strings.Repeat(" ", len(m)-len(s))
	})
	if fixed == msg {
		return err
	}
	return renumbered{msg: fixed, err: err}
}

// renumbered is an error with its message's line numbers changed; errors.Is
// and As still see the original.
type renumbered struct {
	msg string
	err error
}

func (e renumbered) Error() string { return e.msg }
func (e renumbered) Unwrap() error { return e.err }

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
