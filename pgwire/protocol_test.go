package pgwire

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// cancelWith sends a CancelRequest for pid with secret on a new connection.
func (f *fixture) cancelWith(pid uint32, secret []byte) error {
	var d net.Dialer
	nc, err := d.DialContext(context.Background(), "tcp", f.addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	b, err := (&pgproto3.CancelRequest{ProcessID: pid, SecretKey: secret}).Encode(nil)
	if err != nil {
		return err
	}
	_, err = nc.Write(b)
	return err
}

// raw connects, optionally completes a startup, sends payload and returns
// everything the server sends until it closes the connection (or 5s).
func (f *fixture) raw(t *testing.T, startup bool, payload []byte) []byte {
	t.Helper()
	var d net.Dialer
	nc, err := d.DialContext(t.Context(), "tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if startup {
		b, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "faultline"}}).Encode(nil)
		if _, err := nc.Write(b); err != nil {
			t.Fatal(err)
		}
		// Read up to ReadyForQuery.
		fe := pgproto3.NewFrontend(nc, nc)
		for {
			msg, err := fe.Receive()
			if err != nil {
				t.Fatalf("startup: %v", err)
			}
			if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
				break
			}
		}
	}
	if _, err := nc.Write(payload); err != nil {
		t.Fatal(err)
	}
	_ = nc.(*net.TCPConn).CloseWrite() // the client is done: EOF after the payload
	out, _ := io.ReadAll(nc)
	return out
}

func startupWithout() []byte {
	b, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"database": "x"}}).Encode(nil)
	return b
}

func msg(typ byte, body []byte) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(body)+4))
	return append(b, body...)
}

// Malformed input ends that connection with a FATAL error (or quietly),
// never the server: the next client is served.
func TestMalformedMessages(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxMessageBytes = 64 << 10
	f := start(t, cfg, defaultQueryConfig())
	huge := make([]byte, 8)
	binary.BigEndian.PutUint32(huge, 1<<30)
	cases := []struct {
		name    string
		startup bool
		payload []byte
		want    string // in the server's answer; "" = closed without one
	}{
		{"startup length too big", false, huge, "invalid startup packet"},
		{"startup length too small", false, []byte{0, 0, 0, 2, 0, 0}, "invalid startup packet"},
		{"unknown protocol code", false, []byte{0, 0, 0, 8, 0x12, 0x34, 0x56, 0x78}, "invalid startup packet"},
		{"startup without user", false, startupWithout(), "no user name"},
		{"startup body not terminated", false, []byte{0, 0, 0, 9, 0, 3, 0, 0, 0}, "invalid startup packet"},
		{"garbage startup parameters", false, []byte{0, 0, 0, 12, 0, 3, 0, 0, 'u', 's', 'e', 'r'}, "invalid startup packet"},
		{"unknown message type", true, msg('!', nil), "unknown message type"},
		{"message over max_message_bytes", true, msg('Q', bytes.Repeat([]byte("a"), 70<<10)), "invalid message"},
		{"negative length", true, []byte{'Q', 0xff, 0xff, 0xff, 0xff}, "invalid message"},
		{"truncated bind", true, msg('B', []byte{0, 0, 0, 5}), "invalid message"},
		{"function call", true, append(msg('F', []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0}), msg('S', nil)...), "function call protocol is not supported"},
		{"bind of a missing statement", true, append(msg('B', []byte{0, 'n', 'o', 0, 0, 0, 0, 0, 0, 0}), msg('S', nil)...), "does not exist"},
		{"copy data out of the blue", true, append(msg('d', []byte("x")), msg('X', nil)...), ""},
		{"client goes away mid-message", true, []byte{'Q', 0, 0, 1, 0, 'S'}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := f.raw(t, tc.startup, tc.payload)
			if tc.want != "" && !bytes.Contains(out, []byte(tc.want)) {
				t.Fatalf("answer %q does not contain %q", out, tc.want)
			}
			c := connect(t, f.url(""))
			var one int
			if err := c.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
				t.Fatalf("the server no longer answers: %v", err)
			}
		})
	}
}

func TestMaxConnections(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxConnections = 1
	f := start(t, cfg, defaultQueryConfig())
	c := connect(t, f.url(""))
	_, err := pgx.Connect(context.Background(), f.url(""))
	if pgCode(err) != "53300" {
		t.Fatalf("second connection: %v", err)
	}
	if got := f.metric(t, "faultline_postgres_connections_refused_total", "reason", "too_many"); got != 1 {
		t.Errorf("refused too_many = %v", got)
	}
	if got := f.metric(t, "faultline_postgres_connections", "", ""); got != 1 {
		t.Errorf("connections = %v", got)
	}
	// A cancel request still gets through while the limit is reached.
	if err := f.cancelWith(c.PgConn().PID(), []byte{0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	c.Close(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for {
		c2, err := pgx.Connect(context.Background(), f.url(""))
		if err == nil {
			c2.Close(context.Background())
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slot of a closed connection was not freed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestIdleTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IdleTimeout = 300 * time.Millisecond
	f := start(t, cfg, defaultQueryConfig())
	c := connect(t, f.url(""))
	time.Sleep(time.Second)
	if _, err := c.Exec(context.Background(), "SELECT 1"); err == nil {
		t.Fatal("a connection idle past serve.postgres.idle_timeout still answered")
	}
}

func TestPassword(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Password = "s3cret pass"
	f := start(t, cfg, defaultQueryConfig())
	ctx := context.Background()
	c := connect(t, f.url("faultline:s3cret%20pass"))
	var one int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"faultline:wrong", "faultline", "someone:s3cret%20pass"} {
		_, err := pgx.Connect(ctx, f.url(who))
		if pgCode(err) != "28P01" && pgCode(err) != "28000" {
			t.Errorf("%s: %v", who, err)
		}
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.TLSCert, cfg.TLSKey = selfSigned(t, dir)
	f := start(t, cfg, defaultQueryConfig())
	c := connect(t, "postgres://faultline@"+f.addr+"/faultline?sslmode=require")
	if _, ok := c.PgConn().Conn().(*tls.Conn); !ok {
		t.Fatalf("sslmode=require did not give a TLS connection (%T)", c.PgConn().Conn())
	}
	var one int
	if err := c.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
	plain := connect(t, f.url("")) // TLS stays optional
	if _, ok := plain.PgConn().Conn().(*tls.Conn); ok {
		t.Fatal("sslmode=disable gave TLS")
	}
}

func TestConfigValidate(t *testing.T) {
	base := DefaultConfig()
	cases := []struct {
		listen, password, want string
	}{
		{"", "", ""},
		{"127.0.0.1:5432", "", ""},
		{"localhost:5432", "", ""},
		{"[::1]:5432", "", ""},
		{"0.0.0.0:5432", "", "not a loopback address"},
		{":5432", "", "not a loopback address"},
		{"10.1.2.3:5432", "", "not a loopback address"},
		{"0.0.0.0:5432", "pw", ""},
		{"5432", "", "use host:port"},
	}
	for _, tc := range cases {
		c := base
		c.Listen, c.Password = tc.listen, tc.password
		err := c.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("listen %q password %q: %v, want %q", tc.listen, tc.password, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("listen %q: the error is not one line: %q", tc.listen, err)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "faultline-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// A client that stops reading its rows is dropped after
// serve.postgres.idle_timeout, and its statement's sandbox slot is freed
// long before query.timeout.
func TestStalledReaderIsDropped(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IdleTimeout = 500 * time.Millisecond
	q := defaultQueryConfig()
	q.MaxConcurrent, q.Timeout, q.MaxRows, q.MaxBytes = 1, time.Minute, 5_000_000, 1<<30
	f := start(t, cfg, q)
	var d net.Dialer
	nc, err := d.DialContext(t.Context(), "tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "faultline"}}).Encode(nil)
	b, _ = (&pgproto3.Query{String: "SELECT repeat('x', 100) FROM range(5000000)"}).Encode(b)
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	// Never read: the server's socket buffer fills and its writes stall.
	began := time.Now()
	c := connect(t, f.url(""))
	var one int
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("the only sandbox slot stayed taken by a stalled client: %v", err)
	}
	if d := time.Since(began); d > 20*time.Second {
		t.Fatalf("the slot was freed after %s", d)
	}
}
