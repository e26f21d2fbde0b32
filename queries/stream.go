package queries

import (
	"fmt"
	"math/big"
	"time"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Column is one column of a result.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"` // DuckDB's type name: VARCHAR, BIGINT, TIMESTAMP WITH TIME ZONE...
}

// RowWriter receives a result as it streams out of the sandbox (or a
// server): Begin once with the columns, before any row, then Row once per
// row in order. Row's values slice and what it holds are valid only during
// the call: a writer that keeps a row copies it. An error from either stops
// the statement and is returned by Stream.
//
// Values are Go types every writer understands: nil, bool, integers,
// float32/64, string, []byte, time.Time, []any, map[string]any (see plain).
type RowWriter interface {
	Begin(cols []Column) error
	Row(values []any) error
}

// Summary is how a streamed result ended.
type Summary struct {
	Rows  int   `json:"row_count"`  // rows delivered
	Bytes int64 `json:"byte_count"` // their size as text, as counted against query.max_bytes
	// Truncated is set when a cap cut the result; TruncatedBy names it:
	// "query.max_rows" or "query.max_bytes".
	Truncated   bool   `json:"truncated"`
	TruncatedBy string `json:"truncated_by,omitempty"`
}

// Notice is the one line a person is shown under a cut result ("" when the
// result is complete).
func (s Summary) Notice() string {
	switch s.TruncatedBy {
	case "":
		return ""
	case CapBytes:
		return fmt.Sprintf("truncated: %d rows shown, the next row would pass %s; narrow the query (WHERE, LIMIT, fewer columns) or raise the cap", s.Rows, CapBytes)
	default:
		return fmt.Sprintf("truncated: %d rows shown, %s reached; narrow the query (WHERE, LIMIT) or raise the cap", s.Rows, s.TruncatedBy)
	}
}

// The caps a result can be cut by (Summary.TruncatedBy).
const (
	CapRows  = "query.max_rows"
	CapBytes = "query.max_bytes"
)

// Collect is a RowWriter that keeps the whole result as a Table (bounded by
// the sandbox's caps). Call Done with the Summary to finish the Table.
type Collect struct {
	Table Table
}

// Begin implements RowWriter.
func (c *Collect) Begin(cols []Column) error {
	c.Table.Columns = make([]string, len(cols))
	c.Table.Types = make([]string, len(cols))
	for i, col := range cols {
		c.Table.Columns[i], c.Table.Types[i] = col.Name, col.Type
	}
	c.Table.Rows = [][]any{}
	return nil
}

// Row implements RowWriter.
func (c *Collect) Row(values []any) error {
	c.Table.Rows = append(c.Table.Rows, append([]any(nil), values...))
	return nil
}

// Done records how the result ended and returns the Table.
func (c *Collect) Done(s Summary) Table {
	c.Table.Truncated, c.Table.TruncatedBy = s.Truncated, s.TruncatedBy
	if c.Table.Columns == nil {
		c.Table.Columns = []string{}
	}
	if c.Table.Rows == nil {
		c.Table.Rows = [][]any{}
	}
	return c.Table
}

// StreamTable sends t through w (named queries, already computed, take
// the same path to a client as analyst SQL) and returns its Summary.
func StreamTable(t Table, w RowWriter) (Summary, error) {
	cols := make([]Column, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = Column{Name: c}
		if i < len(t.Types) {
			cols[i].Type = t.Types[i]
		}
	}
	if err := w.Begin(cols); err != nil {
		return Summary{}, err
	}
	s := Summary{Truncated: t.Truncated, TruncatedBy: t.TruncatedBy}
	if s.Truncated && s.TruncatedBy == "" {
		s.TruncatedBy = CapRows
	}
	for _, r := range t.Rows {
		if err := w.Row(r); err != nil {
			return s, err
		}
		s.Rows++
		s.Bytes += rowBytes(r)
	}
	return s, nil
}

// CapTable cuts a named query's Table at maxRows rows, and before the row
// that would pass maxBytes (values counted as text, as rowBytes), as the
// sandbox cuts analyst SQL; a cap of 0 is none. A Table already cut keeps
// its cap.
func CapTable(t Table, maxRows int, maxBytes int64) Table {
	var n int64
	for i, r := range t.Rows {
		if maxRows > 0 && i >= maxRows {
			t.Rows, t.Truncated, t.TruncatedBy = t.Rows[:i], true, CapRows
			return t
		}
		if n += rowBytes(r); maxBytes > 0 && n > maxBytes {
			t.Rows, t.Truncated, t.TruncatedBy = t.Rows[:i], true, CapBytes
			return t
		}
	}
	return t
}

// rowBytes is the size of a row as text, the measure of query.max_bytes
// for statements the sandbox does not wrap (EXPLAIN) and for named
// queries: strings and bytes by length, other values by the length of
// their text.
func rowBytes(vals []any) int64 {
	var n int64
	for _, v := range vals {
		n += valueBytes(v)
	}
	return n
}

func valueBytes(v any) int64 {
	switch x := v.(type) {
	case nil:
		return 0
	case string:
		return int64(len(x))
	case []byte:
		return int64(len(x))
	case bool:
		return 5
	case time.Time:
		return 32
	case []any:
		var n int64 = 2
		for _, e := range x {
			n += valueBytes(e) + 2
		}
		return n
	case map[string]any:
		var n int64 = 2
		for k, e := range x {
			n += int64(utf8.RuneCountInString(k)) + valueBytes(e) + 4
		}
		return n
	case *big.Int:
		return int64(len(x.String()))
	case duckdb.Interval, duckdb.UUID:
		return 36
	}
	return 20 // numbers
}

// The export caps (Sandbox.Export).
const (
	CapExportRows  = "query.export_max_rows"
	CapExportBytes = "query.export_max_bytes"
)
