package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/quic"
)

// verdictWords says the verdict, the outcome and its reason as flows
// decided them, in words, as the table shows it, with the certificate
// problem that explains it when flows found one (Reason.Cause).
func verdictWords(r *flows.Result) string {
	v := reasonWords(r)
	if c := r.Reason.Cause; c != nil {
		v += ": " + certCauseWords(c)
	}
	return v
}

// certCauseWords says a certificate problem as the cause of a refusal:
// "the server sent no intermediate for its leaf (issuer "Example CA")".
func certCauseWords(c *flows.CertCause) string {
	p, side := c.Problem, c.Side.String()
	which := func() string {
		switch {
		case p.Index == 0:
			return "the " + side + "'s certificate \"" + clip(p.Name) + "\""
		case p.Index < 0:
			return "the store's root \"" + clip(p.Name) + "\""
		}
		return fmt.Sprintf("the %s's certificate %d (\"%s\")", side, p.Index, clip(p.Name))
	}
	switch p.Status {
	case decoder.StatusMissingIntermediate:
		if !c.Check.LeafIssuerMissing {
			return "the " + side + " sent no intermediate for its chain (issuer \"" + clip(p.Name) + "\")"
		}
		return "the " + side + " sent no intermediate for its leaf (issuer \"" + clip(p.Name) + "\")"
	case decoder.StatusUntrustedRoot:
		switch {
		case p.Index >= 0:
			return which() + " ends the chain and is no root of the store"
		case c.Check.LeafIssuerMissing:
			return "the " + side + "'s leaf's issuer \"" + clip(p.Name) + "\" was not sent and is no root of the store (a missing intermediate, or an untrusted root)"
		}
		return "the " + side + "'s chain ends below \"" + clip(p.Name) + "\", which is no root of the store"
	case decoder.StatusSelfSigned:
		return which() + " is self-signed"
	case decoder.StatusExpired:
		return which() + " expired on " + p.When.Format("2006-01-02")
	case decoder.StatusNotYetValid:
		return which() + " is valid only from " + p.When.Format("2006-01-02")
	case decoder.StatusWrongUsage, decoder.StatusNameMismatch, decoder.StatusBadSignature:
		return which() + " " + clip(p.Detail)
	case decoder.StatusRevoked:
		return which() + " " + clip(p.Detail)
	case flows.CauseStapleStale:
		return "the server stapled a stale OCSP response for " + which() + " (its nextUpdate " + p.When.UTC().Format("2006-01-02 15:04 UTC") + " had passed)"
	case flows.CauseStapleMissing:
		return which() + " demands a stapled OCSP response (must-staple) and the server sent none"
	}
	return which() + ": " + p.Status
}

// reasonWords says the outcome and its reason. One switch on the
// reason: nothing here decides anything again.
func reasonWords(r *flows.Result) string {
	hs, s, why := r.HS, r.Stall, r.Reason
	out := string(r.Outcome)
	by := why.Side.String()
	if r.DTLS != nil {
		if w, ok := dtlsReasonWords(r); ok {
			return w
		}
	}
	switch why.Kind {
	case flows.ReasonFinished:
		if ch := hs.First(decoder.Client, decoder.MsgClientHello); ch != nil && !r.CompleteAt.IsZero() {
			return "complete in " + seconds(r.CompleteAt.Sub(ch.Time))
		}
		return "complete"
	case flows.ReasonResumed:
		return "resumed (" + strings.ReplaceAll(r.Resumption, "_", " ") + ")"
	case flows.ReasonBeforeCapture:
		return "not observed (capture began after the handshake)"
	case flows.ReasonAlert:
		a := r.Alert
		switch {
		case a == nil:
			return "failed"
		case a.Probable:
			return "failed: probable encrypted alert from " + by
		case a.Encrypted:
			return "failed: encrypted alert from " + by
		}
		v := "failed: " + by + " alert " + decoder.AlertName(a.Description)
		if c := quicClose(r); c != nil {
			v += fmt.Sprintf(" (CONNECTION_CLOSE 0x%x%s)", c.Code, closePhrase(c))
		}
		return v
	case flows.ReasonQUICClose:
		c := r.QUIC.Close
		if c.Application {
			return fmt.Sprintf("failed: %s closed with application error 0x%x%s", by, c.Code, closePhrase(c))
		}
		return fmt.Sprintf("failed: %s closed with %s (0x%x)%s", by, quic.TransportErrorName(c.Code), c.Code, closePhrase(c))
	case flows.ReasonNoCommonVersion:
		f := r.QUIC
		return "failed: version negotiation: the server supports " + versionList(f.VersionNegotiation) + ", the client offered " + f.Offered.String()
	case flows.ReasonRefusedICMP:
		e := r.ICMP[0]
		return "reset by ICMP " + e.Kind() + " from " + e.From.String() + " (connection refused)"
	case flows.ReasonRefused:
		return out + " by " + by + " before SYN-ACK (connection refused)"
	case flows.ReasonNotTLS:
		a := notTLSAnswer(hs)
		if why.Side == decoder.Server {
			return out + " by server after answering the ClientHello with " + a + " (not TLS)"
		}
		return out + " by " + by + " after the server answered the ClientHello with " + a + " (not TLS)"
	case flows.ReasonInjectedReset:
		p := r.TCP.PathOf()
		what := "data"
		if p.Side[why.Side].AfterRSTFIN {
			what = "its FIN"
		}
		return "reset: a RST in the " + by + "'s name, injected on the path (the " + by + " sent " + what + " " +
			seconds(p.Side[why.Side].AfterRST.Sub(r.TCP.Side[why.Side].RST)) + " after it)"
	case flows.ReasonGaveUp:
		how := ""
		switch {
		case r.Outcome == flows.Reset:
			how = " (RST)"
		case r.QUIC != nil:
			how = " (CONNECTION_CLOSE)"
		}
		return out + ": " + by + " gave up" + how + " after " + silence(s) + " waiting for " + owedWords(r)
	case flows.ReasonClosedInstead:
		if r.QUIC != nil {
			return "closed by " + by + " (CONNECTION_CLOSE) after " + orStart(lastBefore(hs, r.QUIC.Close.At))
		}
		if r.TCPOnly() {
			return out + " by " + by + " before ClientHello"
		}
		if after := lastBefore(hs, r.CloseAt()); after != "" {
			return out + " by " + by + " after " + after
		}
		return out + " by " + by
	case flows.ReasonOneSided:
		return "unknown: no packet from the " + by + " in the capture (one-sided)"
	case flows.ReasonAcksMissing:
		if f := r.QUIC; f != nil && f.Packets[decoder.Server] == [3]int{} {
			return fmt.Sprintf("unknown: the capture holds %s and nothing after %s (no retransmission): packets are missing from the capture", plural(f.NClientInitials, "client Initial"), seconds(s.Silent))
		}
		v := "unknown: the capture lacks packets after " + silentAfter(r) + " (no ACK of it), " + by + " owes " + s.Next.String()
		if s.SendingLen > 0 {
			v += " (" + sendingWords(s) + ")"
		}
		return v
	case flows.ReasonCaptureDropped:
		v := "incomplete: the capture dropped " + droppedWords(r.Drops) + " while it was open"
		if s != nil {
			v += " (the " + s.Waiting.String() + " owed " + s.Next.String() + ")"
		}
		return v
	case flows.ReasonRetryLoop:
		return fmt.Sprintf("%s: the server answered with Retry %d times and never with a ServerHello (Retry loop)", out, r.QUIC.Retries)
	case flows.ReasonServerInitialMissing:
		n := r.QUIC.Packets[decoder.Server][1]
		return fmt.Sprintf("%s: client waited %s for the server's Initial (ServerHello); its %s came without it", out, silence(s), plural(n, "Handshake packet"))
	case flows.ReasonNoAnswer:
		f := r.QUIC
		span := time.Duration(0)
		if len(f.ClientInitials) > 0 {
			span = r.End.Sub(f.ClientInitials[0])
		}
		return fmt.Sprintf("%s: no answer to %s in %s (server owes ServerHello)", out, plural(f.NClientInitials, "client Initial"), seconds(span))
	case flows.ReasonLost:
		l := lossOf(r, why.Side)
		if r.Outcome == flows.Stalled {
			return "stalled: " + why.Side.Other().String() + " waited " + silence(s) + " for " + owedWords(r) + ", " + l
		}
		return "incomplete: " + why.Side.Other().String() + " waiting for " + owedWords(r) + " when the capture ends (" + l + ")"
	case flows.ReasonClientHelloIncomplete:
		if r.Outcome == flows.Incomplete {
			return "incomplete: the capture ends " + seconds(s.Silent) + " after the server got " + size(s.SendingHave) + " of a " + size(s.SendingLen) + " ClientHello (client owes the rest)"
		}
		return out + ": server got " + size(s.SendingHave) + " of a " + size(s.SendingLen) + " ClientHello and nothing more for " + silence(s) + " (client owes the rest)"
	case flows.ReasonStillSending:
		return "incomplete: the " + by + " was still sending " + sendingWords(s) + ", when the capture ended"
	case flows.ReasonSYNUnanswered:
		return "stalled: server silent " + silence(s) + " after SYN (owes SYN-ACK)"
	case flows.ReasonSilent:
		if r.Outcome == flows.Stalled {
			v := "stalled: " + by + " silent " + silence(s) + " after " + silentAfter(r) + " (owes " + s.Next.String()
			if s.SendingLen > 0 {
				v += "; " + sendingWords(s)
			}
			return v + ")"
		}
		return "incomplete: capture ends " + seconds(s.Silent) + " after " + silentAfter(r) + ", " + by + " owes " + s.Next.String()
	}
	return out
}

// silence is how long the owing side was silent: "5.0 s", or "at least
// 5.0 min" when the connection idled out while the capture went on.
func silence(s *flows.Stall) string {
	if s.AtLeast {
		return "at least " + seconds(s.Silent)
	}
	return seconds(s.Silent)
}

// quicClose is a QUIC connection's CONNECTION_CLOSE, or nil.
func quicClose(r *flows.Result) *flows.QUICClose {
	if r.QUIC == nil {
		return nil
	}
	return r.QUIC.Close
}

// closePhrase is a CONNECTION_CLOSE's reason phrase (RFC 9000 §19.19),
// quoted and made safe, after a colon; "" when it has none.
func closePhrase(c *flows.QUICClose) string {
	if c.Reason == "" {
		return ""
	}
	return `: "` + clip(SafeText(c.Reason)) + `"`
}

// verdictFinding is the finding that says the verdict of a connection
// that did not work, in a sentence with its likely cause: the outcome's
// code and the reason's words. ok is false when another finding says it
// (one_sided_capture, missing_acks, icmp_unreachable, the QUIC ones).
func verdictFinding(r *flows.Result) (*FindingDef, string) {
	hs, s, why := r.HS, r.Stall, r.Reason
	f := r.TCP
	if f == nil {
		f = &flows.TCPFacts{}
	}
	by := capital("the " + why.Side.String())
	if why.Kind.Unknown() || why.Kind == flows.ReasonRefusedICMP {
		return nil, ""
	}
	if r.DTLS != nil {
		if d, msg, ok := dtlsVerdictFinding(r); ok {
			return d, msg
		}
	}
	switch r.Outcome {
	case flows.Stalled:
		d := FindingHandshakeStalled
		switch why.Kind {
		case flows.ReasonSYNUnanswered:
			return d, "The server never answered the client's SYN (" + silence(s) + "): a firewall dropping the connection, or no route."
		case flows.ReasonServerInitialMissing:
			return d, "The server's Handshake packets reached the client but its Initial, with the ServerHello that gives their keys, never did: the client waited " + silence(s) + " and could open none of them (a lost or filtered first datagram of the server's)."
		case flows.ReasonNoAnswer:
			return d, "The client's Initials got no answer for " + silence(s) + ": not one packet came back from the server."
		case flows.ReasonLost:
			return d, "The " + why.Side.Other().String() + " waited " + silence(s) + " for " + owedWords(r) + ", which never reached it: " + lossOf(r, why.Side) + "."
		case flows.ReasonClientHelloIncomplete:
			return d, "The server received only " + size(s.SendingHave) + " of a " + size(s.SendingLen) + " ClientHello and the rest never came in " + silence(s) + ": a middlebox that passes only the first segment of a ClientHello too large for one is the usual cause (post-quantum key shares, many ALPN values or a large session ticket make it so large)."
		}
		msg := "The " + s.Waiting.String() + " stopped sending TLS for " + silence(s) + " while it owed " + s.Next.String() + "; the handshake never finished."
		switch {
		case s.Waiting == decoder.Server && s.Next == flows.OwedMsg(decoder.MsgServerHello) && r.QUIC != nil && r.QUIC.HelloPackets > 1:
			msg += " The ClientHello spanned " + plural(r.QUIC.HelloPackets, "Initial packet") + ": a middlebox that passes only the first datagram of a flow would leave the server with part of it."
		case s.Waiting == decoder.Server && s.Next == flows.OwedMsg(decoder.MsgServerHello) && r.QUIC != nil:
			msg += " The server did not answer the ClientHello: an overloaded server, or one that does not accept it."
		case s.Waiting == decoder.Server && s.Next == flows.OwedMsg(decoder.MsgServerHello) && f.ClientHelloSegments > 1 && !f.ClientHelloAcked:
			msg += " The ClientHello spanned several segments and was not fully acknowledged: a middlebox that drops large ClientHellos is the usual cause."
		case s.Waiting == decoder.Server && s.Next == flows.OwedMsg(decoder.MsgServerHello) && !f.ClientHelloAcked:
			msg += " The server may not have received the ClientHello (no ACK covered it), or never answered it: an overloaded server, or a TLS-terminating middlebox that swallowed it."
		case s.Waiting == decoder.Server && s.Next == flows.OwedMsg(decoder.MsgServerHello):
			msg += " The server received the ClientHello (TCP acknowledged it) but never answered: an overloaded server, or a TLS-terminating middlebox that swallowed it."
		case s.Waiting == decoder.Client && s.Next == flows.OwedMsg(decoder.MsgClientHello):
			msg += " The client set up the connection and never sent a ClientHello: a client that waits for the server to speak first (a plain-text protocol, STARTTLS), or a ClientHello lost before the capture point."
		case s.Waiting == decoder.Client:
			msg += " The client went quiet: it may be verifying the certificate, waiting for user input, or it gave up without closing."
		}
		return d, msg
	case flows.Incomplete:
		if why.Kind == flows.ReasonClientHelloIncomplete {
			return FindingHandshakeIncomplete, "The capture ends " + seconds(s.Silent) + " after the server got only " + size(s.SendingHave) + " of a " + size(s.SendingLen) + " ClientHello, the rest still owed: a longer capture would tell whether it ever came (a middlebox that passes only the first packet of a large ClientHello would stop it)."
		}
		if why.Kind == flows.ReasonStillSending {
			return FindingHandshakeIncomplete, "The capture ends while the " + s.Waiting.String() + " was still sending " + sendingWords(s) + "; a longer capture would tell how the handshake went."
		}
		return FindingHandshakeIncomplete, "The capture ends " + seconds(s.Silent) + " after the last message while the " + s.Waiting.String() + " owed " + s.Next.String() + "; a longer capture would tell whether it stalled."
	case flows.Failed:
		d := FindingHandshakeFailed
		a := r.Alert
		switch {
		case why.Kind != flows.ReasonAlert:
			return nil, "" // quicFindings says which error closed it
		case a == nil:
			return d, "The handshake failed."
		case a.Probable:
			return d, "The " + why.Side.String() + " sent a small encrypted record and closed instead of finishing: most likely an encrypted alert (TLS 1.3 hides which)."
		case a.Encrypted:
			return d, "The " + why.Side.String() + " sent an encrypted alert before the handshake finished."
		}
		return d, "The " + why.Side.String() + " refused the handshake with fatal alert " + decoder.AlertName(a.Description) + alertHint(r, a) + "."
	case flows.Reset:
		d := FindingConnectionReset
		switch why.Kind {
		case flows.ReasonRefused:
			return d, fmt.Sprintf("%s answered the SYN with a reset: nothing listens on port %d, or a firewall rejects it.", by, r.Server.Port())
		case flows.ReasonGaveUp:
			return d, by + " gave up after " + silence(s) + " waiting for " + owedWords(r) + " and reset the connection."
		case flows.ReasonInjectedReset:
			return d, "A RST in the " + why.Side.String() + "'s name ended the handshake, but the " + why.Side.String() + " went on sending after it: the reset was injected on the path (a firewall or middlebox), not sent by the " + why.Side.String() + "."
		}
		return d, by + " reset the connection during the handshake, after " + orStart(lastBefore(hs, r.CloseAt())) + "."
	case flows.Closed:
		d := FindingConnectionClosed
		switch {
		case r.QUIC != nil && why.Kind == flows.ReasonGaveUp:
			return d, by + " gave up after " + silence(s) + " waiting for " + owedWords(r) + " and closed the connection (CONNECTION_CLOSE, no error)."
		case r.QUIC != nil:
			return d, by + " closed the connection (CONNECTION_CLOSE, no error) before the handshake finished, after " + orStart(lastBefore(hs, r.QUIC.Close.At)) + "."
		case why.Kind == flows.ReasonNotTLS:
			return d, by + " closed the connection (FIN) after the server's answer to the ClientHello, which was not TLS."
		case why.Kind == flows.ReasonGaveUp:
			return d, by + " gave up after " + silence(s) + " waiting for " + owedWords(r) + " and closed the connection (FIN): a timeout on its side (\"The handshake operation timed out\"), the " + s.Waiting.String() + " having sent nothing since " + silentAfter(r) + "."
		}
		return d, by + " closed the connection (FIN) instead of sending " + owedWords(r) + ", after " + orStart(lastBefore(hs, r.CloseAt())) + "."
	}
	return nil, ""
}
