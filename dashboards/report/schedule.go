package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/faultline/faultline/queries"
)

// Scheduler runs report schedules: at each cron time it builds the report
// for the window that ends then, writes it atomically with a timestamped
// name and, if configured, POSTs a summary to a webhook.
type Scheduler struct {
	schedules []Schedule
	specs     []cron.Schedule
	src       Source
	log       *slog.Logger
	client    *http.Client

	// now and sleep are the clock; tests may replace them before Run.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	// jitter returns a value in [0, n); replaceable for tests.
	jitter func(n int64) int64
}

// NewScheduler validates cfg and returns a scheduler for its schedules.
func NewScheduler(cfg Config, src Source, log *slog.Logger) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Scheduler{
		src: src, log: log,
		client: &http.Client{},
		now:    time.Now,
		sleep:  sleepCtx,
		jitter: rand.Int64N,
	}
	for _, sc := range cfg.Schedules {
		sc = sc.WithDefaults()
		spec, err := ParseCron(sc.Cron)
		if err != nil {
			return nil, err // unreachable: Validate parsed it
		}
		s.schedules = append(s.schedules, sc)
		s.specs = append(s.specs, spec)
	}
	return s, nil
}

// Run runs every schedule until ctx is done, then returns nil. A schedule
// that fails, or whose webhook is not delivered, is logged with the error
// and runs again at its next time: Run never returns an error, so it can
// share an errgroup with ingest without stopping it.
func (s *Scheduler) Run(ctx context.Context) error {
	if len(s.schedules) == 0 {
		return nil
	}
	var wg sync.WaitGroup
	for i := range s.schedules {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, s.schedules[i], s.specs[i])
		}()
	}
	s.log.Info("report schedules started", "schedules", len(s.schedules))
	wg.Wait()
	return nil
}

func (s *Scheduler) loop(ctx context.Context, sc Schedule, spec cron.Schedule) {
	last := s.now().UTC() // cron times are UTC unless the spec starts with CRON_TZ=
	for {
		next := spec.Next(last)
		if next.IsZero() {
			s.log.Warn("report schedule never fires again, stopping it", "schedule", sc.Name, "cron", sc.Cron)
			return
		}
		if err := s.sleep(ctx, next.Sub(s.now())); err != nil {
			return
		}
		// Times missed while a slow report ran are skipped, not queued.
		last = next
		if now := s.now().UTC(); now.After(last) {
			last = now
		}
		path, err := s.Fire(ctx, sc, next)
		if ctx.Err() != nil {
			return
		}
		var we *WebhookError
		if err != nil && !errors.As(err, &we) {
			s.log.Error("scheduled report failed, will run again at its next time", "schedule", sc.Name, "err", err)
			continue
		}
		// A webhook not delivered was logged at ERROR, with its error, by
		// deliver; the report is written all the same.
		s.log.Info("scheduled report written", "schedule", sc.Name, "path", path)
	}
}

// Fire builds, writes and delivers one report of sc for the window ending
// at `at`. It returns the report's path. When the webhook does not take
// the summary (after its retries) the failure is logged and Fire returns
// the path, the report being written, with a *WebhookError. A panic in
// report code is turned into an error.
func (s *Scheduler) Fire(ctx context.Context, sc Schedule, at time.Time) (path string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("report schedule %s panicked: %v", sc.Name, p)
		}
	}()
	sc = sc.WithDefaults()
	at = at.UTC().Truncate(time.Second)
	r, err := Build(ctx, s.src, Options{
		Title:  sc.Title,
		Window: queries.Window{Since: at.Add(-sc.Window), Until: at},
		Now:    s.now(),
	})
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(sc.Dir, 0o755); err != nil {
		return "", fmt.Errorf("create report directory %s: %w", sc.Dir, err)
	}
	path = filepath.Join(sc.Dir, fmt.Sprintf("%s-%s%s", sc.Name, at.Format("20060102T150405Z"), Ext(sc.Format)))
	assets := ""
	if sc.Format == FormatMarkdown {
		assets = AssetsDir(path)
	}
	rd, err := Render(r, sc.Format, assets)
	if err != nil {
		return "", err
	}
	if err := Write(path, rd); err != nil {
		return "", err
	}
	if sc.Webhook.URL != "" {
		if err := s.deliver(ctx, sc, NewBrief(r, sc.Name, path, sc.Format)); err != nil {
			return path, err
		}
	}
	return path, nil
}

// WebhookError says that a report was written but its schedule's webhook
// did not take the summary.
type WebhookError struct {
	Schedule string
	URL      string // without credentials and query string
	Attempts int    // 0: not sent (the payload could not be built)
	Err      error  // the last attempt's error
}

func (e *WebhookError) Error() string {
	if e.Attempts == 0 {
		return fmt.Sprintf("webhook %s of schedule %s not sent: %v", e.URL, e.Schedule, e.Err)
	}
	return fmt.Sprintf("webhook %s of schedule %s not delivered after %d attempt(s): %v", e.URL, e.Schedule, e.Attempts, e.Err)
}

func (e *WebhookError) Unwrap() error { return e.Err }

// deliver POSTs the brief, retrying transient failures (network errors,
// 408, 429 and 5xx) with exponential backoff and jitter, and logs the
// outcome. It returns a *WebhookError when the webhook did not accept it.
func (s *Scheduler) deliver(ctx context.Context, sc Schedule, b Brief) error {
	w := sc.Webhook
	var body []byte
	contentType := "application/json"
	var err error
	if w.Payload == "markdown" {
		body, err = b.Markdown()
		contentType = "text/markdown; charset=utf-8"
	} else {
		body, err = json.Marshal(b)
	}
	target := redact(w.URL)
	if err != nil {
		s.log.Error("webhook payload could not be built, not sent", "schedule", sc.Name, "err", err)
		return &WebhookError{Schedule: sc.Name, URL: target, Err: fmt.Errorf("build the payload: %w", err)}
	}
	attempts := 1 + max(w.Retries, 0) // -1: none
	for attempt := 1; ; attempt++ {
		status, err := s.post(ctx, w, body, contentType)
		if err == nil {
			s.log.Info("webhook delivered", "schedule", sc.Name, "url", target, "status", status, "attempts", attempt)
			return nil
		}
		retryable := status == 0 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
		if !retryable || attempt >= attempts || ctx.Err() != nil {
			s.log.Error("webhook not delivered, giving up", "schedule", sc.Name, "url", target, "status", status, "attempts", attempt, "err", err)
			return &WebhookError{Schedule: sc.Name, URL: target, Attempts: attempt, Err: err}
		}
		delay := s.backoff(w, attempt)
		s.log.Warn("webhook attempt failed, retrying", "schedule", sc.Name, "url", target, "status", status, "attempt", attempt, "retry_in", delay, "err", err)
		if serr := s.sleep(ctx, delay); serr != nil {
			s.log.Error("webhook not delivered, shutting down", "schedule", sc.Name, "url", target, "attempts", attempt, "err", err)
			return &WebhookError{Schedule: sc.Name, URL: target, Attempts: attempt, Err: fmt.Errorf("%w (stopped before retrying: %w)", err, serr)}
		}
	}
}

// backoff is the delay after the given failed attempt: Backoff doubled per
// attempt, capped at MaxBackoff, of which the upper half is random ("equal
// jitter") so that many senders do not retry in step.
func (s *Scheduler) backoff(w Webhook, attempt int) time.Duration {
	d := w.Backoff
	for i := 1; i < attempt && d < w.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.MaxBackoff)
	half := int64(d / 2)
	if half <= 0 {
		return d
	}
	return time.Duration(half + s.jitter(half+1))
}

func (s *Scheduler) post(ctx context.Context, w Webhook, body []byte, contentType string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "faultline-report")
	if w.Token != "" {
		req.Header.Set("Authorization", "Bearer "+w.Token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redact(ue.URL) // the error is logged; keep tokens out
		}
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// redact drops credentials and the query string (often a token) from a URL
// before it is logged.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	return u.String()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
