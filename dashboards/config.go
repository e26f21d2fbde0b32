package dashboards

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Config is the HTTP side of faultline serve (config section serve).
type Config struct {
	Listen          string        `mapstructure:"listen"`
	Token           string        `mapstructure:"token"`    // bearer token required on every route but /healthz; "" = none
	Username        string        `mapstructure:"username"` // basic auth, with Password; "" = none
	Password        string        `mapstructure:"password"`
	Refresh         time.Duration `mapstructure:"refresh"`          // live refresh of pages while ingest runs; 0 = off
	DefaultRange    time.Duration `mapstructure:"default_range"`    // time range shown when the URL names none
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"` // how long in-flight requests may finish on shutdown
	CacheEntries    int           `mapstructure:"cache_entries"`    // correlation answers kept while the data is unchanged; 0 = no cache
	// AllowedHosts are host names (no port) the server answers to besides
	// its own (see guard); "*" answers any Host.
	AllowedHosts []string `mapstructure:"allowed_hosts"`
}

// DefaultConfig listens on localhost only.
func DefaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		Refresh:         10 * time.Second,
		DefaultRange:    6 * time.Hour,
		ShutdownTimeout: 10 * time.Second,
		CacheEntries:    256,
		AllowedHosts:    []string{},
	}
}

// Validate names every invalid key, its value and what is allowed.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("serve.listen: %q is not allowed: use host:port such as 127.0.0.1:8080", c.Listen))
	}
	if (c.Username == "") != (c.Password == "") {
		errs = append(errs, fmt.Errorf("serve.username/serve.password: set both or neither"))
	}
	if c.Refresh < 0 || (c.Refresh > 0 && c.Refresh < time.Second) {
		errs = append(errs, fmt.Errorf("serve.refresh: %s is not allowed: use 0 (off) or at least 1s", c.Refresh))
	}
	if c.DefaultRange < time.Minute {
		errs = append(errs, fmt.Errorf("serve.default_range: %s is not allowed: use at least 1m, such as 6h", c.DefaultRange))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("serve.shutdown_timeout: %s is not allowed: must be a positive duration such as 10s", c.ShutdownTimeout))
	}
	if c.CacheEntries < 0 {
		errs = append(errs, fmt.Errorf("serve.cache_entries: %d is not allowed: use 0 (no cache) or more, such as 256", c.CacheEntries))
	}
	for _, h := range c.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/ \t@") || (strings.Count(h, ":") == 1 && h != "*") {
			errs = append(errs, fmt.Errorf("serve.allowed_hosts: %q is not allowed: use a host name or address without scheme or port, such as faultline.example.com, or \"*\"", h))
		}
	}
	return errors.Join(errs...)
}
