package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tlsscope/tlsscope/flows"
)

// The finding catalogue: every code a finding can have, once, with its
// severity and what it means. Findings are made by checks, each registered
// with the codes it may raise; a test runs every check over every test
// capture and fails on a code raised outside its check's list. The README's
// list of findings and the JSON schema's enumeration are tested equal to
// the catalogue.

// FindingDef is one code of the catalogue.
type FindingDef struct {
	Code     string
	Severity Severity // the severity, or the usual one when Rule says when it differs
	Doc      string   // what it means and when it is raised, one line
	// Rule says when the severity differs from Severity, and severity
	// applies it to a connection; nil: always Severity.
	Rule     string
	severity func(r *flows.Result) Severity
}

// SeverityOf is the severity of a finding with this code on r.
func (d *FindingDef) SeverityOf(r *flows.Result) Severity {
	if d.severity != nil {
		return d.severity(r)
	}
	return d.Severity
}

var catalogue []*FindingDef

// def adds a code to the catalogue.
func def(code string, sev Severity, doc string) *FindingDef {
	d := &FindingDef{Code: code, Severity: sev, Doc: doc}
	catalogue = append(catalogue, d)
	return d
}

// defRule adds a code whose severity depends on the connection.
func defRule(code string, sev Severity, doc, rule string, severity func(r *flows.Result) Severity) *FindingDef {
	d := def(code, sev, doc)
	d.Rule, d.severity = rule, severity
	return d
}

// Catalogue is every finding code, in the catalogue's order.
func Catalogue() []FindingDef {
	out := make([]FindingDef, len(catalogue))
	for i, d := range catalogue {
		out[i] = *d
	}
	return out
}

// handshakeDone: the handshake finished despite what the finding tells.
func handshakeDone(r *flows.Result) bool {
	return r.Outcome.Established()
}

// The verdict of a handshake that did not finish.
var (
	FindingHandshakeStalled    = def("handshake_stalled", SevError, "a side stopped sending while it owed the next handshake message; says who, what, for how long, and the usual causes")
	FindingHandshakeIncomplete = def("handshake_incomplete", SevInfo, "the capture ends while a side owed or was sending a message, too soon to call it a stall")
	FindingHandshakeFailed     = def("handshake_failed", SevError, "a fatal alert (or QUIC CONNECTION_CLOSE with an error, or no common QUIC version) ended the handshake; says which and what it usually means")
	FindingConnectionReset     = def("connection_reset", SevError, "a TCP reset ended the connection before the handshake finished (connection refused when it answered the SYN)")
	FindingConnectionClosed    = def("connection_closed", SevError, "a side closed the connection (FIN, or QUIC CONNECTION_CLOSE without error) before the handshake finished")
)

// What the server answered, and alerts that are not the verdict's.
var (
	FindingServerNotTLS  = def("server_not_tls", SevError, "the server answered the ClientHello with something that is not TLS; quotes its first line, made safe (`\"HTTP/1.1 400 Bad Request\"`)")
	FindingAlertReaction = def("alert_reaction", SevInfo, "an alert answering the peer's close, not the cause of the end; says who and which alert")
)

// The capture's view of the connection.
var (
	FindingOneSidedCapture = def("one_sided_capture", SevWarning, "no packet of one side in the whole connection (asymmetric routing, a capture filter), though the other side's packets and ACKs show it talked; its silence is not judged")
	FindingCaptureDrops    = defRule("capture_drops", SevWarning, "the capturing side (the kernel live, or the tool that wrote a pcapng, by its Interface Statistics Blocks) dropped packets while the connection was open; says how many (not necessarily its own) and when; a verdict that would rest on silence is then incomplete (reason capture_dropped)",
		"info when the handshake finished anyway", func(r *flows.Result) Severity {
			if handshakeDone(r) {
				return SevInfo
			}
			return SevWarning
		})
	FindingMissingACKs = def("missing_acks", SevWarning, "the capture lacks the ACKs a TCP peer (or the client's QUIC acknowledgements) would have sent; says whose last data was never acknowledged; the silence is not judged")
)

// The path: loss, resets, ICMP.
var (
	FindingNetworkLoss      = def("network_loss", SevWarning, "bytes that never reached the peer: missing from the capture and never acknowledged, or segments sent again and again and never acknowledged")
	FindingPathMTUBlackhole = def("path_mtu_blackhole", SevWarning, "large packets dropped while small ones pass; says the sizes lost, the largest delivered (SACK) and the MSS announced; DTLS: a flight whose same fragments are lost at every send while smaller datagrams arrive (a lossy link can look alike)")
	FindingResetInjected    = def("reset_injected", SevWarning, "a RST its named sender probably did not send: its TTL differs from the side's other packets, or that side went on sending after it (TTLs change with routes and load balancers too)")
	FindingPathMTU          = defRule("path_mtu", SevWarning, "an ICMP \"fragmentation needed\" / \"packet too big\" about the connection's packets; says the router and the MTU it reported",
		"info when the handshake finished anyway (path MTU discovery worked)", func(r *flows.Result) Severity {
			if handshakeDone(r) {
				return SevInfo
			}
			return SevWarning
		})
	FindingICMPUnreachable = defRule("icmp_unreachable", SevError, "an ICMP destination unreachable quoting the connection's packet; says the sender and which (port unreachable, administratively prohibited, host unreachable)",
		"info when the handshake finished anyway", func(r *flows.Result) Severity {
			if handshakeDone(r) {
				return SevInfo
			}
			return SevError
		})
)

// QUIC's transport.
var (
	FindingQUICNoResponse       = def("quic_no_response", SevWarning, "the client sent Initials and the server sent nothing back; says how many and when (UDP blocked, or nothing listens)")
	FindingQUICClientHelloSplit = defRule("quic_client_hello_split", SevInfo, "the ClientHello spanned several Initial packets; says what made it that large (key shares, ALPN, a session ticket)",
		"warning when the verdict is that the server never answered it: a middlebox that passes only the first Initial", func(r *flows.Result) Severity {
			if serverNeverAnswered(r) {
				return SevWarning
			}
			return SevInfo
		})
	FindingQUICRetry              = def("quic_retry", SevInfo, "the server sent a Retry whose integrity tag checks (address validation, RFC 9000 §8.1): one extra round trip")
	FindingQUICRetryInvalid       = def("quic_retry_invalid", SevWarning, "the server sent a Retry whose integrity tag does not check against the client's connection ID (RFC 9001 §5.8): forged, or for another connection")
	FindingQUICRetryLoop          = def("quic_retry_loop", SevError, "the server answered with Retry after Retry and never with a ServerHello (RFC 9000 §8.1.3)")
	FindingQUICVersionNegotiation = def("quic_version_negotiation", SevInfo, "the server answered with Version Negotiation; says the version offered and those it supports")
	FindingQUICMigration          = def("quic_migration", SevInfo, "the client's address changed during the connection (NAT rebinding or migration, RFC 9000 §9); its connection IDs keep it one connection")
	FindingQUICFallbackToTCP      = def("quic_fallback_to_tcp", SevWarning, "a QUIC attempt that got no answer and the TLS over TCP connection to the same name that followed it, on both; says the other's stream")
)

// A TLS 1.2 renegotiation (RFC 5746).
var (
	FindingRenegotiation        = def("renegotiation", SevInfo, "a TLS 1.2 renegotiation that completed: who asked, in which frame")
	FindingRenegotiationRefused = def("renegotiation_refused", SevWarning, "a TLS 1.2 renegotiation refused (which alert, from whom) or unfinished; the first handshake's verdict stands")
)

// What the capture lost or could not decode.
var (
	FindingLossBetweenVantagePoints = def("loss_between_vantage_points", SevWarning, "with two captures of the same traffic merged: packets that passed the capture point near their sender and never reached the other one, which was capturing; names the direction and the frames on both sides")
	FindingCaptureGap               = def("capture_gap", SevWarning, "bytes of the connection missing from the capture though the peer received them: lost by the capture, not by the network")
	FindingMidstream                = def("midstream", SevInfo, "the capture starts after the connection began (no SYN, or no client Initial)")
	FindingSnaplenTruncated         = def("snaplen_truncated", SevWarning, "packets shorter in the capture than their IP length says (the snapshot length): their missing bytes are capture loss")
	FindingHandshakeBudget          = def("handshake_budget", SevWarning, "the connection went over --handshake-budget and was decoded no further; says what it was still sending; judged on what was seen")
	FindingDecodeProblem            = def("decode_problem", SevWarning, "a side's TLS stream could not be fully decoded; says why")
)

// The hellos and their delivery.
var (
	FindingHelloRetryRequest         = def("hello_retry_request", SevInfo, "the server asked for another key share (HelloRetryRequest): one extra round trip")
	FindingHelloVerifyRequest        = def("hello_verify_request", SevInfo, "DTLS: the server asked the client to return a cookie (HelloVerifyRequest, RFC 6347 §4.2.1): one extra round trip; says how often it was sent")
	FindingClientHelloRetransmitted  = def("client_hello_retransmitted", SevWarning, "the client sent its ClientHello again (TCP retransmission, DTLS timer); says how often and whether it was finally acknowledged")
	FindingSplitClientHello          = def("split_client_hello", SevInfo, "the ClientHello spanned several TCP segments")
	FindingServerFlightRetransmitted = def("server_flight_retransmitted", SevWarning, "the server sent its first flight again (TCP retransmission; DTLS: a flight sent again on its timer); says how often, whether it was acknowledged, and when it looks like a path-MTU black hole")
)

// What was negotiated.
var (
	FindingDeprecatedVersion = def("deprecated_version", SevWarning, "the server negotiated SSL 2.0 to TLS 1.1, deprecated (RFC 8996)")
	FindingWeakCipher        = def("weak_cipher", SevWarning, "the negotiated suite is weak (export, NULL, anonymous, RC4, DES, 3DES, MD5)")
	FindingNoForwardSecrecy  = def("no_forward_secrecy", SevWarning, "the negotiated suite uses RSA key exchange: the server's key decrypts the capture")
	FindingNotFIPSApproved   = def("not_fips_approved", SevInfo, "with --policy fips only: the suite, group or key is not approved by FIPS 140-3")
)

// The server's certificates, against the capture's own clock.
var (
	FindingCertificateUnparsable  = def("certificate_unparsable", SevWarning, "a certificate of the server's chain does not parse; says its hash and the error")
	FindingCertificateExpired     = def("certificate_expired", SevError, "a certificate of the server's chain had expired when the capture was made")
	FindingCertificateNotYetValid = def("certificate_not_yet_valid", SevError, "a certificate of the server's chain was not yet valid when the capture was made (check the clocks)")
	FindingWeakKey                = def("weak_key", SevWarning, "a certificate has an RSA key under 2048 bits or an ECDSA key under 256")
	FindingMD5Signature           = def("md5_signature", SevWarning, "a certificate is signed with MD5 (RFC 6151)")
	FindingSHA1Signature          = def("sha1_signature", SevWarning, "a certificate is signed with SHA-1")
	FindingSelfSigned             = def("self_signed", SevWarning, "the server's certificate is self-signed")
	FindingNameMismatch           = def("name_mismatch", SevError, "the server's certificate does not cover the name the client asked for (SNI); says the names it covers")
	FindingExpiresSoon            = def("certificate_expires_soon", SevWarning, "a certificate of a chain expires within 30 days of the capture")
)

// A chain judged as a client holding the trust store's roots would judge
// it (--trust, --ca-file), at the time of its Certificate message; the
// JSON validation object says it whole. Refused chains of a handshake
// that completed anyway are warnings: that client held the root, or had
// the intermediate cached, or does not check.
var (
	FindingChainIncomplete = defRule("chain_incomplete", SevError, "the server (or client) did not send the certificate that issued its leaf (or an intermediate) and that issuer is no root of the store: servers must send their intermediates, whatever a client has cached; gives the leaf's caIssuers URL and the other stream that sent it", "warning when the handshake completed", warnWhenDone)
	FindingUntrustedRoot   = defRule("untrusted_root", SevError, "the chain ends at a root, or below an issuer, that is no root of the trust store; names the store", "warning when the handshake completed", warnWhenDone)
	FindingWrongUsage      = defRule("wrong_usage", SevError, "the leaf's extended key usage does not allow serverAuth (clientAuth for a client's certificate), or a CA of the chain may not issue it", "warning when the handshake completed", warnWhenDone)
	FindingBadSignature    = defRule("bad_signature", SevError, "a certificate's signature does not verify with its issuer's key", "warning when the handshake completed", warnWhenDone)
)

// warnWhenDone: a refusal the client did not act on is a warning.
func warnWhenDone(r *flows.Result) Severity {
	if handshakeDone(r) {
		return SevWarning
	}
	return SevError
}

// The server's stapled OCSP response (issue #25).
var (
	FindingOCSPRevoked    = def("ocsp_revoked", SevError, "the server stapled an OCSP response saying its certificate is revoked; says when, why, and the responder (its signature is not checked)")
	FindingOCSPStale      = def("ocsp_stale", SevWarning, "the stapled OCSP response's nextUpdate had passed when the capture was made: clients that check it refuse it")
	FindingOCSPNotStapled = defRule("ocsp_not_stapled", SevInfo, "the client asked for a stapled OCSP response (status_request) and the server sent none",
		"warning when the leaf carries the TLS Feature status_request (must-staple, RFC 7633): clients that honour it refuse the certificate", func(r *flows.Result) Severity {
			if leafMustStaple(r.HS) {
				return SevWarning
			}
			return SevInfo
		})
)

// check is one concern's findings: a function and the codes it may raise.
type check struct {
	name  string
	codes []*FindingDef
	run   func(x *checkRun)
}

// checks run in this order, which is the order of a connection's findings.
var checks = []check{
	{"verdict", []*FindingDef{FindingHandshakeStalled, FindingHandshakeIncomplete, FindingHandshakeFailed, FindingConnectionReset, FindingConnectionClosed}, verdictFindings},
	{"answer", []*FindingDef{FindingServerNotTLS}, answerFindings},
	{"alerts", []*FindingDef{FindingAlertReaction}, alertFindings},
	{"capture view", []*FindingDef{FindingOneSidedCapture, FindingMissingACKs}, captureViewFindings},
	{"capture drops", []*FindingDef{FindingCaptureDrops}, captureDropsFinding},
	{"loss", []*FindingDef{FindingNetworkLoss, FindingPathMTUBlackhole}, lossFindings},
	{"resets", []*FindingDef{FindingResetInjected}, resetFindings},
	{"icmp", []*FindingDef{FindingPathMTU, FindingICMPUnreachable}, icmpFindings},
	{"quic", []*FindingDef{FindingQUICNoResponse, FindingQUICClientHelloSplit, FindingQUICRetryLoop, FindingQUICRetry, FindingQUICRetryInvalid,
		FindingQUICVersionNegotiation, FindingHandshakeFailed, FindingQUICMigration}, quicFindings},
	{"dtls", []*FindingDef{FindingHelloVerifyRequest, FindingClientHelloRetransmitted, FindingServerFlightRetransmitted, FindingPathMTUBlackhole}, dtlsFindings},
	{"fallback", []*FindingDef{FindingQUICFallbackToTCP}, fallbackFinding},
	{"renegotiation", []*FindingDef{FindingRenegotiation, FindingRenegotiationRefused}, renegotiationFindings},
	{"vantage", []*FindingDef{FindingLossBetweenVantagePoints}, vantageFindings},
	{"capture", []*FindingDef{FindingCaptureGap, FindingMidstream, FindingSnaplenTruncated, FindingHandshakeBudget, FindingDecodeProblem}, captureFindings},
	{"hello", []*FindingDef{FindingHelloRetryRequest, FindingClientHelloRetransmitted, FindingSplitClientHello, FindingServerFlightRetransmitted}, helloFindings},
	{"negotiated", []*FindingDef{FindingDeprecatedVersion, FindingWeakCipher, FindingNoForwardSecrecy, FindingNotFIPSApproved}, negotiatedFindings},
	{"certificates", []*FindingDef{FindingCertificateUnparsable, FindingCertificateExpired, FindingCertificateNotYetValid, FindingWeakKey,
		FindingMD5Signature, FindingSHA1Signature, FindingSelfSigned, FindingNameMismatch, FindingExpiresSoon}, certFindings},
	{"validation", []*FindingDef{FindingChainIncomplete, FindingUntrustedRoot, FindingWrongUsage, FindingBadSignature}, validationFindings},
	{"ocsp", []*FindingDef{FindingOCSPRevoked, FindingOCSPStale, FindingOCSPNotStapled}, ocspFindings},
}

// checkRun is what a check sees, and collects what it finds.
type checkRun struct {
	r    *flows.Result
	tcp  *flows.TCPFacts // never nil: empty facts when not TCP
	fips bool
	// check is the one running; stray lists the codes it raised that are
	// not registered for it ("check: code"), for the tests.
	check *check
	stray []string
	out   []Finding
}

// add records a finding of code d citing frames: the severity is the
// catalogue's.
func (x *checkRun) add(d *FindingDef, frames []int64, format string, args ...any) {
	msg := format
	if len(args) == 1 && format == "%s" {
		msg, _ = args[0].(string)
	} else if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	if x.check != nil && !slices.Contains(x.check.codes, d) {
		x.stray = append(x.stray, x.check.name+": "+d.Code)
	}
	x.out = append(x.out, Finding{Severity: d.SeverityOf(x.r), Code: d.Code, Message: msg, Frames: frameSet(frames)})
}

// runChecks runs every check on r in order.
func runChecks(r *flows.Result, policies []Policy) *checkRun {
	x := &checkRun{r: r, tcp: r.TCP, fips: slices.Contains(policies, PolicyFIPS)}
	if x.tcp == nil {
		x.tcp = &flows.TCPFacts{} // not TCP: no TCP facts to judge
	}
	for i := range checks {
		x.check = &checks[i]
		checks[i].run(x)
	}
	return x
}

// findings are what the checks find on r.
func findings(r *flows.Result, _ *Connection, policies []Policy) []Finding {
	return runChecks(r, policies).out
}

// frameSet is frames sorted, without zeros (not known) and repeats.
func frameSet(frames []int64) []int64 {
	if isFrameSet(frames) {
		// Already a set (a verdict's reason frames): shared, as results
		// are never written after they are made; a flood makes millions.
		return slices.Clip(frames)
	}
	var out []int64
	for _, f := range frames {
		if f > 0 {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// isFrameSet reports frames already known, ascending and without repeats.
func isFrameSet(frames []int64) bool {
	for i, f := range frames {
		if f <= 0 || i > 0 && f <= frames[i-1] {
			return false
		}
	}
	return true
}

// withFrames is a finding's message followed by the frames it cites.
func withFrames(msg string, frames []int64) string {
	if w := framesWords(frames); w != "" {
		return msg + " " + w
	}
	return msg
}

// framesWords is a finding's frames for people: "(frames 4, 9)", "(frame
// 4)", or "" when none is known.
func framesWords(frames []int64) string {
	if len(frames) == 0 {
		return ""
	}
	s := make([]string, len(frames))
	for i, f := range frames {
		s[i] = strconv.FormatInt(f, 10)
	}
	if len(s) == 1 {
		return "(frame " + s[0] + ")"
	}
	return "(frames " + strings.Join(s, ", ") + ")"
}
