package pgwire

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
)

// serverVersion is the PostgreSQL version the endpoint reports: the
// protocol and catalog level clients may expect, not the SQL dialect.
const serverVersion = "16.0"

// errQuiet ends a connection that needs no log line (a cancel request, a
// client that went away during startup).
var errQuiet = errors.New("connection ended")

// conn is one client connection.
type conn struct {
	srv *Server
	nc  net.Conn
	be  *pgproto3.Backend
	bw  *bufio.Writer
	wb  []byte // encoding buffer
	m   *pgtype.Map

	pid    uint32
	secret [4]byte
	slot   bool

	user     string
	settings map[string]string // SET by the client (lower-case names)
	txn      byte              // 'I' idle, 'T' in a transaction block
	stmts    map[string]*prepared
	portals  map[string]*portal
	skip     bool // an extended-protocol error: discard until Sync

	mu      sync.Mutex
	running context.CancelFunc // the statement being executed, for cancel requests
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, m: pgtype.NewMap(), settings: map[string]string{}, txn: 'I',
		stmts: map[string]*prepared{}, portals: map[string]*portal{}}
	c.setIO(nc)
	return c
}

func (c *conn) setIO(nc net.Conn) {
	c.be = pgproto3.NewBackend(nc, nc)
	c.be.SetMaxBodyLen(c.srv.cfg.MaxMessageBytes)
	c.bw = bufio.NewWriterSize(deadlineWriter{nc, c.srv.cfg.IdleTimeout}, 32<<10)
}

// deadlineWriter gives every write to the client serve.postgres.idle_timeout
// to complete: a client that stops reading its rows is dropped then, and
// its statement with it, instead of holding a sandbox slot.
type deadlineWriter struct {
	nc      net.Conn
	timeout time.Duration
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	if w.timeout > 0 {
		_ = w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	return w.nc.Write(p)
}

func (c *conn) close() {
	for _, p := range c.portals {
		p.close()
	}
	if c.slot {
		c.srv.connections.Dec()
		<-c.srv.slots
	}
	c.nc.Close()
}

// send encodes msg into the output buffer (sent on flush).
func (c *conn) send(msg pgproto3.BackendMessage) error {
	var err error
	c.wb, err = msg.Encode(c.wb[:0])
	if err != nil {
		return err
	}
	_, err = c.bw.Write(c.wb)
	return err
}

func (c *conn) flush() error { return c.bw.Flush() }

// fatal sends a FATAL error and flushes; the caller then closes.
func (c *conn) fatal(code, msg string) error {
	_ = c.send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: msg})
	_ = c.flush()
	return fmt.Errorf("%s: %s", code, msg)
}

// startup reads the startup packet (after an optional TLS upgrade),
// authenticates and sends the session's parameters.
func (c *conn) startup(ctx context.Context) error {
	_ = c.nc.SetDeadline(time.Now().Add(startupTimeout))
	var sm *pgproto3.StartupMessage
	tlsDone := false
	for sm == nil {
		msg, err := c.be.ReceiveStartupMessage()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return errQuiet
			}
			c.srv.refused.WithLabelValues("protocol").Inc()
			return c.fatal("08P01", "invalid startup packet: "+err.Error())
		}
		switch m := msg.(type) {
		case *pgproto3.CancelRequest:
			c.srv.cancel(m.ProcessID, m.SecretKey)
			return errQuiet
		case *pgproto3.SSLRequest:
			if c.srv.tls == nil || tlsDone {
				if _, err := c.nc.Write([]byte{'N'}); err != nil {
					return errQuiet
				}
				continue
			}
			if _, err := c.nc.Write([]byte{'S'}); err != nil {
				return errQuiet
			}
			tc := tls.Server(c.nc, c.srv.tls)
			if err := tc.HandshakeContext(ctx); err != nil {
				return fmt.Errorf("TLS handshake: %w", err)
			}
			c.nc, tlsDone = tc, true
			c.setIO(tc)
		case *pgproto3.GSSEncRequest:
			if _, err := c.nc.Write([]byte{'N'}); err != nil {
				return errQuiet
			}
		case *pgproto3.StartupMessage:
			sm = m
		}
	}
	if sm.ProtocolVersion != pgproto3.ProtocolVersion30 {
		// 3.2 clients accept a NegotiateProtocolVersion down to 3.0.
		_ = c.send(&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0})
	}
	c.user = sm.Parameters["user"]
	if c.user == "" {
		return c.fatal("28000", "no user name in the startup packet: connect as user "+c.srv.cfg.Username)
	}
	if err := c.authenticate(); err != nil {
		return err
	}
	select {
	case c.srv.slots <- struct{}{}:
		c.slot = true
		c.srv.connections.Inc()
	default:
		c.srv.refused.WithLabelValues("too_many").Inc()
		return c.fatal("53300", fmt.Sprintf("sorry, too many clients already (serve.postgres.max_connections is %d)", c.srv.cfg.MaxConnections))
	}
	if err := c.srv.register(c); err != nil {
		return c.fatal("XX000", err.Error())
	}
	for k, v := range sm.Parameters {
		switch k {
		case "user", "database", "options", "replication":
		default:
			c.settings[strings.ToLower(k)] = v
		}
	}
	if sm.Parameters["replication"] != "" && sm.Parameters["replication"] != "false" {
		return c.fatal("0A000", "replication connections are not supported")
	}
	_ = c.send(&pgproto3.AuthenticationOk{})
	for _, name := range reported {
		_ = c.send(&pgproto3.ParameterStatus{Name: name, Value: c.setting(name)})
	}
	_ = c.send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret[:]})
	_ = c.send(&pgproto3.ReadyForQuery{TxStatus: c.txn})
	_ = c.nc.SetDeadline(time.Time{})
	return c.flush()
}

// authenticate runs SCRAM-SHA-256 when a password is configured.
func (c *conn) authenticate() error {
	if c.srv.scram == nil {
		return nil
	}
	failed := func() error {
		c.srv.refused.WithLabelValues("password").Inc()
		return c.fatal("28P01", fmt.Sprintf("password authentication failed for user %q", c.user))
	}
	const mech = "SCRAM-SHA-256"
	if err := c.send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{mech}}); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return errQuiet
	}
	_ = c.be.SetAuthType(pgproto3.AuthTypeSASL)
	msg, err := c.be.Receive()
	if err != nil {
		return errQuiet
	}
	first, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok || first.AuthMechanism != mech {
		return c.fatal("28000", "expected a SASL response for SCRAM-SHA-256: the server requires a password")
	}
	conv := c.srv.scram.NewConversation()
	out, err := conv.Step(string(first.Data))
	if err != nil {
		return failed()
	}
	_ = c.send(&pgproto3.AuthenticationSASLContinue{Data: []byte(out)})
	if err := c.flush(); err != nil {
		return errQuiet
	}
	_ = c.be.SetAuthType(pgproto3.AuthTypeSASLContinue)
	msg, err = c.be.Receive()
	if err != nil {
		return errQuiet
	}
	final, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return c.fatal("28000", "expected the SCRAM client-final message")
	}
	out, err = conv.Step(string(final.Data))
	if err != nil || !conv.Valid() || c.user != c.srv.cfg.Username {
		return failed()
	}
	_ = c.send(&pgproto3.AuthenticationSASLFinal{Data: []byte(out)})
	_ = c.be.SetAuthType(pgproto3.AuthTypeOk)
	return nil
}

// serve reads and answers messages until the client leaves, the idle
// timeout passes or the server stops.
func (c *conn) serve(ctx context.Context) {
	for {
		if d := c.srv.cfg.IdleTimeout; d > 0 {
			_ = c.nc.SetReadDeadline(time.Now().Add(d))
		}
		msg, err := c.be.Receive()
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				_ = c.fatal("57P05", fmt.Sprintf("terminating connection due to idle timeout (serve.postgres.idle_timeout is %s)", c.srv.cfg.IdleTimeout))
			case ctx.Err() != nil:
				_ = c.fatal("57P01", "terminating connection: faultline serve is shutting down")
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed):
			default:
				_ = c.fatal("08P01", "invalid message: "+err.Error())
			}
			return
		}
		_ = c.nc.SetReadDeadline(time.Time{})
		if err := c.dispatch(ctx, msg); err != nil {
			if !errors.Is(err, errQuiet) {
				c.srv.log.Debug("postgres connection ended", "remote", c.nc.RemoteAddr().String(), "err", err)
			}
			return
		}
	}
}

// dispatch answers one message. An error ends the connection.
func (c *conn) dispatch(ctx context.Context, msg pgproto3.FrontendMessage) error {
	if c.skip {
		switch msg.(type) {
		case *pgproto3.Sync:
		case *pgproto3.Terminate:
			return errQuiet
		default:
			return nil
		}
	}
	var err error
	switch m := msg.(type) {
	case *pgproto3.Query:
		err = c.simpleQuery(ctx, m.String)
	case *pgproto3.Parse:
		err = c.parse(ctx, m)
	case *pgproto3.Bind:
		err = c.bind(m)
	case *pgproto3.Describe:
		err = c.describe(m)
	case *pgproto3.Execute:
		err = c.execute(ctx, m)
	case *pgproto3.Close:
		if m.ObjectType == 'S' {
			delete(c.stmts, m.Name)
		} else if p := c.portals[m.Name]; p != nil {
			p.close()
			delete(c.portals, m.Name)
		}
		err = c.send(&pgproto3.CloseComplete{})
	case *pgproto3.Sync:
		c.skip = false
		if c.txn == 'I' {
			c.closeCursors()
		}
		_ = c.send(&pgproto3.ReadyForQuery{TxStatus: c.txn})
		return c.flush()
	case *pgproto3.Flush:
		return c.flush()
	case *pgproto3.Terminate:
		return errQuiet
	case *pgproto3.FunctionCall:
		err = c.fail(pgError{code: "0A000", msg: "the function call protocol is not supported: call functions in a SELECT"})
	case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
		return nil // no COPY is ever started; PostgreSQL ignores these too
	default:
		return c.fatal("08P01", fmt.Sprintf("unexpected message %T", msg))
	}
	if err != nil {
		return err
	}
	return nil
}

// fail sends err as an ErrorResponse. In the extended protocol the rest
// of the batch is skipped until Sync. Only a failure to write is returned.
func (c *conn) fail(err error) error {
	pe := asPGError(err)
	c.srv.statements.WithLabelValues(pe.code[:2]).Inc()
	c.skip = true
	resp := &pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: pe.code, Message: pe.msg, Hint: pe.hint}
	if err := c.send(resp); err != nil {
		return err
	}
	return nil
}

// cancelRunning cancels the statement being executed, if any.
func (c *conn) cancelRunning() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running != nil {
		c.running()
	}
}

func (c *conn) setRunning(cancel context.CancelFunc) {
	c.mu.Lock()
	c.running = cancel
	c.mu.Unlock()
}
