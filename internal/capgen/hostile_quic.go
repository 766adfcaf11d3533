package capgen

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"github.com/tlsscope/tlsscope/flows/quic"
)

// writeQUICFlood writes n QUIC v1 client Initials, each from its own
// source with its own Destination Connection ID (so its own Initial keys)
// and a real ClientHello, never answered nor repeated: the memory of a
// flood of QUIC connection attempts (RFC 9000 §8: Initials cost the
// receiver work before any address is validated).
func writeQUICFlood(w io.Writer, t *HostileTruth, n int) error {
	pw, err := newPcapWriter(w)
	if err != nil {
		return err
	}
	hello, err := quicClientHello()
	if err != nil {
		return err
	}
	// One CRYPTO frame with the ClientHello, then PADDING to 1200 bytes.
	payload := []byte{0x06, 0x00}
	payload = binary.BigEndian.AppendUint16(payload, 0x4000|uint16(len(hello)))
	payload = append(payload, hello...)
	payload = append(payload, make([]byte, max(0, 1162-len(payload)))...)
	r := rand.New(rand.NewPCG(11, 11))
	gap := 30 * time.Second / time.Duration(n)
	dcid, scid := make([]byte, 8), make([]byte, 8)
	for i := range n {
		binary.BigEndian.PutUint64(dcid, r.Uint64())
		binary.BigEndian.PutUint64(scid, r.Uint64())
		cl, _, err := quic.InitialSealers(quic.V1, dcid)
		if err != nil {
			return err
		}
		pkt, err := cl.Seal(quic.Header{Type: quic.Initial, Version: quic.V1, DCID: dcid, SCID: scid, PNLen: 2}, 0, payload)
		if err != nil {
			return err
		}
		a := uint32(i)*0x9E3779B1 + 0x5bd1e995
		d := udpDatagram{at: time.Duration(i) * gap, from: 0, payload: pkt,
			src: &net.UDPAddr{IP: net.IPv4(10, byte(a>>16), byte(a>>8), byte(a)), Port: 1024 + r.IntN(64000)},
			dst: &net.UDPAddr{IP: net.IP(hostileServer[:]), Port: 443}}
		frame, err := frameUDP(d)
		if err != nil {
			return err
		}
		if err := pw.packet(d.at, frame, len(frame)); err != nil {
			return err
		}
		t.Packets++
		// A single Initial never repeated is judged as a capture that
		// lacks packets once the stall timeout has passed, else as
		// incomplete: both are incomplete.
		t.Rows["incomplete"]++
	}
	t.Conns = n
	return nil
}

// quicClientHello is the ClientHello crypto/tls's QUIC client sends.
func quicClientHello() ([]byte, error) {
	c := tls.QUICClient(&tls.QUICConfig{TLSConfig: &tls.Config{ServerName: "flood.tlsscope.test", NextProtos: []string{"h3"}, MinVersion: tls.VersionTLS13,
		CurvePreferences: []tls.CurveID{tls.X25519}}})
	c.SetTransportParameters([]byte{})
	if err := c.Start(context.Background()); err != nil {
		return nil, err
	}
	defer c.Close()
	for {
		e := c.NextEvent()
		switch e.Kind {
		case tls.QUICNoEvent:
			return nil, io.ErrUnexpectedEOF
		case tls.QUICWriteData:
			return append([]byte(nil), e.Data...), nil
		}
	}
}
