package decoder

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"testing"
	"time"
)

// TestTicketAfterDataWatched: with keys, a TLS 1.3 server's
// NewSessionTicket that comes after its application data (GnuTLS sends
// its tickets late), when the verdict is in and the connection only
// watched, is still read: its ticket lifetime was empty.
func TestTicketAfterDataWatched(t *testing.T) {
	var keylog bytes.Buffer
	client := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS13, KeyLogWriter: &keylog}
	server := &tls.Config{Certificates: []tls.Certificate{testCert(t, "keys.test")}, SessionTicketsDisabled: true}
	chunks, _, err := handshake(t, client, server)
	if err != nil {
		t.Fatal(err)
	}
	log := NewKeyLog()
	if _, bad, err := log.Add("go", bytes.NewReader(keylog.Bytes())); err != nil || len(bad) > 0 {
		t.Fatal(err, bad)
	}
	c := NewConn(true)
	c.SetKeys(NewLogKeys(log))
	at := t0
	for _, ch := range chunks {
		at = at.Add(time.Millisecond)
		c.Feed(Dir(ch.from), ch.data, at)
		if c.m.sides[Server].appData > 0 {
			break
		}
	}
	if !c.Decided() || !c.Watch() {
		t.Fatalf("not decided, or nothing to watch, after the server's application data: %v", c.State().Phase)
	}
	// A NewSessionTicket (RFC 8446 §4.6.1) of 230 bytes with a lifetime
	// of 21600 s, under the server's application secret at its next
	// sequence number: larger than the records watched for alerts.
	ticket := bytes.Repeat([]byte{0xaa}, 230)
	body := binary.BigEndian.AppendUint32(nil, 21600)
	body = binary.BigEndian.AppendUint32(body, 0x01020304)
	body = append(body, 1, 0)
	body = binary.BigEndian.AppendUint16(body, uint16(len(ticket)))
	body = append(append(body, ticket...), 0, 0)
	msg := append([]byte{typeNewSessionTicket, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	secret := keyLog(t, keylog.String())["SERVER_TRAFFIC_SECRET_0"]
	p := &c.prot[c.dirOf(Server)]
	sealed := seal13(t, c.m.HS.ServerHello.CipherSuite, secret, p.seq, recordHandshake, msg, 0)
	rec := append([]byte{recordApplicationData, 3, 3, byte(len(sealed) >> 8), byte(len(sealed))}, sealed...)
	c.Feed(c.dirOf(Server), rec, at.Add(time.Millisecond))
	hs := c.Snapshot()
	if len(hs.SessionTickets) != 1 || hs.SessionTickets[0].LifetimeHint != 21600 || hs.SessionTickets[0].TicketLength != 230 {
		t.Errorf("tickets %+v, want one of 21600 s and 230 bytes", hs.SessionTickets)
	}
	if hs.Decryption.Status != DecryptDecrypted {
		t.Errorf("decryption %s (%s)", hs.Decryption.Status, hs.Decryption.Reason)
	}
}
