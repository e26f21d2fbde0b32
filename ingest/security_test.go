package ingest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// testPKI is a throw-away CA with a server certificate for 127.0.0.1 and a
// client certificate, written as PEM files.
type testPKI struct {
	caFile, clientCert, clientKey string
	pool                          *x509.CertPool
	server, client                tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "faultline test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, usage x509.ExtKeyUsage, file string) tls.Certificate {
		k := key()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: file},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
		writeFile(t, filepath.Join(dir, file+".pem"), certPEM)
		writeFile(t, filepath.Join(dir, file+"-key.pem"), keyPEM)
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	p := testPKI{caFile: filepath.Join(dir, "ca.pem"), pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	writeFile(t, p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	p.server = leaf(2, x509.ExtKeyUsageServerAuth, "server")
	p.client = leaf(3, x509.ExtKeyUsageClientAuth, "client")
	p.clientCert, p.clientKey = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	return p
}

// TestRunTLSAndSASL: every kafka.tls and kafka.sasl key is wired into the
// consumer (group join, list offsets, fetch): ingest loads all records from
// a broker that requires TLS (and, for mtls, a client certificate) and SASL
// with each supported mechanism; a wrong password loads nothing.
func TestRunTLSAndSASL(t *testing.T) {
	pki := newTestPKI(t)
	tests := []struct {
		name      string
		tls       bool // broker listens with TLS; client verifies it with ca_file
		mtls      bool // broker requires a client certificate (cert_file/key_file)
		mechanism string
		kfakeMech string
		password  string // what the client sends; the broker knows "s3cret"
		want      int64
	}{
		{name: "scram-sha-512", mechanism: "scram-sha-512", kfakeMech: "SCRAM-SHA-512", password: "s3cret", want: 40},
		{name: "tls+plain", tls: true, mechanism: "plain", kfakeMech: "PLAIN", password: "s3cret", want: 40},
		{name: "tls+scram-sha-256", tls: true, mechanism: "scram-sha-256", kfakeMech: "SCRAM-SHA-256", password: "s3cret", want: 40},
		{name: "mtls+scram-sha-512", tls: true, mtls: true, mechanism: "scram-sha-512", kfakeMech: "SCRAM-SHA-512", password: "s3cret", want: 40},
		{name: "wrong password", tls: true, mechanism: "scram-sha-256", kfakeMech: "SCRAM-SHA-256", password: "wrong", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(2, "trail"), kfake.EnableSASL(), kfake.Superuser(tt.kfakeMech, "alice", "s3cret")}
			var srvTLS *tls.Config
			if tt.tls {
				srvTLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}
				if tt.mtls {
					srvTLS.ClientAuth, srvTLS.ClientCAs = tls.RequireAndVerifyClientCert, pki.pool
				}
				opts = append(opts, kfake.TLS(srvTLS))
			}
			c, err := kfake.NewCluster(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			// Produce with franz-go's own TLS and SASL (not the code under test).
			var mech sasl.Mechanism
			switch tt.kfakeMech {
			case "PLAIN":
				mech = plain.Auth{User: "alice", Pass: "s3cret"}.AsMechanism()
			case "SCRAM-SHA-256":
				mech = scram.Auth{User: "alice", Pass: "s3cret"}.AsSha256Mechanism()
			case "SCRAM-SHA-512":
				mech = scram.Auth{User: "alice", Pass: "s3cret"}.AsSha512Mechanism()
			}
			kopts := []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.SASL(mech), kgo.RecordPartitioner(kgo.ManualPartitioner())}
			if tt.tls {
				ct := &tls.Config{RootCAs: pki.pool, MinVersion: tls.VersionTLS12}
				if tt.mtls {
					ct.Certificates = []tls.Certificate{pki.client}
				}
				kopts = append(kopts, kgo.DialTLSConfig(ct))
			}
			cl, err := kgo.NewClient(kopts...)
			if err != nil {
				t.Fatal(err)
			}
			var krs []*kgo.Record
			for i := 0; i < 40; i++ {
				krs = append(krs, &kgo.Record{Topic: "trail", Partition: int32(i % 2), Value: ctRecord(fmt.Sprintf("sec-%03d", i), i)})
			}
			pctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err = cl.ProduceSync(pctx, krs...).FirstErr()
			cancel()
			cl.Close()
			if err != nil {
				t.Fatal(err)
			}

			db := openDB(t, "")
			o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: "trail", Format: "cloudtrail"})
			o.Kafka.SASL = SASLConfig{Mechanism: tt.mechanism, Username: "alice", Password: tt.password}
			if tt.tls {
				o.Kafka.TLS = TLSConfig{Enabled: true, CAFile: pki.caFile}
				if tt.mtls {
					o.Kafka.TLS.CertFile, o.Kafka.TLS.KeyFile = pki.clientCert, pki.clientKey
				}
			}
			if tt.want == 0 {
				// Authentication fails: ingest retries until the context ends
				// and must not have loaded anything.
				_ = Run(runCtx(t, 3*time.Second), o)
			} else if err := Run(runCtx(t, 60*time.Second), o); err != nil {
				t.Fatal(err)
			}
			if n := queryInt(t, db, "SELECT count(*) FROM events"); n != tt.want {
				t.Errorf("events = %d, want %d", n, tt.want)
			}
			if tt.want > 0 {
				if n := queryInt(t, db, "SELECT sum(next_offset) FROM ingest_offsets WHERE source = 'kafka:trail'"); n != tt.want {
					t.Errorf("stored offsets sum = %d, want %d", n, tt.want)
				}
			}
		})
	}
}

// TestKafkaClientTLSErrors: bad TLS files fail at start with the key named.
func TestKafkaClientTLSErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	writeFile(t, notPEM, []byte("not a certificate"))
	tests := []struct {
		name string
		tls  TLSConfig
		want string
	}{
		{"missing ca", TLSConfig{Enabled: true, CAFile: filepath.Join(dir, "nope.pem")}, "kafka.tls.ca_file"},
		{"ca not pem", TLSConfig{Enabled: true, CAFile: notPEM}, "holds no PEM certificate"},
		{"cert without key", TLSConfig{Enabled: true, CertFile: notPEM}, "kafka.tls.cert_file/key_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultKafkaConfig()
			c.TLS = tt.tls
			_, err := NewTransport(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewTransport: %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestRunEventHubsKafkaEndpoint: Azure Event Hubs' Kafka endpoint takes SASL
// PLAIN over TLS with the literal user name $ConnectionString and the
// namespace's connection string (with its ';' and '=') as the password;
// diagnostic settings send the Activity Log to the event hub
// insights-activity-logs. ingest configured the way docs/ingest.md shows
// loads every Azure record from such a broker; the same credentials
// without TLS, or another user name, load nothing.
func TestRunEventHubsKafkaEndpoint(t *testing.T) {
	pki := newTestPKI(t)
	const (
		hub     = "insights-activity-logs"
		user    = "$ConnectionString"
		connStr = "Endpoint=sb://faultline-test.servicebus.windows.net/;SharedAccessKeyName=faultline-listen;SharedAccessKey=q1w2e3r4t5y6u7i8o9p0AbCdEfGhIjKlMnOpQrStUv+/=="
	)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, hub), kfake.EnableSASL(), kfake.Superuser("PLAIN", user, connStr),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// What diagnostic settings write: one {"records":[...]} document per
	// event, produced with franz-go's own TLS and SASL.
	docs, err := filepath.Glob("../transform/testdata/samples/azure/*.json")
	if err != nil || len(docs) == 0 {
		t.Fatalf("azure samples: %v", err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.SASL(plain.Auth{User: user, Pass: connStr}.AsMechanism()),
		kgo.DialTLSConfig(&tls.Config{RootCAs: pki.pool, MinVersion: tls.VersionTLS12}), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	var krs []*kgo.Record
	for i, p := range docs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		krs = append(krs, &kgo.Record{Topic: hub, Partition: int32(i % 2), Value: b})
	}
	pctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = cl.ProduceSync(pctx, krs...).FirstErr()
	cancel()
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		tls        bool
		user, pass string
		want       int64
	}{
		{"connection string over TLS", true, user, connStr, 8},
		{"no TLS", false, user, connStr, 0},
		{"other user name", true, "faultline", connStr, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t, "")
			o := testOptions(t, c.ListenAddrs(), db, TopicConfig{Name: hub, Format: "azureactivity"})
			o.Kafka.SASL = SASLConfig{Mechanism: "plain", Username: tt.user, Password: tt.pass}
			o.Kafka.TLS = TLSConfig{Enabled: tt.tls, CAFile: pki.caFile}
			if tt.want == 0 {
				_ = Run(runCtx(t, 3*time.Second), o) // retries until the context ends
			} else if err := Run(runCtx(t, 60*time.Second), o); err != nil {
				t.Fatal(err)
			}
			if n := queryInt(t, db, "SELECT count(*) FROM events WHERE cloud_provider = 'azure'"); n != tt.want {
				t.Errorf("azure events = %d, want %d", n, tt.want)
			}
			if tt.want > 0 {
				if n := queryInt(t, db, "SELECT count(*) FROM dead_letters"); n != 0 {
					t.Errorf("%d dead letters", n)
				}
				if n := queryInt(t, db, "SELECT sum(next_offset) FROM ingest_offsets WHERE source = 'kafka:"+hub+"'"); n != int64(len(docs)) {
					t.Errorf("stored offsets sum = %d, want %d", n, len(docs))
				}
			}
		})
	}
}
