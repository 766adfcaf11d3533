package capgen

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// DTLS wire constants (RFC 6347 §4.1, §4.2.2).
const (
	dtlsRecordHandshake = 22
	dtlsVersion10       = 0xfeff
	dtlsVersion12       = 0xfefd
	dtlsClientHelloType = 1
	dtlsHostilePort     = 4433
)

// dtlsClientHelloBody is a DTLS 1.2 ClientHello's body (RFC 6347 §4.2.1:
// TLS 1.2's with an empty cookie after the session ID) as a WebRTC stack
// sends it: ECDHE suites, use_srtp (RFC 5764 §4.1.1) and
// extended_master_secret. random is its 32 bytes.
func dtlsClientHelloBody(random []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint16(dtlsVersion12)
	b.AddBytes(random)
	b.AddUint8(0) // session_id
	b.AddUint8(0) // cookie
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, s := range []uint16{0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc00a, 0xc014} {
			b.AddUint16(s)
		}
	})
	b.AddUint8(1) // compression_methods: null
	b.AddUint8(0)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		ext := func(typ uint16, body func(b *cryptobyte.Builder)) {
			b.AddUint16(typ)
			b.AddUint16LengthPrefixed(body)
		}
		ext(0, func(b *cryptobyte.Builder) { // server_name
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint8(0)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("flood.tlsscope.test")) })
			})
		})
		ext(23, func(*cryptobyte.Builder) {}) // extended_master_secret
		ext(0xff01, func(b *cryptobyte.Builder) { b.AddUint8(0) })
		ext(10, func(b *cryptobyte.Builder) { // supported_groups
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, g := range []uint16{29, 23, 24} {
					b.AddUint16(g)
				}
			})
		})
		ext(11, func(b *cryptobyte.Builder) { b.AddUint8(1); b.AddUint8(0) }) // ec_point_formats
		ext(13, func(b *cryptobyte.Builder) {                                 // signature_algorithms
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, s := range []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601} {
					b.AddUint16(s)
				}
			})
		})
		ext(14, func(b *cryptobyte.Builder) { // use_srtp: two profiles, no MKI
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x0007); b.AddUint16(0x0001) })
			b.AddUint8(0)
		})
	})
	return b.BytesOrPanic()
}

// dtlsFragment is one DTLSPlaintext record (epoch 0, sequence seq) holding
// one handshake fragment (RFC 6347 §4.2.2): a message of type typ and
// length total, its bytes data at offset off.
func dtlsFragment(recordVersion uint16, seq uint64, typ uint8, total int, msgSeq uint16, off int, data []byte) []byte {
	out := make([]byte, 0, 13+12+len(data))
	out = append(out, dtlsRecordHandshake)
	out = binary.BigEndian.AppendUint16(out, recordVersion)
	out = binary.BigEndian.AppendUint16(out, 0) // epoch
	out = append(out, byte(seq>>40), byte(seq>>32), byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq))
	out = binary.BigEndian.AppendUint16(out, uint16(12+len(data)))
	out = append(out, typ, byte(total>>16), byte(total>>8), byte(total))
	out = binary.BigEndian.AppendUint16(out, msgSeq)
	out = append(out, byte(off>>16), byte(off>>8), byte(off), byte(len(data)>>16), byte(len(data)>>8), byte(len(data)))
	return append(out, data...)
}

// dtlsSource is the i-th association's client: its own IPv4 address, as
// in writeQUICFlood, and a pseudo-random port that is not one QUIC or TLS
// is looked for on (8443), so that the flood stays a DTLS flood.
func dtlsSource(i int, r *rand.Rand) *net.UDPAddr {
	a := uint32(i)*0x9E3779B1 + 0x7f4a7c15
	port := 1024 + r.IntN(64000)
	if HostileTLSPorts[uint16(port)] {
		port++
	}
	return &net.UDPAddr{IP: net.IPv4(10, byte(a>>16), byte(a>>8), byte(a)), Port: port}
}

// writeDTLSFlood writes n DTLS 1.2 ClientHellos, each from its own source
// to UDP 4433, each its own association, sent once and never answered:
// the memory of a flood of DTLS handshakes before any cookie exchange
// (RFC 6347 §4.2.1: the cookie exists against exactly this).
func writeDTLSFlood(w io.Writer, t *HostileTruth, n int) error {
	pw, err := newPcapWriter(w)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(13, 13))
	gap := 30 * time.Second / time.Duration(n)
	random := make([]byte, 32)
	dst := &net.UDPAddr{IP: net.IP(hostileServer[:]), Port: dtlsHostilePort}
	for i := range n {
		binary.BigEndian.PutUint64(random, r.Uint64())
		binary.BigEndian.PutUint64(random[8:], uint64(i))
		body := dtlsClientHelloBody(random)
		rec := dtlsFragment(dtlsVersion10, 0, dtlsClientHelloType, len(body), 0, 0, body)
		d := udpDatagram{at: time.Duration(i) * gap, payload: rec, src: dtlsSource(i, r), dst: dst}
		frame, err := frameUDP(d)
		if err != nil {
			return err
		}
		if err := pw.packet(d.at, frame, len(frame)); err != nil {
			return err
		}
		t.Packets++
		// A ClientHello sent once and never answered, as writeQUICFlood's
		// Initials: judged as a capture that lacks packets once the
		// stall timeout has passed, else as incomplete; both are
		// incomplete.
		t.Rows["incomplete"]++
	}
	t.Conns = n
	return nil
}

// dtlsBombLength is what every fragment of the bomb says its message's
// length is: 16 MiB - 1, the most a handshake header can say.
const dtlsBombLength = 0xFFFFFF

// writeDTLSFragBomb writes n associations, each sending k datagrams of one
// ClientHello fragment that says the message is 16 MiB long (length
// 0xFFFFFF). The first starts the message at offset 0 with a real
// ClientHello's first bytes (a DTLS flow is found by its ClientHello);
// the others land at pseudo-random offsets, every other one overlapping
// the one before by half: a reassembler that reserves the announced
// length, keeps every overlapping fragment, or holds what each
// association sent (more than decoder's 256 KiB per association, all
// associations at once) runs out of memory (RFC 6347 §4.2.3 leaves the
// buffering to the receiver).
func writeDTLSFragBomb(w io.Writer, t *HostileTruth, n, k int) error {
	pw, err := newPcapWriter(w)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(17, 17))
	const fragLen = 1200
	random := make([]byte, 32)
	binary.BigEndian.PutUint64(random, r.Uint64())
	head := dtlsClientHelloBody(random)
	filler := make([]byte, fragLen)
	for i := range filler {
		filler[i] = byte(r.Uint32())
	}
	first := append(append([]byte(nil), head...), filler[:fragLen-len(head)]...)
	srcs := make([]*net.UDPAddr, n)
	for i := range srcs {
		srcs[i] = dtlsSource(i, r)
	}
	dst := &net.UDPAddr{IP: net.IP(hostileServer[:]), Port: dtlsHostilePort}
	round := 30 * time.Second / time.Duration(k)
	gap := round / time.Duration(n)
	last := make([]int, n)
	for j := range k {
		for i := range n {
			off, data := 0, first
			switch {
			case j == 0:
			case j%2 == 0:
				off, data = last[i]+fragLen/2, filler // overlaps the one before
			default:
				off, data = r.IntN(dtlsBombLength-2*fragLen), filler
			}
			last[i] = off
			rec := dtlsFragment(dtlsVersion10, uint64(j), dtlsClientHelloType, dtlsBombLength, 0, off, data)
			d := udpDatagram{at: time.Duration(j)*round + time.Duration(i)*gap, payload: rec, src: srcs[i], dst: dst}
			frame, err := frameUDP(d)
			if err != nil {
				return err
			}
			if err := pw.packet(d.at, frame, len(frame)); err != nil {
				return err
			}
			t.Packets++
		}
	}
	t.Conns = n
	// Each client is still sending a ClientHello it never finishes, and
	// nothing answers: incomplete, like the TCP trickle.
	t.Rows["incomplete"] = n
	return nil
}
