package dashboards

import (
	"errors"
	"fmt"
	"net"
)

// Config is the HTTP side of faultline serve.
type Config struct {
	Listen   string `mapstructure:"listen"`
	Token    string `mapstructure:"token"`    // bearer token required on every route but /healthz; "" = none
	Username string `mapstructure:"username"` // basic auth, with Password; "" = none
	Password string `mapstructure:"password"`
}

// DefaultConfig listens on localhost only.
func DefaultConfig() Config { return Config{Listen: "127.0.0.1:8080"} }

// Validate names every invalid key, its value and what is allowed.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("serve.listen: %q is not allowed: use host:port such as 127.0.0.1:8080", c.Listen))
	}
	if (c.Username == "") != (c.Password == "") {
		errs = append(errs, fmt.Errorf("serve.username/serve.password: set both or neither"))
	}
	return errors.Join(errs...)
}
