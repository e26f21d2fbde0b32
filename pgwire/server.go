package pgwire

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/xdg-go/scram"

	"github.com/faultline/faultline/queries"
)

// Sandbox is what the endpoint needs of queries.Sandbox: run a statement
// with its parameters, streaming rows, and describe one without running it.
type Sandbox interface {
	StreamArgs(ctx context.Context, sql string, args []any, w queries.RowWriter) (queries.Summary, error)
	Describe(ctx context.Context, sql string) (queries.Description, error)
}

// Server is the PostgreSQL endpoint. Create it with New, run it with Serve.
type Server struct {
	cfg     Config
	sb      Sandbox
	log     *slog.Logger
	tls     *tls.Config
	scram   *scram.Server
	version string // what SELECT version() answers
	slots   chan struct{}

	mu    sync.Mutex
	conns map[uint32]*conn // by process ID, for cancel requests
	next  uint32

	connections prometheus.Gauge
	refused     *prometheus.CounterVec // connections refused, by reason
	statements  *prometheus.CounterVec // statements answered, by SQLSTATE class ("00" ok)
}

// startupTimeout bounds the startup and authentication of a connection.
const startupTimeout = 15 * time.Second

// New checks cfg, loads the TLS certificate and prepares the password
// verifier. duckdbVersion is named in what SELECT version() answers. The
// endpoint's metrics go to reg (nil = none): faultline_postgres_connections,
// faultline_postgres_connections_refused_total{reason} and
// faultline_postgres_statements_total{sqlstate_class}.
func New(cfg Config, sb Sandbox, log *slog.Logger, duckdbVersion string, reg prometheus.Registerer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, sb: sb, log: log, slots: make(chan struct{}, cfg.MaxConnections), conns: map[uint32]*conn{},
		version: "PostgreSQL " + serverVersion + " (faultline; the SQL dialect is DuckDB " + duckdbVersion + ")",
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "faultline_postgres_connections",
			Help: "Clients connected to the PostgreSQL endpoint (serve.postgres.max_connections at most)."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "faultline_postgres_connections_refused_total",
			Help: "Connections the PostgreSQL endpoint refused: password, too_many, protocol."}, []string{"reason"}),
		statements: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "faultline_postgres_statements_total",
			Help: "Statements answered over the PostgreSQL endpoint by SQLSTATE class: 00 ok, 42 refused or invalid, 25 writes, 57 cancelled or timed out, 53 busy."}, []string{"sqlstate_class"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{s.connections, s.refused, s.statements} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register postgres metrics: %w", err)
			}
		}
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("serve.postgres.tls_cert/tls_key: %w (give PEM files of a certificate and its key)", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if cfg.Password != "" {
		client, err := scram.SHA256.NewClient(cfg.Username, cfg.Password, "")
		if err != nil {
			return nil, fmt.Errorf("serve.postgres.password: %w", err)
		}
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return nil, err
		}
		creds := client.GetStoredCredentials(scram.KeyFactors{Salt: string(salt), Iters: 4096})
		s.scram, err = scram.SHA256.NewServer(func(string) (scram.StoredCredentials, error) { return creds, nil })
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Serve accepts connections on ln until ctx ends, then closes ln and every
// connection (a running statement is cancelled) and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("postgres endpoint: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(ctx, nc)
		}()
	}
}

// handle runs one client connection from its startup packet to its end.
func (s *Server) handle(ctx context.Context, nc net.Conn) {
	c := newConn(s, nc)
	defer c.close()
	defer func() {
		// A bug in one session must not take serve (and ingest) down.
		if r := recover(); r != nil {
			s.log.Error("postgres connection failed: internal error", "remote", nc.RemoteAddr().String(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			_ = c.fatal("XX000", fmt.Sprintf("internal error in faultline's PostgreSQL endpoint: %v (please report it)", r))
		}
	}()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	if err := c.startup(ctx); err != nil {
		if !errors.Is(err, errQuiet) {
			s.log.Debug("postgres connection refused", "remote", nc.RemoteAddr().String(), "err", err)
		}
		return
	}
	defer s.forget(c)
	c.serve(ctx)
}

// register gives c a process ID and secret for cancel requests.
func (s *Server) register(c *conn) error {
	if _, err := rand.Read(c.secret[:]); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		s.next++
		if s.next == 0 {
			s.next = 1
		}
		if _, taken := s.conns[s.next]; !taken {
			break
		}
	}
	c.pid = s.next
	s.conns[c.pid] = c
	return nil
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns[c.pid] == c {
		delete(s.conns, c.pid)
	}
}

// cancel cancels the statement running on the connection pid if secret
// is its secret; anything else is ignored, as PostgreSQL does.
func (s *Server) cancel(pid uint32, secret []byte) {
	s.mu.Lock()
	c := s.conns[pid]
	s.mu.Unlock()
	if c == nil || subtle.ConstantTimeCompare(c.secret[:], secret) != 1 {
		return
	}
	c.cancelRunning()
}
