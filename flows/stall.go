package flows

import (
	"time"

	"github.com/tlsscope/tlsscope/decoder"
)

// The stall rule, one for every transport: each tells who owes which
// message and since when (Stall.Waiting, Next, Since), from its own
// facts; how long that side was silent and whether that is a stall is
// decided here.

// Stall says who a handshake waited for, for what, and how long.
type Stall struct {
	Waiting decoder.Side
	Next    Owed
	Since   time.Time
	Silent  time.Duration
	// Sending, when SendingLen is not 0, is the message the waiting side was
	// still sending (too large to decode): it was not silent.
	Sending    decoder.MsgType
	SendingLen int
	// SendingHave is how much of it came.
	SendingHave int
	// AtLeast: the connection idled out while the capture went on, so
	// Silent is a lower bound.
	AtLeast bool
}

// Owed is what the silent side owed: a TLS message, or the TCP SYN-ACK
// when TCP itself did not get as far as TLS.
type Owed struct {
	Msg    decoder.MsgType // when not SYNACK
	SYNACK bool
}

// OwedMsg is a TLS message owed.
func OwedMsg(m decoder.MsgType) Owed { return Owed{Msg: m} }

func (o Owed) String() string {
	if o.SYNACK {
		return "SYN-ACK"
	}
	return o.Msg.String()
}

// silence says how long the owing side of s had been silent when the
// connection ended at end: up to its last packet or close; when it idled
// out while the capture went on (idled), up to the idle timeout past it,
// and then only a lower bound (AtLeast).
func (a *Analyzer) silence(s *Stall, end time.Time, idled bool) {
	if idled {
		end = end.Add(a.opts.IdleTimeout)
	}
	s.Silent, s.AtLeast = max(end.Sub(s.Since), 0), idled
}

// stalled reports whether the owing side's silence reached the stall
// timeout: a silence of exactly the timeout is a stall.
func (a *Analyzer) stalled(s *Stall) bool { return s.Silent >= a.opts.StallTimeout }

// unanswered is the last data a side sent that called for an answer or
// an acknowledgement, as the capture holds it: each transport says what
// that is (TCP: the last payload; QUIC: the client's Initial, or the
// server's, which the client must acknowledge).
type unanswered struct {
	at       time.Time     // when it was sent (zero: nothing to judge)
	answered bool          // its receiver sent a packet after it, or acknowledged it
	resent   bool          // its sender sent it again (a retransmission, a probe)
	closed   bool          // its sender closed the connection after it
	waited   time.Duration // how long the capture went on after it
	within   time.Duration // how long an endpoint leaves it so, at most
}

// packetsMissing is the rule for a capture that lacks packets: data left
// unanswered, not sent again and not closed for longer than any endpoint
// leaves it is what a capture filtered to the handshake holds (a real
// loss shows the data sent again, a real stall the receiver's
// acknowledgement), so the silence after it is not judged.
func (u *unanswered) packetsMissing() bool {
	return !u.at.IsZero() && !u.answered && !u.resent && !u.closed && u.waited >= u.within
}
