package dashboards

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/faultline/faultline/queries"
)

// jsonCell returns a JSON-encodable form of one result cell.
func jsonCell(c any) any {
	switch v := c.(type) {
	case nil, bool, string, int, int8, int16, int32, int64, uint8, uint16, uint32, uint64, json.Number:
		return v
	case float32:
		return jsonFloat(float64(v))
	case float64:
		return jsonFloat(v)
	case time.Time:
		if y := v.UTC().Year(); y < 0 || y > 9999 {
			return v.UTC().Format("2006-01-02T15:04:05.999999999Z07:00") // beyond RFC 3339: text as DuckDB prints it
		}
		return v.UTC()
	case []byte:
		if utf8.Valid(v) {
			return string(v)
		}
		return "\\x" + hex.EncodeToString(v)
	case *big.Int:
		return json.Number(v.String())
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = jsonCell(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = jsonCell(x)
		}
		return out
	default:
		if _, err := json.Marshal(v); err == nil {
			return v
		}
		return fmt.Sprint(v)
	}
}

// appendJSONCell appends the API's JSON for one cell, marshal(jsonCell(c))
// byte for byte: the text json writes for nil, booleans, integers, strings,
// finite float64s and times within years 0-9999 is the same as the json
// format's, so those take queries.AppendJSON's path without reflection.
func appendJSONCell(b []byte, c any) []byte {
	switch v := c.(type) {
	case nil, bool, string, int, int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		if out, err := queries.AppendJSON(b, c); err == nil {
			return out
		}
	case float64:
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			if out, err := queries.AppendJSON(b, c); err == nil {
				return out
			}
		}
	case time.Time:
		if y := v.UTC().Year(); !v.IsZero() && y >= 0 && y <= 9999 {
			if out, err := queries.AppendJSON(b, c); err == nil {
				return out
			}
		}
	}
	return append(b, marshal(jsonCell(c))...)
}

// jsonFloat keeps NaN and infinities (which JSON cannot hold) as strings.
func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return f
}

// cellText is how the console shows one cell.
func cellText(c any) string {
	switch v := jsonCell(c).(type) {
	case nil:
		return "NULL"
	case string:
		return v
	case time.Time:
		return v.Format("2006-01-02 15:04:05.000Z07:00")
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case []any, map[string]any:
		b, _ := json.Marshal(v)
		return string(b)
	default:
		return fmt.Sprint(v)
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func fmtClock(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("15:04:05")
}

func fmtAge(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		return "in " + (-d).String()
	}
	return d.String() + " ago"
}

func fmtMinutes(m float64) string {
	if m < 1 {
		return fmt.Sprintf("%.0fs", m*60)
	}
	return fmt.Sprintf("%.1f min", m)
}
