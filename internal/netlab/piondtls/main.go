// Command piondtls is the pion/dtls end of the lab's DTLS scenarios
// (issue #26): a server that accepts one DTLS connection, reads one
// message and answers it, and a client that makes one handshake, sends a
// message and prints what it read and what was agreed. It is its own
// module so that pion stays out of tlsscope's binary; internal/netlab
// builds it when a DTLS scenario runs.
//
//	piondtls -mode server -addr 0.0.0.0:4433 -cert chain.pem -key key.pem [-srtp] [-version 1.2|1.3]
//	piondtls -mode client -addr 10.81.2.2:4433 -ca ca.pem -name shop.test [-srtp] [-version 1.2|1.3] [-keylog f]
//
// A failure is printed on stderr as "piondtls: ..." and the exit status
// is 1.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/pion/dtls/v4"
	"github.com/pion/dtls/v4/pkg/protocol"
)

func main() {
	mode := flag.String("mode", "", "server or client")
	addr := flag.String("addr", "", "server: address to listen on; client: address to dial")
	cert := flag.String("cert", "", "server: PEM chain, leaf first")
	key := flag.String("key", "", "server: PEM key of the leaf")
	ca := flag.String("ca", "", "client: PEM roots to verify the server with")
	name := flag.String("name", "", "client: server name (SNI and verification)")
	version := flag.String("version", "1.2", "DTLS version: 1.2 or 1.3")
	srtp := flag.Bool("srtp", false, "offer the use_srtp profiles WebRTC browsers offer")
	keylog := flag.String("keylog", "", "append an NSS key log here")
	noCookie := flag.Bool("no-cookie", false, "server: answer the first ClientHello at once, without a HelloVerifyRequest (DTLS 1.2) or a HelloRetryRequest with a cookie (DTLS 1.3)")
	timeout := flag.Duration("timeout", 5*time.Second, "handshake and read timeout")
	flag.Parse()
	if err := run(*mode, *addr, *cert, *key, *ca, *name, *version, *srtp, *noCookie, *keylog, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "piondtls:", err)
		os.Exit(1)
	}
}

func run(mode, addr, cert, key, ca, name, version string, srtp, noCookie bool, keylog string, timeout time.Duration) error {
	var v protocol.Version
	switch version {
	case "1.2":
		v = protocol.Version1_2
	case "1.3":
		v = protocol.Version1_3
	default:
		return fmt.Errorf("version %q: want 1.2 or 1.3", version)
	}
	opts := []dtls.Option{dtls.WithMinVersion(v), dtls.WithMaxVersion(v)}
	if srtp {
		// Chromium's and Firefox's offers, AEAD first.
		opts = append(opts, dtls.WithSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80, dtls.SRTP_AES128_CM_HMAC_SHA1_32))
	}
	if keylog != "" {
		f, err := os.OpenFile(keylog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		opts = append(opts, dtls.WithKeyLogWriter(f))
	}
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	switch mode {
	case "server":
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return err
		}
		sopts := []dtls.ServerOption{dtls.WithInsecureSkipVerifyHello(noCookie), dtls.WithCertificates(c)}
		for _, o := range opts {
			sopts = append(sopts, o)
		}
		return serve(ctx, ua, sopts)
	case "client":
		pem, err := os.ReadFile(ca)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no certificate", ca)
		}
		return dial(ctx, ua, append(opts, dtls.WithRootCAs(pool), dtls.WithServerName(name)))
	}
	return fmt.Errorf("mode %q: want server or client", mode)
}

// serve accepts one connection, reads one message, answers "ok" and
// closes (a close_notify alert).
func serve(ctx context.Context, addr *net.UDPAddr, opts []dtls.ServerOption) error {
	l, err := dtls.ListenAddr("udp4", addr, opts...)
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Println("listening on", addr)
	nc, err := l.Accept()
	if err != nil {
		return err
	}
	defer nc.Close()
	c := nc.(*dtls.Conn)
	if err := c.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	describe("server", c)
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	fmt.Printf("server read %q\n", buf[:n])
	_, err = c.Write([]byte("ok\n"))
	return err
}

// dial makes one handshake, sends a message, prints the answer and closes.
func dial(ctx context.Context, addr *net.UDPAddr, opts []dtls.Option) error {
	copts := make([]dtls.ClientOption, len(opts))
	for i, o := range opts {
		copts[i] = o
	}
	c, err := dtls.Dial("udp4", addr, copts...)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	describe("client", c)
	if _, err := c.Write([]byte("hello from pion\n")); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("read: %w", err)
	}
	fmt.Printf("client read %q\n", strings.TrimSpace(string(buf[:n])))
	return nil
}

// describe prints what the handshake agreed.
func describe(side string, c *dtls.Conn) {
	st, ok := c.ConnectionState()
	if !ok {
		fmt.Println(side, "handshake done (no state)")
		return
	}
	profile, _ := c.SelectedSRTPProtectionProfile()
	fmt.Printf("%s handshake done: version %#04x, suite %v, srtp profile %#04x\n", side, uint16(st.NegotiatedVersion()), st.CipherSuiteID, uint16(profile))
}
