package queries

import (
	"bytes"
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// A streamed Parquet export reads back with the rows, types and the notice
// of a cut result, and leaks no Arrow memory.
func TestParquetWriterStreams(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ExportMaxRows = parquetRowGroup*2 + 10 // three row groups, then cut
	_, sb := newSandbox(t, cfg)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var buf bytes.Buffer
	w := NewParquetWriter(&buf, mem)
	sum, err := sb.Export(context.Background(), "SELECT i AS n, i * 0.5 AS half, i % 2 = 0 AS even, TIMESTAMPTZ '2025-10-20 00:00:00+00' + i * INTERVAL 1 SECOND AS t, ['a', NULL] AS l, 'x' || i AS s FROM range(200000) r(i)", w)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(sum); err != nil {
		t.Fatal(err)
	}
	if sum.Rows != cfg.ExportMaxRows || sum.TruncatedBy != CapExportRows {
		t.Fatalf("summary %+v", sum)
	}
	rdr, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	if rdr.NumRows() != int64(cfg.ExportMaxRows) || rdr.NumRowGroups() != 3 {
		t.Fatalf("%d rows in %d row groups", rdr.NumRows(), rdr.NumRowGroups())
	}
	if v := rdr.MetaData().KeyValueMetadata().FindValue("faultline.truncated"); v == nil || !bytes.Contains([]byte(*v), []byte(CapExportRows)) {
		t.Fatalf("no truncation notice in the metadata: %v", v)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	want := "n: type=int64, nullable\nhalf: type=float64, nullable\neven: type=bool, nullable\nt: type=timestamp[us, tz=UTC], nullable\nl: type=list<element: utf8, nullable>, nullable\ns: type=utf8, nullable"
	got := ""
	for i, f := range tbl.Schema().Fields() {
		if i > 0 {
			got += "\n"
		}
		got += f.Name + ": type=" + f.Type.String() + ", nullable"
	}
	if got != want {
		t.Fatalf("schema\n%s\nwant\n%s", got, want)
	}
}
