package report

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/robfig/cron/v3"
)

// Config is the reports: section: the report schedules faultline serve runs.
type Config struct {
	Schedules []Schedule `mapstructure:"schedules"`
}

// Schedule is one scheduled report. Zero fields take the defaults below
// (see Schedule.WithDefaults; faultline applies them when it loads the
// configuration, so that `faultline config` prints them).
type Schedule struct {
	Name   string        `mapstructure:"name"`   // names the files: <name>-<until>.<format>
	Cron   string        `mapstructure:"cron"`   // 5 fields (minute first), 6 with seconds, or @daily, @every 1h...
	Window time.Duration `mapstructure:"window"` // the report covers [fire time - window, fire time); default 24h
	Format string        `mapstructure:"format"` // md, html or json; default md
	Dir    string        `mapstructure:"dir"`    // output directory; default reports
	Title  string        `mapstructure:"title"`  // default "Impact report: <name>"
	// Webhook, when its URL is set, receives a summary after each report.
	Webhook Webhook `mapstructure:"webhook"`
}

// Webhook is where a schedule POSTs its summary.
type Webhook struct {
	URL        string        `mapstructure:"url"`         // http or https; "" = no webhook
	Payload    string        `mapstructure:"payload"`     // json (Brief) or markdown; default json
	Token      string        `mapstructure:"token"`       // sent as "Authorization: Bearer <token>"; "" = none
	Timeout    time.Duration `mapstructure:"timeout"`     // per attempt; default 10s
	Retries    int           `mapstructure:"retries"`     // attempts after the first; default 4 (-1, or any negative number, = none)
	Backoff    time.Duration `mapstructure:"backoff"`     // first retry delay, doubled each time, with jitter; default 1s
	MaxBackoff time.Duration `mapstructure:"max_backoff"` // cap on one delay; default 1m
}

// DefaultConfig has no schedules.
func DefaultConfig() Config { return Config{Schedules: []Schedule{}} }

// WithDefaults returns c with the defaults filled in each schedule; c's
// own schedules are not changed.
func (c Config) WithDefaults() Config {
	if c.Schedules == nil {
		return c
	}
	out := make([]Schedule, len(c.Schedules))
	for i, s := range c.Schedules {
		out[i] = s.WithDefaults()
	}
	return Config{Schedules: out}
}

// WithDefaults fills the zero fields of s. Applying it twice changes
// nothing: no retries stays -1, not 0 (which would read as the default 4
// the second time).
func (s Schedule) WithDefaults() Schedule {
	if s.Window == 0 {
		s.Window = 24 * time.Hour
	}
	if s.Format == "" {
		s.Format = FormatMarkdown
	}
	if s.Dir == "" {
		s.Dir = "reports"
	}
	if s.Title == "" {
		s.Title = "Impact report: " + s.Name
	}
	w := &s.Webhook
	if w.Payload == "" {
		w.Payload = "json"
	}
	if w.Timeout == 0 {
		w.Timeout = 10 * time.Second
	}
	switch {
	case w.Retries == 0:
		w.Retries = 4
	case w.Retries < 0:
		w.Retries = -1
	}
	if w.Backoff == 0 {
		w.Backoff = time.Second
	}
	if w.MaxBackoff == 0 {
		w.MaxBackoff = time.Minute
	}
	return s
}

// cronParser accepts standard 5-field specs, an optional leading seconds
// field, and descriptors such as @hourly and @every 10m.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a schedule's cron expression.
func ParseCron(spec string) (cron.Schedule, error) { return cronParser.Parse(spec) }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate names every invalid key, its value and what is allowed.
func (c Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, raw := range c.Schedules {
		s := raw.WithDefaults()
		key := fmt.Sprintf("reports.schedules[%d]", i)
		if !nameRE.MatchString(s.Name) {
			errs = append(errs, fmt.Errorf("%s.name: %q is not allowed: use 1-64 letters, digits, '.', '_' or '-' (it names the report files)", key, s.Name))
		} else if seen[s.Name] {
			errs = append(errs, fmt.Errorf("%s.name: %q is used by another schedule: names must be unique", key, s.Name))
		}
		seen[s.Name] = true
		if _, err := ParseCron(s.Cron); err != nil {
			errs = append(errs, fmt.Errorf("%s.cron: %q is not allowed: %w (use 5 fields such as \"0 6 * * *\", 6 with seconds, or @daily / @every 1h)", key, s.Cron, err))
		}
		if s.Window < time.Minute {
			errs = append(errs, fmt.Errorf("%s.window: %s is not allowed: must be at least 1m", key, s.Window))
		}
		if !slices.Contains(Formats, s.Format) {
			errs = append(errs, fmt.Errorf("%s.format: %q is not allowed: use md, html or json", key, s.Format))
		}
		w := s.Webhook
		if w.URL != "" {
			u, err := url.Parse(w.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("%s.webhook.url: %q is not allowed: use an http:// or https:// URL", key, w.URL))
			}
		}
		if w.Payload != "json" && w.Payload != "markdown" {
			errs = append(errs, fmt.Errorf("%s.webhook.payload: %q is not allowed: use json or markdown", key, w.Payload))
		}
		if w.Timeout < 0 || w.Backoff < 0 || w.MaxBackoff < 0 {
			errs = append(errs, fmt.Errorf("%s.webhook: timeout, backoff and max_backoff must not be negative", key))
		}
		if w.MaxBackoff < w.Backoff {
			errs = append(errs, fmt.Errorf("%s.webhook.max_backoff: %s is not allowed: must be at least backoff (%s)", key, w.MaxBackoff, w.Backoff))
		}
		if w.Retries > 20 {
			errs = append(errs, fmt.Errorf("%s.webhook.retries: %d is not allowed: use 0-20", key, w.Retries))
		}
	}
	return errors.Join(errs...)
}
