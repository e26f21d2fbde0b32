package pgwire

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/faultline/faultline/queries"
)

// A SQLSTATE comes from what the error is, not from a name the statement
// used: a column or table called memory_limit or "read-only" was 53200
// (out of memory) or 25006 (read-only). A parameter DuckDB could not type
// is 42P18, saying to cast it (it was 42000, "unsupported data type:
// INVALID").
func TestPGErrorCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		code string
	}{
		{errors.New(`query: Binder Error: Referenced column "memory_limit" not found in FROM clause!`), "42703"},
		{errors.New(`query: Binder Error: Referenced column "read-only" not found in FROM clause!`), "42703"},
		{fmt.Errorf("%w: table memory_limit does not exist: analyst SQL reads the tables and views events", queries.ErrRefused), "42501"},
		{fmt.Errorf("%w: the query needed more memory than DuckDB's memory_limit (1GB: duckdb.memory_limit, or query.memory_limit when set); aggregate more (Out of Memory Error: x)", queries.ErrRefused), "53200"},
		{fmt.Errorf("%w: no space left on /tmp (DuckDB's temporary directory: duckdb.temp_directory) for the part of the query beyond DuckDB's memory_limit (1GB); narrow the query", queries.ErrRefused), "53200"},
		{errors.New("query: database/sql/driver: API error: unsupported data type: INVALID"), "42P18"},
		{fmt.Errorf("%w: DROP statements are not allowed; analyst SQL is read-only: use SELECT", queries.ErrRefused), "25006"},
		{fmt.Errorf("%w: analyst SQL is read-only (Invalid Input Error: Cannot execute statement of type \"CREATE\" in read-only mode)", queries.ErrRefused), "25006"},
	} {
		got := asPGError(c.err)
		if got.code != c.code {
			t.Errorf("%v: SQLSTATE %s, want %s", c.err, got.code, c.code)
		}
		if c.code == "42P18" && !strings.Contains(got.msg, "cast the placeholder") {
			t.Errorf("%v: %q does not say what to do", c.err, got.msg)
		}
	}
}
