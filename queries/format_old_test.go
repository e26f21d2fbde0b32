package queries

// The writers as they were before issue 19 part 9 (encoding/json per cell,
// encoding/csv, fmt.Sprint): the reference the faster writers must match
// byte for byte (TestWriteMatchesReference).

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func refWrite(w io.Writer, t Table, format string) error {
	var fw FormatWriter
	switch format {
	case "table":
		fw = &refTable{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0), w: w}
	case "csv":
		fw = &refCSV{cw: csv.NewWriter(w), w: w}
	case "json":
		fw = &refJSON{w: w}
	default:
		return fmt.Errorf("format %q", format)
	}
	sum, err := StreamTable(t, fw)
	if err != nil {
		return err
	}
	return fw.Finish(sum)
}

type refTable struct {
	tw *tabwriter.Writer
	w  io.Writer
}

var refTableCell = strings.NewReplacer("\t", " ", "\n", " ")

func (f *refTable) Begin(cols []Column) error {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	_, err := fmt.Fprintln(f.tw, strings.Join(names, "\t"))
	return err
}

func (f *refTable) Row(vals []any) error {
	cells := make([]string, len(vals))
	for i, v := range vals {
		cells[i] = refTableCell.Replace(refCell(v))
	}
	_, err := fmt.Fprintln(f.tw, strings.Join(cells, "\t"))
	return err
}

func (f *refTable) Finish(s Summary) error {
	if err := f.tw.Flush(); err != nil {
		return err
	}
	if n := s.Notice(); n != "" {
		_, err := fmt.Fprintf(f.w, "(%s)\n", n)
		return err
	}
	return nil
}

type refCSV struct {
	cw    *csv.Writer
	w     io.Writer
	cells []string
}

func (f *refCSV) Begin(cols []Column) error {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return f.cw.Write(names)
}

func (f *refCSV) Row(vals []any) error {
	f.cells = f.cells[:0]
	for _, v := range vals {
		f.cells = append(f.cells, refCell(v))
	}
	return f.cw.Write(f.cells)
}

func (f *refCSV) Finish(s Summary) error {
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

type refJSON struct {
	w    io.Writer
	cols []string
	rows int
	b    strings.Builder
}

func (f *refJSON) Begin(cols []Column) error {
	f.cols = make([]string, len(cols))
	for i, c := range cols {
		k, _ := refMarshalJSON(c.Name)
		f.cols[i] = string(k)
	}
	_, err := io.WriteString(f.w, "[")
	return err
}

func (f *refJSON) Row(vals []any) error {
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
		v, err := refMarshalJSON(refJSONValue(vals[j]))
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

func (f *refJSON) Finish(Summary) error {
	_, err := io.WriteString(f.w, "\n]\n")
	return err
}

func refMarshalJSON(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

func refJSONValue(v any) any {
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
			out[i] = refJSONValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = refJSONValue(e)
		}
		return out
	}
	return v
}

func refCell(v any) string {
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
			s[i] = refCell(e)
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
