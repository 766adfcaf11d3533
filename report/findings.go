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
// scripts and a message in plain words.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
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

func findings(r *flows.Result, c *Connection, policies []Policy) []Finding {
	var out []Finding
	add := func(sev Severity, code, format string, args ...any) {
		msg := format
		if len(args) == 1 && format == "%s" {
			msg, _ = args[0].(string)
		} else if len(args) > 0 {
			msg = fmt.Sprintf(format, args...)
		}
		out = append(out, Finding{Severity: sev, Code: code, Message: msg})
	}
	hs := r.HS
	f := r.TCP
	if f == nil {
		f = &flows.TCPFacts{} // not TCP: no TCP facts to judge
	}
	split := f.ClientHelloSegments > 1
	switch r.Outcome {
	case flows.Stalled:
		s := r.Stall
		var msg string
		if !s.Next.SYNACK {
			msg = "The " + s.Waiting.String() + " stopped sending TLS for " + seconds(s.Silent) + " while it owed " + s.Next.String() + "; the handshake never finished."
		}
		switch {
		case serverInitialMissing(r):
			msg = "The server's Handshake packets reached the client but its Initial, with the ServerHello that gives their keys, never did: the client waited " + seconds(s.Silent) + " and could open none of them (a lost or filtered first datagram of the server's)."
		case noAnswer(r):
			msg += " Not one packet came back from the server."
		case s.Next.SYNACK:
			msg = "The server never answered the client's SYN (" + seconds(s.Silent) + "): a firewall dropping the connection, or no route."
		case s.Waiting == decoder.Server && s.Next == flows.OwedMsg(decoder.MsgServerHello) && split && !f.ClientHelloAcked:
			msg += " The ClientHello spanned several segments and was not fully acknowledged: a middlebox that drops large ClientHellos is the usual cause."
		case s.Waiting == decoder.Server && s.Next == flows.OwedMsg(decoder.MsgServerHello):
			msg += " The server received the ClientHello (TCP acknowledged it) but never answered: an overloaded server, or a TLS-terminating middlebox that swallowed it."
			if !f.ClientHelloAcked {
				msg = strings.Replace(msg, "received the ClientHello (TCP acknowledged it)", "may not have received the ClientHello (no ACK covered it)", 1)
			}
		case s.Waiting == decoder.Client:
			msg += " The client went quiet: it may be verifying the certificate, waiting for user input, or it gave up without closing."
		}
		if l := lossOf(r, s.Waiting); l != "" {
			msg = "The " + s.Waiting.Other().String() + " waited " + seconds(s.Silent) + " for " + owedWords(r) + ", which never reached it: " + l + "."
		}
		add(SevError, "handshake_stalled", "%s", msg)
	case flows.Incomplete:
		if s := r.Stall; r.OneSided && r.Missing == s.Waiting || r.AcksMissing {
			// one_sided_capture says it.
		} else if s.SendingLen > 0 {
			add(SevInfo, "handshake_incomplete", "The capture ends while the %s was still sending %s; a longer capture would tell how the handshake went.", s.Waiting, sendingWords(s))
		} else {
			add(SevInfo, "handshake_incomplete", "The capture ends %s after the last message while the %s owed %s; a longer capture would tell whether it stalled.", seconds(r.Stall.Silent), r.Stall.Waiting, r.Stall.Next)
		}
	case flows.Failed:
		a := r.Alert
		switch {
		case a == nil && r.QUIC != nil:
			// quicFindings says which error closed it.
		case a == nil:
			add(SevError, "handshake_failed", "The handshake failed.")
		case a.Probable:
			add(SevError, "handshake_failed", "The %s sent a small encrypted record and closed instead of finishing: most likely an encrypted alert (TLS 1.3 hides which).", a.From)
		case a.Encrypted:
			add(SevError, "handshake_failed", "The %s sent an encrypted alert before the handshake finished.", a.From)
		default:
			add(SevError, "handshake_failed", "The %s refused the handshake with fatal alert %s%s.", a.From, decoder.AlertName(a.Description), alertHint(a.Description))
		}
	case flows.Reset:
		by := "one side"
		if r.ClosedBy != nil {
			by = "the " + r.ClosedBy.String()
		}
		if r.EndedBy == flows.EndedICMP {
			// icmp_unreachable says it.
		} else if r.TCPOnly() && f.SYNACK.IsZero() {
			add(SevError, "connection_reset", "%s answered the SYN with a reset: nothing listens on port %d, or a firewall rejects it.", capital(by), r.Server.Port())
		} else if s := r.Stall; s != nil && r.ClosedBy != nil && *r.ClosedBy != s.Waiting {
			add(SevError, "connection_reset", "%s gave up after %s waiting for %s and reset the connection.", capital(by), seconds(s.Silent), owedWords(r))
		} else {
			add(SevError, "connection_reset", "%s reset the connection during the handshake, after %s.", capital(by), orStart(lastBefore(hs, closeTime(r))))
		}
	case flows.Closed:
		by := "one side"
		if r.ClosedBy != nil {
			by = "the " + r.ClosedBy.String()
		}
		switch s := r.Stall; {
		case r.QUIC != nil:
			add(SevError, "connection_closed", "%s closed the connection (CONNECTION_CLOSE, no error) before the handshake finished, after %s.", capital(by), orStart(lastBefore(hs, closeTime(r))))
		case notTLSAnswer(hs) != "" && hs.ServerHello == nil:
			add(SevError, "connection_closed", "%s closed the connection (FIN) after the server's answer to the ClientHello, which was not TLS.", capital(by))
		case s != nil && r.ClosedBy != nil && *r.ClosedBy != s.Waiting:
			add(SevError, "connection_closed", "%s gave up after %s waiting for %s and closed the connection (FIN): a timeout on its side (\"The handshake operation timed out\"), the %s having sent nothing since %s.",
				capital(by), seconds(s.Silent), owedWords(r), s.Waiting, silentAfter(r))
		case s != nil && r.ClosedBy != nil:
			add(SevError, "connection_closed", "%s closed the connection (FIN) instead of sending %s, after %s.", capital(by), owedWords(r), orStart(lastBefore(hs, closeTime(r))))
		default:
			add(SevError, "connection_closed", "%s closed the connection (FIN) before the handshake finished, after %s.", capital(by), orStart(lastBefore(hs, closeTime(r))))
		}
	}
	if a := notTLSAnswer(hs); a != "" && hs.ServerHello == nil {
		add(SevError, "server_not_tls", "The server answered the ClientHello with %s, which is not TLS: a plain-text service on this port (HTTP on %d?), or a proxy's error page.", a, r.Server.Port())
	}
	for _, a := range hs.Alerts {
		if a.Reaction && !a.AfterData {
			add(SevInfo, "alert_reaction", "The %s answered the %s's close with %s alert %s: a reaction to the close, not its cause.", a.From, a.From.Other(), a.LevelName(), a.DescriptionName())
		}
	}
	pathFindings(r, add)
	if r.QUIC != nil {
		quicFindings(r, add)
	}
	fallbackFinding(r, add)
	if total := f.Side[0].GapBytes + f.Side[1].GapBytes; total > 0 {
		add(SevWarning, "capture_gap", "The capture is missing %d bytes of this connection (client %d, server %d): lost by the capture, not by the peers.", total, f.Side[0].GapBytes, f.Side[1].GapBytes)
	}
	if r.Midstream && r.QUIC != nil {
		add(SevInfo, "midstream", "The capture starts after this connection began (its first packet is not the client's Initial).")
	} else if r.Midstream {
		add(SevInfo, "midstream", "The capture starts after this connection began (no SYN seen).")
	}
	if f.Truncated > 0 {
		add(SevWarning, "snaplen_truncated", "The capture holds %s shorter than their IP length says (cut by the snapshot length, or a bad length field): their missing bytes are capture loss.", plural(f.Truncated, "packet"))
	}
	for _, p := range hs.Problems {
		if p.Kind == decoder.ProblemCaptureGap {
			continue
		}
		if p.Kind == decoder.ProblemBudget {
			add(SevWarning, "handshake_budget", "%s; the verdict is on what was seen (--handshake-budget).", capital(p.Err))
			continue
		}
		add(SevWarning, "decode_problem", "The %s's TLS stream could not be fully decoded: %s.", p.From, strings.TrimSuffix(p.Err, "."))
	}
	if hs.HelloRetryRequest != nil {
		add(SevInfo, "hello_retry_request", "The server asked for another key share (HelloRetryRequest, group %s): one extra round trip.", decoder.GroupName(hs.HelloRetryRequest.KeyShareGroup))
	}
	if f.ClientHelloRetransmitted > 0 {
		add(SevWarning, "client_hello_retransmitted", "The client retransmitted its ClientHello %s%s.", plural(f.ClientHelloRetransmitted, "time"), ackWords(f.ClientHelloAcked))
	}
	if split {
		add(SevInfo, "split_client_hello", "The ClientHello spanned %d TCP segments.", f.ClientHelloSegments)
	}
	if f.ServerFlightRetransmitted > 0 {
		msg := fmt.Sprintf("The server retransmitted its first flight %s%s.", plural(f.ServerFlightRetransmitted, "time"), ackWords(f.ServerFlightAcked))
		if !f.ServerFlightAcked && f.PathOf().Loss[decoder.Server].Unacked == 0 {
			msg += " Large segments that never arrive while small ones do point at a path-MTU black hole."
		}
		add(SevWarning, "server_flight_retransmitted", "%s", msg)
	}
	certFindings(r, c, add, slices.Contains(policies, PolicyFIPS))
	for _, rn := range hs.Renegotiations {
		switch rn.Outcome {
		case decoder.RenegotiationCompleted:
			add(SevInfo, "renegotiation", "The %s asked to renegotiate (frame %d): a second handshake under the first one's keys completed.", rn.By, rn.Frame)
		case decoder.RenegotiationRefused:
			add(SevWarning, "renegotiation", "The %s asked to renegotiate (frame %d); the %s refused it with %s alert %s. The first handshake stands.", rn.By, rn.Frame, rn.Alert.From, rn.Alert.LevelName(), rn.Alert.DescriptionName())
		default:
			add(SevWarning, "renegotiation", "The %s asked to renegotiate (frame %d); the renegotiation did not finish in the capture.", rn.By, rn.Frame)
		}
	}
	return out
}

func orStart(s string) string {
	if s == "" {
		return "the connection start"
	}
	return s
}

func ackWords(acked bool) string {
	if acked {
		return " and finally acknowledged"
	}
	return " and never acknowledged"
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func alertHint(d uint8) string {
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

// certFindings checks the server chain against the capture's own clock.
func certFindings(r *flows.Result, c *Connection, add func(Severity, string, string, ...any), fips bool) {
	hs := r.HS
	at := r.Start
	v := hs.Version()
	if v != 0 && (v <= decoder.VersionTLS11 || v == decoder.VersionSSL20) {
		add(SevWarning, "deprecated_version", "The server negotiated %s, which is deprecated (RFC 8996) and refused by current clients.", decoder.VersionName(v))
	}
	if sh := hs.ServerHello; sh != nil && !sh.SSLv2 {
		suite := decoder.CipherSuite(sh.CipherSuite)
		if suite.Weak {
			add(SevWarning, "weak_cipher", "The negotiated suite %s is weak (%s).", suite.Name, weakWhy(suite))
		}
		if suite.KeyExchange == "RSA" && !decoder.IsGREASE(sh.CipherSuite) {
			add(SevWarning, "no_forward_secrecy", "The negotiated suite %s uses RSA key exchange: whoever gets the server's key can decrypt this capture.", suite.Name)
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
			add(SevInfo, "not_fips_approved", "The connection uses what FIPS 140-3 does not approve: %s.", strings.Join(why, ", "))
		}
	}
	chain := hs.ServerCertificates
	if len(chain) == 0 {
		return
	}
	leaf := chain[0]
	for i, cert := range chain {
		if cert.Error != "" {
			add(SevWarning, "certificate_unparsable", "Certificate %d of the server's chain (SHA-256 %s…) could not be parsed: %s.", i, cert.SHA256[:16], strings.TrimSuffix(cert.Error, "."))
			continue
		}
		name := describeCert(i, cert)
		switch {
		case at.After(cert.NotAfter):
			add(SevError, "certificate_expired", "%s expired on %s, %s before this capture.", name, when(cert.NotAfter, at.Sub(cert.NotAfter)), ago(at.Sub(cert.NotAfter)))
		case at.Before(cert.NotBefore):
			add(SevError, "certificate_not_yet_valid", "%s is valid only from %s, %s after this capture: check the clocks.", name, when(cert.NotBefore, cert.NotBefore.Sub(at)), ago(cert.NotBefore.Sub(at)))
		}
		if strings.HasPrefix(cert.PublicKey, "RSA") && cert.PublicKeyBits < 2048 || strings.HasPrefix(cert.PublicKey, "ECDSA") && cert.PublicKeyBits < 256 {
			add(SevWarning, "weak_key", "%s has a weak %s key.", name, cert.PublicKey)
		}
		// A self-signed root's own signature is not checked by anyone.
		if cert.SelfSigned && i > 0 {
			continue
		}
		switch alg := cert.SignatureAlgorithm; {
		case strings.Contains(alg, "MD5"):
			add(SevWarning, "md5_signature", "%s is signed with %s: MD5 collisions are practical (RFC 6151), and no current client accepts it.", name, alg)
		case strings.Contains(alg, "SHA1"):
			add(SevWarning, "sha1_signature", "%s is signed with %s, which browsers reject: SHA-1 collisions are practical.", name, alg)
		}
	}
	if leaf.Error == "" {
		if leaf.SelfSigned {
			add(SevWarning, "self_signed", "%s is self-signed: clients trust it only if it is pinned or installed as a root.", describeCert(0, leaf))
		}
		if ch := hs.ClientHello; ch != nil && ch.ServerName != "" && !leaf.Covers(ch.ServerName) {
			add(SevError, "sni_mismatch", "The client asked for \"%s\", but %s.", clip(ch.ServerName), covered(leaf))
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
