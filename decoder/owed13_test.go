package decoder

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestTLS13NextOwed feeds real TLS 1.3 handshakes of crypto/tls record by
// record with the client's key log, and checks after each handshake
// message what the waiting side owes next: RFC 8446 §4.4's order, server
// EncryptedExtensions, [CertificateRequest], Certificate,
// CertificateVerify, Finished; client [Certificate, [CertificateVerify]],
// Finished. (It once said Finished wherever a flight had begun.)
func TestTLS13NextOwed(t *testing.T) {
	serverCert, clientCert := testCert(t, "keys.test"), testCert(t, "client.test")
	cases := []struct {
		name   string
		mutual bool
		want   string
	}{
		{"server auth", false, "client ClientHello: server ServerHello; server ServerHello: server EncryptedExtensions; " +
			"server EncryptedExtensions: server Certificate; server Certificate: server CertificateVerify; " +
			"server CertificateVerify: server Finished; server Finished: client Finished; client Finished: complete"},
		{"mutual", true, "client ClientHello: server ServerHello; server ServerHello: server EncryptedExtensions; " +
			"server EncryptedExtensions: server Certificate; server CertificateRequest: server Certificate; " +
			"server Certificate: server CertificateVerify; server CertificateVerify: server Finished; " +
			"server Finished: client Certificate; client Certificate: client CertificateVerify; " +
			"client CertificateVerify: client Finished; client Finished: complete"},
	}
	for _, tc := range cases {
		var keylog bytes.Buffer
		client := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS13, KeyLogWriter: &keylog}
		server := &tls.Config{Certificates: []tls.Certificate{serverCert}, SessionTicketsDisabled: true}
		if tc.mutual {
			client.Certificates = []tls.Certificate{clientCert}
			server.ClientAuth = tls.RequireAnyClientCert
		}
		chunks, _, err := handshake(t, client, server)
		if err != nil {
			t.Fatal(err)
		}
		log := NewKeyLog()
		if _, bad, err := log.Add("go", &keylog); err != nil || len(bad) > 0 {
			t.Fatal(err, bad)
		}
		c := NewConn(true)
		c.SetKeys(NewLogKeys(log))
		var got []string
		seen := 0
		var pending [2][]byte
		at := t0
		for _, ch := range chunks {
			pending[ch.from] = append(pending[ch.from], ch.data...)
			for b := pending[ch.from]; len(b) >= 5; b = pending[ch.from] {
				n := 5 + int(binary.BigEndian.Uint16(b[3:]))
				if n > len(b) {
					break
				}
				at = at.Add(time.Millisecond)
				c.Feed(Dir(ch.from), b[:n], at)
				pending[ch.from] = b[n:]
				msgs := c.Messages()
				for ; seen < len(msgs); seen++ {
					m := msgs[seen]
					if m.Type == MsgChangeCipherSpec || m.Type == MsgApplicationData || m.Type == MsgAlert {
						continue
					}
					st := c.State()
					now := st.Phase.String()
					if st.Phase == PhaseHandshaking {
						now = st.Waiting.String() + " " + st.Next.String()
					}
					got = append(got, fmt.Sprintf("%s %s: %s", m.From, m.Type, now))
				}
			}
			if c.State().Phase == PhaseComplete {
				break
			}
		}
		if g := strings.Join(got, "; "); g != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, g, tc.want)
		}
	}
}
