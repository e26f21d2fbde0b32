package dashboards

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/queries"
)

// FuzzParseView: any URL query either parses into a valid window or is a
// 400 with a message; it never panics.
func FuzzParseView(f *testing.F) {
	for _, seed := range []string{
		"", "since=2025-10-20T07:00:00Z&until=2025-10-20T08:00:00Z", "range=7d", "range=all&since=2025-10-20",
		"since=yesterday", "limit=0", "risk=spicy", "range=-5h", "until=2025-10-20T07:00", "range=99999999d",
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, "")
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	s, err := New(Options{Config: DefaultConfig(), Engine: queries.NewEngine(db.DB, queries.DefaultCorrelationConfig(), nil),
		Sandbox: sandboxStub{}, Now: func() time.Time { return time.Date(2025, 10, 20, 8, 0, 0, 0, time.UTC) }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := url.ParseQuery(raw); err != nil {
			return
		}
		r := httptest.NewRequestWithContext(t.Context(), "GET", "/", nil)
		r.URL.RawQuery = raw
		v, err := s.parseView(ctx, r, 10)
		if err != nil {
			var he httpError
			if !errors.As(err, &he) || he.code != 400 || he.msg == "" {
				t.Fatalf("parseView(%q) = %v, want a 400 with a message", raw, err)
			}
			return
		}
		w := v.Window
		if !w.Since.IsZero() && !w.Until.IsZero() && !w.Since.Before(w.Until) {
			t.Fatalf("parseView(%q) window %v..%v is empty", raw, w.Since, w.Until)
		}
		if v.Limit < 1 || v.Limit > maxLimit {
			t.Fatalf("parseView(%q) limit %d", raw, v.Limit)
		}
	})
}

type sandboxStub struct{}

func (sandboxStub) Stream(context.Context, string, queries.RowWriter) (queries.Summary, error) {
	return queries.Summary{}, errors.New("not used")
}

func (sandboxStub) Export(context.Context, string, queries.RowWriter) (queries.Summary, error) {
	return queries.Summary{}, errors.New("not used")
}

func TestParseViewDefaults(t *testing.T) {
	f := newFixture(t, nil)
	b, err := f.opts.Engine.EventSpan(context.Background())
	if err != nil || b.Events == 0 {
		t.Fatalf("fixture bounds: %+v %v", b, err)
	}
	first, afterLast := b.First.UTC().Truncate(time.Minute), b.Last.UTC().Truncate(time.Minute).Add(time.Minute)
	cases := []struct {
		query        string
		since, until time.Time
	}{
		{"", t0.Add(30*time.Minute - 6*time.Hour), t0.Add(30 * time.Minute)},
		{"range=1h", t0.Add(-30 * time.Minute), t0.Add(30 * time.Minute)},
		{"since=2025-10-20T06:00:00Z&range=2h", t0.Add(-time.Hour), t0.Add(time.Hour)},
		{"until=2025-10-20T07:10&range=10m", t0, t0.Add(10 * time.Minute)},
		// since alone: everything from since on (it stopped at since + 6h,
		// hiding what came after); past the data, empty.
		{"since=2025-10-20", time.Date(2025, 10, 20, 0, 0, 0, 0, time.UTC), afterLast},
		{"since=2025-10-21", time.Date(2025, 10, 21, 0, 0, 0, 0, time.UTC), time.Date(2025, 10, 21, 6, 0, 0, 0, time.UTC)},
		// range=all: the data's own span, so pages can show and chart it.
		{"range=all", first, afterLast},
		{"range=all&since=2025-10-20T07:00:00Z", t0, afterLast},
	}
	for _, tc := range cases {
		r := httptest.NewRequestWithContext(t.Context(), "GET", "/?"+tc.query, nil)
		v, err := f.srv.parseView(context.Background(), r, 10)
		if err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		if !v.Window.Since.Equal(tc.since) || !v.Window.Until.Equal(tc.until) {
			t.Errorf("%q: window %v..%v, want %v..%v", tc.query, v.Window.Since, v.Window.Until, tc.since, tc.until)
		}
	}

	// since alone reaches past the latest error to the latest event (a
	// change three hours after the errors), while the default window still
	// ends after the latest error.
	seedEvents(t, f.db, []fixEvent{{id: "late-change", source: "deploy", kind: "change", service: "search", operation: "Deploy", region: "us-east-1", actor: "ci-bot", resource: "search:1.4.3", changeType: "deploy", risk: "low", at: t0.Add(3 * time.Hour)}})
	for query, until := range map[string]time.Time{"since=2025-10-20": t0.Add(3*time.Hour + time.Minute), "": t0.Add(30 * time.Minute)} {
		r := httptest.NewRequestWithContext(t.Context(), "GET", "/?"+query, nil)
		v, err := f.srv.parseView(context.Background(), r, 10)
		if err != nil || !v.Window.Until.Equal(until) {
			t.Errorf("%q after a later change: until %v (%v), want %v", query, v.Window.Until, err, until)
		}
	}
}
