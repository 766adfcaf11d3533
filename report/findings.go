package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
)

// Severity orders findings.
type Severity string

const (
	SevError   Severity = "error"
	SevWarning Severity = "warning"
	SevInfo    Severity = "info"
)

// Finding is one thing worth telling about a connection: a code for
// scripts (from the catalogue, which gives its severity), a message in
// plain words, and the frames it rests on.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	// Frames are the Wireshark frame.number of the packets that show its
	// evidence, ascending; none for a finding about what is absent.
	Frames []int64 `json:"frames,omitempty"`
}

// Policy names checks beyond the default ones, whose findings are made
// only when asked for (--policy): a compliance regime is noise to whoever
// is not under it.
type Policy string

// PolicyFIPS: not_fips_approved, what FIPS 140-3 does not approve (SP
// 800-52r2, SP 800-186): x25519 is on nearly every modern connection.
const PolicyFIPS Policy = "fips"

// Policies is every policy, for the command line.
var Policies = []Policy{PolicyFIPS}

// verdictFindings words the verdict of a handshake that did not finish.
func verdictFindings(x *checkRun) {
	r := x.r
	add := func(d *FindingDef, format string, args ...any) { x.add(d, r.Reason.Frames, format, args...) }
	if d, msg := verdictFinding(r); d != nil {
		add(d, "%s", msg)
	}
}

// answerFindings: a server whose answer to the ClientHello was not TLS.
func answerFindings(x *checkRun) {
	r := x.r
	if a := notTLSAnswer(r.HS); a != "" && r.HS.ServerHello == nil {
		x.add(FindingServerNotTLS, []int64{r.HS.NotTLSFrame}, "The server answered the ClientHello with %s, which is not TLS: a plain-text service on this port (HTTP on %d?), or a proxy's error page.", a, r.Server.Port())
	}
}

// alertFindings: alerts that answered a close rather than caused it.
func alertFindings(x *checkRun) {
	for _, a := range x.r.HS.Alerts {
		if a.Reaction && !a.AfterData {
			x.add(FindingAlertReaction, []int64{alertFrame(x.r.HS, a)}, "The %s answered the %s's close with %s alert %s: a reaction to the close, not its cause.", a.From, a.From.Other(), a.LevelName(), a.DescriptionName())
		}
	}
}

// captureFindings: what the capture lost or could not decode.
func captureFindings(x *checkRun) {
	r, f, hs := x.r, x.tcp, x.r.HS
	if total := f.Side[0].GapBytes + f.Side[1].GapBytes; total > 0 {
		x.add(FindingCaptureGap, eventFrames(r, "gap"), "The capture is missing %d bytes of this connection (client %d, server %d): lost by the capture, not by the peers.", total, f.Side[0].GapBytes, f.Side[1].GapBytes)
	}
	if r.Midstream && r.QUIC != nil {
		x.add(FindingMidstream, []int64{firstFrame(r)}, "The capture starts after this connection began (its first packet is not the client's Initial).")
	} else if r.Midstream {
		x.add(FindingMidstream, []int64{firstFrame(r)}, "The capture starts after this connection began (no SYN seen).")
	}
	if f.Truncated > 0 {
		x.add(FindingSnaplenTruncated, eventFrames(r, "truncated"), "The capture holds %s shorter than their IP length says (cut by the snapshot length, or a bad length field): their missing bytes are capture loss.", plural(f.Truncated, "packet"))
	}
	for _, p := range hs.Problems {
		if p.Kind == decoder.ProblemCaptureGap {
			continue
		}
		if p.Kind == decoder.ProblemBudget {
			x.add(FindingHandshakeBudget, []int64{p.Frame}, "%s; the verdict is on what was seen (--handshake-budget).", capital(p.Err))
			continue
		}
		x.add(FindingDecodeProblem, []int64{p.Frame}, "The %s's TLS stream could not be fully decoded: %s.", p.From, strings.TrimSuffix(p.Err, "."))
	}
}

// helloFindings: the hellos, and how TCP delivered them.
func helloFindings(x *checkRun) {
	r, f, hs := x.r, x.tcp, x.r.HS
	if hs.HelloRetryRequest != nil {
		x.add(FindingHelloRetryRequest, msgFrames(hs, decoder.Server, decoder.MsgHelloRetryRequest), "The server asked for another key share (HelloRetryRequest, group %s): one extra round trip.", decoder.GroupName(hs.HelloRetryRequest.KeyShareGroup))
	}
	if f.ClientHelloRetransmitted > 0 {
		x.add(FindingClientHelloRetransmitted, clientHelloRetransmissions(r), "The client retransmitted its ClientHello %s%s.", plural(f.ClientHelloRetransmitted, "time"), ackWords(decoder.Server, f.ClientHelloAcked))
	}
	if f.ClientHelloSegments > 1 {
		x.add(FindingSplitClientHello, msgFrames(hs, decoder.Client, decoder.MsgClientHello), "The ClientHello spanned %d TCP segments.", f.ClientHelloSegments)
	}
	if f.ServerFlightRetransmitted > 0 {
		msg := fmt.Sprintf("The server retransmitted its first flight %s%s.", plural(f.ServerFlightRetransmitted, "time"), ackWords(decoder.Client, f.ServerFlightAcked))
		if !f.ServerFlightAcked && f.PathOf().Side[decoder.Server].Loss.Unacked == 0 {
			msg += " Large segments that never arrive while small ones do point at a path-MTU black hole."
		}
		x.add(FindingServerFlightRetransmitted, serverFlightRetransmissions(r), "%s", msg)
	}
}

// vantageFindings: what passed one capture point and never the other
// (two vantage points merged).
func vantageFindings(x *checkRun) {
	v := x.tcp.Vantage
	if v == nil {
		return
	}
	for _, side := range []decoder.Side{decoder.Client, decoder.Server} {
		if l := &v.Lost[side]; l.Packets > 0 {
			x.add(FindingLossBetweenVantagePoints, slices.Clone(l.Frames), "%s", vantageLossWords(v, side))
		}
	}
}

// vantageLossWords says what side sent that passed the capture point
// near it and never reached the other one (inputs numbered from 1).
func vantageLossWords(v *flows.VantageFacts, side decoder.Side) string {
	l, other := &v.Lost[side], side.Other()
	frames := make([]string, len(l.Frames))
	for i, f := range l.Frames {
		frames[i] = strconv.FormatInt(f, 10)
	}
	more := ""
	if l.Packets > len(l.Frames) {
		more = ", …"
	}
	noun := "frames "
	if len(frames) == 1 {
		noun = "frame "
	}
	msg := fmt.Sprintf("%s (%s) from the %s passed the capture point near it (input %d, %s%s%s) and never reached the one near the %s (input %d), though that one was capturing",
		capital(plural(l.Packets, "packet")), size(int(l.Bytes)), side, v.Near[side]+1, noun, strings.Join(frames, ", "), more, other, v.Far[side]+1)
	if l.LaterNear > 0 {
		msg += fmt.Sprintf(": a later packet of the %s's (input %d frame %d) is there as frame %d", side, v.Near[side]+1, l.LaterNear, l.LaterFar)
	} else {
		msg += fmt.Sprintf(": it holds frame %d, after they were due", l.LaterFar)
	}
	return msg + ". Lost in the network between the two points, " + side.String() + "→" + other.String() + "."
}

func orStart(s string) string {
	if s == "" {
		return "the connection start"
	}
	return s
}

// ackWords says whether the peer, who receives what was retransmitted,
// acknowledged it in the end: "the server never acknowledged it" (the
// sender did not fail to acknowledge anything).
func ackWords(peer decoder.Side, acked bool) string {
	if acked {
		return "; the " + peer.String() + " acknowledged it in the end"
	}
	return "; the " + peer.String() + " never acknowledged it"
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// alertHint says what an alert usually means, in parentheses; where
// the handshake tells more (a server asked for a client certificate and
// got an empty one), it says that instead.
func alertHint(r *flows.Result, a *decoder.Alert) string {
	hs := r.HS
	if a.From == decoder.Server && hs.CertificateRequested && len(hs.ClientCertificates) == 0 && hs.First(decoder.Client, decoder.MsgCertificate) != nil {
		switch a.Description {
		case 40, 42, 116:
			return " (the server asked for a client certificate and the client sent none)"
		}
	}
	return alertMeaning(a.Description)
}

func alertMeaning(d uint8) string {
	switch d {
	case 40:
		return " (no cipher suite, group or version in common, or a required extension missing)"
	case 42, 43, 46:
		return " (the peer did not accept the certificate)"
	case 48:
		return " (the certificate's issuer is not trusted by the peer)"
	case 45:
		return " (the certificate has expired)"
	case 70:
		return " (no protocol version in common)"
	case 71:
		return " (the offered parameters are too weak for the peer)"
	case 112:
		return " (the server has no certificate for the requested name)"
	case 116:
		return " (the server requires a client certificate)"
	case 120:
		return " (no ALPN protocol in common)"
	}
	return ""
}

// negotiatedFindings judges the version and suite the server chose, by
// the ServerHello's frame.
func negotiatedFindings(x *checkRun) {
	hs, fips := x.r.HS, x.fips
	at := msgFrames(hs, decoder.Server, decoder.MsgServerHello)
	add := func(d *FindingDef, format string, args ...any) { x.add(d, at, format, args...) }
	v := hs.Version()
	// DTLS 1.0 is TLS 1.1's (RFC 8996 deprecates both).
	if v != 0 && (decoder.TLSEquivalent(v) <= decoder.VersionTLS11 || v == decoder.VersionSSL20) {
		add(FindingDeprecatedVersion, "The server negotiated %s, which is deprecated (RFC 8996) and refused by current clients.", decoder.VersionName(v))
	}
	if sh := hs.ServerHello; sh != nil && !sh.SSLv2 {
		suite := decoder.CipherSuite(sh.CipherSuite)
		if suite.Weak {
			add(FindingWeakCipher, "The negotiated suite %s is weak (%s).", suite.Name, weakWhy(suite))
		}
		if suite.KeyExchange == "RSA" && !decoder.IsGREASE(sh.CipherSuite) {
			add(FindingNoForwardSecrecy, "The negotiated suite %s uses RSA key exchange: whoever gets the server's key can decrypt this capture.", suite.Name)
		}
		var why []string
		if fips && !suite.FIPS {
			why = append(why, "suite "+suite.Name)
		}
		group := sh.KeyShareGroup
		if hs.ServerKeyExchange != nil && hs.ServerKeyExchange.Group != 0 {
			group = hs.ServerKeyExchange.Group
		}
		if fips && group != 0 && !decoder.GroupFIPS(group) {
			why = append(why, "group "+decoder.GroupName(group))
		}
		if fips && len(hs.ServerCertificates) > 0 && hs.ServerCertificates[0].Error == "" {
			leaf := hs.ServerCertificates[0]
			if strings.HasPrefix(leaf.PublicKey, "RSA") && leaf.PublicKeyBits < 2048 || leaf.PublicKey == "Ed25519" {
				why = append(why, "key "+leaf.PublicKey)
			}
		}
		if len(why) > 0 {
			add(FindingNotFIPSApproved, "The connection uses what FIPS 140-3 does not approve: %s.", strings.Join(why, ", "))
		}
	}
}

// certFindings checks the server chain against the capture's own clock,
// by the frame of the Certificate message that carried it.
func certFindings(x *checkRun) {
	hs := x.r.HS
	at := x.r.Start
	frames := certFrames(hs)
	add := func(d *FindingDef, format string, args ...any) { x.add(d, frames, format, args...) }
	chain := hs.ServerCertificates
	if len(chain) == 0 {
		return
	}
	leaf := chain[0]
	for i, cert := range chain {
		if cert.Error != "" {
			add(FindingCertificateUnparsable, "Certificate %d of the server's chain (SHA-256 %s…) could not be parsed: %s.", i, cert.SHA256[:16], strings.TrimSuffix(cert.Error, "."))
			continue
		}
		name := describeCert(i, cert)
		switch {
		case !at.After(cert.NotAfter) && cert.NotAfter.Sub(at) < 30*24*time.Hour:
			add(FindingExpiresSoon, "%s expires on %s, %s after this capture.", name, when(cert.NotAfter, cert.NotAfter.Sub(at)), ago(cert.NotAfter.Sub(at)))
		case at.After(cert.NotAfter):
			add(FindingCertificateExpired, "%s expired on %s, %s before this capture.", name, when(cert.NotAfter, at.Sub(cert.NotAfter)), ago(at.Sub(cert.NotAfter)))
		case at.Before(cert.NotBefore):
			add(FindingCertificateNotYetValid, "%s is valid only from %s, %s after this capture: check the clocks.", name, when(cert.NotBefore, cert.NotBefore.Sub(at)), ago(cert.NotBefore.Sub(at)))
		}
		if strings.HasPrefix(cert.PublicKey, "RSA") && cert.PublicKeyBits < 2048 || strings.HasPrefix(cert.PublicKey, "ECDSA") && cert.PublicKeyBits < 256 {
			add(FindingWeakKey, "%s has a weak %s key.", name, cert.PublicKey)
		}
		// A self-signed root's own signature is not checked by anyone.
		if cert.SelfSigned && i > 0 {
			continue
		}
		switch alg := cert.SignatureAlgorithm; {
		case strings.Contains(alg, "MD5"):
			add(FindingMD5Signature, "%s is signed with %s: MD5 collisions are practical (RFC 6151), and no current client accepts it.", name, alg)
		case strings.Contains(alg, "SHA1"):
			add(FindingSHA1Signature, "%s is signed with %s, which browsers reject: SHA-1 collisions are practical.", name, alg)
		}
	}
	if leaf.Error == "" {
		if leaf.SelfSigned {
			add(FindingSelfSigned, "%s is self-signed: clients trust it only if it is pinned or installed as a root.", describeCert(0, leaf))
		}
		if ch := hs.ClientHello; ch != nil && ch.ServerName != "" && !leaf.Covers(ch.ServerName) {
			x.add(FindingNameMismatch, append(msgFrames(hs, decoder.Client, decoder.MsgClientHello), frames...), "The client asked for \"%s\", but %s.", clip(ch.ServerName), covered(leaf))
		}
	}
}

// ago says a time span as people read it: "3 s", "5 min", "7 hours",
// "12 days".
func ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return "under a second"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	case d < 48*time.Hour:
		if h := int(d / time.Hour); h != 1 {
			return strconv.Itoa(h) + " hours"
		}
		return "1 hour"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " days"
}

// when is a certificate's date, with the time of day when it is within
// two days of the capture: "2026-11-23" or "2026-11-23 14:02:11 UTC".
func when(t time.Time, apart time.Duration) string {
	if apart < 48*time.Hour {
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return t.UTC().Format("2006-01-02")
}

// describeCert names certificate i of the server's chain to begin a
// sentence: "The server's certificate CN=\"shop.example\"", "Certificate 1
// of the server's chain (CN=\"Test CA\")".
func describeCert(i int, c *decoder.Certificate) string {
	id := "SHA-256 " + c.SHA256[:16] + "…"
	if c.CommonName != "" {
		id = fmt.Sprintf("CN=\"%s\"", clip(c.CommonName))
	}
	if i == 0 {
		if c.CommonName == "" {
			return "The server's certificate (" + id + ")"
		}
		return "The server's certificate " + id
	}
	return fmt.Sprintf("Certificate %d of the server's chain (%s)", i, id)
}

// covered says which names the certificate covers, after "but".
func covered(c *decoder.Certificate) string {
	names := append(append([]string{}, c.DNSNames...), c.IPAddresses...)
	if len(names) == 0 {
		if c.CommonName != "" {
			// RFC 6125 §6.4.4: with no subject alternative name the CN is
			// ignored by current clients (CA/Browser Forum baseline too).
			return fmt.Sprintf("the server's certificate has no subject alternative name, only CN \"%s\", which current clients ignore (RFC 6125 §6.4.4)", clip(c.CommonName))
		}
		return "the server's certificate names no host at all"
	}
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("and %d more", len(names)-5))
	}
	return "the server's certificate covers only " + strings.Join(clipList(names), ", ")
}

func weakWhy(s decoder.CipherSuiteInfo) string {
	var why []string
	if s.Export {
		why = append(why, "export grade")
	}
	if strings.Contains(s.Cipher, "NULL") {
		why = append(why, "no encryption")
	}
	if s.Authentication == "anon" {
		why = append(why, "no authentication")
	}
	if strings.Contains(s.Cipher, "RC4") {
		why = append(why, "RC4")
	}
	if strings.Contains(s.Cipher, "3DES") {
		why = append(why, "3DES")
	} else if strings.Contains(s.Cipher, "DES") {
		why = append(why, "DES")
	}
	if s.MAC == "MD5" {
		why = append(why, "MD5")
	}
	if len(why) == 0 {
		why = append(why, "obsolete cipher")
	}
	return strings.Join(why, ", ")
}

// renegotiationFindings: a TLS 1.2 renegotiation, who asked and how it
// ended (the first handshake's verdict stands whatever it did).
func renegotiationFindings(x *checkRun) {
	for _, rn := range x.r.HS.Renegotiations {
		frames := []int64{rn.Frame}
		switch rn.Outcome {
		case decoder.RenegotiationCompleted:
			x.add(FindingRenegotiation, frames, "The %s asked to renegotiate (frame %d): a second handshake under the first one's keys completed.", rn.By, rn.Frame)
		case decoder.RenegotiationRefused:
			x.add(FindingRenegotiationRefused, frames, "The %s asked to renegotiate (frame %d); the %s refused it with %s alert %s. The first handshake stands.", rn.By, rn.Frame, rn.Alert.From, rn.Alert.LevelName(), rn.Alert.DescriptionName())
		default:
			x.add(FindingRenegotiationRefused, frames, "The %s asked to renegotiate (frame %d); the renegotiation did not finish in the capture.", rn.By, rn.Frame)
		}
	}
}
