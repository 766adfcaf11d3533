package decoder

import (
	"strings"
	"testing"
	"time"
)

// TestBudget: connections that each send the start of a ClientHello whose
// length says 262,140 bytes (under the per-message cap) share one budget;
// past it a connection is decoded no further and says why, and the
// budget never holds much more than its limit.
func TestBudget(t *testing.T) {
	b := &Budget{Limit: 1 << 20}
	hello := []byte{22, 3, 1, 0x40, 0x00, typeClientHello, 0x03, 0xff, 0xfc, 3, 3}
	hello = append(hello, make([]byte, 0x4000-6)...) // the first record, 16 KiB of the message
	rec := append([]byte{22, 3, 1, 0x40, 0x00}, make([]byte, 0x4000)...)
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var conns []*Conn
	peak := int64(0)
	for range 20 {
		c := NewConn(true)
		c.SetBudget(b)
		c.Feed(0, hello, t0)
		for range 7 { // 128 KiB of the message so far
			c.Feed(0, rec, t0.Add(time.Millisecond))
		}
		peak = max(peak, b.Used())
		conns = append(conns, c)
	}
	if b.Exceeded == 0 || peak > b.Limit+256<<10 {
		t.Fatalf("%d connections over the budget, %d bytes held at most; want some over, at most a message's room over the limit", b.Exceeded, peak)
	}
	over := conns[len(conns)-1]
	hs, st := over.Snapshot(), over.State()
	if len(hs.Problems) != 1 || hs.Problems[0].Kind != ProblemBudget || !strings.Contains(hs.Problems[0].Err, "a ClientHello of 262144 bytes") {
		t.Errorf("problems %v", hs.Problems)
	}
	if st.Phase != PhaseHandshaking || st.Waiting != Client || st.Next != MsgClientHello || over.Decided() {
		t.Errorf("over the budget: %v, %s owes %s, decided %v; want handshaking, the client owes the ClientHello, undecided", st.Phase, st.Waiting, st.Next, over.Decided())
	}
	// The rest of the message is read past, not held, and the alert after
	// it still decides.
	held := b.Used()
	for range 10 {
		over.Feed(0, rec, t0.Add(2*time.Millisecond))
	}
	over.Feed(0, []byte{21, 3, 3, 0, 2, 2, 50}, t0.Add(3*time.Millisecond))
	if st := over.State(); st.Phase != PhaseFailed || st.Alert == nil || st.Alert.From != Client || st.Alert.Description != 50 || b.Used() > held {
		t.Errorf("after the alert: %v %+v, %d bytes held (%d before); want failed by the client's decode_error, nothing more held", st.Phase, st.Alert, b.Used(), held)
	}
	for _, c := range conns {
		c.Release()
	}
	if b.Used() != 0 {
		t.Errorf("%d bytes still charged after every connection let go", b.Used())
	}
}
