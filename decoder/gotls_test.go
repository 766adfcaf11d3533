package decoder

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// chunk is what one side wrote, as the other side read it.
type chunk struct {
	from Side
	data []byte
}

// recorder wraps the client's connection: what it writes is the client's
// stream, what it reads the server's, in the order the client saw them.
type recorder struct {
	net.Conn
	mu     *sync.Mutex
	chunks *[]chunk
}

func (r recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	*r.chunks = append(*r.chunks, chunk{Client, append([]byte(nil), p...)})
	r.mu.Unlock()
	return r.Conn.Write(p)
}

func (r recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	if n > 0 {
		r.mu.Lock()
		*r.chunks = append(*r.chunks, chunk{Server, append([]byte(nil), p[:n]...)})
		r.mu.Unlock()
	}
	return n, err
}

func testCert(t *testing.T, cn string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x5eed), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// handshake runs a real crypto/tls handshake over loopback TCP and returns
// both streams and the client's view of the connection.
func handshake(t *testing.T, client, server *tls.Config) ([]chunk, tls.ConnectionState, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip("no loopback TCP:", err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		s := tls.Server(c, server)
		if s.Handshake() != nil {
			return
		}
		buf := make([]byte, 64)
		n, _ := s.Read(buf)
		s.Write(buf[:n])
		s.Close()
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var chunks []chunk
	c := tls.Client(recorder{raw, &mu, &chunks}, client)
	err = c.Handshake()
	state := c.ConnectionState()
	if err == nil {
		c.Write([]byte("ping"))
		io.ReadAll(c)
	}
	c.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return chunks, state, err
}

func feedAll(c *Conn, chunks []chunk) {
	for i, ch := range chunks {
		c.Feed(Dir(ch.from), ch.data, t0.Add(time.Duration(i)*time.Millisecond))
	}
}

// TestGoTLS decodes real handshakes of Go's crypto/tls and compares every
// field with the configuration that produced it.
func TestGoTLS(t *testing.T) {
	cert := testCert(t, "decoder.test")
	clientCert := testCert(t, "client.test")
	pool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool.AddCert(leaf)
	cases := []struct {
		name           string
		client, server *tls.Config
		phase          Phase
		hrr            bool
	}{
		{"tls13", &tls.Config{ServerName: "decoder.test", RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}},
			&tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}, PhaseComplete, false},
		{"tls12-ecdhe", &tls.Config{ServerName: "decoder.test", RootCAs: pool, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305}, ClientSessionCache: tls.NewLRUClientSessionCache(1)},
			&tls.Config{Certificates: []tls.Certificate{cert}}, PhaseComplete, false},
		{"tls12-client-auth", &tls.Config{ServerName: "decoder.test", RootCAs: pool, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{clientCert}},
			&tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAnyClientCert}, PhaseComplete, false},
		{"tls13-hrr", &tls.Config{ServerName: "decoder.test", RootCAs: pool, CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP384}},
			&tls.Config{Certificates: []tls.Certificate{cert}, CurvePreferences: []tls.CurveID{tls.CurveP384}}, PhaseComplete, true},
		{"tls12-untrusted", &tls.Config{ServerName: "decoder.test", MaxVersion: tls.VersionTLS12},
			&tls.Config{Certificates: []tls.Certificate{cert}}, PhaseFailed, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chunks, state, herr := handshake(t, tc.client, tc.server)
			c := NewConn(true)
			feedAll(c, chunks)
			st := c.State()
			if st.Phase != tc.phase {
				t.Fatalf("phase %v, want %v (handshake error %v; problems %v; messages %d)", st.Phase, tc.phase, herr, c.Snapshot().Problems, len(c.Snapshot().Messages))
			}
			ch, sh := c.Snapshot().ClientHello, c.Snapshot().ServerHello
			if ch == nil || sh == nil {
				t.Fatalf("hello missing: %v %v", ch != nil, sh != nil)
			}
			if ch.ServerName != tc.client.ServerName {
				t.Errorf("SNI %q, want %q", ch.ServerName, tc.client.ServerName)
			}
			if len(tc.client.NextProtos) != len(ch.ALPN) {
				t.Errorf("ALPN offered %q, want %q", ch.ALPN, tc.client.NextProtos)
			}
			if tc.client.CipherSuites != nil && tc.client.MaxVersion == tls.VersionTLS12 {
				if len(ch.CipherSuites) < len(tc.client.CipherSuites) || ch.CipherSuites[0] != tc.client.CipherSuites[0] {
					t.Errorf("suites %x, want %x first", ch.CipherSuites, tc.client.CipherSuites)
				}
			}
			if tc.hrr != (c.Snapshot().HelloRetryRequest != nil) || tc.hrr && (c.Snapshot().RetryClientHello == nil || c.Snapshot().HelloRetryRequest.KeyShareGroup != uint16(tls.CurveP384)) {
				t.Errorf("HelloRetryRequest %v, second hello %v", c.Snapshot().HelloRetryRequest, c.Snapshot().RetryClientHello != nil)
			}
			if herr != nil {
				// The client refused: its alert is what the decoder must report.
				if st.Alert == nil || st.Alert.From != Client || !st.Alert.Fatal() {
					t.Errorf("alert %+v, want a fatal one from the client (%v)", st.Alert, herr)
				}
				return
			}
			wantALPN := state.NegotiatedProtocol
			if state.Version == tls.VersionTLS13 {
				wantALPN = "" // in EncryptedExtensions: not visible
			}
			if sh.NegotiatedVersion() != state.Version || sh.CipherSuite != state.CipherSuite || sh.ALPN != wantALPN {
				t.Errorf("chosen %#04x %#04x %q; crypto/tls says %#04x %#04x %q", sh.NegotiatedVersion(), sh.CipherSuite, sh.ALPN,
					state.Version, state.CipherSuite, state.NegotiatedProtocol)
			}
			if state.Version == tls.VersionTLS12 {
				if len(c.Snapshot().ServerCertificates) != len(state.PeerCertificates) {
					t.Fatalf("%d certificates, crypto/tls has %d", len(c.Snapshot().ServerCertificates), len(state.PeerCertificates))
				}
				for i, pc := range state.PeerCertificates {
					sum := sha256.Sum256(pc.Raw)
					got := c.Snapshot().ServerCertificates[i]
					if got.SHA256 != hex.EncodeToString(sum[:]) || got.CommonName != pc.Subject.CommonName || got.Serial != pc.SerialNumber.Text(16) || got.PublicKey != "ECDSA P-256" {
						t.Errorf("certificate %d: %+v", i, got)
					}
				}
				if c.Snapshot().ServerKeyExchange == nil || c.Snapshot().ServerKeyExchange.Group == 0 {
					t.Error("ServerKeyExchange group missing")
				}
				if tc.server.ClientAuth != tls.NoClientCert && (!c.Snapshot().CertificateRequested || len(c.Snapshot().ClientCertificates) != 1 || c.Snapshot().ClientCertificates[0].CommonName != "client.test") {
					t.Errorf("client certificate: requested %v, %d sent", c.Snapshot().CertificateRequested, len(c.Snapshot().ClientCertificates))
				}
				if tc.client.ClientSessionCache != nil && (len(c.Snapshot().SessionTickets) != 1 || c.Snapshot().SessionTickets[0].TicketLength == 0) {
					t.Errorf("session tickets %+v", c.Snapshot().SessionTickets)
				}
			}
			if st.CompleteAt.IsZero() {
				t.Error("no completion time")
			}
		})
	}
}
