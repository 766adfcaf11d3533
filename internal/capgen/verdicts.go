package capgen

// The captures of issue #14: connections whose verdict is easy to get
// wrong (a teardown seen without its handshake, a one-sided capture, a
// server that is not TLS, SOCKS tunnels, ...). Each Doc says what the
// analyzer must conclude.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"time"
)

// Values of Shaping.OnlyFrom.
const (
	OnlyClient = 1 // only client->server packets are captured
	OnlyServer = 2 // only server->client packets are captured
)

// keeps reports whether a capture with this shaping holds the packets of side.
func (sh Shaping) keeps(side int) bool {
	return sh.OnlyFrom == 0 || sh.OnlyFrom == side+1
}

// decodeErrorAlert is a plaintext TLS 1.2 fatal alert decode_error (50).
var decodeErrorAlert = []byte{21, 3, 3, 0, 2, 2, 50}

// notTLS is what an HTTP server sends to a ClientHello on its plain port.
var notTLS = []byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n400 Bad Request")

// alertAfterEOF sends a real ClientHello; when the server closes instead
// of answering, it sends a plaintext decode_error alert and closes, as
// some stacks do (Go's client itself sends no alert on EOF).
func alertAfterEOF(cfg *tls.Config) func(net.Conn) {
	return func(c net.Conn) {
		if err := tls.Client(c, cfg).Handshake(); err == nil {
			panic("alertAfterEOF: the handshake succeeded")
		}
		c.Write(decodeErrorAlert)
		c.Close()
	}
}

// lingeringServer reads the ClientHello, closes its side (FIN) and reads
// on until the client closes, like nginx's lingering close: so what the
// client sends after the FIN is acknowledged, not answered by a RST.
func lingeringServer(c net.Conn) {
	buf := make([]byte, 1<<16)
	c.Read(buf)
	c.Close()
	io.Copy(io.Discard, c)
}

// plainServer answers the ClientHello with bytes that are not TLS and closes.
func plainServer(answer []byte) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 1<<16)
		c.Read(buf)
		c.Write(answer)
		c.Close()
	}
}

// fatalClient is client() for a handshake the server rejects after the
// client's Finished (TLS 1.3 lets the client send its request before it
// knows): on the server's alert it closes with a FIN and no close_notify,
// as OpenSSL-based clients do after a fatal alert.
func fatalClient(cfg *tls.Config) func(net.Conn) {
	return func(c net.Conn) {
		tc := tls.Client(c, cfg)
		if err := tc.Handshake(); err == nil {
			if _, err = tc.Write(request); err == nil {
				buf := make([]byte, len(response))
				if _, err = io.ReadFull(tc, buf); err == nil {
					panic("fatalClient: the server accepted")
				}
			}
		}
		c.Close()
	}
}

// socksPort is where SOCKS proxies listen (RFC 1928).
const socksPort = 1080

// socksClient asks a SOCKS5 proxy (RFC 1928: no authentication, CONNECT
// by domain name) for a tunnel to host:443, then runs tunnel through it.
func socksClient(host string, tunnel func(net.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		reply := make([]byte, 10)
		c.Write([]byte{5, 1, 0}) // version 5, one method: no authentication
		if _, err := io.ReadFull(c, reply[:2]); err != nil || reply[1] != 0 {
			c.Close()
			return
		}
		req := append([]byte{5, 1, 0, 3, byte(len(host))}, host...) // CONNECT, domain name
		c.Write(append(req, 443>>8, 443&0xff))
		if _, err := io.ReadFull(c, reply); err != nil || reply[1] != 0 {
			c.Close()
			return
		}
		tunnel(c)
	}
}

// socksServer is a SOCKS5 proxy whose tunnel ends at a TLS server: it
// accepts the greeting and the CONNECT (replying with the IPv4 address
// and port it connected from), then the TLS server runs over the same
// connection.
func socksServer(tunnel func(net.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 3)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		c.Write([]byte{5, 0})
		head := make([]byte, 5)
		if _, err := io.ReadFull(c, head); err != nil || head[3] != 3 {
			return
		}
		if _, err := io.ReadFull(c, make([]byte, int(head[4])+2)); err != nil {
			return
		}
		c.Write([]byte{5, 0, 0, 1, 198, 51, 100, 20, 0xc3, 0x50}) // succeeded, bound to 198.51.100.20:50000
		tunnel(c)
	}
}

// verifyName checks the server's chain against roots for name, for a
// client that sends no SNI (it connects by address) but still checks the
// certificate, as crypto/tls would with ServerName set.
func verifyName(roots *x509.CertPool, name string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name, CurrentTime: Base})
		return err
	}
}

// verdictScenarios are appended after every other scenario, so that the
// randomness they draw does not shift the older captures.
func verdictScenarios(p *pki, shopClient, shopServer *tls.Config) []*Scenario {
	eth := []Link{LinkEthernet}
	std := func(cl *tls.Config, sv *tls.Config) connSpec {
		return connSpec{client: client(cl, false), server: server(sv)}
	}
	client12, server12 := with(shopClient, tls12), with(shopServer, tls12)
	// No ALPN on either side and no SNI from the client: the server's
	// EncryptedExtensions carries no extension and is a 23-byte record.
	noALPNClient := with(shopClient, func(c *tls.Config) {
		c.NextProtos, c.ServerName, c.InsecureSkipVerify = nil, "", true
		c.VerifyConnection = verifyName(p.roots, "shop.example")
	})
	noALPNServer := with(shopServer, func(c *tls.Config) { c.NextProtos = nil })
	// A SOCKS5 connection with TLS in its tunnel.
	socks := func(start time.Duration, cl, sv *tls.Config) connSpec {
		return connSpec{client: socksClient("shop.example", client(cl, false)), server: socksServer(server(sv)), port: socksPort, start: start}
	}
	// In socks5-interleaved.pcap the SOCKS connection's CONNECT reply
	// comes at 60.40 ms, its ClientHello (the first tunnelled byte) at
	// 60.65 ms and the server's first tunnelled bytes at 80.70 ms. Plain
	// connections start between the reply and the ClientHello, between
	// the ClientHello and the server's answer, and long after: which
	// tcp.stream each gets shows when Wireshark's SOCKS dissector takes
	// its extra number.
	const betweenReplyAndHello, betweenHelloAndAnswer = 60500 * time.Microsecond, 70 * time.Millisecond
	return []*Scenario{
		{Name: "midstream-teardown-tls12.pcap", Doc: "TLS 1.2 capture that starts after the handshake: application data both ways, then each side's close_notify (a visible alert record, content type 21) and FIN; the close_notify is a normal end, the handshake not_observed", Links: eth,
			conns:  []connSpec{{client: client(client12, false), server: server(server12), shaping: Shaping{StartAtClientWrite: 3}}},
			Expect: map[int]string{0: ""}}, // tshark lists the encrypted alerts, without a description
		{Name: "tls13-no-alpn.pcap", Doc: "TLS 1.3 full handshake without ALPN or SNI: the server's EncryptedExtensions is its own 23-byte record; complete, with a handshake time", Links: eth,
			conns:  []connSpec{std(noALPNClient, noALPNServer)},
			Expect: map[int]string{0: "1,2"}},
		{Name: "client-gives-up.pcap", Doc: "the server never answers the ClientHello; the client gives up after 0.5 s and closes with a FIN: closed by the client, with the stall facts (the server owed ServerHello, silent 0.5 s): the client gave up after 0.5 s waiting for ServerHello", Links: eth,
			conns:  []connSpec{{client: client(shopClient, false), server: silentServer, timeout: [2]time.Duration{500 * time.Millisecond, 0}}},
			Expect: map[int]string{0: "1"}},
		{Name: "one-sided-client-only.pcap", Doc: "only the client->server packets are captured (asymmetric routing): a complete TLS 1.3 connection, then one whose client gives up after 5 s; one_sided_capture, not stalled", Links: eth,
			conns: []connSpec{{client: client(shopClient, false), server: server(shopServer), shaping: Shaping{OnlyFrom: OnlyClient}},
				{client: client(shopClient, false), server: silentServer, timeout: [2]time.Duration{5 * time.Second, 0}, start: time.Second, shaping: Shaping{OnlyFrom: OnlyClient}}},
			Expect: map[int]string{0: "1", 1: "1"}},
		{Name: "server-fin-client-alert.pcap", Doc: "the server reads the ClientHello and closes (FIN); the client then sends a plaintext fatal decode_error alert and closes: closed by the server, the alert is the client's reaction", Links: eth,
			conns:  []connSpec{{client: alertAfterEOF(shopClient), server: lingeringServer}},
			Expect: map[int]string{0: "1,alert:50"}},
		{Name: "server-not-tls.pcap", Doc: "the server answers the ClientHello in plain HTTP (400 Bad Request) and closes: server_not_tls, with those first bytes", Links: eth,
			conns:  []connSpec{{client: client(shopClient, false), server: plainServer(notTLS)}},
			Expect: map[int]string{0: "1"}},
		{Name: "socks5-two.pcap", Doc: "two connections through a SOCKS5 proxy on port 1080, one after the other: greeting, CONNECT shop.example:443, then TLS 1.2 and TLS 1.3 in the tunnel", Links: eth,
			conns: []connSpec{socks(0, client12, server12), socks(time.Second, shopClient, shopServer)},
			// tshark 4.0 numbers them 0 and 2: each SOCKS connection takes
			// two tcp.stream numbers.
			Expect: map[int]string{0: "1,2,11,12,14,16", 2: "1,2"}},
		{Name: "socks5-interleaved.pcap", Doc: "a SOCKS5 connection (TLS 1.2 in the tunnel) with a plain TLS 1.3 connection to port 443 starting between the SOCKS reply and the tunnel's ClientHello, then another plain one: the tcp.stream numbers Wireshark gives", Links: eth,
			conns: []connSpec{socks(0, client12, server12),
				{client: client(shopClient, false), server: server(shopServer), start: betweenReplyAndHello},
				{client: client(shopClient, false), server: server(shopServer), start: betweenHelloAndAnswer},
				{client: client(shopClient, false), server: server(shopServer), start: time.Second}},
			// tshark 4.0: the SOCKS connection is 0, the plain ones 1, 3, 4:
			// the SOCKS dissector takes number 2 at the first tunnelled
			// packet (no packet carries it).
			Expect: map[int]string{0: "1,2,11,12,14,16", 1: "1,2", 3: "1,2", 4: "1,2"}},
		{Name: "tls13-server-alert-after-client-finished.pcap", Doc: "TLS 1.3: the server requires a client certificate and gets none; after the client's Finished it sends an encrypted alert (certificate_required) and closes: failed by the server, a probable encrypted alert", Links: eth,
			conns: []connSpec{{client: fatalClient(shopClient),
				server: server(with(shopServer, func(c *tls.Config) { c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, p.roots }))}},
			Expect: map[int]string{0: "1,2"}},
	}
}
