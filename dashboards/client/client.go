// Package client talks to a running faultline serve over its JSON API
// (docs/api.md), so faultline query and faultline report can work while the
// server holds the DuckDB file. *Client answers the same methods as the
// local implementation (queries.Engine): queries.Querier (Named, SQL) and
// report.Source (Impact, Series, Stats).
//
// client imports only queries' result types; it must not import DuckDB.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/faultline/faultline/queries"
)

// Client is a faultline serve API client. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	user  *url.Userinfo
	hc    *http.Client
}

// New returns a client for the server at baseURL (http or https, e.g.
// http://127.0.0.1:8080). token, when set, is sent as a bearer token
// (query.token / serve.token); credentials in the URL
// (http://user:pass@host:8080) are sent as basic auth instead.
func New(baseURL, token string) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("query.server: %q is not allowed: use the URL of a running faultline serve such as http://127.0.0.1:8080", baseURL)
	}
	c := &Client{token: token, user: u.User, hc: &http.Client{Timeout: 10 * time.Minute}}
	u.User = nil
	c.base = u
	return c, nil
}

// Error is a response the server refused or failed, with its message.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("faultline server: %s (HTTP %d)", e.Message, e.Status)
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body any, out any) error {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	case c.user != nil:
		pw, _ := c.user.Password()
		req.SetBasicAuth(c.user.Username(), pw)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("ask faultline server %s: %w (is faultline serve running there? check query.server)", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if resp.StatusCode == http.StatusUnauthorized {
			msg += " (set query.token, FAULTLINE_QUERY_TOKEN, or user:password in the server URL)"
		}
		return &Error{Status: resp.StatusCode, Message: msg}
	}
	var err2 error
	switch o := out.(type) {
	case func(io.Reader) error:
		err2 = o(resp.Body)
	default:
		dec := json.NewDecoder(resp.Body)
		dec.UseNumber()
		err2 = dec.Decode(out)
	}
	if err2 != nil {
		var ce *Error
		if errors.As(err2, &ce) {
			return ce
		}
		return fmt.Errorf("decode %s response: %w", path, err2)
	}
	return nil
}

// windowQuery expresses w in the API's parameters; zero bounds stay open.
func windowQuery(w queries.Window) url.Values {
	q := url.Values{"range": {"all"}}
	if !w.Since.IsZero() {
		q.Set("since", w.Since.UTC().Format(time.RFC3339Nano))
	}
	if !w.Until.IsZero() {
		q.Set("until", w.Until.UTC().Format(time.RFC3339Nano))
	}
	return q
}

// Stream runs analyst SQL in the server's sandbox (POST /api/query) and
// sends the rows to w as they arrive; the server's caps apply.
func (c *Client) Stream(ctx context.Context, query string, w queries.RowWriter) (queries.Summary, error) {
	return c.stream(ctx, map[string]any{"sql": query}, w)
}

// SQL runs analyst SQL in the server's sandbox and returns the whole result.
func (c *Client) SQL(ctx context.Context, query string) (queries.Table, error) {
	return c.collect(ctx, map[string]any{"sql": query})
}

// Named runs a named query on the server (POST /api/query).
func (c *Client) Named(ctx context.Context, name string, w queries.Window) (queries.Table, error) {
	body := map[string]any{"name": name}
	if !w.Since.IsZero() {
		body["since"] = w.Since.UTC()
	}
	if !w.Until.IsZero() {
		body["until"] = w.Until.UTC()
	}
	return c.collect(ctx, body)
}

func (c *Client) collect(ctx context.Context, body map[string]any) (queries.Table, error) {
	var col queries.Collect
	sum, err := c.stream(ctx, body, &col)
	if err != nil {
		return queries.Table{}, err
	}
	return col.Done(sum), nil
}

// stream posts body to /api/query and decodes the result object as it
// arrives: columns first, then each row to w, then how the result ended.
// An "error" member (a failure after the first rows) is returned as an
// error, with the Summary of what w received.
func (c *Client) stream(ctx context.Context, body map[string]any, w queries.RowWriter) (queries.Summary, error) {
	var sum queries.Summary
	err := c.do(ctx, http.MethodPost, "/api/query", nil, body, func(r io.Reader) error {
		dec := json.NewDecoder(r)
		dec.UseNumber()
		if err := expectDelim(dec, '{'); err != nil {
			return err
		}
		var cols []queries.Column
		var names, types []string
		var failed string
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			switch key {
			case "columns":
				err = dec.Decode(&names)
			case "column_types":
				err = dec.Decode(&types)
			case "rows":
				cols = make([]queries.Column, len(names))
				for i, n := range names {
					cols[i].Name = n
					if i < len(types) {
						cols[i].Type = types[i]
					}
				}
				if err := w.Begin(cols); err != nil {
					return err
				}
				if err := expectDelim(dec, '['); err != nil {
					return err
				}
				var row []any
				for dec.More() {
					row = row[:0]
					if err := dec.Decode(&row); err != nil {
						return err
					}
					for i, v := range row {
						row[i] = number(v)
					}
					if err := w.Row(row); err != nil {
						return err
					}
				}
				err = expectDelim(dec, ']')
			case "truncated":
				err = dec.Decode(&sum.Truncated)
			case "truncated_by":
				err = dec.Decode(&sum.TruncatedBy)
			case "row_count":
				err = dec.Decode(&sum.Rows)
			case "byte_count":
				err = dec.Decode(&sum.Bytes)
			case "error":
				err = dec.Decode(&failed)
			default:
				var skip json.RawMessage
				err = dec.Decode(&skip)
			}
			if err != nil {
				return err
			}
		}
		if cols == nil {
			return fmt.Errorf("no \"rows\" member (is the server a faultline serve of the same version?)")
		}
		if sum.Truncated && sum.TruncatedBy == "" {
			sum.TruncatedBy = queries.CapRows // a server from before the byte cap
		}
		if failed != "" {
			return &Error{Status: http.StatusOK, Message: "the result broke off: " + failed}
		}
		return nil
	})
	return sum, err
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, got %v", want, tok)
	}
	return nil
}

// number turns JSON numbers into int64 when integral, else float64.
func number(v any) any {
	n, ok := v.(json.Number)
	if !ok {
		return v
	}
	if i, err := n.Int64(); err == nil {
		return i
	}
	if f, err := n.Float64(); err == nil {
		return f
	}
	return n.String()
}

func get[T any](ctx context.Context, c *Client, path, field string, q url.Values) (T, error) {
	var env map[string]json.RawMessage
	var zero T
	if err := c.do(ctx, http.MethodGet, path, q, nil, &env); err != nil {
		return zero, err
	}
	raw, ok := env[field]
	if !ok {
		return zero, fmt.Errorf("decode %s response: no %q field (is the server a faultline serve of the same version?)", path, field)
	}
	var out T
	if err := json.Unmarshal(raw, &out); err != nil {
		return zero, fmt.Errorf("decode %s response: %w", path, err)
	}
	return out, nil
}

// Incidents lists the incidents in w (GET /api/incidents).
func (c *Client) Incidents(ctx context.Context, w queries.Window) ([]queries.Incident, error) {
	return get[[]queries.Incident](ctx, c, "/api/incidents", "incidents", windowQuery(w))
}

// Suspects lists the ranked suspects of every incident in w (GET /api/suspects).
func (c *Client) Suspects(ctx context.Context, w queries.Window) ([]queries.Suspect, error) {
	return get[[]queries.Suspect](ctx, c, "/api/suspects", "suspects", windowQuery(w))
}

// Cascade lists the cascade steps of every incident in w (GET /api/cascade).
func (c *Client) Cascade(ctx context.Context, w queries.Window) ([]queries.CascadeStep, error) {
	return get[[]queries.CascadeStep](ctx, c, "/api/cascade", "cascade", windowQuery(w))
}

// Regions lists region shares in w (GET /api/regions).
func (c *Client) Regions(ctx context.Context, w queries.Window) ([]queries.RegionShare, error) {
	return get[[]queries.RegionShare](ctx, c, "/api/regions", "regions", windowQuery(w))
}

// ChangeFailureRate lists change failure rates in w (GET /api/change-failure-rate).
func (c *Client) ChangeFailureRate(ctx context.Context, w queries.Window) ([]queries.ChangeFailure, error) {
	return get[[]queries.ChangeFailure](ctx, c, "/api/change-failure-rate", "change_failure_rate", windowQuery(w))
}

// Series lists the error series in w (GET /api/series).
func (c *Client) Series(ctx context.Context, w queries.Window) ([]queries.SeriesPoint, error) {
	return get[[]queries.SeriesPoint](ctx, c, "/api/series", "series", windowQuery(w))
}

// Topology lists the dependency edges used for w (GET /api/topology).
func (c *Client) Topology(ctx context.Context, w queries.Window) ([]queries.Edge, error) {
	return get[[]queries.Edge](ctx, c, "/api/topology", "edges", windowQuery(w))
}

// EventSpan returns the span of the events the server holds (GET
// /api/ingest).
func (c *Client) EventSpan(ctx context.Context) (queries.EventSpan, error) {
	var h struct {
		Events         int64     `json:"events"`
		FirstEvent     time.Time `json:"first_event"`
		LastEvent      time.Time `json:"last_event"`
		LastErrorEvent time.Time `json:"last_error_event"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/ingest", nil, nil, &h); err != nil {
		return queries.EventSpan{}, err
	}
	return queries.EventSpan{First: h.FirstEvent.UTC(), Last: h.LastEvent.UTC(), LastError: h.LastErrorEvent.UTC(), Events: h.Events}, nil
}

// Impact asks for the incidents, suspects, cascade, regions and change
// failure rate of w, one API call each.
func (c *Client) Impact(ctx context.Context, w queries.Window) (queries.Impact, error) {
	var im queries.Impact
	var err error
	if im.Incidents, err = c.Incidents(ctx, w); err != nil {
		return im, fmt.Errorf("incidents: %w", err)
	}
	if im.Suspects, err = c.Suspects(ctx, w); err != nil {
		return im, fmt.Errorf("suspects: %w", err)
	}
	if im.Cascade, err = c.Cascade(ctx, w); err != nil {
		return im, fmt.Errorf("cascade: %w", err)
	}
	if im.Regions, err = c.Regions(ctx, w); err != nil {
		return im, fmt.Errorf("regions: %w", err)
	}
	if im.ChangeFailure, err = c.ChangeFailureRate(ctx, w); err != nil {
		return im, fmt.Errorf("change failure rate: %w", err)
	}
	return im, nil
}

// Stats returns the totals, top errors, dead letters and ingest positions
// of w (GET /api/stats).
func (c *Client) Stats(ctx context.Context, w queries.Window, topErrors int) (queries.WindowStats, error) {
	q := windowQuery(w)
	if topErrors > 0 {
		q.Set("limit", fmt.Sprint(topErrors))
	}
	var st queries.WindowStats
	err := c.do(ctx, http.MethodGet, "/api/stats", q, nil, &st)
	return st, err
}

// Health reports whether the server answers /healthz with 200.
func (c *Client) Health(ctx context.Context) error {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("ask faultline server %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return &Error{Status: resp.StatusCode, Message: strings.TrimSpace(string(b))}
	}
	return nil
}
