package decoder

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

// flight is one piece of handshake bytes as crypto/tls's QUIC API hands
// them over (RFC 9001 §4.1): plaintext, with the epoch that protects them.
type flight struct {
	from  Side
	epoch Epoch
	data  []byte
}

var quicEpochs = map[tls.QUICEncryptionLevel]Epoch{
	tls.QUICEncryptionLevelInitial: EpochPlaintext, tls.QUICEncryptionLevelEarly: EpochEarlyData,
	tls.QUICEncryptionLevelHandshake: EpochHandshake, tls.QUICEncryptionLevelApplication: EpochApplication,
}

// quicHandshake runs a real TLS 1.3 handshake between crypto/tls's QUIC
// client and server, in process, and returns the handshake messages each
// side wrote, by epoch, in order.
func quicHandshake(t *testing.T) ([]flight, tls.ConnectionState) {
	cert := testCert(t, "quic.test")
	roots := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	roots.AddCert(leaf)
	cli := tls.QUICClient(&tls.QUICConfig{TLSConfig: &tls.Config{ServerName: "quic.test", RootCAs: roots, NextProtos: []string{"h3"}, MinVersion: tls.VersionTLS13}})
	srv := tls.QUICServer(&tls.QUICConfig{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h3"}, MinVersion: tls.VersionTLS13}})
	cli.SetTransportParameters([]byte{})
	srv.SetTransportParameters([]byte{})
	ctx := context.Background()
	if err := cli.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	conns := [2]*tls.QUICConn{cli, srv}
	var out []flight
	done := [2]bool{}
	ticketSent := false
	for progress := true; progress; {
		progress = false
		for side := range 2 {
			for {
				e := conns[side].NextEvent()
				if e.Kind == tls.QUICNoEvent {
					break
				}
				progress = true
				switch e.Kind {
				case tls.QUICWriteData:
					out = append(out, flight{Side(side), quicEpochs[e.Level], append([]byte(nil), e.Data...)})
					if err := conns[1-side].HandleData(e.Level, e.Data); err != nil {
						t.Fatalf("%s: %v", Side(1-side), err)
					}
				case tls.QUICTransportParametersRequired:
					conns[side].SetTransportParameters([]byte{})
				case tls.QUICHandshakeDone:
					done[side] = true
				case tls.QUICErrorEvent:
					t.Fatal(e.Err)
				}
			}
		}
		if done[Server] && !ticketSent {
			ticketSent = true
			if err := srv.SendSessionTicket(tls.QUICSessionTicketOptions{}); err != nil {
				t.Fatal(err)
			}
			progress = true
		}
	}
	if !done[Client] || !done[Server] {
		t.Fatalf("handshake not done: client %v, server %v", done[Client], done[Server])
	}
	return out, cli.ConnectionState()
}

// TestMachineFedByEpochs feeds the state machine the messages of a real
// TLS 1.3 handshake as QUIC carries them, in CRYPTO data per epoch with no
// record layer: it must read the whole handshake, the server's protected
// flight included, and complete at the client's Finished.
func TestMachineFedByEpochs(t *testing.T) {
	flights, state := quicHandshake(t)
	m := NewMachine()
	var readers [2][4]MessageReader
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var clientFinished time.Time
	for i, f := range flights {
		at := Pos{Time: t0.Add(time.Duration(i) * 10 * time.Millisecond)}
		r := &readers[f.from][f.epoch]
		r.Write(f.data, 0)
		for {
			msg, _, over, _, _ := r.Next()
			if over {
				t.Fatal("message over the cap")
			}
			if msg == nil {
				break
			}
			if f.from == Client && msg[0] == typeFinished {
				clientFinished = at.Time
			}
			m.Message(f.from, f.epoch, msg, at)
		}
	}
	st := m.State()
	if st.Phase != PhaseComplete || !st.CompleteAt.Equal(clientFinished) || clientFinished.IsZero() {
		t.Fatalf("phase %v complete at %v; want complete at the client's Finished %v (problems %v)", st.Phase, st.CompleteAt, clientFinished, m.HS.Problems)
	}
	if len(m.HS.Problems) != 0 || len(m.HS.SessionTickets) != 1 {
		t.Errorf("problems %v, session tickets %+v", m.HS.Problems, m.HS.SessionTickets)
	}
	if v := m.HS.Version(); v != tls.VersionTLS13 {
		t.Errorf("version %s", VersionName(v))
	}
	if len(m.HS.ServerCertificates) != 1 || m.HS.ServerCertificates[0].CommonName != state.PeerCertificates[0].Subject.CommonName {
		t.Errorf("server certificates %v; crypto/tls saw %s", m.HS.ServerCertificates, state.PeerCertificates[0].Subject)
	}
	var ladder []string
	for _, msg := range m.HS.Messages {
		ladder = append(ladder, msg.From.String()+" "+msg.Type.String())
	}
	want := []string{"client ClientHello", "server ServerHello", "server EncryptedExtensions", "server Certificate",
		"server CertificateVerify", "server Finished", "client Finished", "server NewSessionTicket"}
	if len(ladder) != len(want) {
		t.Fatalf("ladder %q, want %q", ladder, want)
	}
	for i := range want {
		if ladder[i] != want[i] {
			t.Fatalf("ladder %q, want %q", ladder, want)
		}
	}
}

// xorCipher is a stand-in for a real AEAD: a record is its TLS 1.3 inner
// plaintext (RFC 8446 §5.2) XORed with 0x5a and a tag of 16 zero bytes.
type xorCipher struct{ bad bool }

func (x xorCipher) Open(typ uint8, version uint16, body []byte, seq uint64) (uint8, []byte, error) {
	if len(body) < 17 || x.bad {
		return 0, nil, errBadRecordMAC
	}
	for _, b := range body[len(body)-16:] {
		if b != 0 {
			return 0, nil, errBadRecordMAC
		}
	}
	plain := make([]byte, len(body)-16)
	for i, b := range body[:len(plain)] {
		plain[i] = b ^ 0x5a
	}
	// Strip the zero padding, then the real content type is last.
	n := len(plain)
	for n > 0 && plain[n-1] == 0 {
		n--
	}
	if n == 0 {
		return 0, nil, errors.New("no content type")
	}
	return plain[n-1], plain[:n-1], nil
}

type xorKeys struct{ bad bool }

func (k xorKeys) Cipher(from Side, e Epoch, hs *Handshake) (RecordCipher, error) {
	if hs.ClientHello == nil {
		return nil, errNoClientHello
	}
	return xorCipher(k), nil
}

// protectedRecords turns the flights into TLS records, as TLS 1.3 over TCP
// sends them: plaintext handshake records, then protected ones of outer
// type application_data.
func protectedRecords(flights []flight) []chunk {
	var out []chunk
	for _, f := range flights {
		if f.epoch == EpochPlaintext {
			out = append(out, chunk{f.from, tlsRecord(recordHandshake, f.data)})
			continue
		}
		inner := append(append([]byte(nil), f.data...), recordHandshake)
		for i := range inner {
			inner[i] ^= 0x5a
		}
		out = append(out, chunk{f.from, tlsRecord(recordApplicationData, append(inner, make([]byte, 16)...))})
	}
	return out
}

func tlsRecord(typ uint8, body []byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(body) >> 8), byte(len(body))}, body...)
}

// TestRecordProtectionPlugsIn sends the same TLS 1.3 handshake through the
// record layer three times: with keys the protection step opens the
// server's flight and the machine reads it; without keys, or with keys
// that do not open the records, the machine judges by the records' places
// and reads nothing it cannot.
func TestRecordProtectionPlugsIn(t *testing.T) {
	flights, _ := quicHandshake(t)
	chunks := protectedRecords(flights)
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	run := func(keys Keys) *Conn {
		c := NewConn(true)
		if keys != nil {
			c.SetKeys(keys)
		}
		for i, ch := range chunks {
			c.Feed(Dir(ch.from), ch.data, t0.Add(time.Duration(i)*10*time.Millisecond))
		}
		return c
	}
	keyed := run(xorKeys{})
	hs := keyed.Snapshot()
	if st := keyed.State(); st.Phase != PhaseComplete {
		t.Fatalf("with keys: phase %v, problems %v", st.Phase, hs.Problems)
	}
	if len(hs.ServerCertificates) != 1 || hs.ServerCertificates[0].CommonName != "quic.test" || len(hs.Problems) != 0 {
		t.Errorf("with keys: server certificates %v, problems %v", hs.ServerCertificates, hs.Problems)
	}
	if len(hs.SessionTickets) != 1 || hs.SessionTickets[0].LifetimeHint != 7*24*3600 || hs.SessionTickets[0].TicketLength == 0 {
		t.Errorf("with keys: session tickets %+v; want one of crypto/tls's 7 days", hs.SessionTickets)
	}
	types := map[MsgType]int{}
	for _, m := range hs.Messages {
		types[m.Type]++
	}
	if types[MsgEncryptedExtensions] != 1 || types[MsgCertificateVerify] != 1 || types[MsgFinished] != 2 || types[MsgEncryptedHandshake] != 0 {
		t.Errorf("with keys: ladder %v", types)
	}
	for _, keys := range []Keys{nil, xorKeys{bad: true}} {
		c := run(keys)
		hs := c.Snapshot()
		if st := c.State(); st.Phase != PhaseComplete {
			t.Errorf("keys %v: phase %v, want complete by the records' places", keys, st.Phase)
		}
		if len(hs.ServerCertificates) != 0 || len(hs.Problems) != 0 {
			t.Errorf("keys %v: %d certificates read, problems %v; want nothing read", keys, len(hs.ServerCertificates), hs.Problems)
		}
	}
}
