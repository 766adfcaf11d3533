package flows

import (
	"slices"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
)

// Reason is why a connection got its outcome: one of a closed set, decided
// with the outcome (Analyzer.result, Analyzer.quicResult) and nowhere
// else. Reports put it into words; they never work it out again. The
// pair (Outcome, Reason.Kind) is the verdict: a stalled and an incomplete
// handshake can share a reason (the capture ended, or the stall timeout
// passed, with the same side silent).
type Reason struct {
	Kind ReasonKind
	// Side is whose act or silence it is: the sender of the alert, the
	// side that closed or gave up, the side that owed a message, the side
	// missing from the capture.
	Side decoder.Side
	// Frames are the Wireshark frame numbers it rests on, in order.
	Frames []int64
	// Cause: the certificate problem that explains a refusal of the
	// peer's certificate (certCause); nil when none was found.
	Cause *CertCause
}

// ReasonKind is the closed set of reasons.
type ReasonKind uint8

const (
	ReasonNone ReasonKind = iota

	// The handshake worked.
	ReasonFinished      // both sides' Finished (QUIC: confirmed)
	ReasonResumed       // an earlier session resumed (Result.Resumption)
	ReasonBeforeCapture // encrypted records flowed; the handshake was before the capture

	// It was refused.
	ReasonAlert           // Side sent a fatal alert (Result.Alert)
	ReasonQUICClose       // Side closed with a QUIC error (QUICFacts.Close)
	ReasonNoCommonVersion // QUIC Version Negotiation, no version in common

	// It was ended before it finished.
	ReasonRefused       // the server answered the SYN with a RST
	ReasonRefusedICMP   // an ICMP error refused the SYN (RFC 1122 §4.2.3.9)
	ReasonNotTLS        // the server answered the ClientHello with something not TLS
	ReasonGaveUp        // Side closed while it waited for its peer's message
	ReasonClosedInstead // Side closed instead of sending what it owed
	ReasonInjectedReset // a RST in Side's name that Side did not send: it went on after it

	// Side owed a message and it never came.
	ReasonSYNUnanswered         // no SYN-ACK came back
	ReasonSilent                // Side sent nothing (Stall.Silent)
	ReasonStillSending          // Side was in the middle of a message (Stall.Sending)
	ReasonLost                  // what Side sent (it owed) never reached its peer: lost in the network
	ReasonNoAnswer              // QUIC, DTLS: not one packet came back from the server
	ReasonServerInitialMissing  // QUIC: the server's Handshake packets came without its Initial
	ReasonRetryLoop             // QUIC: Retry after Retry, never a ServerHello
	ReasonClientHelloIncomplete // the server got only part of the ClientHello
	// DTLS: the server sent a HelloVerifyRequest and the client never sent
	// its ClientHello with the cookie (RFC 6347 §4.2.1).
	ReasonCookieNotReturned

	// The capture cannot tell.
	ReasonOneSided    // no packet of Side in the capture
	ReasonAcksMissing // the capture lacks packets: what Side's peer sent last was never acknowledged
	// The capturing side dropped packets while it was open
	// (Result.Drops), and the verdict would rest on silence.
	ReasonCaptureDropped
)

var reasonNames = [...]string{
	ReasonNone: "", ReasonFinished: "finished", ReasonResumed: "resumed", ReasonBeforeCapture: "before_capture",
	ReasonAlert: "alert", ReasonQUICClose: "quic_close", ReasonNoCommonVersion: "no_common_version",
	ReasonRefused: "refused", ReasonRefusedICMP: "refused_icmp", ReasonNotTLS: "not_tls", ReasonGaveUp: "gave_up",
	ReasonClosedInstead: "closed_instead", ReasonInjectedReset: "injected_reset",
	ReasonSYNUnanswered: "syn_unanswered", ReasonSilent: "silent", ReasonStillSending: "still_sending",
	ReasonLost: "lost_in_network", ReasonNoAnswer: "no_answer", ReasonServerInitialMissing: "server_initial_missing",
	ReasonRetryLoop: "retry_loop", ReasonClientHelloIncomplete: "client_hello_incomplete", ReasonCookieNotReturned: "cookie_not_returned",
	ReasonOneSided: "one_sided", ReasonAcksMissing: "acks_missing", ReasonCaptureDropped: "capture_dropped",
}

// String is the reason's name in JSON (the verdict's "reason").
func (k ReasonKind) String() string { return reasonNames[k] }

// ReasonKinds is every reason, for the schema and the tests.
func ReasonKinds() []ReasonKind {
	out := make([]ReasonKind, 0, len(reasonNames)-1)
	for k := ReasonFinished; int(k) < len(reasonNames); k++ {
		out = append(out, k)
	}
	return out
}

// Unknown reports a reason that says the capture cannot tell: the
// verdict rests on packets missing from it.
func (k ReasonKind) Unknown() bool {
	return k == ReasonOneSided || k == ReasonAcksMissing || k == ReasonCaptureDropped
}

// Sided reports whether the reason names a side (Reason.Side): the
// healthy ones do not.
func (k ReasonKind) Sided() bool {
	return k != ReasonNone && k != ReasonFinished && k != ReasonResumed && k != ReasonBeforeCapture && k != ReasonCaptureDropped
}

// evidence collects the frames a reason rests on.
type evidence []int64

func (e *evidence) add(f int64) {
	if f > 0 && !slices.Contains(*e, f) {
		*e = append(*e, f)
	}
}

// event adds the frames of side's events of kind (all of them; at most
// the first limit when limit > 0).
func (e *evidence) event(events []Event, side decoder.Side, kind string, limit int) {
	n := 0
	for _, ev := range events {
		if ev.From == side && ev.Kind == kind && ev.Frame > 0 {
			e.add(ev.Frame)
			if n++; limit > 0 && n == limit {
				return
			}
		}
	}
}

// firstEvent adds the frame of side's first event of kind at or after t.
func (e *evidence) firstEvent(events []Event, side decoder.Side, kind string, t time.Time) {
	for _, ev := range events {
		if ev.From == side && ev.Kind == kind && !ev.Time.Before(t) {
			e.add(ev.Frame)
			return
		}
	}
}

// message adds the frame of side's message of type at t (any time when
// t is zero).
func (e *evidence) message(hs *decoder.Handshake, side decoder.Side, t decoder.MsgType, at time.Time) {
	for _, m := range hs.Messages {
		if m.From == side && m.Type == t && (at.IsZero() || m.Time.Equal(at)) {
			e.add(m.Frame)
			return
		}
	}
}

// lastBefore adds the frame of the last message delivered by t, from
// side (either side when from is nil).
func (e *evidence) lastBefore(hs *decoder.Handshake, from *decoder.Side, t time.Time) {
	for i := len(hs.Messages) - 1; i >= 0; i-- {
		m := hs.Messages[i]
		if m.Undelivered || !t.IsZero() && m.Time.After(t) || from != nil && m.From != *from {
			continue
		}
		e.add(m.Frame)
		return
	}
}

// sorted returns the frames in order.
func (e evidence) sorted() []int64 {
	slices.Sort(e)
	return slices.Clip(e)
}
