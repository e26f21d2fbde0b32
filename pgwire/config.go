package pgwire

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Config is the PostgreSQL endpoint of faultline serve (config section
// serve.postgres).
type Config struct {
	Listen   string `mapstructure:"listen"`   // host:port; "" = off
	Username string `mapstructure:"username"` // the one user a password logs in; any user name without a password
	Password string `mapstructure:"password"` // SCRAM-SHA-256; "" = no password (loopback addresses only)
	TLSCert  string `mapstructure:"tls_cert"` // PEM certificate file; with TLSKey, clients may use TLS (sslmode=require)
	TLSKey   string `mapstructure:"tls_key"`
	// MaxConnections is how many clients may be connected at once; one more
	// is refused with SQLSTATE 53300.
	MaxConnections int `mapstructure:"max_connections"`
	// IdleTimeout closes a connection that sends nothing for this long
	// (idle or in a transaction); 0 = never.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// MaxMessageBytes is the largest message a client may send (a query
	// text, a Bind with its parameters); a larger one closes the connection.
	MaxMessageBytes int `mapstructure:"max_message_bytes"`
}

// DefaultConfig is off; once listening: user faultline, 32 connections,
// idle connections closed after 1h, 1 MiB messages.
func DefaultConfig() Config {
	return Config{Username: "faultline", MaxConnections: 32, IdleTimeout: time.Hour, MaxMessageBytes: 1 << 20}
}

// Enabled reports whether the endpoint listens.
func (c Config) Enabled() bool { return c.Listen != "" }

// Validate names every invalid key, its value and what is allowed. Without
// a password only a loopback address may be listened on.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		errs = append(errs, fmt.Errorf("serve.postgres.listen: %q is not allowed: use host:port such as 127.0.0.1:5432", c.Listen))
	} else if c.Password == "" && !loopback(host) {
		errs = append(errs, fmt.Errorf("serve.postgres.listen: %s is not a loopback address and serve.postgres.password is empty: set a password (FAULTLINE_SERVE_POSTGRES_PASSWORD) or listen on 127.0.0.1", c.Listen))
	}
	if c.Username == "" || strings.ContainsAny(c.Username, "\x00") {
		errs = append(errs, fmt.Errorf("serve.postgres.username: %q is not allowed: name the user clients log in as, such as faultline", c.Username))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("serve.postgres.tls_cert/serve.postgres.tls_key: set both (PEM files) or neither"))
	}
	if c.MaxConnections <= 0 {
		errs = append(errs, fmt.Errorf("serve.postgres.max_connections: %d is not allowed: use at least 1, such as 32", c.MaxConnections))
	}
	if c.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("serve.postgres.idle_timeout: %s is not allowed: use 0 (never) or a duration such as 1h", c.IdleTimeout))
	}
	if c.MaxMessageBytes < 4096 {
		errs = append(errs, fmt.Errorf("serve.postgres.max_message_bytes: %d is not allowed: use at least 4096, such as 1048576", c.MaxMessageBytes))
	}
	return errors.Join(errs...)
}

// loopback reports a host that only this machine reaches: a loopback IP or
// localhost. An empty host (all interfaces) is not.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
