package queries

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetRowGroup is how many rows are buffered before they are written
// out as one row group: the writer holds at most this many rows (and
// their Arrow buffers), whatever the size of the result.
const parquetRowGroup = 64 << 10

// NewParquetWriter returns a FormatWriter that streams a result to w as
// Parquet (zstd), one row group per parquetRowGroup rows, so memory stays
// bounded however long the result: for downloads (docs/api.md, export).
// Column types come from the DuckDB types of the result's columns
// (integers, floats, booleans, timestamps in UTC, lists of text; the rest
// as text). A cut result carries the notice in the file's key-value
// metadata under "faultline.truncated". mem allocates the Arrow buffers.
func NewParquetWriter(w io.Writer, mem memory.Allocator) FormatWriter {
	return &parquetFormat{w: w, mem: mem}
}

type parquetFormat struct {
	w    io.Writer
	mem  memory.Allocator
	b    *array.RecordBuilder
	fw   *pqarrow.FileWriter
	rows int
}

// arrowType is the Arrow type a DuckDB column is written as.
func arrowType(duck string) arrow.DataType {
	switch duck {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER":
		return arrow.PrimitiveTypes.Int64
	case "FLOAT", "DOUBLE":
		return arrow.PrimitiveTypes.Float64
	case "BOOLEAN":
		return arrow.FixedWidthTypes.Boolean
	case "TIMESTAMPTZ", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	}
	switch {
	case strings.HasPrefix(duck, "DECIMAL"):
		return arrow.PrimitiveTypes.Float64
	case strings.HasSuffix(duck, "[]") && !strings.HasSuffix(strings.TrimSuffix(duck, "[]"), "]"):
		return arrow.ListOf(arrow.BinaryTypes.String)
	}
	return arrow.BinaryTypes.String
}

func (f *parquetFormat) Begin(cols []Column) error {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowType(c.Type), Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithAllocator(f.mem))
	fw, err := pqarrow.NewFileWriter(schema, f.w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(f.mem)))
	if err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	f.fw = fw
	f.b = array.NewRecordBuilder(f.mem, schema)
	return nil
}

func (f *parquetFormat) Row(vals []any) error {
	for i, v := range vals {
		appendArrow(f.b.Field(i), v)
	}
	f.rows++
	if f.rows == parquetRowGroup {
		return f.flush()
	}
	return nil
}

// appendArrow appends one value of a result to the builder of its column
// (NULL for nil and for a value the column's type cannot hold): the
// streaming Parquet writer and tableRecord share it.
func appendArrow(fb array.Builder, v any) {
	if v == nil {
		fb.AppendNull()
		return
	}
	switch fb := fb.(type) {
	case *array.Int64Builder:
		switch x := v.(type) {
		case int64:
			fb.Append(x)
		case int32:
			fb.Append(int64(x))
		case int16:
			fb.Append(int64(x))
		case int8:
			fb.Append(int64(x))
		case uint32:
			fb.Append(int64(x))
		case uint16:
			fb.Append(int64(x))
		case uint8:
			fb.Append(int64(x))
		case int:
			fb.Append(int64(x))
		default:
			fb.AppendNull()
		}
	case *array.Float64Builder:
		switch x := v.(type) {
		case float64:
			fb.Append(x)
		case float32:
			fb.Append(float64(x))
		default:
			fb.AppendNull()
		}
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			fb.AppendNull()
			return
		}
		fb.Append(x)
	case *array.TimestampBuilder:
		x, ok := v.(time.Time)
		if !ok || x.IsZero() {
			fb.AppendNull()
			return
		}
		fb.Append(arrow.Timestamp(x.UnixMicro()))
	case *array.ListBuilder:
		fb.Append(true)
		vb := fb.ValueBuilder().(*array.StringBuilder)
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				if e == nil {
					vb.AppendNull()
				} else {
					vb.Append(cell(e))
				}
			}
		case []string:
			for _, s := range x {
				vb.Append(s)
			}
		}
	case *array.StringBuilder:
		fb.Append(cell(v))
	}
}

// flush writes the buffered rows as one row group.
func (f *parquetFormat) flush() error {
	if f.rows == 0 {
		return nil
	}
	rec := f.b.NewRecordBatch()
	defer rec.Release()
	f.rows = 0
	if err := f.fw.Write(rec); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}

// Finish writes the last row group, the notice of a cut result and the
// footer.
func (f *parquetFormat) Finish(s Summary) error {
	if f.fw == nil {
		return nil
	}
	defer f.b.Release()
	err := f.flush()
	if n := s.Notice(); n != "" && err == nil {
		err = f.fw.AppendKeyValueMetadata("faultline.truncated", n)
	}
	if cerr := f.fw.Close(); err == nil {
		err = cerr
	}
	return err
}
