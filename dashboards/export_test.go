package dashboards

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
)

// exported is an answer of POST /api/export, its body read to the end
// (trailers are set only then).
type exported struct {
	StatusCode      int
	Header, Trailer http.Header
}

func postExport(t *testing.T, f *fixture, body string) (exported, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.ts.URL+"/api/export", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return exported{resp.StatusCode, resp.Header, resp.Trailer}, string(b)
}

// A download passes the on-screen row cap (query.max_rows is 50 in the
// fixture) and stops at the export cap (100000), saying so.
func TestExportCSV(t *testing.T) {
	f := newFixture(t, nil)
	resp, body := postExport(t, f, `{"sql": "SELECT i, 'x' || i AS s FROM range(5000) r(i)", "format": "csv"}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment; filename=\"faultline-") {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if len(lines) != 5001 || lines[0] != "i,s" || lines[5000] != "4999,x4999" || resp.Trailer.Get("X-Faultline-Truncated") != "" {
		t.Fatalf("%d lines, last %q, trailer %v", len(lines), lines[len(lines)-1], resp.Trailer)
	}
	resp, body = postExport(t, f, `{"sql": "SELECT * FROM range(150000)", "format": "csv"}`)
	lines = strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if len(lines) != 100002 || !strings.HasPrefix(lines[100001], "# truncated: 100000 rows shown, query.export_max_rows reached") {
		t.Fatalf("cut export: %d lines, last %q", len(lines), lines[len(lines)-1])
	}
	if !strings.Contains(resp.Trailer.Get("X-Faultline-Truncated"), "query.export_max_rows") {
		t.Fatalf("trailer %v", resp.Trailer)
	}
}

func TestExportParquet(t *testing.T) {
	f := newFixture(t, nil)
	resp, body := postExport(t, f, `{"sql": "SELECT time, service, kind FROM events", "format": "parquet"}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.apache.parquet" {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	rdr, err := file.NewParquetReader(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	var n int64
	if err := f.db.QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if rdr.NumRows() != n || rdr.MetaData().Schema.NumColumns() != 3 {
		t.Fatalf("%d rows (want %d), %d columns", rdr.NumRows(), n, rdr.MetaData().Schema.NumColumns())
	}
}

func TestExportRefusals(t *testing.T) {
	f := newFixture(t, nil)
	cases := []struct {
		body string
		code int
		want string
	}{
		{`{"sql": "SELECT * FROM read_csv('/etc/passwd')", "format": "csv"}`, 400, "refused by the analyst SQL sandbox"},
		{`{"sql": "COPY events TO '/tmp/x.parquet'", "format": "parquet"}`, 400, "refused by the analyst SQL sandbox"},
		{`{"sql": "SELECT 1", "format": "xlsx"}`, 400, "use csv or parquet"},
		{`{"sql": "SELECT 1"}`, 400, "format is required: csv or parquet"},
		{`{"sql": " ", "format": "csv"}`, 400, "sql: empty"},
	}
	for _, tc := range cases {
		resp, body := postExport(t, f, tc.body)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) || resp.Header.Get("Content-Disposition") != "" {
			t.Errorf("%s: %d %s", tc.body, resp.StatusCode, body)
		}
	}
}

// The console's download buttons post its form to /console/export; from
// another site the post is refused like every other.
func TestConsoleExport(t *testing.T) {
	f := newFixture(t, nil)
	resp, body := f.post(t, "/console/export", url.Values{"sql": {"SELECT * FROM range(120)"}, "format": {"csv"}})
	if resp.StatusCode != 200 || strings.Count(body, "\n") != 121 {
		t.Fatalf("status %d, %d lines", resp.StatusCode, strings.Count(body, "\n"))
	}
	resp, _ = f.post(t, "/console/export", url.Values{"sql": {"SELECT 1"}, "format": {"csv"}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site export: %d", resp.StatusCode)
	}
	_, page := f.get(t, "/console")
	if !strings.Contains(page, `formaction="/console/export"`) || !strings.Contains(page, `value="parquet"`) {
		t.Fatal("the console has no download buttons")
	}
}

// The console counts its rows in words that agree with the number: "1 row"
// (it said "1 rows"), "0 rows", "3 rows".
func TestConsoleRowCount(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct{ sql, want string }{
		{"SELECT 1 AS n", "1 row in "},
		{"SELECT * FROM range(0)", "0 rows in "},
		{"SELECT * FROM range(3)", "3 rows in "},
	} {
		resp, body := f.post(t, "/console", url.Values{"sql": {tc.sql}})
		if resp.StatusCode != 200 || !strings.Contains(body, `id="result-info">`+tc.want) {
			t.Errorf("%s: %d, want %q in the page", tc.sql, resp.StatusCode, tc.want)
		}
	}
}
