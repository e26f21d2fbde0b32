package pgwire

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/faultline/faultline/queries"
)

// pgType is how values of one DuckDB type go over the wire: the PostgreSQL
// type's OID and length (RowDescription), and conv, which turns a value from
// the sandbox into what pgtype encodes for that OID.
type pgType struct {
	oid  uint32
	size int16 // pg_type.typlen: -1 for variable length
	conv func(any) (any, error)
}

// scalarTypes maps DuckDB's scalar type names to PostgreSQL types.
var scalarTypes = map[string]pgType{
	"BOOLEAN":      {pgtype.BoolOID, 1, nil},
	"TINYINT":      {pgtype.Int2OID, 2, nil},
	"SMALLINT":     {pgtype.Int2OID, 2, nil},
	"UTINYINT":     {pgtype.Int2OID, 2, nil},
	"INTEGER":      {pgtype.Int4OID, 4, nil},
	"USMALLINT":    {pgtype.Int4OID, 4, nil},
	"BIGINT":       {pgtype.Int8OID, 8, nil},
	"UINTEGER":     {pgtype.Int8OID, 8, nil},
	"UBIGINT":      {pgtype.NumericOID, -1, numeric},
	"HUGEINT":      {pgtype.NumericOID, -1, numeric},
	"UHUGEINT":     {pgtype.NumericOID, -1, numeric},
	"BIGNUM":       {pgtype.NumericOID, -1, numeric},
	"FLOAT":        {pgtype.Float4OID, 4, nil},
	"DOUBLE":       {pgtype.Float8OID, 8, nil},
	"VARCHAR":      {pgtype.TextOID, -1, nil},
	"ENUM":         {pgtype.TextOID, -1, nil},
	"BLOB":         {pgtype.ByteaOID, -1, nil},
	"DATE":         {pgtype.DateOID, 4, nil},
	"TIME":         {pgtype.TimeOID, 8, timeOfDay},
	"TIMESTAMP":    {pgtype.TimestampOID, 8, nil},
	"TIMESTAMP_S":  {pgtype.TimestampOID, 8, nil},
	"TIMESTAMP_MS": {pgtype.TimestampOID, 8, nil},
	"TIMESTAMP_NS": {pgtype.TimestampOID, 8, nil},
	"TIMESTAMPTZ":  {pgtype.TimestamptzOID, 8, nil},
	"UUID":         {pgtype.UUIDOID, 16, uuid},
	"JSON":         {pgtype.JSONOID, -1, jsonText},
	// INTERVAL values come out of the sandbox as text (queries.plain).
	"INTERVAL": {pgtype.TextOID, -1, text},
}

// arrayOIDs are the array types of the element OIDs that have one here.
var arrayOIDs = map[uint32]uint32{
	pgtype.BoolOID: pgtype.BoolArrayOID, pgtype.Int2OID: pgtype.Int2ArrayOID, pgtype.Int4OID: pgtype.Int4ArrayOID,
	pgtype.Int8OID: pgtype.Int8ArrayOID, pgtype.NumericOID: pgtype.NumericArrayOID, pgtype.Float4OID: pgtype.Float4ArrayOID,
	pgtype.Float8OID: pgtype.Float8ArrayOID, pgtype.TextOID: pgtype.TextArrayOID, pgtype.ByteaOID: pgtype.ByteaArrayOID,
	pgtype.DateOID: pgtype.DateArrayOID, pgtype.TimestampOID: pgtype.TimestampArrayOID,
	pgtype.TimestamptzOID: pgtype.TimestamptzArrayOID, pgtype.UUIDOID: pgtype.UUIDArrayOID, pgtype.JSONOID: pgtype.JSONArrayOID,
}

// typeOf returns the PostgreSQL type for a DuckDB type name (queries.Column
// Type): scalars by scalarTypes, DECIMAL as numeric, lists of scalars as
// arrays, STRUCT and MAP as json, anything else as text.
func typeOf(duck string) pgType {
	if t, ok := scalarTypes[duck]; ok {
		return t
	}
	switch {
	case strings.HasPrefix(duck, "DECIMAL"):
		return pgType{pgtype.NumericOID, -1, numeric}
	case strings.HasSuffix(duck, "[]"):
		elem := typeOf(strings.TrimSuffix(duck, "[]"))
		if arr, ok := arrayOIDs[elem.oid]; ok {
			return pgType{arr, -1, list(elem.conv)}
		}
	case strings.HasPrefix(duck, "STRUCT"), strings.HasPrefix(duck, "MAP"):
		return pgType{pgtype.JSONOID, -1, jsonText}
	}
	return pgType{pgtype.TextOID, -1, text}
}

// typeName is the PostgreSQL name of an OID this package sends, for the
// catalog answers (format_type) and messages.
func typeName(oid uint32) string {
	if t, ok := pgtype.NewMap().TypeForOID(oid); ok {
		return t.Name
	}
	return "text"
}

func numeric(v any) (any, error) {
	var n pgtype.Numeric
	var s string
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return pgtype.Numeric{NaN: math.IsNaN(x), InfinityModifier: infinity(x), Valid: true}, nil
		}
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case *big.Int:
		return pgtype.Numeric{Int: x, Valid: true}, nil
	default:
		s = fmt.Sprint(x)
	}
	if err := n.Scan(s); err != nil {
		return nil, err
	}
	return n, nil
}

func infinity(f float64) pgtype.InfinityModifier {
	switch {
	case math.IsInf(f, 1):
		return pgtype.Infinity
	case math.IsInf(f, -1):
		return pgtype.NegativeInfinity
	}
	return pgtype.Finite
}

func timeOfDay(v any) (any, error) {
	t, ok := v.(time.Time)
	if !ok {
		return v, nil
	}
	us := int64(t.Hour())*3600e6 + int64(t.Minute())*60e6 + int64(t.Second())*1e6 + int64(t.Nanosecond()/1000)
	return pgtype.Time{Microseconds: us, Valid: true}, nil
}

func uuid(v any) (any, error) {
	var u pgtype.UUID
	if err := u.Scan(fmt.Sprint(v)); err != nil {
		return nil, err
	}
	return u, nil
}

// jsonText returns JSON text for a JSON value: the driver hands JSON
// columns over decoded (maps, lists, strings, numbers).
func jsonText(v any) (any, error) {
	switch x := v.(type) {
	case string:
		if json.Valid([]byte(x)) {
			return x, nil
		}
	case []byte:
		if json.Valid(x) {
			return string(x), nil
		}
	}
	b, err := json.Marshal(jsonSafe(v))
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonSafe turns map[any]any (DuckDB MAP values) into objects with text keys.
func jsonSafe(v any) any {
	switch x := v.(type) {
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonSafe(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonSafe(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonSafe(e)
		}
		return out
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return v
}

// text prints a value of a type sent as text: strings as they are, nested
// values (lists of lists, structs in lists) as JSON, the rest by fmt.
func text(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []any, map[string]any, map[any]any:
		return jsonText(x)
	}
	return fmt.Sprint(v), nil
}

// list converts each element of a list value with conv.
func list(conv func(any) (any, error)) func(any) (any, error) {
	return func(v any) (any, error) {
		l, ok := v.([]any)
		if !ok || conv == nil {
			return v, nil
		}
		out := make([]any, len(l))
		for i, e := range l {
			if e == nil {
				continue
			}
			c, err := conv(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
}

// encoder writes one column's values in the format a client asked for.
type encoder struct {
	m      *pgtype.Map
	t      pgType
	binary bool
}

func newEncoders(m *pgtype.Map, cols []queries.Column, formats []int16) []encoder {
	enc := make([]encoder, len(cols))
	for i, c := range cols {
		enc[i] = encoder{m: m, t: typeOf(c.Type), binary: formatOf(formats, i) == 1}
	}
	return enc
}

// formatOf is the format code of column or parameter i: none given means
// text, one applies to all, else one each.
func formatOf(formats []int16, i int) int16 {
	switch {
	case len(formats) == 0:
		return 0
	case len(formats) == 1:
		return formats[0]
	case i < len(formats):
		return formats[i]
	}
	return 0
}

// append appends v's encoding to buf; a nil result with ok false is SQL NULL.
func (e encoder) append(buf []byte, v any) ([]byte, bool, error) {
	if v == nil {
		return buf, false, nil
	}
	if !e.binary {
		// The common text forms directly, exactly as PostgreSQL prints them.
		switch x := v.(type) {
		case string:
			if e.t.conv == nil || e.t.oid == pgtype.TextOID {
				return append(buf, x...), true, nil
			}
		case int64:
			return strconv.AppendInt(buf, x, 10), true, nil
		case int32:
			return strconv.AppendInt(buf, int64(x), 10), true, nil
		case int16:
			return strconv.AppendInt(buf, int64(x), 10), true, nil
		case int8:
			return strconv.AppendInt(buf, int64(x), 10), true, nil
		case uint8, uint16, uint32:
			return fmt.Append(buf, x), true, nil
		case bool:
			if x {
				return append(buf, 't'), true, nil
			}
			return append(buf, 'f'), true, nil
		case float64:
			if e.t.oid == pgtype.Float8OID || e.t.oid == pgtype.Float4OID {
				return appendFloat(buf, x, 64), true, nil
			}
		case float32:
			return appendFloat(buf, float64(x), 32), true, nil
		case time.Time:
			switch e.t.oid {
			case pgtype.TimestamptzOID:
				return append(x.UTC().AppendFormat(buf, "2006-01-02 15:04:05.999999"), "+00"...), true, nil
			case pgtype.TimestampOID:
				return x.AppendFormat(buf, "2006-01-02 15:04:05.999999"), true, nil
			case pgtype.DateOID:
				return x.AppendFormat(buf, "2006-01-02"), true, nil
			}
		}
	}
	if e.t.conv != nil {
		c, err := e.t.conv(v)
		if err != nil {
			return buf, false, err
		}
		v = c
	}
	if e.t.oid == pgtype.JSONOID || e.t.oid == pgtype.TextOID {
		s, _ := v.(string)
		return append(buf, s...), true, nil
	}
	format := int16(0)
	if e.binary {
		format = 1
	}
	out, err := e.m.Encode(e.t.oid, format, v, buf)
	if err != nil {
		return buf, false, fmt.Errorf("encode %T as %s: %w", v, typeName(e.t.oid), err)
	}
	if out == nil {
		return buf, false, nil
	}
	return out, true, nil
}

// appendFloat prints a float as PostgreSQL does (extra_float_digits 1, the
// default since PostgreSQL 12: the shortest text that reads back exactly).
func appendFloat(buf []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	case math.IsInf(f, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(f, -1):
		return append(buf, "-Infinity"...)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, bits)
}

// decodeParam turns a parameter sent by a client into a value for DuckDB to
// bind: by the type the client gave it (or the statement's own type) and
// its format. Text sent as unknown, text or json stays a string; DuckDB
// casts it to the parameter's type.
func decodeParam(m *pgtype.Map, oid uint32, format int16, src []byte) (any, error) {
	if src == nil {
		return nil, nil
	}
	switch oid {
	case 0, pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID, pgtype.UnknownOID, pgtype.JSONOID:
		if format == 0 || oid != pgtype.JSONOID {
			return string(src), nil
		}
	case pgtype.JSONBOID:
		if format == 1 && len(src) > 0 && src[0] == 1 {
			return string(src[1:]), nil
		}
		return string(src), nil
	}
	t, ok := m.TypeForOID(oid)
	if !ok {
		if format == 0 {
			return string(src), nil
		}
		return nil, fmt.Errorf("parameter of type OID %d in binary format is not supported: send it as text", oid)
	}
	v, err := t.Codec.DecodeValue(m, oid, format, src)
	if err != nil {
		return nil, fmt.Errorf("parameter of type %s: %w", t.Name, err)
	}
	switch x := v.(type) {
	case [16]byte:
		return pgtype.UUID{Bytes: x, Valid: true}.String(), nil
	case pgtype.Numeric:
		f, err := x.Value()
		return f, err
	case pgtype.Time:
		return time.Duration(x.Microseconds) * time.Microsecond, nil
	case pgtype.Interval:
		return fmt.Sprintf("%d months %d days %d microseconds", x.Months, x.Days, x.Microseconds), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	}
	return v, nil
}

// paramOID is the type a parameter is described with (ParameterDescription)
// when the client did not give one: the DuckDB type the statement implies,
// else text.
func paramOID(duck string) uint32 {
	if duck == "" {
		return pgtype.TextOID
	}
	return typeOf(duck).oid
}
