package transform

import (
	"strconv"
	"time"
)

// OTLP/JSON log exports: {"resourceLogs":[{"resource":{"attributes":[...]},
// "scopeLogs":[{"scope":{...},"logRecords":[...]}]}]}. Each log record is
// flattened (resource attributes, then scope, then the record's own
// attributes, which win) into one object and mapped like an application
// event, with source "otlp". A bad record costs only itself.

// otlp decodes one validated OTLP/JSON export.
func (s *state) otlp(v []byte) {
	rl := field(v, "resourceLogs")
	if !isArray(rl) {
		s.dead(ReasonMissingField, v, "OTLP/JSON export has no resourceLogs array; expected an ExportLogsServiceRequest in JSON")
		return
	}
	eachElem(rl, func(_ int, r []byte) bool {
		resAttrs := field(field(r, "resource"), "attributes")
		eachElem(field(r, "scopeLogs"), func(_ int, sl []byte) bool {
			scope := field(sl, "scope")
			eachElem(field(sl, "logRecords"), func(_ int, rec []byte) bool {
				s.otlpRecord(rec, resAttrs, scope)
				return true
			})
			return true
		})
		return true
	})
}

// otlpRecord flattens one log record and maps it.
func (s *state) otlpRecord(rec, resAttrs, scope []byte) {
	if !isObject(rec) {
		s.dead(ReasonInvalidJSON, rec, "OTLP log record is not a JSON object; it was skipped, the rest of the export was decoded")
		return
	}
	var flat attrWriter
	flat.reset()
	addKV := func(list []byte) {
		eachElem(list, func(_ int, kv []byte) bool {
			k := str(field(kv, "key"))
			if k != "" {
				flat.json(k, anyValueJSON(nil, field(kv, "value")))
			}
			return true
		})
	}
	addKV(resAttrs)
	if isObject(scope) {
		if n := str(field(scope, "name")); n != "" {
			flat.str("otel.scope.name", n)
		}
		if ver := str(field(scope, "version")); ver != "" {
			flat.str("otel.scope.version", ver)
		}
	}
	var t time.Time
	eachField(rec, func(k, val []byte) bool {
		switch string(k) {
		case "timeUnixNano", "observedTimeUnixNano":
			if n, err := strconv.ParseInt(scalarText(val), 10, 64); err == nil && n > 0 && (t.IsZero() || string(k) == "timeUnixNano") {
				t = time.Unix(0, n).UTC()
			}
		case "severityNumber":
			flat.json("severity_number", val)
		case "severityText":
			flat.json("severity_text", val)
		case "body":
			b := anyValueJSON(nil, val)
			if len(b) > 0 && b[0] != '"' {
				flat.json("body", b) // structured body stays structured
			} else {
				flat.json("message", b)
			}
		case "attributes":
			addKV(val)
		case "traceId":
			flat.json("trace_id", val)
		case "spanId":
			flat.json("span_id", val)
		default:
			flat.raw(k, val)
		}
		return true
	})
	if !t.IsZero() {
		flat.str("time", t.Format(time.RFC3339Nano))
	}
	obj := []byte(flat.String())
	if len(obj) == 0 {
		obj = []byte("{}")
	}
	// Later keys win in appObject only for first-wins fields; record
	// attributes were appended after resource attributes, so give them
	// precedence by mapping a de-duplicated object.
	s.appObject(dedupLast(obj), rec, SourceOTLP)
}

// anyValueJSON converts an OTLP AnyValue to plain JSON.
func anyValueJSON(dst, v []byte) []byte {
	if !isObject(v) {
		return append(dst, "null"...)
	}
	out := append(dst, "null"...)
	eachField(v, func(k, val []byte) bool {
		out = dst
		switch string(k) {
		case "stringValue", "boolValue", "doubleValue", "bytesValue":
			out = appendCompact(out, val)
		case "intValue": // int64 as a JSON string per the OTLP/JSON mapping
			if n, err := strconv.ParseInt(scalarText(val), 10, 64); err == nil {
				out = strconv.AppendInt(out, n, 10)
			} else {
				out = appendCompact(out, val)
			}
		case "arrayValue":
			out = append(out, '[')
			first := true
			eachElem(field(val, "values"), func(_ int, e []byte) bool {
				if !first {
					out = append(out, ',')
				}
				first = false
				out = anyValueJSON(out, e)
				return true
			})
			out = append(out, ']')
		case "kvlistValue":
			out = append(out, '{')
			first := true
			eachElem(field(val, "values"), func(_ int, kv []byte) bool {
				if !first {
					out = append(out, ',')
				}
				first = false
				out = AppendJSONString(out, str(field(kv, "key")))
				out = append(out, ':')
				out = anyValueJSON(out, field(kv, "value"))
				return true
			})
			out = append(out, '}')
		default:
			out = append(out, "null"...)
			return true
		}
		return false
	})
	return out
}

// dedupLast rewrites a flat validated object keeping, for each key, only
// its last value (in the position of its first occurrence).
func dedupLast(obj []byte) []byte {
	last := map[string][]byte{}
	var order []string
	eachField(obj, func(k, val []byte) bool {
		key := string(k)
		if _, ok := last[key]; !ok {
			order = append(order, key)
		}
		last[key] = val
		return true
	})
	if len(order) == 0 {
		return obj
	}
	var w attrWriter
	w.reset()
	for _, k := range order {
		w.raw([]byte(k), last[k])
	}
	return []byte(w.String())
}
