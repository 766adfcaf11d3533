package report

import (
	"fmt"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
)

// Findings about the path between the peers and about the capture's view
// of it: what the network lost, what it injected, and what the capture
// cannot see. Each says its evidence, and the heuristic ones say how they
// can be wrong.

// captureViewFindings: a side the capture never saw, or ACKs it lacks.
func captureViewFindings(x *checkRun) {
	r := x.r
	f := r.TCP
	if f == nil {
		return
	}
	if r.OneSided {
		present := r.Missing.Other()
		p := &f.Side[present]
		// What is absent has no frame.
		x.add(FindingOneSidedCapture, nil, "The capture holds no packet from the %s, though the %s talked to it (%s, %d with an ACK): asymmetric routing or a capture filter. The %s's silence is not judged.",
			r.Missing, present, plural(p.Packets, "packet"), p.Acks, r.Missing)
	}
	if r.AcksMissing && r.Stall != nil && r.QUIC != nil {
		x.add(FindingMissingACKs, lastDataFrames(r, r.Stall.Waiting.Other()), "%s", quicMissingWords(r))
	} else if r.AcksMissing && r.Stall != nil {
		w := r.Stall.Waiting
		x.add(FindingMissingACKs, lastDataFrames(r, w), "The capture has no acknowledgement of the %s's last data, nor any packet of the %s's after it, which a TCP peer would have sent: packets are missing from the capture (a filter that kept only TLS records, or a capture that stopped), so the %s's silence is not judged.", w, w.Other(), w)
	}
}

// icmpFindings says what the ICMP errors about the connection's packets
// said: outright, what the loss findings can only infer.
func icmpFindings(x *checkRun) {
	r := x.r
	if r.TCP == nil && r.DTLS == nil {
		return
	}
	for i, e := range r.ICMP {
		if i > 0 && e.Kind() == r.ICMP[i-1].Kind() && e.From == r.ICMP[i-1].From {
			continue // the same error for the next retransmission
		}
		by := e.From.String()
		frames := icmpFrames(r, i)
		switch {
		case e.PathMTU() && handshakeDone(r):
			x.add(FindingPathMTU, frames, "An ICMP %s from %s reported a path MTU of %d for the %s's packets: path MTU discovery lowered the segment size, and the handshake went on.", e.Kind(), by, e.MTU, e.About)
		case e.PathMTU():
			x.add(FindingPathMTU, frames, "An ICMP %s from %s reported a path MTU of %d for the %s's packets: packets larger than that do not get through.", e.Kind(), by, e.MTU, e.About)
		default:
			x.add(FindingICMPUnreachable, frames, "An ICMP destination unreachable (%s) from %s answered a packet of the %s's: %s.", e.Kind(), by, e.About, unreachableHint(e))
		}
	}
}

func unreachableHint(e flows.ICMPError) string {
	switch e.Kind() {
	case "port unreachable":
		return "nothing listens on that port (or a firewall answers as if nothing did)"
	case "administratively prohibited":
		return "a firewall refuses the connection"
	case "host unreachable", "address unreachable":
		return "the host is down or not reachable from there"
	}
	return "the path is broken"
}

// lossFindings: network_loss and path_mtu_blackhole, for what each side
// sent.
func lossFindings(x *checkRun) {
	if x.r.TCP == nil {
		return
	}
	for _, side := range []decoder.Side{decoder.Client, decoder.Server} {
		sideLoss(x, side)
	}
}

func sideLoss(x *checkRun, side decoder.Side) {
	r := x.r
	f := r.TCP
	l := &f.PathOf().Side[side].Loss
	peer := side.Other()
	if l.LostBytes > 0 {
		msg := fmt.Sprintf("The %s never received %s sent by the %s: they are missing from the capture and the %s never acknowledged them",
			peer, size(int(l.LostBytes)), side, peer)
		if l.DeliveredAfter > 0 {
			msg += fmt.Sprintf(", though later segments arrived (up to %d bytes each)", l.DeliveredAfter)
		}
		x.add(FindingNetworkLoss, eventFrames(r, "loss", side), "%s. Lost in the network before the capture point, not by the capture; what came after them was never delivered to the %s (TCP delivers in order), so it is listed but not judged.", msg, peer)
	}
	if l.Unacked > 0 {
		sizes := fmt.Sprintf("%d bytes", l.UnackedMin)
		if l.UnackedMax != l.UnackedMin {
			sizes = fmt.Sprintf("%d to %d bytes", l.UnackedMin, l.UnackedMax)
		}
		what := fmt.Sprintf("%d segments (%s)", l.Unacked, sizes)
		if l.Unacked == 1 {
			what = fmt.Sprintf("a segment of %s", sizes)
		}
		x.add(FindingNetworkLoss, eventFrames(r, "retransmission", side), "The %s sent %s %d times in all and the %s never acknowledged it: lost in the network after the capture point.",
			side, what, l.UnackedSends, peer)
	}
	// A path-MTU black hole: large segments lost, small ones through.
	// Seen from the sender: a full-size segment sent again and again and
	// never acknowledged, while a smaller one after it was (SACK, RFC 2018).
	// Seen from the receiver (the retransmissions are lost before the
	// capture too): bytes as many as a full-size segment never arrived,
	// while later segments did, each well below full size.
	full := fullSegment(int(f.Side[peer].MSS), int(f.Side[side].MSS))
	maxSeg := int(f.Side[side].MaxSegment)
	switch {
	case l.Unacked > 0 && l.UnackedMax >= full && l.SACKedBeyond && l.AckedAfter > 0 && l.UnackedMin > l.AckedAfter:
		what, them := "segments of "+bytesRange(l.UnackedMin, l.UnackedMax)+" were", "them"
		if l.Unacked == 1 {
			what, them = fmt.Sprintf("segment of %d bytes was", l.UnackedMin), "it"
		}
		x.add(FindingPathMTUBlackhole, eventFrames(r, "retransmission", side), "The %s's %s sent %d times and never acknowledged, while the %s acknowledged (SACK) a %d-byte segment after %s: packets above some size do not get through. %s",
			side, what, l.UnackedSends, peer, l.AckedAfter, them, blackholeWhy(side))
	case l.LostBytes >= int64(full) && l.DeliveredAfter > 0 && maxSeg*4 < full*3:
		mss := ""
		switch own, peerMSS := f.Side[side].MSS, f.Side[peer].MSS; {
		case peerMSS > 0 && (own == 0 || peerMSS <= own):
			mss = fmt.Sprintf(", though the %s announced MSS %d", peer, peerMSS)
		case own > 0:
			mss = fmt.Sprintf(", though its MSS is %d", own)
		}
		x.add(FindingPathMTUBlackhole, eventFrames(r, "loss", side), "No segment larger than %d bytes arrived from the %s%s, and the %s before them never did: large packets are dropped on the path. %s",
			maxSeg, side, mss, size(int(l.LostBytes)), blackholeWhy(side))
	}
}

// fullSegment is the payload of a full-size segment from a sender that
// announced mss to a receiver that announced peerMSS (0: no SYN seen): the
// smaller MSS (a sender's own MSS says its own link's MTU), less the most
// TCP options take (40 bytes, RFC 9293 §3.1); without either, Ethernet's.
func fullSegment(peerMSS, mss int) int {
	m := 1460
	if peerMSS > 0 {
		m = peerMSS
	}
	if mss > 0 {
		m = min(m, mss)
	}
	return max(m-40, 1)
}

// blackholeWhy is what both views of a path-MTU black hole say it
// probably is, and how that can be wrong.
func blackholeWhy(sender decoder.Side) string {
	return "Probably a path-MTU black hole: a link with a smaller MTU whose ICMP \"fragmentation needed\" does not reach the " +
		sender.String() + " (a lossy link would drop small packets too)."
}

func bytesRange(lo, hi int) string {
	if lo == hi {
		return fmt.Sprintf("%d bytes", lo)
	}
	return fmt.Sprintf("%d to %d bytes", lo, hi)
}

// resetFindings: reset_injected, when the side a reset names probably did
// not send it. Only a reset that interrupts a live exchange is judged: one
// that comes after the connection ended (resetAfterEnd) is how many stacks
// end one, whatever its TTL.
func resetFindings(x *checkRun) {
	r := x.r
	f := r.TCP
	if f == nil {
		return
	}
	for _, side := range []decoder.Side{decoder.Client, decoder.Server} {
		s := &f.Side[side]
		if s.RST.IsZero() || resetAfterEnd(r, side) {
			continue
		}
		var evidence []string
		if s.RSTTTL != 0 && s.TTL != 0 && s.RSTTTL != s.TTL && !s.TTLVaries {
			evidence = append(evidence, fmt.Sprintf("its IP TTL is %d while every other packet of the %s's has %d", s.RSTTTL, side, s.TTL))
		}
		p := f.PathOf()
		if after := p.Side[side].AfterRST; !after.IsZero() {
			what := "data"
			if p.Side[side].AfterRSTFIN {
				what = "its FIN"
			}
			evidence = append(evidence, fmt.Sprintf("the %s went on sending after it (%s %s later)", side, what, seconds(after.Sub(s.RST))))
		}
		if len(evidence) == 0 {
			continue
		}
		msg := "The reset from the " + side.String() + " was probably not sent by it but injected on the path (a firewall or middlebox): " + evidence[0]
		if len(evidence) > 1 {
			msg += ", and " + evidence[1]
		}
		msg += "."
		if len(evidence) == 1 && p.Side[side].AfterRST.IsZero() {
			msg += " A route change or a load balancer can also change the TTL."
		}
		x.add(FindingResetInjected, eventFrames(r, "RST", side), "%s", msg)
	}
}

// resetAfterEnd reports whether side's first RST came after the connection
// had ended: after a FIN of either side, the peer's RST, or an alert that
// closes (close_notify, a fatal alert, an encrypted one). A TCP that gets
// data after its application closed, or any segment for a connection it no
// longer has, answers with a RST (RFC 1122 §4.2.2.13, RFC 9293 §3.10.7.1),
// often from a stack (or a firewall) with another initial TTL than the
// connection's packets: no sign of injection.
func resetAfterEnd(r *flows.Result, side decoder.Side) bool {
	f := r.TCP
	rst := f.Side[side].RST
	before := func(t time.Time) bool { return !t.IsZero() && !t.After(rst) }
	if before(f.Side[decoder.Client].FIN) || before(f.Side[decoder.Server].FIN) || before(f.Side[side.Other()].RST) {
		return true
	}
	if r.HS != nil {
		for _, a := range r.HS.Alerts {
			closes := a.Encrypted && !a.Probable || !a.Encrypted && (a.Fatal() || a.Description == 0)
			if closes && before(a.Time) {
				return true
			}
		}
	}
	return false
}
