package capgen

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"time"
)

// connSpec is one TCP connection of a scenario.
type connSpec struct {
	client, server func(net.Conn)
	shaping        Shaping
	start          time.Duration // after Base
	timeout        [2]time.Duration
	dropAfter      [2]int
	iface          int
	link           Link
	port           uint16 // the server's port; 0 is 443
}

// Scenario is one capture file.
type Scenario struct {
	Name  string // file name in testdata/
	Doc   string
	Links []Link // one per pcapng interface; pcap when there is one link and not NG
	NG    bool
	IPv6  bool
	conns []connSpec
	// End, when set, stops the capture: packets from then on are left out.
	End time.Duration
	// Expect is what tshark must see: per tcp.stream, the handshake
	// message types in order ("1,2,11,...") and plain alerts ("alert:40").
	Expect map[int]string
	// ExpectKeys is what tshark must see with the scenario's key log
	// (keys.go), the same way; keys holds that log.
	ExpectKeys map[int]string
	keys       *keyLog
	// Stats, in a pcapng file, are Interface Statistics Blocks at their
	// times (StatsAt): what the capturing tool says it dropped.
	Stats []StatsAt
}

// StatsAt is an Interface Statistics Block written at At, after the
// packets before it; its isb_ifrecv is those packets and the ones the
// system dropped (isb_osdrop), which the interface received.
type StatsAt struct {
	At             time.Duration
	OSDrop, IfDrop uint64
}

const rtt = 20 * time.Millisecond

var (
	request  = []byte("GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n")
	response = append([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1200\r\n\r\n"), bytes.Repeat([]byte("tlsscope "), 133)...)
)

func fixedTime() time.Time { return Base }

// scenarioCA is the root of the last Scenarios' certificates, which
// CAFile writes out for tlsscope's --ca-file.
var scenarioCA *x509.Certificate

// CAFile is the PEM of the root that issued the scenarios' certificates
// (after Scenarios): testdata/capgen-ca.pem, the trust store the golden
// outputs are judged against.
func CAFile() []byte {
	if scenarioCA == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: scenarioCA.Raw})
}

// client runs a TLS client: handshake, one request, the response, close.
// On a failed handshake it closes with FIN, or RST when rst is set.
func client(cfg *tls.Config, rst bool) func(net.Conn) {
	return func(c net.Conn) {
		tc := tls.Client(c, cfg)
		if err := tc.Handshake(); err != nil {
			if rst {
				c.(*simConn).Reset()
			} else {
				c.Close()
			}
			return
		}
		if _, err := tc.Write(request); err != nil {
			c.Close()
			return
		}
		buf := make([]byte, len(response))
		io.ReadFull(tc, buf)
		tc.Close()
	}
}

// server runs a TLS server: handshake, read the request, answer, wait for
// the client to close, close.
func server(cfg *tls.Config) func(net.Conn) {
	return serve(cfg, func(tc *tls.Conn) { tc.Write(response) })
}

// serve is a TLS server that answers a request with answer.
func serve(cfg *tls.Config, answer func(*tls.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if err := tc.Handshake(); err != nil {
			c.Close()
			return
		}
		buf := make([]byte, 4096)
		if _, err := tc.Read(buf); err != nil {
			c.Close()
			return
		}
		answer(tc)
		io.Copy(io.Discard, tc)
		tc.Close()
	}
}

// silentServer reads the ClientHello and never answers.
func silentServer(c net.Conn) {
	buf := make([]byte, 1<<16)
	c.Read(buf)
	c.Read(buf) // blocks until the client gives up
}

// closingServer reads the ClientHello and closes the connection with a FIN.
func closingServer(c net.Conn) {
	buf := make([]byte, 1<<16)
	c.Read(buf)
	c.Close()
}

// noTLS is a side that sends no byte: the connection is TCP alone.
func noTLS(net.Conn) {}

// resetServer reads the ClientHello and resets the connection.
func resetServer(c net.Conn) {
	buf := make([]byte, 1<<16)
	c.Read(buf)
	c.(*simConn).Reset()
}

func serverConfig(p *pki, cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, Time: fixedTime, NextProtos: []string{"http/1.1"}}
}

func clientConfig(p *pki, name string) *tls.Config {
	return &tls.Config{ServerName: name, RootCAs: p.roots, Time: fixedTime, NextProtos: []string{"h2", "http/1.1"}}
}

func with(cfg *tls.Config, f func(*tls.Config)) *tls.Config {
	c := cfg.Clone()
	c.Time = fixedTime
	f(c)
	return c
}

func tls12(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }

// Scenarios lists every capture; built fresh so that each run draws the
// same random numbers in the same order.
func Scenarios() []*Scenario {
	p := newPKI()
	scenarioCA = p.ca
	eth := []Link{LinkEthernet}
	std := func(cl *tls.Config, sv *tls.Config) connSpec {
		return connSpec{client: client(cl, false), server: server(sv)}
	}
	shopServer := serverConfig(p, p.shop)
	shopClient := clientConfig(p, "shop.example")

	// Resumption needs one client session cache across two connections.
	cache12 := tls.NewLRUClientSessionCache(4)
	resume12Client := with(shopClient, func(c *tls.Config) { tls12(c); c.ClientSessionCache = cache12 })
	resume12Server := with(shopServer, tls12)
	cache13 := tls.NewLRUClientSessionCache(4)
	resume13Client := with(shopClient, func(c *tls.Config) { c.ClientSessionCache = cache13 })

	demoServer := with(shopServer, tls12)
	return append([]*Scenario{
		{Name: "demo.pcapng", Doc: "a complete TLS 1.3 handshake, one refused with an alert, one whose server never answers", Links: eth, NG: true,
			conns: []connSpec{
				std(shopClient, shopServer),
				{client: client(with(shopClient, func(c *tls.Config) { tls12(c); c.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA} }), false),
					server: server(demoServer), start: time.Second},
				{client: client(shopClient, false), server: silentServer, start: 2 * time.Second, timeout: [2]time.Duration{5 * time.Second, 0}},
			},
			Expect: map[int]string{0: "1,2", 1: "1,alert:40", 2: "1"}},
		{Name: "tls12-ecdhe-ticket.pcap", Doc: "TLS 1.2 ECDHE full handshake with a session ticket", Links: eth,
			conns: []connSpec{std(with(shopClient, func(c *tls.Config) { tls12(c); c.ClientSessionCache = tls.NewLRUClientSessionCache(1) }),
				with(shopServer, tls12))},
			Expect: map[int]string{0: "1,2,11,12,14,16,4"}},
		{Name: "tls12-rsa-kex.pcap", Doc: "TLS 1.2 RSA key exchange", Links: eth,
			conns: []connSpec{std(with(clientConfig(p, "legacy.example"), func(c *tls.Config) {
				tls12(c)
				c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}
			}), with(serverConfig(p, p.rsa), func(c *tls.Config) {
				tls12(c)
				c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}
			}))},
			Expect: map[int]string{0: "1,2,11,14,16"}},
		{Name: "tls12-resume-ticket.pcap", Doc: "TLS 1.2 full handshake, then resumption by session ticket", Links: eth,
			conns: []connSpec{std(resume12Client, resume12Server),
				{client: client(resume12Client, false), server: server(resume12Server), start: time.Second}},
			Expect: map[int]string{0: "1,2,11,12,14,16,4", 1: "1,2,4"}},
		{Name: "tls13-full.pcap", Doc: "TLS 1.3 full handshake", Links: eth,
			conns:  []connSpec{std(shopClient, shopServer)},
			Expect: map[int]string{0: "1,2"}},
		{Name: "tls13-psk-resume.pcap", Doc: "TLS 1.3 full handshake, then PSK resumption", Links: eth,
			conns: []connSpec{std(resume13Client, shopServer),
				{client: client(resume13Client, false), server: server(shopServer), start: time.Second}},
			Expect: map[int]string{0: "1,2", 1: "1,2"}},
		{Name: "tls13-hrr.pcap", Doc: "TLS 1.3 HelloRetryRequest: the server wants P-256", Links: eth,
			conns: []connSpec{std(with(shopClient, func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256} }),
				with(shopServer, func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.CurveP256} }))},
			Expect: map[int]string{0: "1,2,1,2"}},
		{Name: "tls12-client-cert.pcap", Doc: "TLS 1.2: the server requests a client certificate and gets one", Links: eth,
			conns: []connSpec{std(with(shopClient, func(c *tls.Config) { tls12(c); c.Certificates = []tls.Certificate{p.client} }),
				with(shopServer, func(c *tls.Config) { tls12(c); c.ClientAuth = tls.RequireAnyClientCert }))},
			Expect: map[int]string{0: "1,2,11,12,13,14,11,16,15"}},
		{Name: "alert-server-refuses.pcap", Doc: "the server refuses: no cipher suite in common", Links: eth,
			conns: []connSpec{std(with(shopClient, func(c *tls.Config) { tls12(c); c.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA} }),
				with(shopServer, tls12))},
			Expect: map[int]string{0: "1,alert:40"}},
		{Name: "alert-client-rejects-cert.pcap", Doc: "TLS 1.2: the client does not trust the server's issuer", Links: eth,
			conns:  []connSpec{std(with(shopClient, func(c *tls.Config) { tls12(c); c.RootCAs = p.otherRoots }), with(shopServer, tls12))},
			Expect: map[int]string{0: "1,2,11,12,14,alert:42"}},
		{Name: "stall-server-silent.pcap", Doc: "the server never answers the ClientHello; the client gives up after 5 s", Links: eth,
			conns:  []connSpec{{client: client(shopClient, false), server: silentServer, timeout: [2]time.Duration{5 * time.Second, 0}}},
			Expect: map[int]string{0: "1"}},
		{Name: "stall-after-server-flight.pcap", Doc: "TLS 1.2: the server sends its first flight, then nothing; the client resets after 5 s", Links: eth,
			conns: []connSpec{{client: client(with(shopClient, tls12), true), server: server(with(shopServer, tls12)),
				timeout: [2]time.Duration{5 * time.Second, 0}, dropAfter: [2]int{0, 1}}},
			Expect: map[int]string{0: "1,2,11,12,14,16"}},
		{Name: "reset-after-client-hello.pcap", Doc: "the server resets the connection right after the ClientHello", Links: eth,
			conns:  []connSpec{{client: client(shopClient, false), server: resetServer}},
			Expect: map[int]string{0: "1"}},
		{Name: "split-client-hello.pcap", Doc: "TLS 1.3 ClientHello split across two TCP segments", Links: eth,
			conns:  []connSpec{{client: client(shopClient, false), server: server(shopServer), shaping: Shaping{SplitClientHello: true}}},
			Expect: map[int]string{0: "1,2"}},
		{Name: "server-flight-shuffled.pcap", Doc: "TLS 1.2 server flight in 100-byte segments, one out of order, one retransmitted", Links: eth,
			conns: []connSpec{{client: client(with(shopClient, tls12), false), server: server(with(shopServer, tls12)),
				shaping: Shaping{ServerMSS: 100, SwapServerSegment: 3, RetransmitServerSegment: 5}}},
			Expect: map[int]string{0: "1,2,11,12,14,16"}},
		{Name: "midstream.pcap", Doc: "TLS 1.2 capture that starts at the server's first flight (no SYN, no ClientHello)", Links: eth,
			conns:  []connSpec{{client: client(with(shopClient, tls12), false), server: server(with(shopServer, tls12)), shaping: Shaping{StartAtServerData: true}}},
			Expect: map[int]string{0: "2,11,12,14,16"}},
		{Name: "ipv6.pcap", Doc: "TLS 1.3 over IPv6", Links: eth, IPv6: true,
			conns:  []connSpec{std(shopClient, shopServer)},
			Expect: map[int]string{0: "1,2"}},
		{Name: "vlan.pcap", Doc: "TLS 1.2 in an 802.1Q VLAN", Links: []Link{LinkVLAN},
			conns:  []connSpec{{client: client(with(shopClient, tls12), false), server: server(with(shopServer, tls12)), link: LinkVLAN}},
			Expect: map[int]string{0: "1,2,11,12,14,16"}},
		{Name: "sll2.pcap", Doc: "TLS 1.3 in a Linux cooked capture v2", Links: []Link{LinkSLL2},
			conns:  []connSpec{{client: client(shopClient, false), server: server(shopServer), link: LinkSLL2}},
			Expect: map[int]string{0: "1,2"}},
		{Name: "two-interfaces.pcapng", Doc: "pcapng with an Ethernet and a Linux cooked (SLL) interface, one connection on each", Links: []Link{LinkEthernet, LinkSLL}, NG: true,
			conns: []connSpec{std(shopClient, shopServer),
				{client: client(with(shopClient, tls12), false), server: server(with(shopServer, tls12)), iface: 1, link: LinkSLL, start: 500 * time.Millisecond}},
			Expect: map[int]string{0: "1,2", 1: "1,2,11,12,14,16"}},
		{Name: "expired-cert.pcap", Doc: "TLS 1.2 server certificate expired two months before the capture; the client does not check", Links: eth,
			conns: []connSpec{std(with(shopClient, func(c *tls.Config) { tls12(c); c.InsecureSkipVerify = true }),
				with(serverConfig(p, p.expired), tls12))},
			Expect: map[int]string{0: "1,2,11,12,14,16"}},
		{Name: "sni-mismatch.pcap", Doc: "TLS 1.2: the client asks for shop.example, the certificate names api.example", Links: eth,
			conns: []connSpec{std(with(shopClient, func(c *tls.Config) { tls12(c); c.InsecureSkipVerify = true }),
				with(serverConfig(p, p.api), tls12))},
			Expect: map[int]string{0: "1,2,11,12,14,16"}},
		// New scenarios go last: each draws randomness after the ones before it.
		{Name: "closed-after-client-hello.pcap", Doc: "the server closes the connection (FIN) right after the ClientHello", Links: eth,
			conns:  []connSpec{{client: client(shopClient, false), server: closingServer}},
			Expect: map[int]string{0: "1"}},
		{Name: "incomplete-capture-ends.pcap", Doc: "the server has not answered the ClientHello when the capture stops 0.5 s later; a second connection completes meanwhile", Links: eth,
			conns: []connSpec{{client: client(shopClient, false), server: silentServer, timeout: [2]time.Duration{5 * time.Second, 0}},
				{client: client(shopClient, false), server: server(shopServer), start: 420 * time.Millisecond}},
			End:    time.Second,
			Expect: map[int]string{0: "1", 1: "1,2"}},
		{Name: "after-handshake.pcap", Doc: "TLS 1.3 capture that starts after the handshake: encrypted application data only (no SYN, no hellos)", Links: eth,
			conns:  []connSpec{{client: client(shopClient, false), server: server(shopServer), shaping: Shaping{StartAtClientWrite: 3}}},
			Expect: map[int]string{}},
		{Name: "tcp-refused.pcap", Doc: "connection refused: the SYN to port 443 is answered by a RST", Links: eth,
			conns:  []connSpec{{client: noTLS, server: noTLS, shaping: Shaping{Refused: true}}},
			Expect: map[int]string{}},
		{Name: "tcp-syn-unanswered.pcap", Doc: "the SYN to port 443 is sent four times over 7 s and never answered", Links: eth,
			conns:  []connSpec{{client: noTLS, server: noTLS, shaping: Shaping{SYNUnanswered: 4}}},
			Expect: map[int]string{}},
		{Name: "alert-tls13-client-rejects-cert.pcap", Doc: "TLS 1.3: the client does not trust the server's issuer and sends an encrypted alert", Links: eth,
			conns:  []connSpec{std(with(shopClient, func(c *tls.Config) { c.RootCAs = p.otherRoots }), shopServer)},
			Expect: map[int]string{0: "1,2"}},
	}, append(append(append(append(append(append(verdictScenarios(p, shopClient, shopServer), lossScenarios(p)...), keyScenarios(p)...), verdictCoreScenarios(p, shopClient, shopServer)...), laterLossScenarios(p)...), certScenarios(p)...), dropScenarios(shopClient, shopServer)...)...) // verdicts.go, the loss model's (loss.go), those with key logs (keys.go), issue #23's, later loss ones (loss.go), certificate problems (certscenarios.go), then issue #24's drops (stats.go): the captures draw on one random stream, so new ones go last
}

// Build runs a scenario's connections and returns its packets in time order.
func (s *Scenario) Build() ([]Packet, error) {
	// Client ports differ between scenarios, so that files can be merged.
	var base uint16 = 40000
	for _, c := range s.Name {
		base += uint16(c)
	}
	var pkts []Packet
	for i, cs := range s.conns {
		sm := newSim(rtt)
		sm.timeout, sm.dropAfter = cs.timeout, cs.dropAfter
		sm.path = newPathSim(cs.shaping)
		evs := sm.run(cs.client, cs.server)
		ep := endpoints{client: net.IPv4(192, 0, 2, 10), server: net.IPv4(198, 51, 100, 20), cport: base + uint16(7*i), sport: 443}
		if cs.port != 0 {
			ep.sport = cs.port
		}
		if s.IPv6 {
			ep.client, ep.server = net.ParseIP("2001:db8::10"), net.ParseIP("2001:db8:1::20")
		}
		for _, seg := range segments(evs, cs.shaping, rtt) {
			data, err := frame(seg, ep, cs.link)
			if err != nil {
				return nil, err
			}
			at := cs.start + seg.at
			if s.End > 0 && at >= s.End || !cs.shaping.keeps(seg.from) {
				continue
			}
			pkts = append(pkts, Packet{At: Base.Add(at), Data: data, Interface: cs.iface})
		}
	}
	sortPackets(pkts)
	return pkts, nil
}

func sortPackets(p []Packet) {
	for i := 1; i < len(p); i++ { // insertion sort: stable and the input is nearly sorted
		for j := i; j > 0 && p[j].At.Before(p[j-1].At); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// Write builds the scenario and writes its file.
func (s *Scenario) Write(w io.Writer) error {
	pkts, err := s.packets() // Build, keeping the key log (keys.go)
	if err != nil {
		return err
	}
	if s.NG && len(s.Stats) > 0 {
		return s.writeStats(w, pkts)
	}
	if s.NG {
		return WritePcapng(w, s.Links, pkts, s.secrets()...)
	}
	return WritePcap(w, s.Links[0], pkts)
}

// verdictCoreScenarios are issue #23's: a silence past the idle timeout,
// and a ClientHello of which only the first segment reached the server.
func verdictCoreScenarios(p *pki, shopClient, shopServer *tls.Config) []*Scenario {
	eth := []Link{LinkEthernet}
	return []*Scenario{
		{Name: "client-hello-head-server-side.pcap", Doc: "TLS 1.3, captured at the server: a middlebox passes the first segment of the client's two-segment ClientHello and drops the rest of it with every retransmission, and the client's FIN; the server acknowledges the first segment and waits; a second connection, 4 s later, completes", Links: eth,
			conns: []connSpec{{client: client(shopClient, false), server: server(shopServer), timeout: [2]time.Duration{10 * time.Second, 0},
				shaping: Shaping{Path: &Path{Vantage: AtServer, NetDrop: []Drop{{From: AtClient, Write: 1, Segment: 2, Retransmissions: true}}}}},
				{client: client(with(shopClient, tls12), false), server: server(with(shopServer, tls12)), start: 4 * time.Second}},
			End:    5 * time.Second,
			Expect: map[int]string{1: "1,2,11,12,14,16"}},
		{Name: "stall-idle-timeout.pcap", Doc: "the server never answers the ClientHello and the client waits without closing; the capture goes on and a second connection completes 310 s later, after the 5 min idle timeout", Links: eth,
			conns: []connSpec{{client: client(shopClient, false), server: silentServer, timeout: [2]time.Duration{400 * time.Second, 0}},
				{client: client(shopClient, false), server: server(shopServer), start: 310 * time.Second}},
			End:    311 * time.Second,
			Expect: map[int]string{0: "1", 1: "1,2"}},
	}
}
