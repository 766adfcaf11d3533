package capgen

import (
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/quic-go/quic-go"
)

// QUICScenarios lists the QUIC captures of testdata/quic.
func QUICScenarios() []*QUICScenario {
	v2first := func(c *tls.Config, q *quic.Config) { q.Versions = []quic.Version{quic.Version2, quic.Version1} }
	return []*QUICScenario{
		{Name: "complete", Doc: "h3 ALPN, handshake completes, a request and a response on one stream, HANDSHAKE_DONE, graceful close",
			Complete: true},
		{Name: "complete-ipv6", Doc: "complete, over IPv6", IPv6: true, Complete: true},
		{Name: "alpn-refused", Doc: "the client offers only hq-interop, the server only h3: CONNECTION_CLOSE with no_application_protocol",
			client: func(c *tls.Config, q *quic.Config) { c.NextProtos = []string{"hq-interop"} }},
		{Name: "udp-blocked", Doc: "UDP to the server is filtered: the client repeats its Initial until its 5 s handshake timeout",
			path: quicPath{blocked: [2]bool{true, false}}},
		{Name: "retry", Doc: "the server validates the address with a Retry; the client's next Initial carries the token; completes",
			server: func(c *tls.Config, q *quic.Config, t *quic.Transport) {
				t.VerifySourceAddress = func(net.Addr) bool { return true }
			},
			Complete: true},
		{Name: "retry-new-hello", Doc: "as retry, but the ClientHello after the Retry is a new one (another random) and the key log has that one's secrets, as a client that makes a new ClientHello after a Retry writes it",
			server: func(c *tls.Config, q *quic.Config, t *quic.Transport) {
				t.VerifySourceAddress = func(net.Addr) bool { return true }
			},
			path: quicPath{newHelloAfterRetry: true}, Complete: true},
		{Name: "version-negotiation", Doc: "the client offers QUIC v2 first, the server speaks only v1: Version Negotiation, then v1 completes",
			client: v2first, Complete: true},
		{Name: "version-negotiation-fails", Doc: "the client speaks only QUIC v2, the server only v1: Version Negotiation, the client gives up",
			client: func(c *tls.Config, q *quic.Config) { q.Versions = []quic.Version{quic.Version2} }},
		{Name: "quic-v2", Doc: "both sides speak only QUIC v2 (RFC 9369); completes",
			client:   func(c *tls.Config, q *quic.Config) { q.Versions = []quic.Version{quic.Version2} },
			server:   func(c *tls.Config, q *quic.Config, t *quic.Transport) { q.Versions = []quic.Version{quic.Version2} },
			Complete: true},
		{Name: "split-client-hello-dropped", Doc: "a middlebox passes only the client's first datagram (the first half of its ClientHello): the server never has the whole ClientHello",
			path: quicPath{dropFrom: [2]int{2, 0}}},
		{Name: "split-client-hello-dropped-server-side", Doc: "split-client-hello-dropped captured beside the server: the first half of the ClientHello arrives and is acknowledged, nothing after it",
			path: quicPath{dropFrom: [2]int{2, 0}, atServer: true}},
		{Name: "server-flight-lost", Doc: "the server's first two datagrams (an Initial ACK, then its Initial with the ServerHello) arrive, every later one (its Handshake flight) is lost: the client probes until its handshake timeout",
			path: quicPath{dropFrom: [2]int{0, 3}}},
		{Name: "server-initial-lost", Doc: "the server's datagram with its ServerHello Initial (its second: the first is an Initial ACK) is lost, its Handshake datagrams arrive; the retransmitted Initial completes the handshake",
			path: quicPath{drop: [2][]int{nil, {2}}}, Complete: true},
		{Name: "client-rejects-certificate", Doc: "the client does not trust the server's issuer: its CONNECTION_CLOSE carries a CRYPTO_ERROR",
			client: func(c *tls.Config, q *quic.Config) { c.RootCAs = newPKI().otherRoots }},
		{Name: "mtu-blackhole", Doc: "a tunnel drops IP packets over 1250 bytes without an ICMP error: the client's 1280-byte Initials never arrive",
			path: quicPath{maxIP: 1250}},
		{Name: "nat-rebinding", Doc: "a NAT gives the client a new source port after the handshake: one connection, by connection ID (captured beside the server)",
			path: quicPath{atServer: true}, rebind: true, Complete: true},
		{Name: "tcp-fallback", Doc: "QUIC to fallback.tlsscope.test gets no answer (UDP blocked, 2 s timeout), then TLS over TCP to the same name completes",
			path: quicPath{blocked: [2]bool{true, false}},
			client: func(c *tls.Config, q *quic.Config) {
				c.ServerName = "fallback.tlsscope.test"
				q.HandshakeIdleTimeout = 2 * time.Second
			},
			fallback: true},
		{Name: "server-refuses", Doc: "the server refuses the connection before any handshake (quic-go's GetConfigForClient returns an error): CONNECTION_CLOSE with the transport error CONNECTION_REFUSED, no TLS alert",
			server: func(c *tls.Config, q *quic.Config, t *quic.Transport) {
				q.GetConfigForClient = func(*quic.ClientInfo) (*quic.Config, error) { return nil, errors.New("refused") }
			}},
		{Name: "server-initials-stripped", Doc: "a path that loses every Initial packet of the server and lets its Handshake packets through: the client never has the ServerHello, so it cannot read the rest, and gives up after 5 s",
			path: quicPath{stripInitials: [2]bool{false, true}}},
	}
}
