package pgwire

import (
	"context"
	"errors"
	"strings"

	"github.com/faultline/faultline/queries"
)

// pgError is an error with a SQLSTATE, sent as an ErrorResponse.
type pgError struct {
	code, msg, hint string
}

func (e pgError) Error() string { return e.code + ": " + e.msg }

// asPGError gives an error from the sandbox or DuckDB its SQLSTATE.
func asPGError(err error) pgError {
	var pe pgError
	if errors.As(err, &pe) {
		return pe
	}
	msg := err.Error()
	code := "42000" // syntax_error_or_access_rule_violation: analyst SQL DuckDB rejected
	switch {
	case errors.Is(err, queries.ErrBusy):
		code = "53000" // insufficient_resources
	case errors.Is(err, context.Canceled) || strings.HasPrefix(msg, "query cancelled"):
		code, msg = "57014", "canceling statement due to user request"
	case strings.Contains(msg, "longer than query.timeout"):
		code = "57014" // query_canceled, as for statement_timeout
	// The sandbox's own words (queries.Sandbox.explain, the wall), not a
	// name the statement used: SELECT memory_limit FROM events is 42703.
	case strings.Contains(msg, "more memory than DuckDB's memory_limit") || strings.Contains(msg, "beyond DuckDB's memory_limit"):
		code = "53200" // out_of_memory
	case strings.Contains(msg, "analyst SQL is read-only"):
		code = "25006" // read_only_sql_transaction
	case errors.Is(err, queries.ErrRefused):
		code = "42501" // insufficient_privilege
	case strings.Contains(msg, "Parser Error"):
		code = "42601" // syntax_error
	case strings.Contains(msg, "Catalog Error") && strings.Contains(msg, "does not exist"):
		code = "42P01" // undefined_table
		if strings.Contains(msg, "Function") || strings.Contains(msg, "function") {
			code = "42883" // undefined_function
		}
	case strings.Contains(msg, "Binder Error") && strings.Contains(msg, "column"):
		code = "42703" // undefined_column
	case strings.Contains(msg, "Conversion Error") || strings.Contains(msg, "Invalid Input Error"):
		code = "22000" // data_exception
	case strings.HasPrefix(msg, "sandbox:"):
		code = "XX000"
	case strings.Contains(msg, "unsupported data type: INVALID"):
		// A parameter where DuckDB infers no type (SELECT $1, $1 IS NULL,
		// = ANY($1)): the driver could not bind the client's value.
		code = "42P18" // indeterminate_datatype
		msg = "could not determine the data type of a parameter: DuckDB infers none where it stands (SELECT $1, $1 IS NULL, col = ANY($1)); cast the placeholder, e.g. $1::DATE or %s::VARCHAR; for a list use IN (%s, %s, ...): arrays are not accepted as parameters (" + msg + ")"
	}
	return pgError{code: code, msg: msg}
}
