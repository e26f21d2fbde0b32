package queries

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Formats Write accepts.
var Formats = []string{"table", "csv", "json", "parquet"}

// Write writes t to w as "table" (aligned columns for a terminal), "csv"
// (header row, RFC 3339 times, lists joined with ", ") or "json" (an array of
// objects in column order). Parquet needs a file: use WriteParquet.
func Write(w io.Writer, t Table, format string) error {
	switch format {
	case "table":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(t.Columns, "\t"))
		for _, r := range t.Rows {
			cells := make([]string, len(r))
			for i, v := range r {
				cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(cell(v))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if t.Truncated {
			_, err := fmt.Fprintf(w, "(truncated at %d rows: query.max_rows)\n", len(t.Rows))
			return err
		}
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(t.Columns); err != nil {
			return err
		}
		for _, r := range t.Rows {
			cells := make([]string, len(r))
			for i, v := range r {
				cells[i] = cell(v)
			}
			if err := cw.Write(cells); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	case "json":
		if _, err := io.WriteString(w, "["); err != nil {
			return err
		}
		for i, r := range t.Rows {
			var b strings.Builder
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n  {")
			for j, c := range t.Columns {
				if j > 0 {
					b.WriteString(", ")
				}
				k, _ := marshalJSON(c)
				v, err := marshalJSON(jsonValue(r[j]))
				if err != nil {
					return fmt.Errorf("json: column %s: %w", c, err)
				}
				b.Write(k)
				b.WriteString(": ")
				b.Write(v)
			}
			b.WriteString("}")
			if _, err := io.WriteString(w, b.String()); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "\n]\n")
		return err
	case "parquet":
		return fmt.Errorf("format parquet needs a file: pass --out FILE")
	}
	return fmt.Errorf("format %q is not supported: use %s", format, strings.Join(Formats, ", "))
}

// marshalJSON is json.Marshal without HTML escaping ("->" stays readable).
func marshalJSON(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return nil
		}
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case []byte:
		return string(x)
	}
	return v
}

// cell renders one value for table and csv output.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(time.RFC3339)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case []string:
		return strings.Join(x, ", ")
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = cell(e)
		}
		return strings.Join(s, ", ")
	case []byte:
		return string(x)
	case map[string]float64, map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

// WriteParquet writes t to the file path as Parquet (zstd). Column types come
// from the values: integers, floats, booleans, timestamps (UTC, microseconds),
// string lists; anything else is written as text.
func WriteParquet(path string, t Table) error {
	mem := memory.NewGoAllocator()
	rec := tableRecord(mem, t)
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd))
	fw, err := pqarrow.NewFileWriter(rec.Schema(), f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		return fmt.Errorf("parquet: %w", err)
	}
	// The file writer owns f from here: its Close closes f.
	werr := fw.Write(rec)
	if cerr := fw.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("parquet %s: %w", path, werr)
	}
	return nil
}

// columnType picks an Arrow type from a column's first non-nil value.
func columnType(t Table, col int) arrow.DataType {
	for _, r := range t.Rows {
		switch r[col].(type) {
		case nil:
			continue
		case int64, int32, int, int16, int8, uint32, uint16, uint8:
			return arrow.PrimitiveTypes.Int64
		case float64, float32:
			return arrow.PrimitiveTypes.Float64
		case bool:
			return arrow.FixedWidthTypes.Boolean
		case time.Time:
			return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		case []string:
			return arrow.ListOf(arrow.BinaryTypes.String)
		}
		return arrow.BinaryTypes.String
	}
	return arrow.BinaryTypes.String
}

// tableRecord converts t to one Arrow record batch; the caller releases it.
func tableRecord(mem memory.Allocator, t Table) arrow.RecordBatch {
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		fields[i] = arrow.Field{Name: c, Type: columnType(t, i), Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, r := range t.Rows {
		for i, v := range r {
			fb := b.Field(i)
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Int64Builder:
				n, _ := strconv.ParseInt(fmt.Sprint(v), 10, 64)
				fb.Append(n)
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
				x, _ := v.(bool)
				fb.Append(x)
			case *array.TimestampBuilder:
				x, _ := v.(time.Time)
				if x.IsZero() {
					fb.AppendNull()
				} else {
					fb.Append(arrow.Timestamp(x.UnixMicro()))
				}
			case *array.ListBuilder:
				fb.Append(true)
				vb := fb.ValueBuilder().(*array.StringBuilder)
				x, _ := v.([]string)
				for _, s := range x {
					vb.Append(s)
				}
			case *array.StringBuilder:
				fb.Append(cell(v))
			}
		}
	}
	return b.NewRecordBatch()
}
