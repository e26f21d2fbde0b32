package dashboards

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/queries"
)

// httpError is an error with the status code and message the caller sees.
type httpError struct {
	code int
	msg  string
}

func (e httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// view is the time range and filters of a request, taken from its URL
// query so a view can be shared as a link.
type view struct {
	Window   queries.Window
	Range    time.Duration
	Explicit bool // since or until came from the URL
	Filter   queries.ChangeFilter
	Service  string // series/suspect filters
	Region   string
	Incident string
	Limit    int
	// Around is the incident a page's default range was centred on ("":
	// the URL chose the range, or there was no incident).
	Around string
	raw    url.Values
}

// Query returns the URL query of the view with key set to value ("" deletes),
// for links that keep the time range and filters.
func (v view) Query(kv ...string) string {
	q := url.Values{}
	for k, vs := range v.raw {
		q[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Get returns a raw URL parameter (for form fields).
func (v view) Get(key string) string { return v.raw.Get(key) }

const maxLimit = 10000

// apiView is parseView for a JSON API route that applies the time range
// (since, until, range) and the parameters params. It refuses any other
// parameter, and one given twice: a typo (servce=cart), or a filter the
// route does not apply (service= on /api/incidents), used to answer
// everything, unfiltered, as if it had been understood.
func (s *Server) apiView(r *http.Request, defaultLimit int, params ...string) (view, error) {
	if err := checkParams(r, append([]string{"since", "until", "range"}, params...)...); err != nil {
		return view{}, err
	}
	return s.parseView(r.Context(), r, defaultLimit)
}

// checkParams refuses a URL parameter that is not one of known, and one
// given twice. Routes without a time range use it too: /api/ingest,
// /api/incidents/{id} and /api/events/{id} used to answer 200 whatever
// their URL held (/api/events/ID?a=2026-03-02 with at mistyped read all
// time, as if it had been understood).
func checkParams(r *http.Request, known ...string) error {
	for key, vals := range r.URL.Query() {
		if !slices.Contains(known, key) {
			if len(known) == 0 {
				return badRequest("unknown parameter %q: %s takes no parameters (docs/api.md)", key, r.URL.Path)
			}
			hint := ""
			if c := status.Closest(key, known); c != "" {
				hint = "did you mean " + c + "? "
			}
			return badRequest("unknown parameter %q: %s%s takes %s (docs/api.md)", key, hint, r.URL.Path, strings.Join(known, ", "))
		}
		if len(vals) > 1 {
			return badRequest("%s: given %d times: give it once", key, len(vals))
		}
	}
	return nil
}

// parseView reads since, until, range, limit and the filters. A missing
// until is since plus range when both are given, else the minute after the
// latest error (else the latest event, else now); a missing since is until
// minus range (default cfg.DefaultRange). The latest error
// is the default "now" so that future-dated events (scheduled maintenance)
// do not move the view away from the errors. range=all leaves
// missing bounds open (all time).
func (s *Server) parseView(ctx context.Context, r *http.Request, defaultLimit int) (view, error) {
	q := r.URL.Query()
	v := view{raw: q, Range: s.cfg.DefaultRange, Limit: defaultLimit}
	parseTime := func(key string) (time.Time, error) { return s.parseWhen(key, q.Get(key)) }
	var err error
	if v.Window.Since, err = parseTime("since"); err != nil {
		return v, err
	}
	if v.Window.Until, err = parseTime("until"); err != nil {
		return v, err
	}
	open := false
	if val := strings.TrimSpace(q.Get("range")); val == "all" {
		open = true
	} else if val != "" {
		d, err := parseRange(val)
		if err != nil {
			return v, badRequest("range: %q is not allowed: use a positive duration such as 90m, 6h or 7d, or all", val)
		}
		v.Range = d
	}
	if val := strings.TrimSpace(q.Get("limit")); val != "" {
		n, err := strconv.Atoi(val)
		if err != nil || n <= 0 || n > maxLimit {
			return v, badRequest("limit: %q is not allowed: use a whole number from 1 to %d", val, maxLimit)
		}
		v.Limit = n
	}
	v.Explicit = !v.Window.Since.IsZero() || !v.Window.Until.IsZero()
	switch {
	case open:
		// range=all: a missing bound is the data's own (its first event,
		// the minute after its last), so pages show the span and chart it.
		if v.Window.Since.IsZero() || v.Window.Until.IsZero() {
			b, err := s.engine.EventSpan(ctx)
			if err != nil {
				return v, err
			}
			if b.Events > 0 && v.Window.Since.IsZero() {
				v.Window.Since = b.First.UTC().Truncate(time.Minute)
			}
			if b.Events > 0 && v.Window.Until.IsZero() {
				v.Window.Until = b.Last.UTC().Truncate(time.Minute).Add(time.Minute)
			}
		}
		if !v.Window.Since.IsZero() && !v.Window.Until.IsZero() && !v.Window.Since.Before(v.Window.Until) {
			return v, badRequest("since (%s) must be before until (%s)", v.Window.Since.Format(time.RFC3339), v.Window.Until.Format(time.RFC3339))
		}
		v.Range = 0
	case !v.Window.Since.IsZero() && !v.Window.Until.IsZero():
	case !v.Window.Since.IsZero() && strings.TrimSpace(q.Get("range")) != "":
		v.Window.Until = v.Window.Since.Add(v.Range) // since and range: that long from since
	case !v.Window.Since.IsZero():
		// since alone: everything from since on, to the minute after the
		// latest event (it used to stop at since + serve.default_range,
		// hiding what came later); a since past the data gets an empty
		// range.
		// (The latest error is never after the latest event, so this is
		// defaultUntil's last case first, from one EventSpan read.)
		b, err := s.engine.EventSpan(ctx)
		if err != nil {
			return v, err
		}
		v.Window.Until = s.now().UTC().Truncate(time.Minute).Add(time.Minute)
		if b.Events > 0 {
			v.Window.Until = b.Last.UTC().Truncate(time.Minute).Add(time.Minute)
		}
		if !v.Window.Until.After(v.Window.Since) {
			v.Window.Until = v.Window.Since.Add(v.Range)
		}
	default:
		if v.Window.Until.IsZero() {
			if v.Window.Until, err = s.defaultUntil(ctx); err != nil {
				return v, err
			}
		}
		v.Window.Since = v.Window.Until.Add(-v.Range)
	}
	if !open && !v.Window.Since.Before(v.Window.Until) {
		return v, badRequest("since (%s) must be before until (%s)", v.Window.Since.Format(time.RFC3339), v.Window.Until.Format(time.RFC3339))
	}
	v.Filter = queries.ChangeFilter{
		Service: q.Get("service"), Operation: q.Get("operation"), Actor: q.Get("actor"),
		Region: q.Get("region"), ChangeType: q.Get("type"), RiskClass: q.Get("risk"),
	}
	if rc := v.Filter.RiskClass; rc != "" {
		switch rc {
		case "critical", "high", "medium", "low":
		default:
			return v, badRequest("risk: %q is not allowed: use critical, high, medium or low", rc)
		}
	}
	v.Service, v.Region, v.Incident = q.Get("service"), q.Get("region"), q.Get("incident")
	return v, nil
}

// defaultUntil is a window's end when the request names none: the minute
// after the latest error event, else after the latest event, else now.
func (s *Server) defaultUntil(ctx context.Context) (time.Time, error) {
	b, err := s.engine.EventSpan(ctx)
	if err != nil {
		return time.Time{}, err
	}
	switch {
	case !b.LastError.IsZero():
		return b.LastError.Truncate(time.Minute).Add(time.Minute), nil
	case b.Events > 0:
		return b.Last.Truncate(time.Minute).Add(time.Minute), nil
	default:
		return s.now().UTC().Truncate(time.Minute).Add(time.Minute), nil
	}
}

// parseWhen reads a time parameter as faultline query and report do:
// RFC 3339, 2006-01-02T15:04, a date (UTC), now, or relative to now (-2h,
// -30m, -7d). "" is the zero time.
func (s *Server) parseWhen(key, val string) (time.Time, error) {
	val = strings.TrimSpace(val)
	switch {
	case val == "":
		return time.Time{}, nil
	case val == "now":
		return s.now().UTC(), nil
	case strings.HasPrefix(val, "-") || strings.HasPrefix(val, "+"):
		var d time.Duration
		var err error
		if n, ok := strings.CutSuffix(val, "d"); ok {
			var days float64
			if days, err = strconv.ParseFloat(n, 64); err == nil {
				d = time.Duration(days * float64(24*time.Hour))
			}
		} else {
			d, err = time.ParseDuration(val)
		}
		if err == nil {
			return s.now().UTC().Add(d), nil
		}
	default:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
			if t, err := time.Parse(layout, val); err == nil {
				return t.UTC(), nil
			}
		}
	}
	return time.Time{}, badRequest("%s: %q is not a time: use RFC 3339 such as 2025-10-20T07:00:00Z, a date such as 2025-10-20, now, or a time relative to now such as -2h or -7d", key, val)
}

// parseRange accepts Go durations plus a day suffix (7d).
func parseRange(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 3650 {
			return 0, fmt.Errorf("bad days")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute {
		return 0, fmt.Errorf("bad duration")
	}
	return d, nil
}

// pageView is parseView for the pages: without since, until or range in
// the URL, the window is the one around the latest incident of the
// default range (from an hour before its onset, or ten minutes before its
// top suspect when that came earlier, to half an hour after its recovery,
// at most to the default range's end), so the chart shows the outage
// rather than hours of quiet. Without an incident it is the default range.
// The API keeps parseView's default: its answers do not move with the
// data's shape.
func (s *Server) pageView(ctx context.Context, r *http.Request, defaultLimit int) (view, error) {
	v, err := s.parseView(ctx, r, defaultLimit)
	if err != nil || v.Explicit || v.raw.Get("range") != "" {
		return v, err
	}
	sums, err := s.incidentSummaries(ctx, v.Window)
	if err != nil || len(sums) == 0 {
		return v, err
	}
	latest := sums[0] // newest onset first
	since := latest.Onset.Add(-time.Hour)
	if ts := latest.TopSuspect; ts != nil && ts.Time.Add(-10*time.Minute).Before(since) {
		since = ts.Time.Add(-10 * time.Minute)
	}
	until := v.Window.Until
	if !latest.Ongoing && !latest.Recovery.IsZero() && latest.Recovery.Add(30*time.Minute).Before(until) {
		until = latest.Recovery.Add(30 * time.Minute)
	}
	if until.Sub(since) < time.Hour {
		since = until.Add(-time.Hour)
	}
	v.Window = queries.Window{Since: since.UTC().Truncate(time.Minute), Until: until.UTC()}
	v.Around = latest.ID
	return v, nil
}
