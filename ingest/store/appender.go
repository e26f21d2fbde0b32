package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// appendEvents inserts rec row by row with the DuckDB Appender. It exists to
// measure against the Arrow view insert (BenchmarkSinkCommit); the Arrow
// path is the default.
func appendEvents(c driver.Conn, rec arrow.RecordBatch) error {
	ap, err := duckdb.NewAppenderFromConn(c, "", "events")
	if err != nil {
		return fmt.Errorf("events appender: %w", err)
	}
	ncol := int(rec.NumCols())
	row := make([]driver.Value, ncol)
	for r := 0; r < int(rec.NumRows()); r++ {
		for i := 0; i < ncol; i++ {
			col := rec.Column(i)
			if col.IsNull(r) {
				row[i] = nil
				continue
			}
			switch a := col.(type) {
			case *array.String:
				if rec.ColumnName(i) == "attributes" {
					row[i] = json.RawMessage(a.Value(r)) // a Go string would be stored as a JSON string
				} else {
					row[i] = a.Value(r)
				}
			case *array.Timestamp:
				row[i] = time.UnixMicro(int64(a.Value(r))).UTC()
			case *array.Int32:
				row[i] = a.Value(r)
			case *array.Int64:
				row[i] = a.Value(r)
			default:
				ap.Close()
				return fmt.Errorf("events appender: unsupported column type %s", col.DataType())
			}
		}
		if err := ap.AppendRow(row...); err != nil {
			ap.Close()
			return fmt.Errorf("append event: %w", err)
		}
	}
	if err := ap.Close(); err != nil {
		return fmt.Errorf("flush %d events: %w", rec.NumRows(), err)
	}
	return nil
}
