package dashboards

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/faultline/faultline/queries"
)

// exportRequest is the body of POST /api/export (JSON) or the console's
// download form (sql, format).
type exportRequest struct {
	SQL    string `json:"sql"`
	Format string `json:"format"`
}

// exportFormats are the downloads offered, with their content types.
var exportFormats = map[string]string{
	"csv":     "text/csv; charset=utf-8",
	"parquet": "application/vnd.apache.parquet",
}

// apiExport answers POST /api/export and POST /console/export: the result
// of one analyst statement as a CSV or Parquet download, streamed as DuckDB
// produces it through the sandbox's Export (its own caps,
// query.export_max_rows and query.export_max_bytes, instead of the
// on-screen ones; the same wall, timeout and concurrency bound). Go holds
// one row (CSV) or one row group (Parquet) at a time, never the result.
//
// A refusal or an error before the first row is an error response (JSON
// for the API, text for the console's form). A cut download says so: a
// last CSV line "# truncated: ...", Parquet metadata "faultline.truncated",
// and the trailer X-Faultline-Truncated. An error after the first row ends
// a CSV with "# error: ..." and leaves a Parquet file without its footer
// (unreadable, never mistaken for a whole one); the trailer
// X-Faultline-Error says what happened.
func (s *Server) apiExport(w http.ResponseWriter, r *http.Request) {
	api := strings.HasPrefix(r.URL.Path, "/api/")
	fail := func(err error) {
		if api {
			s.writeError(w, r, err)
			return
		}
		code, msg := s.errorStatus(r, err)
		http.Error(w, msg, code)
	}
	req, err := decodeExportRequest(r, api)
	if err != nil {
		fail(err)
		return
	}
	ew := &exportRows{w: w, format: req.Format}
	sum, err := s.sandbox.Export(r.Context(), req.SQL, ew)
	err = sandboxError(r.Context(), err)
	if !ew.started {
		if err == nil {
			err = errors.New("the query returned no columns")
		}
		fail(err)
		return
	}
	if err != nil {
		s.log.Warn("export failed after its first rows", "path", r.URL.Path, "rows", sum.Rows, "err", err)
		w.Header().Set("X-Faultline-Error", err.Error())
		if req.Format == "csv" {
			fmt.Fprintf(ew.bw, "# error: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		}
		_ = ew.bw.Flush()
		return
	}
	if err := ew.fw.Finish(sum); err != nil {
		w.Header().Set("X-Faultline-Error", err.Error())
	}
	if n := sum.Notice(); n != "" {
		w.Header().Set("X-Faultline-Truncated", n)
	}
	_ = ew.bw.Flush()
}

func decodeExportRequest(r *http.Request, api bool) (exportRequest, error) {
	var req exportRequest
	if api {
		if err := decodeJSONBody(r, &req, `{"sql": "SELECT * FROM events", "format": "parquet"}`, `{"sql": "...", "format": "csv" or "parquet"}`); err != nil {
			return req, err
		}
	} else {
		r.Body = http.MaxBytesReader(nil, r.Body, maxConsoleForm)
		if err := r.ParseForm(); err != nil {
			return req, badRequest("console form: %v: send the form of this page", err)
		}
		req.SQL, req.Format = r.PostForm.Get("sql"), r.PostForm.Get("format")
	}
	if strings.TrimSpace(req.SQL) == "" {
		return req, badRequest("sql: empty: write a SELECT such as SELECT * FROM events")
	}
	if req.Format == "" {
		return req, badRequest("format is required: csv or parquet")
	}
	if _, ok := exportFormats[req.Format]; !ok {
		return req, badRequest("format %q is not allowed: use csv or parquet", req.Format)
	}
	return req, nil
}

// exportRows starts the download at the first row (queries.RowWriter):
// until then nothing is written, so a refusal is still an error response.
type exportRows struct {
	w       http.ResponseWriter
	format  string
	bw      *bufio.Writer
	fw      queries.FormatWriter
	started bool
}

// Begin implements queries.RowWriter.
func (e *exportRows) Begin(cols []queries.Column) error {
	e.started = true
	h := e.w.Header()
	h.Set("Content-Type", exportFormats[e.format])
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="faultline-%s.%s"`, time.Now().UTC().Format("20060102-150405"), e.format))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Trailer", "X-Faultline-Truncated, X-Faultline-Error")
	e.w.WriteHeader(http.StatusOK)
	e.bw = bufio.NewWriterSize(e.w, 64<<10)
	if e.format == "parquet" {
		e.fw = queries.NewParquetWriter(e.bw, memory.NewGoAllocator())
	} else {
		fw, err := queries.NewWriter(e.bw, "csv")
		if err != nil {
			return err
		}
		e.fw = fw
	}
	return e.fw.Begin(cols)
}

// Row implements queries.RowWriter.
func (e *exportRows) Row(vals []any) error { return e.fw.Row(vals) }
