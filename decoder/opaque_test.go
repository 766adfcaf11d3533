package decoder

import (
	"testing"
	"time"
)

// hellos13 feeds a real TLS 1.3 ClientHello and ServerHello (crypto/tls's
// QUIC API, so no record layer) to a new machine.
func hellos13(t *testing.T) *Machine {
	flights, _ := quicHandshake(t)
	m := NewMachine()
	for _, f := range flights[:2] {
		var r MessageReader
		r.Write(f.data, 0)
		msg, _, _, _, _ := r.Next()
		if msg == nil || f.epoch != EpochPlaintext {
			t.Fatal("the first two flights are not the hellos")
		}
		m.Message(f.from, f.epoch, msg, Pos{Time: t0})
	}
	if m.HS.ServerHello == nil || !isTLS13(m.version()) {
		t.Fatal("no TLS 1.3 ServerHello")
	}
	return m
}

// rec is a protected TLS 1.3 record read without keys, or a close.
type rec struct {
	from  Side
	n     int // record length; 0: the side closes (FIN)
	msAt  int
	alert bool // plaintext fatal alert instead (TLS 1.2 style)
}

// TestTLS13WithoutKeys places protected TLS 1.3 records by size and
// place, as the sizes of real stacks make them: OpenSSL's EncryptedExtensions
// is its own 23-byte record, the size of an alert.
func TestTLS13WithoutKeys(t *testing.T) {
	cases := []struct {
		name     string
		recs     []rec
		phase    Phase
		alertBy  Side
		decided  bool
		complete int // ms of the completion, when complete
		ladder   string
	}{
		{"openssl EncryptedExtensions record", []rec{{Server, 23, 10, false}, {Server, 1200, 10, false}, {Server, 286, 10, false}, {Server, 53, 10, false}, {Client, 53, 30, false}},
			PhaseComplete, 0, true, 30, "server EncryptedHandshake 1562, client Finished 53"},
		{"server refuses after its hello", []rec{{Server, 19, 10, false}, {Server, 0, 11, false}},
			PhaseFailed, Server, true, 0, "server Alert 19"},
		{"client rejects the certificate", []rec{{Server, 1500, 10, false}, {Client, 19, 30, false}, {Client, 0, 31, false}},
			PhaseFailed, Client, true, 0, "server EncryptedHandshake 1500, client Alert 19"},
		{"alert-sized but no close", []rec{{Server, 1500, 10, false}, {Client, 19, 30, false}},
			PhaseHandshaking, 0, false, 0, "server EncryptedHandshake 1500, client EncryptedRecord 19"},
		{"close_notify after data", []rec{{Server, 1500, 10, false}, {Client, 53, 30, false}, {Client, 300, 31, false}, {Server, 900, 50, false}, {Client, 19, 60, false}, {Client, 0, 61, false}},
			PhaseComplete, 0, true, 30, "server EncryptedHandshake 1500, client Finished 53, client ApplicationData 300, server ApplicationData 900, client Alert 19"},
		{"server refuses the client's certificate", []rec{{Server, 1700, 10, false}, {Client, 25, 30, false}, {Client, 53, 30, false}, {Server, 19, 50, false}, {Server, 0, 51, false}},
			PhaseFailed, Server, true, 30, "server EncryptedHandshake 1700, client EncryptedHandshake 25, client ApplicationData 53, server Alert 19"},
		{"client certificate accepted", []rec{{Server, 1700, 10, false}, {Client, 900, 30, false}, {Client, 53, 30, false}, {Server, 400, 50, false}},
			PhaseComplete, 0, true, 30, "server EncryptedHandshake 1700, client EncryptedHandshake 900, client ApplicationData 53, server ApplicationData 400"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := hellos13(t)
			decidedBeforeEnd := false
			for i, r := range tc.recs {
				at := Pos{Time: t0.Add(time.Duration(r.msAt) * time.Millisecond)}
				if r.n == 0 {
					m.Closed(r.from, at.Time)
				} else {
					m.ApplicationData(r.from, r.n, true, at)
				}
				if i < len(tc.recs)-1 && m.Decided() && tc.phase == PhaseFailed {
					decidedBeforeEnd = true
				}
			}
			st := m.State()
			if st.Phase != tc.phase {
				t.Fatalf("phase %v, want %v", st.Phase, tc.phase)
			}
			if decidedBeforeEnd {
				t.Error("decided before the record that proves the alert")
			}
			if m.Decided() != tc.decided {
				t.Errorf("decided %v, want %v", m.Decided(), tc.decided)
			}
			if tc.phase == PhaseFailed && (st.Alert == nil || st.Alert.From != tc.alertBy || !st.Alert.Probable) {
				t.Errorf("alert %+v, want a probable one from the %s", st.Alert, tc.alertBy)
			}
			if tc.complete > 0 && !st.CompleteAt.Equal(t0.Add(time.Duration(tc.complete)*time.Millisecond)) {
				t.Errorf("complete at %v, want +%d ms", st.CompleteAt.Sub(t0), tc.complete)
			}
			var ladder string
			for _, msg := range m.HS.Messages[2:] {
				if ladder != "" {
					ladder += ", "
				}
				ladder += msg.From.String() + " " + msg.Type.String() + " " + itoa(msg.Length)
			}
			if ladder != tc.ladder {
				t.Errorf("ladder\n %s\nwant\n %s", ladder, tc.ladder)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestAlertsThatEndNothing: an alert after the peer's FIN answers it; an
// encrypted alert after application data closes; one in a capture that
// began after the handshake says the handshake came before.
func TestAlertsThatEndNothing(t *testing.T) {
	m := hellos13(t)
	m.HS.ServerHello = nil // the server answered the ClientHello with a FIN
	m.Closed(Server, t0.Add(time.Millisecond))
	m.AlertRecord(Client, EpochPlaintext, []byte{2, 50}, Pos{Time: t0.Add(2 * time.Millisecond)})
	if st := m.State(); st.Phase != PhaseHandshaking || st.Waiting != Server || !m.HS.Alerts[0].Reaction {
		t.Errorf("alert answering a FIN: phase %v waiting %v, alert %+v", st.Phase, st.Waiting, m.HS.Alerts[0])
	}

	// mercury tls_sgt.pcap stream 6: an encrypted close_notify alone.
	mid := NewMachine()
	mid.HS.Midstream = true
	mid.EncryptedAlert(Client, 26, Pos{Time: t0})
	if st := mid.State(); st.Phase != PhaseNotObserved {
		t.Errorf("midstream encrypted alert: phase %v, want not_observed", st.Phase)
	}
	// tls_sgt.pcap stream 4: application data, then an encrypted alert.
	mid = NewMachine()
	mid.HS.Midstream = true
	mid.ApplicationData(Client, 300, false, Pos{Time: t0})
	mid.EncryptedAlert(Client, 26, Pos{Time: t0.Add(time.Second)})
	if st := mid.State(); st.Phase != PhaseNotObserved || !mid.HS.Alerts[0].AfterData {
		t.Errorf("alert after data: phase %v, alert %+v", st.Phase, mid.HS.Alerts[0])
	}
}

// TestLostBytesDoNotAdvance: bytes lost in the network were never
// delivered to the peer, nor anything after them (TCP delivers in order):
// records found after the hole are listed, not judged. Bytes lost by the
// capture alone were delivered: the records after them are judged.
func TestLostBytesDoNotAdvance(t *testing.T) {
	flights, _ := quicHandshake(t)
	ch := tlsRecord(recordHandshake, flights[0].data)
	shd := tlsRecord(recordHandshake, []byte{typeServerHelloDone, 0, 0, 0})
	junk := []byte{recordHandshake, 3, 3, 0, 9, 1, 2, 3} // a header whose length lands on nothing

	for _, lost := range []bool{true, false} {
		c := NewConn(true)
		c.Feed(0, ch, t0)
		if lost {
			c.Lost(1, 1448*3, t0.Add(time.Millisecond))
		} else {
			c.Gap(1, 1448*3, t0.Add(time.Millisecond))
		}
		c.Feed(1, append(append([]byte{}, junk...), shd...), t0.Add(2*time.Millisecond))
		msgs := c.Messages()
		last := msgs[len(msgs)-1]
		if last.Type != MsgServerHelloDone || last.Undelivered != lost {
			t.Errorf("lost %v: last message %v, undelivered %v (the junk header must not be taken for a record)", lost, last.Type, last.Undelivered)
		}
		st := c.State()
		if lost && (st.Phase != PhaseHandshaking || st.Waiting != Server || st.Next != MsgServerHello) {
			t.Errorf("lost: %v waiting %v for %v; the client never received the server's flight", st.Phase, st.Waiting, st.Next)
		}
	}

	// The first segment of a two-segment ClientHello lost: only its tail
	// arrives, and the server still waits for a ClientHello.
	c := NewConn(true)
	c.Lost(0, 1376, t0)
	c.Feed(0, ch[len(ch)-72:], t0)
	if st := c.State(); st.Phase != PhaseHandshaking || st.Waiting != Client || st.Next != MsgClientHello {
		t.Errorf("ClientHello tail: %v waiting %v for %v", st.Phase, st.Waiting, st.Next)
	}
}
