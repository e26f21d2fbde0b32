package queries

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The reads behind a suspect on the incident page: what a change did
// (ChangeDetails), the errors of the services it broke (ErrorGroups), the
// raw stored event (Events), and the analyst SQL that shows the same rows
// in the console (EventSQL, ErrorsSQL). Each reads through one embedded
// statement, so a change of the events schema changes only that SQL.

// ChangeDetail is what one change did, in fields a person can read.
type ChangeDetail struct {
	EventID string `json:"event_id"`
	// Kind says where the fields come from: "request" (the API request of
	// a CloudTrail, Google Cloud or Azure change), "config" (the changed
	// properties of an AWS Config item, with before and after), "deploy"
	// (the version deployed, and the one before), or "" (nothing known).
	Kind   string         `json:"kind"`
	Fields []ChangedField `json:"fields"`
	// More counts the fields left out beyond MaxChangedFields.
	More int `json:"more,omitempty"`
}

// ChangedField is one field a change set: Before is empty when the source
// does not say (an API request only has the new value).
type ChangedField struct {
	Name   string `json:"name"`
	Before string `json:"before,omitempty"`
	After  string `json:"after"`
}

// MaxChangedFields bounds the fields of one ChangeDetail (a change
// creating a whole stack can send hundreds).
const MaxChangedFields = 24

// maxValueRunes bounds one value's text.
const maxValueRunes = 240

// ChangeDetails returns what each change in ids did, by event id, reading
// only the rows of those ids within w (bound w tightly: the statement
// parses the attributes of matching rows only). Ids without a stored change
// are absent from the map.
func (e *Engine) ChangeDetails(ctx context.Context, w Window, ids []string) (map[string]ChangeDetail, error) {
	out := map[string]ChangeDetail{}
	if len(ids) == 0 {
		return out, nil
	}
	p := windowParams(w)
	p["ids"] = ids
	rows, err := e.rows(ctx, "change_details", p)
	if err != nil {
		return nil, fmt.Errorf("read change details: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, source string
		var request, diff, version, previous sql.NullString
		if err := rows.Scan(&id, &source, &request, &diff, &version, &previous); err != nil {
			return nil, fmt.Errorf("read change details: %w", err)
		}
		if _, seen := out[id]; seen {
			continue
		}
		out[id] = changeDetail(id, source, request.String, diff.String, version.String, previous.String)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read change details: %w", err)
	}
	return out, nil
}

// changeDetail turns the JSON the statement extracted into fields.
func changeDetail(id, source, request, diff, version, previous string) ChangeDetail {
	d := ChangeDetail{EventID: id, Fields: []ChangedField{}}
	switch {
	case diff != "" && diff != "null":
		d.Kind = "config"
		var props map[string]json.RawMessage
		if json.Unmarshal([]byte(diff), &props) == nil {
			names := make([]string, 0, len(props))
			for k := range props {
				names = append(names, k)
			}
			slices.Sort(names)
			for _, k := range names {
				var p struct {
					Previous json.RawMessage `json:"previousValue"`
					Updated  json.RawMessage `json:"updatedValue"`
					Type     string          `json:"changeType"`
				}
				if json.Unmarshal(props[k], &p) != nil {
					continue
				}
				f := ChangedField{Name: k, Before: valueText(p.Previous), After: valueText(p.Updated)}
				if p.Type == "DELETE" && f.After == "" {
					f.After = "(deleted)"
				}
				d.Fields = append(d.Fields, f)
			}
		}
	case request != "" && request != "null" && request != "{}":
		d.Kind = "request"
		var v any
		dec := json.NewDecoder(strings.NewReader(request))
		dec.UseNumber()
		if dec.Decode(&v) == nil {
			flatten("", v, &d.Fields)
		}
	case source == "deploy" || version != "":
		if version == "" {
			break
		}
		d.Kind = "deploy"
		d.Fields = append(d.Fields, ChangedField{Name: "version", Before: previous, After: version})
	}
	if len(d.Fields) > MaxChangedFields {
		d.More = len(d.Fields) - MaxChangedFields
		d.Fields = d.Fields[:MaxChangedFields]
	}
	return d
}

// flatten appends v's scalar leaves as dotted names: {"a":{"b":1}} is
// a.b = 1; arrays are indexed (rules[0].port), except EC2's {"items":[...]}
// wrappers, which add nothing to read. Object keys are in name order.
func flatten(prefix string, v any, out *[]ChangedField) {
	switch x := v.(type) {
	case map[string]any:
		if items, ok := x["items"]; ok && len(x) == 1 {
			flatten(prefix, items, out)
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if len(keys) == 0 && prefix != "" {
			*out = append(*out, ChangedField{Name: prefix, After: "{}"})
		}
		for _, k := range keys {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(name, x[k], out)
		}
	case []any:
		if len(x) == 0 && prefix != "" {
			*out = append(*out, ChangedField{Name: prefix, After: "[]"})
		}
		for i, it := range x {
			name := prefix + "[" + strconv.Itoa(i) + "]"
			if len(x) == 1 {
				name = prefix
			}
			flatten(name, it, out)
		}
	default:
		if prefix == "" {
			prefix = "value"
		}
		*out = append(*out, ChangedField{Name: prefix, After: scalarText(x)})
	}
}

func scalarText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return clipRunes(x, maxValueRunes)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	default:
		return clipRunes(fmt.Sprint(x), maxValueRunes)
	}
}

// valueText prints one Config value: strings as they are, null as "", other
// JSON compactly.
func valueText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return clipRunes(s, maxValueRunes)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return clipRunes(buf.String(), maxValueRunes)
	}
	return clipRunes(string(raw), maxValueRunes)
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// ErrorGroup is one kind of error of one service in a window: its error
// code (or, without one, its message with digits folded), how many, when,
// and a sample message with the id of its event.
type ErrorGroup struct {
	Service       string    `json:"service"`
	ErrorCode     string    `json:"error_code"`
	Errors        int64     `json:"errors"`
	FirstSeen     time.Time `json:"first_seen"`
	LastSeen      time.Time `json:"last_seen"`
	Sample        string    `json:"sample"`
	SampleEventID string    `json:"sample_event_id"`
	SampleTime    time.Time `json:"sample_time"` // the sample event's own time (links find it by it)
	// ServiceErrors is all errors of the service in the window (every
	// group, listed or not).
	ServiceErrors int64 `json:"service_errors"`
}

// ErrorGroups returns the perService largest error groups of each of
// services in w, the services with the most errors first.
func (e *Engine) ErrorGroups(ctx context.Context, w Window, services []string, perService int) ([]ErrorGroup, error) {
	out := []ErrorGroup{}
	if len(services) == 0 {
		return out, nil
	}
	p := windowParams(w)
	p["services"], p["per_service"] = services, perService
	rows, err := e.rows(ctx, "error_groups", p)
	if err != nil {
		return nil, fmt.Errorf("group errors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g ErrorGroup
		if err := rows.Scan(&g.Service, &g.ErrorCode, &g.Errors, &g.FirstSeen, &g.LastSeen, &g.Sample, &g.SampleEventID, &g.SampleTime, &g.ServiceErrors); err != nil {
			return nil, fmt.Errorf("group errors: %w", err)
		}
		g.FirstSeen, g.LastSeen, g.SampleTime = g.FirstSeen.UTC(), g.LastSeen.UTC(), g.SampleTime.UTC()
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("group errors: %w", err)
	}
	return out, nil
}

// StoredEvent is one stored event with every column: the raw event behind a
// suspect or a sample error. Attributes is the JSON text of everything the
// source record held beyond the normalized columns.
type StoredEvent struct {
	EventID        string    `json:"event_id"`
	Time           time.Time `json:"time"`
	ObservedTime   time.Time `json:"observed_time"`
	Source         string    `json:"source"`
	Kind           string    `json:"kind"`
	Service        string    `json:"service"`
	Operation      string    `json:"operation"`
	Region         string    `json:"region"`
	AccountID      string    `json:"account_id"`
	Resource       string    `json:"resource"`
	Actor          string    `json:"actor"`
	SeverityNumber int32     `json:"severity_number"`
	SeverityText   string    `json:"severity_text"`
	Status         string    `json:"status"`
	ErrorCode      string    `json:"error_code"`
	Message        string    `json:"message"`
	RequestID      string    `json:"request_id"`
	TraceID        string    `json:"trace_id"`
	ChangeType     string    `json:"change_type"`
	RiskClass      string    `json:"risk_class"`
	PeerService    string    `json:"peer_service"`
	CloudProvider  string    `json:"cloud_provider"`
	Attributes     string    `json:"attributes"`
	SrcTopic       string    `json:"src_topic,omitempty"`
	SrcPartition   int32     `json:"src_partition"`
	SrcOffset      int64     `json:"src_offset"`
	SrcFile        string    `json:"src_file,omitempty"`
	SrcIndex       int32     `json:"src_index"`
}

// Events returns the stored events with event id id in w (usually one;
// more when two sources gave the same id). Bound w around the event's time
// when it is known: the statement then reads only that part of the table.
func (e *Engine) Events(ctx context.Context, w Window, id string) ([]StoredEvent, error) {
	p := windowParams(w)
	p["id"] = id
	rows, err := e.rows(ctx, "event", p)
	if err != nil {
		return nil, fmt.Errorf("read event %s: %w", id, err)
	}
	defer rows.Close()
	out := []StoredEvent{}
	for rows.Next() {
		var v StoredEvent
		if err := rows.Scan(&v.EventID, &v.Time, &v.ObservedTime, &v.Source, &v.Kind, &v.Service, &v.Operation, &v.Region,
			&v.AccountID, &v.Resource, &v.Actor, &v.SeverityNumber, &v.SeverityText, &v.Status, &v.ErrorCode, &v.Message,
			&v.RequestID, &v.TraceID, &v.ChangeType, &v.RiskClass, &v.PeerService, &v.CloudProvider, &v.Attributes,
			&v.SrcTopic, &v.SrcPartition, &v.SrcOffset, &v.SrcFile, &v.SrcIndex); err != nil {
			return nil, fmt.Errorf("read event %s: %w", id, err)
		}
		v.Time, v.ObservedTime = v.Time.UTC(), v.ObservedTime.UTC()
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read event %s: %w", id, err)
	}
	return out, nil
}

// EventSQL is the analyst SQL (for the console or faultline query) that
// shows the event with id id; at, when known, bounds it to that second so
// DuckDB reads only that part of the table.
func EventSQL(id string, at time.Time) string {
	q := "SELECT *\nFROM events\nWHERE event_id = " + sqlString(id)
	if !at.IsZero() {
		s := at.UTC().Truncate(time.Second)
		q += "\n  AND time >= " + sqlTime(s) + " AND time < " + sqlTime(s.Add(time.Second))
	}
	return q
}

// ErrorsSQL is the analyst SQL that groups the errors of services in w the
// way ErrorGroups does (by service and error code, with a sample message),
// for the console.
func ErrorsSQL(services []string, w Window) string {
	since, until := w.Bounds()
	quoted := make([]string, len(services))
	for i, s := range services {
		quoted[i] = sqlString(s)
	}
	return "SELECT service, error_code, count(*) AS errors, min(time) AS first_seen, max(time) AS last_seen,\n" +
		"       arg_min(message, length(message)) AS sample\n" +
		"FROM errors\n" +
		"WHERE time >= " + sqlTime(since) + " AND time < " + sqlTime(until) + "\n" +
		"  AND service IN (" + strings.Join(quoted, ", ") + ")\n" +
		"GROUP BY ALL\nORDER BY errors DESC"
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func sqlTime(t time.Time) string {
	return "TIMESTAMPTZ '" + t.UTC().Format("2006-01-02 15:04:05.999999") + "+00'"
}
