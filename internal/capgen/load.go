package capgen

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// LoadOptions shape a load capture: many real crypto/tls connections.
type LoadOptions struct {
	// Bytes is the size to reach (approximately); Conns caps the count.
	Bytes int64
	Conns int
	// Data is the application data each completed connection carries, at
	// most; connection i carries (i*7919) mod Data bytes.
	Data int
	// Gap is the time between connection starts.
	Gap time.Duration
}

// Truth is what a connection of the load capture really was.
type Truth struct {
	Stream  int    `json:"stream"`
	Kind    string `json:"kind"`    // tls13, tls12-ecdhe, tls12-rsa, tls12-resumed, refused, stalled
	Outcome string `json:"outcome"` // complete, resumed, failed, stalled
	Version string `json:"version"` // "TLS 1.3", "TLS 1.2", "" when none was negotiated
}

// bulkServer answers the request with n bytes of application data.
func bulkServer(cfg *tls.Config, n int) func(net.Conn) {
	return serve(cfg, func(tc *tls.Conn) {
		chunk := make([]byte, 16384)
		for left := n; left > 0; left -= len(chunk) {
			tc.Write(chunk[:min(left, len(chunk))])
		}
	})
}

// bulkClient sends a request and reads n bytes of answer.
func bulkClient(cfg *tls.Config, n int) func(net.Conn) {
	return func(c net.Conn) {
		tc := tls.Client(c, cfg)
		if err := tc.Handshake(); err != nil {
			c.Close()
			return
		}
		tc.Write(request)
		io.CopyN(io.Discard, tc, int64(n))
		tc.Close()
	}
}

// WriteLoad writes a pcap of many connections and returns what each was.
// Connections overlap in time; packets are written in time order while
// memory holds only the connections still open.
func WriteLoad(w io.Writer, o LoadOptions) ([]Truth, error) {
	if o.Gap == 0 {
		o.Gap = 5 * time.Millisecond
	}
	if o.Data == 0 {
		o.Data = 200 << 10
	}
	p := newPKI()
	shop := serverConfig(p, p.shop)
	rsaServer := with(serverConfig(p, p.rsa), func(c *tls.Config) {
		tls12(c)
		c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}
	})
	rsaClient := with(clientConfig(p, "legacy.example"), func(c *tls.Config) {
		tls12(c)
		c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}
	})
	cache := tls.NewLRUClientSessionCache(64)
	resumeClient := with(clientConfig(p, "shop.example"), func(c *tls.Config) { tls12(c); c.ClientSessionCache = cache })
	resumeServer := with(shop, tls12)
	refuseClient := with(clientConfig(p, "shop.example"), func(c *tls.Config) {
		tls12(c)
		c.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}
	})

	bw := bufio.NewWriterSize(w, 1<<20)
	pw := pcapgo.NewWriter(bw)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	var truth []Truth
	var pending []Packet
	var written int64
	flush := func(before time.Time) error {
		sort.SliceStable(pending, func(i, j int) bool { return pending[i].At.Before(pending[j].At) })
		n := 0
		for n < len(pending) && pending[n].At.Before(before) {
			pk := pending[n]
			ci := gopacket.CaptureInfo{Timestamp: pk.At, CaptureLength: len(pk.Data), Length: len(pk.Data)}
			if err := pw.WritePacket(ci, pk.Data); err != nil {
				return err
			}
			written += int64(len(pk.Data)) + 16
			n++
		}
		pending = append(pending[:0], pending[n:]...)
		return nil
	}
	for i := 0; (o.Conns == 0 || i < o.Conns) && (o.Bytes == 0 || written < o.Bytes); i++ {
		n := (i * 7919) % (o.Data + 1)
		var cs connSpec
		var t Truth
		switch i % 10 {
		case 0, 1, 2, 3:
			cs = connSpec{client: bulkClient(clientConfig(p, "shop.example"), n), server: bulkServer(shop, n)}
			t = Truth{Kind: "tls13", Outcome: "complete", Version: "TLS 1.3"}
		case 4, 5:
			cs = connSpec{client: bulkClient(with(clientConfig(p, "shop.example"), tls12), n), server: bulkServer(with(shop, tls12), n)}
			t = Truth{Kind: "tls12-ecdhe", Outcome: "complete", Version: "TLS 1.2"}
		case 6:
			cs = connSpec{client: bulkClient(rsaClient, n), server: bulkServer(rsaServer, n)}
			t = Truth{Kind: "tls12-rsa", Outcome: "complete", Version: "TLS 1.2"}
		case 7:
			// The first connection of this kind fills the session cache.
			cs = connSpec{client: bulkClient(resumeClient, n), server: bulkServer(resumeServer, n)}
			t = Truth{Kind: "tls12-resumed", Outcome: "resumed", Version: "TLS 1.2"}
			if i == 7 {
				t = Truth{Kind: "tls12-ecdhe", Outcome: "complete", Version: "TLS 1.2"}
			}
		case 8:
			cs = connSpec{client: client(refuseClient, false), server: server(resumeServer)}
			t = Truth{Kind: "refused", Outcome: "failed"}
		case 9:
			cs = connSpec{client: client(clientConfig(p, "shop.example"), false), server: silentServer, timeout: [2]time.Duration{3 * time.Second, 0}}
			t = Truth{Kind: "stalled", Outcome: "stalled"}
		}
		t.Stream = i
		truth = append(truth, t)
		sm := newSim(rtt)
		sm.timeout = cs.timeout
		evs := sm.run(cs.client, cs.server)
		ip := uint32(i)
		ep := endpoints{client: net.IPv4(10, byte(ip>>16), byte(ip>>8), byte(ip)), server: net.IPv4(198, 51, 100, 20),
			cport: uint16(20000 + i%40000), sport: 443}
		start := Base.Add(time.Duration(i) * o.Gap)
		for _, seg := range segments(evs, Shaping{}, rtt) {
			data, err := frame(seg, ep, LinkEthernet)
			if err != nil {
				return nil, err
			}
			pending = append(pending, Packet{At: start.Add(seg.at), Data: data})
		}
		if err := flush(start.Add(o.Gap)); err != nil {
			return nil, err
		}
	}
	if err := flush(Base.Add(1 << 62)); err != nil {
		return nil, err
	}
	return truth, bw.Flush()
}
