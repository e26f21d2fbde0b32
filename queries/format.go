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
	fw, err := NewWriter(w, format)
	if err != nil {
		return err
	}
	sum, err := StreamTable(t, fw)
	if err != nil {
		return err
	}
	return fw.Finish(sum)
}

// FormatWriter writes a result as it streams (a RowWriter) and ends it with
// Finish, which writes what the format puts after the rows: the closing
// bracket of a JSON array, the aligned table and, for table and csv, a
// footer line when a cap cut the result.
type FormatWriter interface {
	RowWriter
	Finish(Summary) error
}

// NewWriter returns a FormatWriter for "table", "csv" or "json" on w (see
// Write). csv and json rows are written as they arrive; table output is
// aligned, so it is written at Finish.
func NewWriter(w io.Writer, format string) (FormatWriter, error) {
	switch format {
	case "table":
		return &tableFormat{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0), w: w}, nil
	case "csv":
		return &csvFormat{cw: csv.NewWriter(w), w: w}, nil
	case "json":
		return &jsonFormat{w: w}, nil
	case "parquet":
		return nil, fmt.Errorf("format parquet needs a file: pass --out FILE")
	}
	return nil, fmt.Errorf("format %q is not supported: use %s", format, strings.Join(Formats, ", "))
}

type tableFormat struct {
	tw *tabwriter.Writer
	w  io.Writer
}

var tableCell = strings.NewReplacer("\t", " ", "\n", " ")

func (f *tableFormat) Begin(cols []Column) error {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	_, err := fmt.Fprintln(f.tw, strings.Join(names, "\t"))
	return err
}

func (f *tableFormat) Row(vals []any) error {
	cells := make([]string, len(vals))
	for i, v := range vals {
		cells[i] = tableCell.Replace(cell(v))
	}
	_, err := fmt.Fprintln(f.tw, strings.Join(cells, "\t"))
	return err
}

func (f *tableFormat) Finish(s Summary) error {
	if err := f.tw.Flush(); err != nil {
		return err
	}
	if n := s.Notice(); n != "" {
		_, err := fmt.Fprintf(f.w, "(%s)\n", n)
		return err
	}
	return nil
}

type csvFormat struct {
	cw    *csv.Writer
	w     io.Writer
	cells []string
}

func (f *csvFormat) Begin(cols []Column) error {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return f.cw.Write(names)
}

func (f *csvFormat) Row(vals []any) error {
	f.cells = f.cells[:0]
	for _, v := range vals {
		f.cells = append(f.cells, cell(v))
	}
	return f.cw.Write(f.cells)
}

// Finish ends a cut result with a last line "# truncated: ..." so a cut
// file cannot pass for a whole one.
func (f *csvFormat) Finish(s Summary) error {
	f.cw.Flush()
	if err := f.cw.Error(); err != nil {
		return err
	}
	if n := s.Notice(); n != "" {
		_, err := fmt.Fprintf(f.w, "# %s\n", n)
		return err
	}
	return nil
}

type jsonFormat struct {
	w    io.Writer
	cols []string
	rows int
	b    strings.Builder
}

func (f *jsonFormat) Begin(cols []Column) error {
	f.cols = make([]string, len(cols))
	for i, c := range cols {
		k, _ := marshalJSON(c.Name)
		f.cols[i] = string(k)
	}
	_, err := io.WriteString(f.w, "[")
	return err
}

func (f *jsonFormat) Row(vals []any) error {
	f.b.Reset()
	if f.rows > 0 {
		f.b.WriteString(",")
	}
	f.rows++
	f.b.WriteString("\n  {")
	for j, k := range f.cols {
		if j > 0 {
			f.b.WriteString(", ")
		}
		v, err := marshalJSON(jsonValue(vals[j]))
		if err != nil {
			return fmt.Errorf("json: column %s: %w", k, err)
		}
		f.b.WriteString(k)
		f.b.WriteString(": ")
		f.b.Write(v)
	}
	f.b.WriteString("}")
	_, err := io.WriteString(f.w, f.b.String())
	return err
}

// Finish closes the array. A JSON array has no place for a notice: the
// caller says it on standard error.
func (f *jsonFormat) Finish(Summary) error {
	_, err := io.WriteString(f.w, "\n]\n")
	return err
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
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
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
			appendArrow(b.Field(i), v)
		}
	}
	return b.NewRecordBatch()
}
