package queries

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/faultline/faultline/transform"
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
		return &csvFormat{w: w}, nil
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
	b  []byte // the row being rendered, reused
}

func (f *tableFormat) Begin(cols []Column) error {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	_, err := fmt.Fprintln(f.tw, strings.Join(names, "\t"))
	return err
}

// Row renders the cells into one reused buffer, tabs and newlines inside a
// cell turned into spaces so they cannot break the alignment.
func (f *tableFormat) Row(vals []any) error {
	b := f.b[:0]
	for i, v := range vals {
		if i > 0 {
			b = append(b, '\t')
		}
		start := len(b)
		b = appendCell(b, v)
		for j := start; j < len(b); j++ {
			if b[j] == '\t' || b[j] == '\n' {
				b[j] = ' '
			}
		}
	}
	b = append(b, '\n')
	f.b = b
	_, err := f.tw.Write(b)
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

// csvFormat writes RFC 4180 rows exactly as encoding/csv.Writer does
// (comma, "\n" line ends, a field quoted when it holds a comma, quote, CR
// or LF, starts with a space, or is `\.`), one Write per row.
type csvFormat struct {
	w   io.Writer
	b   []byte // the row being rendered, reused
	tmp []byte // a field being quoted
}

func (f *csvFormat) Begin(cols []Column) error {
	b := f.b[:0]
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = f.appendField(b, len(b), c.Name)
	}
	f.b = append(b, '\n')
	_, err := f.w.Write(f.b)
	return err
}

func (f *csvFormat) Row(vals []any) error {
	b := f.b[:0]
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		start := len(b)
		b = appendCell(b, v)
		if !csvBare(v) && csvNeedsQuotes(b[start:]) {
			f.tmp = append(f.tmp[:0], b[start:]...)
			b = appendCSVQuoted(b[:start], f.tmp)
		}
	}
	f.b = append(b, '\n')
	_, err := f.w.Write(f.b)
	return err
}

// appendField appends the text s as a field (b[:start] already written).
func (f *csvFormat) appendField(b []byte, start int, s string) []byte {
	b = append(b, s...)
	if csvNeedsQuotes(b[start:]) {
		b = appendCSVQuoted(b[:start], []byte(s))
	}
	return b
}

// csvBare reports whether v's cell text never needs quotes: numbers,
// booleans and times print no comma, quote, CR, LF or leading space.
func csvBare(v any) bool {
	switch v.(type) {
	case int64, int, int32, bool, float64, float32, time.Time:
		return true
	}
	return false
}

// csvSpecial marks the bytes that make encoding/csv quote a field.
var csvSpecial = [256]bool{'\n': true, '\r': true, '"': true, ',': true}

func csvNeedsQuotes(field []byte) bool {
	if len(field) == 0 {
		return false
	}
	if len(field) == 2 && field[0] == '\\' && field[1] == '.' {
		return true
	}
	for _, c := range field {
		if csvSpecial[c] {
			return true
		}
	}
	r, _ := utf8.DecodeRune(field)
	return unicode.IsSpace(r)
}

func appendCSVQuoted(b, field []byte) []byte {
	b = append(b, '"')
	for {
		i := bytes.IndexByte(field, '"')
		if i < 0 {
			break
		}
		b = append(b, field[:i+1]...)
		b = append(b, '"')
		field = field[i+1:]
	}
	b = append(b, field...)
	return append(b, '"')
}

// Finish ends a cut result with a last line "# truncated: ..." so a cut
// file cannot pass for a whole one.
func (f *csvFormat) Finish(s Summary) error {
	if n := s.Notice(); n != "" {
		_, err := fmt.Fprintf(f.w, "# %s\n", n)
		return err
	}
	return nil
}

type jsonFormat struct {
	w    io.Writer
	cols [][]byte // column names as JSON strings
	rows int
	b    []byte // the row being rendered, reused
}

func (f *jsonFormat) Begin(cols []Column) error {
	f.cols = make([][]byte, len(cols))
	for i, c := range cols {
		f.cols[i] = transform.AppendJSONString(nil, c.Name)
	}
	_, err := io.WriteString(f.w, "[")
	return err
}

func (f *jsonFormat) Row(vals []any) error {
	b := f.b[:0]
	if f.rows > 0 {
		b = append(b, ',')
	}
	f.rows++
	b = append(b, "\n  {"...)
	for j, k := range f.cols {
		if j > 0 {
			b = append(b, ", "...)
		}
		b = append(b, k...)
		b = append(b, ": "...)
		var err error
		if b, err = appendJSON(b, vals[j]); err != nil {
			return fmt.Errorf("json: column %s: %w", k, err)
		}
	}
	f.b = append(b, '}')
	_, err := f.w.Write(f.b)
	return err
}

// Finish closes the array. A JSON array has no place for a notice: the
// caller says it on standard error.
func (f *jsonFormat) Finish(Summary) error {
	_, err := io.WriteString(f.w, "\n]\n")
	return err
}

// AppendJSON appends v to b as the json format writes it (times as RFC 3339
// in UTC with the zero time null, NaN and infinities null, lists, maps with
// sorted keys, no HTML escaping), without reflection for the types results
// carry. The error is encoding/json's for a value JSON cannot hold.
func AppendJSON(b []byte, v any) ([]byte, error) { return appendJSON(b, v) }

// appendJSON appends v as JSON: what encoding/json (without HTML escaping)
// writes for jsonValue(v), byte for byte, but without reflection or an
// allocation for the types results carry. Anything else goes through
// encoding/json.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return transform.AppendJSONString(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...), nil
		}
		return appendJSONFloat(b, x, 64), nil
	case float32:
		if f := float64(x); !math.IsNaN(f) && !math.IsInf(f, 0) {
			return appendJSONFloat(b, f, 32), nil
		}
	case time.Time:
		if x.IsZero() {
			return append(b, "null"...), nil
		}
		// RFC 3339 text holds nothing JSON escapes.
		b = append(b, '"')
		b = x.UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), nil
	case []byte:
		return transform.AppendJSONString(b, x), nil
	case []string:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = transform.AppendJSONString(b, e)
		}
		return append(b, ']'), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = transform.AppendJSONString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, x[k]); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	j, err := marshalJSON(jsonValue(v))
	if err != nil {
		return b, err
	}
	return append(b, j...), nil
}

// appendJSONFloat writes a finite float as encoding/json does (ES6 number
// text: 'f' form, 'e' form below 1e-6 and from 1e21, exponent unpadded).
func appendJSONFloat(b []byte, f float64, bits int) []byte {
	abs := math.Abs(f)
	form := byte('f')
	if abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		form = 'e'
	}
	b = strconv.AppendFloat(b, f, form, -1, bits)
	if form == 'e' {
		// e-07 -> e-7
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
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
	return string(appendCell(nil, v))
}

// appendCell appends v as table and csv show it: times as RFC 3339 in
// UTC (the zero time empty), floats in full without exponent, lists joined
// with ", ", maps as JSON, nil empty, anything else as fmt.Sprint prints it.
func appendCell(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return b
	case string:
		return append(b, x...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		if x.IsZero() {
			return b
		}
		return x.UTC().AppendFormat(b, time.RFC3339)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case float32:
		return strconv.AppendFloat(b, float64(x), 'f', -1, 32)
	case []string:
		for i, e := range x {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, e...)
		}
		return b
	case []any:
		for i, e := range x {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendCell(b, e)
		}
		return b
	case []byte:
		return append(b, x...)
	case map[string]float64, map[string]any:
		j, _ := json.Marshal(x)
		return append(b, j...)
	}
	return fmt.Append(b, v)
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
