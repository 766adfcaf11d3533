package report

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/quic"
)

// QUIC is a QUIC connection's transport facts (flows.QUICFacts).
type QUIC struct {
	Version string `json:"version"` // as 0x00000001
	// DCID is the client's first Destination Connection ID (its Initial
	// keys come from it); SCID the client's Source Connection ID,
	// ServerSCID the server's.
	DCID               string              `json:"dcid"`
	SCID               string              `json:"scid"`
	ServerSCID         string              `json:"server_scid,omitempty"`
	Retry              bool                `json:"retry"`
	Retries            int                 `json:"retries,omitempty"`
	RetryValid         *bool               `json:"retry_valid,omitempty"`
	VersionNegotiation *VersionNegotiation `json:"version_negotiation,omitempty"`
	// ErrorCode is the CONNECTION_CLOSE's (as 0x128), Error its name
	// (the alert's for CRYPTO_ERROR), ErrorFrom its sender.
	ErrorCode   string `json:"error_code,omitempty"`
	Error       string `json:"error,omitempty"`
	ErrorFrom   string `json:"error_from,omitempty"`
	Application bool   `json:"application_error,omitempty"`
	Reason      string `json:"reason,omitempty"`
	// Packets per number space, [client, server].
	Packets        QUICPackets `json:"packets"`
	ClientInitials int         `json:"client_initials"`
	// HelloPackets: the Initial packets the ClientHello spanned.
	HelloPackets int `json:"client_hello_packets,omitempty"`
	// HelloAcked: of those, the ones the server acknowledged, when it
	// acknowledged some and never the others.
	HelloAcked       int    `json:"client_hello_packets_acked,omitempty"`
	Unopened         [2]int `json:"unopened"`
	UDPStreams       []int  `json:"udp_streams"`
	ConnectionNumber *int   `json:"connection_number,omitempty"`
	Rebinds          int    `json:"rebinds,omitempty"`
	HandshakeDone    bool   `json:"handshake_done"`
}

// QUICPackets counts packets per number space, [client, server].
type QUICPackets struct {
	Initial   [2]int `json:"initial"`
	Handshake [2]int `json:"handshake"`
	ZeroRTT   int    `json:"zero_rtt,omitempty"`
	OneRTT    [2]int `json:"one_rtt"`
}

// VersionNegotiation is the client's version and the server's list.
type VersionNegotiation struct {
	Offered   string   `json:"offered"`
	Supported []string `json:"supported"`
}

// Fallback is the other connection of a QUIC attempt and its TCP fallback.
type Fallback struct {
	Transport string `json:"transport"`
	Stream    int    `json:"stream"`
}

func hexCID(b []byte) string { return hex.EncodeToString(b) }

// buildQUIC is the JSON object of a QUIC connection's facts.
func buildQUIC(f *flows.QUICFacts) *QUIC {
	cl, sv := decoder.Client, decoder.Server
	q := &QUIC{Version: f.Version.String(), DCID: hexCID(f.OriginalDCID), SCID: hexCID(f.ClientSCID), ServerSCID: hexCID(f.ServerSCID),
		Retry: f.Retry, Retries: f.Retries, ClientInitials: f.NClientInitials, HelloPackets: f.HelloPackets, HelloAcked: f.HelloAcked, UDPStreams: f.UDPStreams,
		Rebinds: f.Rebinds, HandshakeDone: !f.HandshakeDone.IsZero()}
	if n := f.ConnectionNumber; n >= 0 {
		q.ConnectionNumber = &n
	}
	if f.Retry {
		v := f.RetryValid
		q.RetryValid = &v
	}
	q.Packets = QUICPackets{Initial: [2]int{f.Packets[cl][0], f.Packets[sv][0]}, Handshake: [2]int{f.Packets[cl][1], f.Packets[sv][1]},
		OneRTT: [2]int{f.Packets[cl][2], f.Packets[sv][2]}, ZeroRTT: f.ZeroRTT}
	q.Unopened = [2]int{f.Opaque[cl] + f.OpenFailed[cl], f.Opaque[sv] + f.OpenFailed[sv]}
	if f.VersionNegotiation != nil {
		vn := &VersionNegotiation{Offered: f.Offered.String(), Supported: []string{}}
		for _, v := range f.VersionNegotiation {
			vn.Supported = append(vn.Supported, v.String())
		}
		q.VersionNegotiation = vn
	}
	if c := f.Close; c != nil {
		q.ErrorCode = "0x" + strconv.FormatUint(c.Code, 16)
		q.Error, q.ErrorFrom, q.Application = c.ErrorName(), c.From.String(), c.Application
		q.Reason = SafeText(c.Reason)
	}
	if q.UDPStreams == nil {
		q.UDPStreams = []int{}
	}
	return q
}

// pluralS is the plural ending for n.
func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// versionList names the versions, leaving out the reserved ones that
// exercise version negotiation (RFC 9000 §15: 0x?a?a?a?a).
func versionList(vs []quic.Version) string {
	var s []string
	for _, v := range vs {
		if v&0x0f0f0f0f != 0x0a0a0a0a {
			s = append(s, v.String())
		}
	}
	return strings.Join(s, ", ")
}

// quicMissingWords explains a QUIC connection whose capture lacks packets.
func quicMissingWords(r *flows.Result) string {
	if r.QUIC.Packets[decoder.Server] == [3]int{} {
		return "The capture has a single client Initial and no packet for " + seconds(r.Stall.Silent) + " after it, though a QUIC client that gets no answer sends its Initial again within a second or two (RFC 9002 §6.2): packets are missing from the capture (a filter that kept only ClientHellos?), so the server's silence is not judged."
	}
	return "The client sent nothing after the server's Initial, though a QUIC client acknowledges every Initial at once (RFC 9000 §13.2.1): packets are missing from the capture (a filter that kept only packets with TLS hellos?), so the silence is not judged."
}

// quicFindings are what is worth telling about a QUIC connection's
// transport.
func quicFindings(x *checkRun) {
	r := x.r
	f := r.QUIC
	if f == nil {
		return
	}
	if r.Reason.Kind == flows.ReasonNoAnswer && (r.Outcome == flows.Stalled || f.NClientInitials > 1) {
		var at []string
		for _, t := range f.ClientInitials {
			at = append(at, seconds(t.Sub(f.ClientInitials[0])))
		}
		more := ""
		if f.NClientInitials > len(f.ClientInitials) {
			more = ", …"
		}
		x.add(FindingQUICNoResponse, clientInitialFrames(r), "The client sent %d Initial packet%s (at %s%s) and the server sent nothing back: UDP to port %d is blocked or dropped on the path, or nothing listens there.",
			f.NClientInitials, pluralS(f.NClientInitials), strings.Join(at, ", "), more, r.Server.Port())
	}
	if f.HelloPackets > 1 {
		tail := helloBulk(r.HS.ClientHello) + "."
		if FindingQUICClientHelloSplit.SeverityOf(r) == SevWarning {
			tail = ", and the server never answered it: a middlebox that reads or passes only the first Initial would do that."
			if f.HelloAcked > 0 {
				tail = fmt.Sprintf(", and the server acknowledged only %d of them: a middlebox that passes only the first Initial of a flow would do that.", f.HelloAcked)
			}
		}
		x.add(FindingQUICClientHelloSplit, msgFrames(r.HS, decoder.Client, decoder.MsgClientHello), "The ClientHello spanned %d Initial packets%s", f.HelloPackets, tail)
	}
	if r.Reason.Kind == flows.ReasonRetryLoop {
		x.add(FindingQUICRetryLoop, eventFrames(r, "Retry"), "The server answered the client's Initials with %d Retry packets and never with a ServerHello: a Retry loop (a server or load balancer that does not accept its own tokens, RFC 9000 §8.1.3).", f.Retries)
	} else if f.Retry {
		if f.RetryValid {
			x.add(FindingQUICRetry, eventFrames(r, "Retry"), "The server sent a Retry (address validation, RFC 9000 §8.1): one extra round trip before the handshake.")
		} else {
			x.add(FindingQUICRetryInvalid, eventFrames(r, "Retry"), "The server sent a Retry whose integrity tag does not check against the client's connection ID (RFC 9001 §5.8): forged, or for another connection.")
		}
	}
	if f.VersionNegotiation != nil {
		x.add(FindingQUICVersionNegotiation, eventFrames(r, "Version Negotiation"), "The server does not speak QUIC version %s and answered with Version Negotiation, offering %s.", f.Offered, versionList(f.VersionNegotiation))
	}
	switch c := f.Close; r.Reason.Kind {
	case flows.ReasonQUICClose:
		x.add(FindingHandshakeFailed, r.Reason.Frames, "The %s closed the connection with QUIC error %s (0x%x)%s.", c.From, c.ErrorName(), c.Code, closePhrase(c))
	case flows.ReasonNoCommonVersion:
		x.add(FindingHandshakeFailed, r.Reason.Frames, "The client and the server share no QUIC version: the client offered %s, the server supports %s.", f.Offered, versionList(f.VersionNegotiation))
	}
	if f.Rebinds > 0 {
		x.add(FindingQUICMigration, eventFrames(r, "new address", decoder.Client), "The client's address changed %d time%s during the connection (NAT rebinding or migration, RFC 9000 §9); its connection IDs keep it one connection.", f.Rebinds, pluralS(f.Rebinds))
	}
}

// fallbackFinding links a QUIC attempt and its fallback to TCP.
func fallbackFinding(x *checkRun) {
	r := x.r
	fb := r.Fallback
	if fb == nil {
		return
	}
	if r.Transport == flows.TransportQUIC {
		x.add(FindingQUICFallbackToTCP, clientInitialFrames(r), "QUIC got no answer and the client fell back to TLS over TCP (tcp.stream %d): UDP to port %d is blocked on the path.", fb.Stream, r.Server.Port())
		return
	}
	x.add(FindingQUICFallbackToTCP, eventFrames(r, "SYN", decoder.Client), "This connection followed a QUIC attempt to the same name that got no answer (udp.stream %d): UDP to port 443 is blocked on the path, so the client fell back to TCP.", fb.Stream)
}

// serverNeverAnswered: the verdict is that the server owed its ServerHello
// and sent nothing of it (not a refusal, not a capture that lacks packets).
func serverNeverAnswered(r *flows.Result) bool {
	switch r.Reason.Kind {
	case flows.ReasonLost:
		return r.QUIC != nil && r.QUIC.HelloAcked > 0
	case flows.ReasonNoAnswer, flows.ReasonSilent:
		s := r.Stall
		return s != nil && s.Waiting == decoder.Server && s.Next == flows.OwedMsg(decoder.MsgServerHello)
	}
	return false
}

// helloBulk says what made a ClientHello large, in parentheses after a
// space: the largest of its key shares, ALPN list and session ticket
// (a post-quantum key share is 1,216 bytes of X25519MLKEM768 alone).
func helloBulk(ch *decoder.ClientHello) string {
	if ch == nil {
		return ""
	}
	shares, alpn := 0, 0
	var groups []string
	for _, ks := range ch.KeyShares {
		shares += ks.Length
		groups = append(groups, decoder.GroupName(ks.Group))
	}
	for _, p := range ch.ALPN {
		alpn += 1 + len(p)
	}
	type part struct {
		n    int
		what string
	}
	best := part{shares, fmt.Sprintf("key shares: %d bytes, %s", shares, strings.Join(groups, " and "))}
	for _, p := range []part{
		{alpn, fmt.Sprintf("its ALPN list: %d bytes, %s", alpn, plural(len(ch.ALPN), "protocol"))},
		{ch.SessionTicketLen, fmt.Sprintf("a session ticket: %d bytes", ch.SessionTicketLen)},
	} {
		if p.n > best.n {
			best = p
		}
	}
	if best.n < 256 {
		return ""
	}
	return " (mostly " + best.what + ")"
}
