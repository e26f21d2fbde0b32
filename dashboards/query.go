package dashboards

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/queries"
)

// QueryRequest is the body of POST /api/query: either SQL for the sandbox or
// the name of a named query with an optional time range.
type QueryRequest struct {
	SQL  string `json:"sql,omitempty"`
	Name string `json:"name,omitempty"`
	// Since and Until take what the GET routes and the CLI take: RFC 3339,
	// a date, now, or relative to now (-2h, -7d).
	Since string `json:"since,omitempty"`
	Until string `json:"until,omitempty"`
}

const maxQueryBody = 1 << 20

// apiQuery answers POST /api/query. The result streams as DuckDB produces
// it, ending with how it ended:
//
//	{"columns": [...], "column_types": [...], "rows": [[...], ...],
//	 "truncated": false, "row_count": 2, "byte_count": 17}
//
// A refusal or an error before the first row is a plain error response
// (400, 503 when busy); an error after rows were sent (the client went
// away, a value that fails to convert) ends the object with "error": the
// status line is already out, so clients check that member.
func (s *Server) apiQuery(w http.ResponseWriter, r *http.Request) {
	req, err := decodeQueryRequest(r)
	var win queries.Window
	if err == nil {
		win.Since, err = s.parseWhen("since", req.Since)
	}
	if err == nil {
		win.Until, err = s.parseWhen("until", req.Until)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	jw := &jsonRows{w: w}
	var sum queries.Summary
	switch {
	case req.SQL != "":
		sum, err = s.sandbox.Stream(r.Context(), req.SQL, jw)
		err = sandboxError(r.Context(), err)
	default:
		var t queries.Table
		t, err = s.engine.Named(r.Context(), req.Name, win)
		switch {
		case errors.Is(err, queries.ErrUnknownQuery):
			err = badRequest("%v", queries.UnknownQueryError(req.Name, status.Closest(req.Name, queries.NamedQueries)))
		case err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled):
			err = badRequest("named query %q: %v", req.Name, err)
		}
		if err == nil {
			sum, err = queries.StreamTable(queries.CapTable(t, s.maxRows, s.maxBytes), jw)
		}
	}
	if !jw.started {
		if err == nil {
			err = errors.New("the query returned no columns")
		}
		s.writeError(w, r, err)
		return
	}
	if err != nil {
		s.log.Warn("query failed after its first rows", "path", r.URL.Path, "rows", sum.Rows, "err", err)
	}
	jw.finish(sum, err)
}

func decodeQueryRequest(r *http.Request) (QueryRequest, error) {
	var req QueryRequest
	if r.URL.RawQuery != "" { // ?since=... would be ignored: everything goes in the body
		return req, badRequest("POST /api/query takes no URL parameters (got %q): put sql, or name, since and until, in the JSON body", r.URL.RawQuery)
	}
	if err := decodeJSONBody(r, &req, `{"sql": "SELECT 1"}`, `{"sql": "..."} or {"name": "...", "since": "...", "until": "..."}`); err != nil {
		return req, err
	}
	switch {
	case req.SQL != "" && req.Name != "":
		return req, badRequest("send either sql or name, not both")
	case req.SQL == "" && req.Name == "":
		return req, badRequest("empty query: send {\"sql\": \"...\"} or {\"name\": \"...\"}")
	case req.Name == "" && strings.TrimSpace(req.SQL) == "":
		return req, badRequest("sql: empty: write a SELECT such as SELECT count(*) FROM events")
	case req.SQL != "" && (req.Since != "" || req.Until != ""):
		// As faultline query refuses --since with SQL: it would be ignored.
		return req, badRequest("since and until go with a named query; with sql, put the time range in its WHERE clause (WHERE time >= now() - INTERVAL 1 HOUR)")
	}
	return req, nil
}

// sandboxError maps what the sandbox returns to what the caller sees:
// everything it refuses or DuckDB rejects is the caller's to fix (400), a
// full sandbox is 503, a closed request is the request's own error.
func sandboxError(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, queries.ErrBusy):
		return httpError{http.StatusServiceUnavailable, err.Error()}
	}
	var he httpError
	if errors.As(err, &he) {
		return err
	}
	return badRequest("%v", err)
}

// writeError answers err as a JSON error (see errorStatus).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := s.errorStatus(r, err)
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSONError(w, code, msg)
}

// jsonRows writes a result as the API's JSON object while it streams
// (queries.RowWriter). Nothing is written before Begin.
type jsonRows struct {
	w       http.ResponseWriter
	bw      *bufio.Writer
	started bool
	rows    int
	buf     []byte // the cell being encoded, reused
}

// Begin implements queries.RowWriter.
func (j *jsonRows) Begin(cols []queries.Column) error {
	j.started = true
	h := j.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	j.w.WriteHeader(http.StatusOK)
	j.bw = bufio.NewWriterSize(j.w, 32<<10)
	names, types := make([]string, len(cols)), make([]string, len(cols))
	for i, c := range cols {
		names[i], types[i] = c.Name, c.Type
	}
	j.bw.WriteString(`{"columns": `)
	j.bw.Write(marshal(names))
	j.bw.WriteString(`, "column_types": `)
	j.bw.Write(marshal(types))
	_, err := j.bw.WriteString(`, "rows": [`)
	return err
}

// Row implements queries.RowWriter.
func (j *jsonRows) Row(vals []any) error {
	if j.rows > 0 {
		j.bw.WriteByte(',')
	}
	j.rows++
	j.bw.WriteString("\n  [")
	for i, v := range vals {
		if i > 0 {
			j.bw.WriteString(", ")
		}
		j.buf = appendJSONCell(j.buf[:0], v)
		j.bw.Write(j.buf)
	}
	_, err := j.bw.WriteString("]")
	return err
}

// finish ends the object with how the result ended, and err if any.
func (j *jsonRows) finish(sum queries.Summary, err error) {
	if j.rows > 0 {
		j.bw.WriteString("\n")
	}
	fmt.Fprintf(j.bw, `], "truncated": %t, "truncated_by": %s, "row_count": %d, "byte_count": %d`, sum.Truncated, marshal(sum.TruncatedBy), sum.Rows, sum.Bytes)
	if err != nil {
		fmt.Fprintf(j.bw, `, "error": %s`, marshal(err.Error()))
	}
	j.bw.WriteString("}\n")
	_ = j.bw.Flush()
}

// marshal is json.Marshal without HTML escaping ("->" stays readable),
// falling back to the value's text for what JSON cannot hold.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		b.Reset()
		_ = enc.Encode(fmt.Sprint(v))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// runSQL runs analyst SQL through the sandbox for a page (the console),
// keeping the result within the sandbox's caps.
func (s *Server) runSQL(ctx context.Context, sql string) (queries.Table, error) {
	if strings.TrimSpace(sql) == "" {
		return queries.Table{}, badRequest("sql: empty: write a SELECT such as SELECT count(*) FROM events")
	}
	var c queries.Collect
	sum, err := s.sandbox.Stream(ctx, sql, &c)
	if err != nil {
		return queries.Table{}, sandboxError(ctx, err)
	}
	return c.Done(sum), nil
}

// decodeJSONBody decodes an API request's JSON body (application/json, at
// most maxQueryBody bytes, no unknown fields) into v; its errors show an
// example body and the shapes accepted.
func decodeJSONBody(r *http.Request, v any, example, shapes string) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return httpError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q is not allowed: send application/json such as %s", ct, example)}
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxQueryBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// A cut body used to read as "unexpected EOF".
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body: larger than %d bytes: send a shorter statement", maxQueryBody)}
		}
		return badRequest("request body: %v: send %s", err, shapes)
	}
	// A second object after the first ({"sql": "SELECT 1"} {"sql": ...})
	// was ignored: only the first ran, with a 200.
	if _, err := dec.Token(); err != io.EOF {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body: larger than %d bytes: send a shorter statement", maxQueryBody)}
		}
		return badRequest("request body: more than one JSON value: send one object, %s", shapes)
	}
	return nil
}
