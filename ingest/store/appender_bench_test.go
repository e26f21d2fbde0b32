package store

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// The DuckDB Appender baseline that BenchmarkSinkCommit measures the Sink's
// Arrow view insert against. It is test code: faultline inserts events only
// through the Arrow view.

// appenderCommit commits rec and the position p in one transaction on the
// sink's connection, inserting the events row by row with the Appender.
func appenderCommit(ctx context.Context, s *Sink, rec arrow.RecordBatch, p Position) error {
	return s.conn.Raw(func(dc any) error {
		c := dc.(driver.Conn)
		ex := dc.(driver.ExecerContext)
		exec := func(q string, args ...driver.NamedValue) error {
			_, err := ex.ExecContext(ctx, q, args)
			return err
		}
		if err := exec("BEGIN TRANSACTION"); err != nil {
			return err
		}
		err := appendEvents(c, rec)
		if err == nil {
			err = exec(`INSERT INTO ingest_offsets (source, part, next_offset, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (source, part) DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at`,
				nv(p.Source, int64(p.Part), p.Next, time.Now().UTC())...)
		}
		if err == nil {
			err = exec("COMMIT")
		}
		if err != nil {
			return errors.Join(err, exec("ROLLBACK"))
		}
		return nil
	})
}

// appendEvents inserts rec row by row with the DuckDB Appender.
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
