package report

import (
	"fmt"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
)

// DTLS is a DTLS association's transport facts (flows.DTLSFacts), each
// pair [client, server].
type DTLS struct {
	Datagrams [2]int `json:"datagrams"`
	Records   [2]int `json:"records"`
	// Largest is the largest datagram each side sent (UDP payload bytes).
	Largest [2]int `json:"largest_datagram"`
	// HelloVerifyRequests: the server's HelloVerifyRequests (RFC 6347
	// §4.2.1); CookieReturned: the client sent its ClientHello again with
	// the cookie.
	HelloVerifyRequests int  `json:"hello_verify_requests,omitempty"`
	CookieReturned      bool `json:"cookie_returned,omitempty"`
	// ClientHelloResent and ServerFlightResent count the flights sent
	// again on a timer (RFC 6347 §4.2.4).
	ClientHelloResent  int `json:"client_hello_resent"`
	ServerFlightResent int `json:"server_flight_resent"`
	// Duplicates: records whose number was seen before; Unified: DTLS 1.3
	// records with the unified header (not opened); CIDRecords: DTLS 1.2
	// records with a connection ID (RFC 9146).
	Duplicates [2]int `json:"duplicates"`
	Unified    [2]int `json:"unified_records,omitempty"`
	CIDRecords [2]int `json:"cid_records,omitempty"`
	// FlightLost: a flight that never got through whole.
	FlightLost *DTLSFlightLost `json:"flight_lost,omitempty"`
}

// DTLSFlightLost is flows.DTLSFlightLost.
type DTLSFlightLost struct {
	From    string `json:"from"`
	Message string `json:"message,omitempty"`
	// Have of Length bytes of Message came (seen from the receiver).
	Have    int  `json:"have,omitempty"`
	Length  int  `json:"length,omitempty"`
	Sent    int  `json:"sent"`
	Largest int  `json:"largest_datagram,omitempty"`
	PathMTU bool `json:"path_mtu_blackhole"`
}

// buildDTLS is the JSON object of a DTLS association's facts.
func buildDTLS(r *flows.Result) *DTLS {
	f := r.DTLS
	s := &f.Stats
	d := &DTLS{Datagrams: s.Datagrams, Records: s.Records, Largest: f.Largest, HelloVerifyRequests: f.HelloVerifyRequests,
		CookieReturned:    r.HS.HelloVerifyRequest != nil && r.HS.RetryClientHello != nil,
		ClientHelloResent: f.ClientHelloResent, ServerFlightResent: f.ServerFlightResent,
		Duplicates: s.Duplicates, Unified: s.Unified, CIDRecords: s.CIDRecords}
	if l := f.FlightLost; l != nil {
		d.FlightLost = &DTLSFlightLost{From: l.From.String(), Sent: l.Sent, Largest: l.Largest, PathMTU: l.PathMTU, Have: l.Have, Length: l.Length}
		if l.Message != 0 {
			d.FlightLost.Message = l.Message.String()
		}
	}
	return d
}

// srtpNames names DTLS-SRTP protection profiles (RFC 5764 §4.1.2).
func srtpNames(ps []uint16) []string {
	return names(ps, decoder.SRTPProfileName)
}

// dtlsHelloWords: "its ClientHello 4 times in 7.0 s", from its first
// sending to the end.
func dtlsHelloWords(r *flows.Result) string {
	n := 1 + r.DTLS.ClientHelloResent
	span := time.Duration(0)
	if m := r.HS.First(decoder.Client, decoder.MsgClientHello); m != nil {
		span = r.End.Sub(m.Time)
	}
	if n == 1 {
		return "its ClientHello once, " + seconds(span) + " before the end"
	}
	return fmt.Sprintf("its ClientHello %d times in %s", n, seconds(span))
}

// dtlsReasonWords says the reasons only DTLS has, and DTLS's words for
// some shared ones; ok is false for the others.
func dtlsReasonWords(r *flows.Result) (string, bool) {
	s, why, out := r.Stall, r.Reason, string(r.Outcome)
	switch why.Kind {
	case flows.ReasonNoAnswer:
		return out + ": the client sent " + dtlsHelloWords(r) + ", no answer (server owes HelloVerifyRequest or ServerHello)", true
	case flows.ReasonCookieNotReturned:
		v := out + ": the client never returned the cookie of the server's HelloVerifyRequest in " + silence(s)
		if n := r.DTLS.ClientHelloResent; n > 0 {
			v += fmt.Sprintf(" (it sent its first ClientHello again %s)", plural(n, "time"))
		}
		return v, true
	case flows.ReasonRefusedICMP:
		e := r.ICMP[0]
		return fmt.Sprintf("%s by ICMP %s from %s (nothing listens on UDP port %d)", out, e.Kind(), e.From, r.Server.Port()), true
	}
	return "", false
}

// dtlsLossWords says how a DTLS flight was lost.
func dtlsLossWords(r *flows.Result, l *flows.DTLSFlightLost) string {
	var v string
	if l.Length > 0 {
		v = fmt.Sprintf("only %s of its %s %s came, though it was sent %s", size(l.Have), size(l.Length), l.Message, plural(l.Sent, "time"))
	} else {
		v = fmt.Sprintf("the %s sent its flight %s and the %s kept sending its own again as if none arrived", l.From, plural(l.Sent, "time"), l.From.Other())
	}
	switch {
	case l.PathMTU && l.Length > 0:
		v += fmt.Sprintf(" (only its datagrams up to %d bytes arrived: a path that drops larger ones)", l.Largest)
	case l.PathMTU:
		v += fmt.Sprintf(" (in datagrams up to %d bytes, larger than any that came back: a path that drops large datagrams)", l.Largest)
	}
	return v
}

// dtlsVerdictFinding words the verdicts only DTLS has; ok is false for
// the others.
func dtlsVerdictFinding(r *flows.Result) (*FindingDef, string, bool) {
	s, why := r.Stall, r.Reason
	if r.Outcome != flows.Stalled {
		return nil, "", false
	}
	switch why.Kind {
	case flows.ReasonNoAnswer:
		return FindingHandshakeStalled, fmt.Sprintf("The client sent %s and not one datagram came back from the server: UDP to port %d is blocked or dropped on the path, or nothing listens there.", dtlsHelloWords(r), r.Server.Port()), true
	case flows.ReasonCookieNotReturned:
		return FindingHandshakeStalled, "The server answered with a HelloVerifyRequest (RFC 6347 §4.2.1) and the client never sent its ClientHello again with the cookie in " + silence(s) + ": the HelloVerifyRequest did not reach the client (a path that drops the server's datagrams), or the ClientHello with the cookie did not reach the server.", true
	}
	return nil, "", false
}

// dtlsFindings are what is worth telling about a DTLS association's
// transport: the cookie exchange, flights sent again, a flight lost to
// the path's MTU.
func dtlsFindings(x *checkRun) {
	r := x.r
	f := r.DTLS
	if f == nil {
		return
	}
	if r.HS.HelloVerifyRequest != nil {
		times := ""
		if f.HelloVerifyRequests > 1 {
			times = fmt.Sprintf(" (sent %s, each answering a ClientHello)", plural(f.HelloVerifyRequests, "time"))
		}
		x.add(FindingHelloVerifyRequest, f.HelloVerifyRequestFrames, "The server asked the client to return a cookie (HelloVerifyRequest, RFC 6347 §4.2.1)%s: one extra round trip that proves the client's address.", times)
	}
	if n := f.ClientHelloResent; n > 0 {
		x.add(FindingClientHelloRetransmitted, f.ClientHelloResentFrames, "The client sent its ClientHello again %s, its retransmission timer having fired without an answer (RFC 6347 §4.2.4).", plural(n, "time"))
	}
	if n := f.ServerFlightResent; n > 0 {
		x.add(FindingServerFlightRetransmitted, f.ServerFlightResentFrames, "The server sent a flight again %s: it did not hear the client's next flight in time (RFC 6347 §4.2.4).", plural(n, "time"))
	}
	if l := f.FlightLost; l != nil && l.PathMTU {
		x.add(FindingPathMTUBlackhole, l.Frames, "The %s's flight never got through whole while smaller datagrams did: %s. A path whose MTU is smaller than the %s's datagrams, with no ICMP error reaching it, drops them.", l.From, dtlsLossWords(r, l), l.From)
	}
}
