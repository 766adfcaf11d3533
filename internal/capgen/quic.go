package capgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"sync"
	"time"
	_ "unsafe" // go:linkname

	"github.com/quic-go/quic-go"
)

// QUICScenario is one QUIC capture, testdata/quic/NAME.pcap with the
// client's key log in NAME.keys.
type QUICScenario struct {
	Name string
	Doc  string
	IPv6 bool
	path quicPath
	// Client and server settings, changed from the defaults (h3, v1,
	// the right certificate, 5 s handshake timeout).
	client func(*tls.Config, *quic.Config)
	server func(*tls.Config, *quic.Config, *quic.Transport)
	// rebind, when set, makes the NAT move the client to a new source
	// port between two requests after the handshake.
	rebind bool
	// fallback, when set, is the TLS-over-TCP connection the client
	// makes when QUIC fails, to the same server name.
	fallback bool
	// Complete says whether the handshake must complete.
	Complete bool
}

// QUICRun is what running a scenario gave.
type QUICRun struct {
	Pcap, Keys []byte
	DialErr    error  // the client's, nil when the handshake completed
	Datagrams  [2]int // written by the client and by the server
	Response   []byte // what the client read on its (first) stream
}

const quicSNI = "quic.tlsscope.test"

var (
	quicRequest  = []byte("GET /index.html\r\n")
	quicResponse = bytes.Repeat([]byte("tlsscope over quic "), 20)
)

// quicVNRand is quic-go's generator of the greased version in Version
// Negotiation packets, seeded from crypto/rand when the package starts,
// before the tests fix randomness: runs reseed it so that the packet is
// the same on every run.
//
//go:linkname quicVNRand github.com/quic-go/quic-go/internal/protocol.versionNegotiationRand
var quicVNRand mrand.Rand

// fixedCIDs makes a Transport's connection IDs a counter after a prefix:
// distinct, and the same on every run.
type fixedCIDs struct {
	mu     sync.Mutex
	prefix uint32
	n      uint32
}

func (g *fixedCIDs) GenerateConnectionID() (quic.ConnectionID, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	var b [8]byte
	binary.BigEndian.PutUint32(b[:4], g.prefix)
	binary.BigEndian.PutUint32(b[4:], g.n)
	return quic.ConnectionIDFromBytes(b[:]), nil
}

func (g *fixedCIDs) ConnectionIDLen() int { return 8 }

// Run makes the capture. It must run inside a testing/synctest bubble
// (the clock) with crypto randomness fixed (testing/cryptotest): see
// quic_test.go.
func (s *QUICScenario) Run() (*QUICRun, error) {
	quicVNRand = *mrand.New(mrand.NewPCG(0x7115, 0xc09e))
	p := newPKI()
	quicCert := leaf(p.ca, p.caKey, mustECKey(), 0x3001, quicSNI, []string{quicSNI, "fallback.tlsscope.test"},
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), false)

	var keys bytes.Buffer
	ctls := &tls.Config{ServerName: quicSNI, RootCAs: p.roots, Time: fixedTime, NextProtos: []string{"h3"}, KeyLogWriter: &keys}
	stls := &tls.Config{Certificates: []tls.Certificate{quicCert}, Time: fixedTime, NextProtos: []string{"h3"}}
	cq := &quic.Config{Versions: []quic.Version{quic.Version1}, HandshakeIdleTimeout: 5 * time.Second, MaxIdleTimeout: 30 * time.Second}
	sq := &quic.Config{Versions: []quic.Version{quic.Version1}, HandshakeIdleTimeout: 5 * time.Second, MaxIdleTimeout: 30 * time.Second}

	caddr := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 10).To4(), Port: 50443}
	saddr := &net.UDPAddr{IP: net.IPv4(198, 51, 100, 20).To4(), Port: 443}
	if s.IPv6 {
		caddr.IP, saddr.IP = net.ParseIP("2001:db8::10"), net.ParseIP("2001:db8:1::20")
	}
	n := newUDPNet(caddr, saddr, s.path)
	ctr := &quic.Transport{Conn: n.ends[0], ConnectionIDGenerator: &fixedCIDs{prefix: 0xc1c1c1c1},
		StatelessResetKey: &quic.StatelessResetKey{1}}
	str := &quic.Transport{Conn: n.ends[1], ConnectionIDGenerator: &fixedCIDs{prefix: 0x5e5e5e5e},
		StatelessResetKey: &quic.StatelessResetKey{2}, TokenGeneratorKey: &quic.TokenGeneratorKey{3}}
	if s.client != nil {
		s.client(ctls, cq)
	}
	if s.server != nil {
		s.server(stls, sq, str)
	}
	ln, err := str.Listen(stls, sq)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Go(func() { quicServe(ln) })

	run := &QUICRun{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := ctr.Dial(ctx, saddr, ctls, cq)
	run.DialErr = err
	if err == nil {
		run.Response, err = quicExchange(ctx, conn)
		if err == nil && s.rebind {
			time.Sleep(50 * time.Millisecond)
			n.rebind(caddr.Port + 1000)
			_, err = quicExchange(ctx, conn)
		}
		conn.CloseWithError(0, "")
		if err != nil {
			err = fmt.Errorf("exchange: %w", err)
		}
	}
	time.Sleep(100 * time.Millisecond) // the close reaches the server
	ln.Close()
	ctr.Close()
	str.Close()
	n.ends[0].Close()
	n.ends[1].Close()
	wg.Wait()
	if err != nil && run.DialErr == nil {
		return nil, err
	}

	var pkts []Packet
	for _, d := range n.datagrams() {
		b, err := frameUDP(d)
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, Packet{At: Base.Add(d.at), Data: b})
	}
	run.Datagrams = n.sent
	if s.fallback {
		// As browsers do: TLS over TCP to the same name once QUIC has failed.
		var last time.Duration
		if ds := n.datagrams(); len(ds) > 0 {
			last = ds[len(ds)-1].at
		}
		tc := &Scenario{Name: s.Name, Links: []Link{LinkEthernet}, conns: []connSpec{{
			client: client(with(ctls, func(c *tls.Config) { c.NextProtos = []string{"h2", "http/1.1"} }), false),
			server: server(with(stls, func(c *tls.Config) { c.NextProtos = []string{"h2", "http/1.1"} })),
			start:  last + 10*time.Millisecond}}}
		tp, err := tc.Build()
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, tp...)
		sortPackets(pkts)
	}
	var b bytes.Buffer
	if err := WritePcap(&b, LinkEthernet, pkts); err != nil {
		return nil, err
	}
	run.Pcap, run.Keys = b.Bytes(), keys.Bytes()
	return run, nil
}

// quicServe answers every connection: one response per stream, until the
// client closes.
func quicServe(ln *quic.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept(context.Background())
		if err != nil {
			return
		}
		wg.Go(func() {
			for {
				st, err := conn.AcceptStream(conn.Context())
				if err != nil {
					return
				}
				if _, err := io.ReadAll(io.LimitReader(st, 4096)); err != nil {
					return
				}
				st.Write(quicResponse)
				st.Close()
			}
		})
	}
}

// quicExchange sends the request on a new stream and reads the response.
func quicExchange(ctx context.Context, conn *quic.Conn) ([]byte, error) {
	st, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := st.Write(quicRequest); err != nil {
		return nil, err
	}
	st.Close() // FIN: the request is whole
	resp, err := io.ReadAll(io.LimitReader(st, 1<<16))
	if err == nil && !bytes.Equal(resp, quicResponse) {
		err = errors.New("wrong response")
	}
	return resp, err
}
