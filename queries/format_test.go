package queries

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWriteFormats(t *testing.T) {
	tb := Table{
		Columns: []string{"incident_id", "onset", "services", "score", "ongoing", "note"},
		Rows: [][]any{
			{"inc-1", time.Date(2025, 10, 20, 10, 3, 0, 0, time.UTC), []string{"checkout", "api"}, 0.75, false, "a -> b"},
			{"inc-2", time.Time{}, []string{}, 0.5, true, nil},
		},
	}
	cases := map[string]string{
		"csv": "incident_id,onset,services,score,ongoing,note\n" +
			"inc-1,2025-10-20T10:03:00Z,\"checkout, api\",0.75,false,a -> b\n" +
			"inc-2,,,0.5,true,\n",
		"json": "[\n" +
			`  {"incident_id": "inc-1", "onset": "2025-10-20T10:03:00Z", "services": ["checkout","api"], "score": 0.75, "ongoing": false, "note": "a -> b"},` + "\n" +
			`  {"incident_id": "inc-2", "onset": null, "services": [], "score": 0.5, "ongoing": true, "note": null}` + "\n]\n",
		"table": "incident_id  onset                 services       score  ongoing  note\n" +
			"inc-1        2025-10-20T10:03:00Z  checkout, api  0.75   false    a -> b\n" +
			"inc-2                                             0.5    true     \n",
	}
	for format, want := range cases {
		var b bytes.Buffer
		if err := Write(&b, tb, format); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if b.String() != want {
			t.Errorf("%s:\n got %q\nwant %q", format, b.String(), want)
		}
	}
	var b bytes.Buffer
	tb.Truncated = true
	if err := Write(&b, tb, "table"); err != nil || !strings.HasSuffix(b.String(), "\n(truncated: 2 rows shown, query.max_rows reached; narrow the query (WHERE, LIMIT) or raise the cap)\n") {
		t.Errorf("truncated table: %q %v", b.String(), err)
	}
	// A cut CSV says so in its last line; a cut by bytes names that cap.
	b.Reset()
	tb.TruncatedBy = CapBytes
	if err := Write(&b, tb, "csv"); err != nil || !strings.HasSuffix(b.String(), "\n# truncated: 2 rows shown, the next row would pass query.max_bytes; narrow the query (WHERE, LIMIT, fewer columns) or raise the cap\n") {
		t.Errorf("truncated csv: %q %v", b.String(), err)
	}
	if err := Write(&b, tb, "xml"); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("xml: %v", err)
	}
	if err := Write(&b, tb, "parquet"); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("parquet to a stream: %v", err)
	}
}
